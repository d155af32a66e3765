-- Second factors, recovery codes and login challenges.

CREATE TABLE mfa_factors (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('totp', 'sms', 'email')),
    -- The TOTP seed, sealed with the server key (never stored in clear).
    secret          BLOB,
    -- E.164 number for SMS codes.
    phone           TEXT,
    -- The last TOTP time step accepted: a code is good once only.
    last_step       BIGINT,
    -- The code that confirms an SMS or email enrolment (keyed digest).
    code_digest     BLOB,
    code_expires_at TEXT,
    code_attempts   INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    -- NULL while the enrolment is not yet confirmed.
    confirmed_at    TEXT
);
CREATE UNIQUE INDEX mfa_factors_user_kind ON mfa_factors (user_id, kind);

CREATE TABLE recovery_codes (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest      BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- A password step that succeeded and waits for its second factor (or, with
-- purpose 'enroll', for the first factor to be set up).
CREATE TABLE mfa_challenges (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest          BLOB NOT NULL,
    purpose         TEXT NOT NULL CHECK (purpose IN ('login', 'enroll')),
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    code_method     TEXT,
    code_digest     BLOB,
    code_expires_at TEXT,
    completed_at    TEXT
);
CREATE UNIQUE INDEX mfa_challenges_digest ON mfa_challenges (digest);

-- The outbox carries SMS as well as email.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
