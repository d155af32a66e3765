-- Requests to change an account's address (POST /email/change): the new
-- address waits here until the link emailed to it is used, and only then
-- replaces the account's. Only the SHA-256 digest of the 256-bit token is
-- stored. A link is used once; a newer request revokes the older unused ones.
CREATE TABLE email_changes (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    new_email  TEXT NOT NULL,
    digest     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT,
    -- Set when the link is used: the address it replaced, and the digest of
    -- the link sent there to undo the change (for REVERT_WINDOW), in case
    -- whoever made it was not the owner.
    old_email         TEXT,
    revert_digest     BLOB,
    revert_expires_at TEXT,
    reverted_at       TEXT
);
CREATE UNIQUE INDEX email_changes_digest ON email_changes (digest);
CREATE INDEX email_changes_user ON email_changes (user_id);
CREATE UNIQUE INDEX email_changes_revert_digest ON email_changes (revert_digest);
