-- Signing in with a passkey alone (no password): the ceremony's state
-- travels sealed with the client between the options and the answer, and
-- nothing is written for options asked for and never answered. The first
-- answer claims its ceremony here, by the ceremony's digest, before it is
-- checked: a ceremony is answered once, right or wrong, and the same answer
-- sent again finds it taken. Rows go once the ceremony would have expired
-- anyway.
CREATE TABLE passkey_sign_ins (
    digest     BLOB PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE INDEX passkey_sign_ins_expires_at ON passkey_sign_ins (expires_at);
