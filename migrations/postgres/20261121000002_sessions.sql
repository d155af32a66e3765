-- Server-side sessions. The cookie carries a 256-bit secret; only its
-- SHA-256 digest is stored, so a leaked database holds no live session.
CREATE TABLE sessions (
    id               UUID PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest           BYTEA NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    -- When the person last proved who they are (password, second factor or
    -- email link); sensitive changes ask for a recent one.
    authenticated_at TIMESTAMPTZ NOT NULL,
    -- The absolute timeout; the idle timeout is measured from last_seen_at.
    expires_at       TIMESTAMPTZ NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    revoked_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX sessions_digest ON sessions (digest);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
