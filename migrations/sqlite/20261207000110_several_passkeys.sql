-- Several passkeys an account: NIST SP 800-63B asks that people be able to
-- keep more than one authenticator, and a second security key in a drawer
-- is how many keep a spare. Every other kind stays one an account, and a
-- passkey's enrolment too (one ceremony waits at a time).
DROP INDEX mfa_factors_user_kind;
CREATE UNIQUE INDEX mfa_factors_user_kind ON mfa_factors (user_id, kind)
    WHERE kind <> 'passkey' OR confirmed_at IS NULL;

-- What the owner calls a passkey, and when it last signed in: how a person
-- tells "the key on my keyring" from "my phone" before removing one.
ALTER TABLE mfa_factors ADD COLUMN name TEXT;
ALTER TABLE mfa_factors ADD COLUMN last_used_at TEXT;

-- A passkey's credential id, in clear (it is public: browsers are handed it
-- with every sign-in's options). One credential belongs to one account, as
-- WebAuthn's registration steps ask. Passkeys added before this migration
-- have it only inside their sealed credential, and get it at their next
-- sign-in.
ALTER TABLE mfa_factors ADD COLUMN credential_id BLOB;
CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (credential_id)
    WHERE credential_id IS NOT NULL;
