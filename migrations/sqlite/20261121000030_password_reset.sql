-- Links that set a new password for a forgotten one (POST /password/reset).
-- Only the SHA-256 digest of the 256-bit token is stored. A link is used
-- once; a newer request revokes the older unused ones, and a reset or a
-- password change revokes every one left.
CREATE TABLE password_reset_tokens (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE UNIQUE INDEX password_reset_tokens_digest ON password_reset_tokens (digest);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);
