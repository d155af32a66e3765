-- Links that set a new password for a forgotten one (POST /password/reset).
-- Only the SHA-256 digest of the 256-bit token is stored. A link is used
-- once; a newer request revokes the older unused ones, and a reset or a
-- password change revokes every one left.
CREATE TABLE password_reset_tokens (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX password_reset_tokens_digest ON password_reset_tokens (digest);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);
