-- Passkeys (WebAuthn) as a second factor. A factor's kind may now be
-- 'passkey': its `secret` holds, sealed, the ceremony's state while the
-- enrolment waits, then the credential (public key, id, signature count).
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt; nothing
-- references it, and no trigger or view reads it.
CREATE TABLE mfa_factors_new (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('totp', 'sms', 'email', 'passkey')),
    secret          BLOB,
    phone           TEXT,
    last_step       BIGINT,
    code_digest     BLOB,
    code_expires_at TEXT,
    code_attempts   INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    confirmed_at    TEXT
);
INSERT INTO mfa_factors_new (id, user_id, kind, secret, phone, last_step, code_digest, code_expires_at, code_attempts, created_at, confirmed_at)
SELECT id, user_id, kind, secret, phone, last_step, code_digest, code_expires_at, code_attempts, created_at, confirmed_at FROM mfa_factors;
DROP TABLE mfa_factors;
ALTER TABLE mfa_factors_new RENAME TO mfa_factors;
CREATE UNIQUE INDEX mfa_factors_user_kind ON mfa_factors (user_id, kind);

-- A login's passkey ceremony: its state, sealed, between the options handed
-- to the browser and the signed answer.
ALTER TABLE mfa_challenges ADD COLUMN passkey_state BLOB;
