-- A sign-up that replaces an account nobody verified (`store/sql/register.rs`:
-- `ON CONFLICT (email_key) DO UPDATE`, the only write that moves a pending
-- account's `created_at`) revokes that account's unused verification links
-- and cancels their unsent emails ('verify_email', `VERIFICATION_MAIL`), in
-- the same statement. A trigger rather than two more statements from the
-- sign-up: each statement wakes SQLite's thread and the runtime, which cost
-- every sign-up 0.5 ms of the cores that hash, new addresses included (they
-- ran for every sign-up, so that a replaced one took no longer). PostgreSQL
-- does the same in its one sign-up statement (`store/postgres/register.rs`).
CREATE TRIGGER users_sign_up_replaced AFTER UPDATE OF created_at ON users
WHEN NEW.status = 'pending' AND NEW.created_at <> OLD.created_at
BEGIN
    UPDATE verification_tokens SET revoked_at = NEW.created_at
    WHERE user_id = NEW.id AND used_at IS NULL AND revoked_at IS NULL;
    UPDATE outbox SET status = 'cancelled', text_body = NULL, html_body = NULL
    WHERE user_id = NEW.id AND kind = 'verify_email' AND status = 'pending';
END;
