-- Passkeys (WebAuthn) as a second factor. A factor's kind may now be
-- 'passkey': its `secret` holds, sealed, the ceremony's state while the
-- enrolment waits, then the credential (public key, id, signature count).
ALTER TABLE mfa_factors DROP CONSTRAINT mfa_factors_kind_check;
ALTER TABLE mfa_factors ADD CONSTRAINT mfa_factors_kind_check
    CHECK (kind IN ('totp', 'sms', 'email', 'passkey'));

-- A login's passkey ceremony: its state, sealed, between the options handed
-- to the browser and the signed answer.
ALTER TABLE mfa_challenges ADD COLUMN passkey_state BYTEA;
