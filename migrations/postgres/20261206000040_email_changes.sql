-- Requests to change an account's address (POST /email/change): the new
-- address waits here until the link emailed to it is used, and only then
-- replaces the account's. Only the SHA-256 digest of the 256-bit token is
-- stored. A link is used once; a newer request revokes the older unused ones.
CREATE TABLE email_changes (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    new_email  TEXT NOT NULL,
    digest     BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    -- Set when the link is used: the address it replaced, and the digest of
    -- the link sent there to undo the change (for REVERT_WINDOW), in case
    -- whoever made it was not the owner.
    old_email         TEXT,
    revert_digest     BYTEA,
    revert_expires_at TIMESTAMPTZ,
    reverted_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX email_changes_digest ON email_changes (digest);
CREATE INDEX email_changes_user ON email_changes (user_id);
CREATE UNIQUE INDEX email_changes_revert_digest ON email_changes (revert_digest);
