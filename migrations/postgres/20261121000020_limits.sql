-- Rate limits shared by every instance. One row per (rule, subject), keyed
-- by the SHA-256 of both: the generic cell rate algorithm needs only the
-- "theoretical arrival time" of the next request, in milliseconds since the
-- Unix epoch. A row whose time has passed says nothing and may be deleted.
CREATE TABLE rate_limits (
    key BYTEA PRIMARY KEY,
    tat BIGINT NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- Consecutive failed logins per account (keyed by the digest of the address,
-- so unknown addresses are throttled exactly like real ones) or per known
-- device of an account. A success deletes the row.
CREATE TABLE login_failures (
    key        BYTEA PRIMARY KEY,
    failures   BIGINT NOT NULL,
    -- No attempt is checked before this time (milliseconds since the epoch).
    not_before BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Browsers that completed a sign-in: a long-lived cookie holds a 256-bit
-- secret, the database its digest. A known device keeps its own failure
-- count, so nobody can lock the owner out of a device they used before, and
-- a sign-in from an unknown one is announced to the owner by email.
CREATE TABLE devices (
    digest       BYTEA PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

-- Links emailed to the owner when the throttle locks their account: opening
-- one forgets the failures, so an attacker can never lock the owner out for
-- good. Only the digest is stored.
CREATE TABLE unlock_tokens (
    digest     BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX unlock_tokens_user ON unlock_tokens (user_id);
