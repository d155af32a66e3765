-- Server-side sessions. The cookie carries a 256-bit secret; only its
-- SHA-256 digest is stored, so a leaked database holds no live session.
CREATE TABLE sessions (
    id               BLOB PRIMARY KEY NOT NULL,
    user_id          BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest           BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    -- When the person last proved who they are (password, second factor or
    -- email link); sensitive changes ask for a recent one.
    authenticated_at TEXT NOT NULL,
    -- The absolute timeout; the idle timeout is measured from last_seen_at.
    expires_at       TEXT NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    revoked_at       TEXT
);
CREATE UNIQUE INDEX sessions_digest ON sessions (digest);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
