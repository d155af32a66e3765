-- Accounts, verification links, the mail outbox and the audit trail.
-- Timestamps are RFC 3339 text in UTC (sqlx's encoding), which sorts in time order.

CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    -- The whole address case-folded: the unique index decides duplicates,
    -- so concurrent sign-ups cannot both win.
    email_key     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    verified_at   TEXT
);
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE verification_tokens (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token; the token itself is never stored.
    digest      BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);
CREATE UNIQUE INDEX verification_tokens_digest ON verification_tokens (digest);
CREATE INDEX verification_tokens_user ON verification_tokens (user_id);

CREATE TABLE outbox (
    id              BLOB PRIMARY KEY NOT NULL,
    message_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    user_id         BLOB REFERENCES users (id) ON DELETE SET NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    -- Bodies may carry a live link; they are erased once delivered or superseded.
    text_body       TEXT,
    html_body       TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    locked_until    TEXT,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    event       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    user_id     BLOB,
    ip          TEXT,
    user_agent  TEXT,
    detail      TEXT
);
CREATE INDEX audit_log_user ON audit_log (user_id, at);
CREATE INDEX audit_log_at ON audit_log (at);
