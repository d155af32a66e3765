-- Keys that sign access tokens (JWTs). Every instance signs with the one
-- current key and verifies with it and with keys retired recently enough
-- that tokens they signed may still be alive.
CREATE TABLE signing_keys (
    -- RFC 7638 thumbprint of the public key: the JWT header's `kid`.
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL CHECK (algorithm IN ('EdDSA')),
    -- The raw 32-byte Ed25519 public key, as published in the JWKS.
    public_key  BYTEA NOT NULL,
    -- PKCS#8 DER of the private key, sealed with the server's secret key
    -- (XChaCha20-Poly1305, bound to `kid`): the database alone cannot sign.
    private_key BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    -- Set by a rotation; the key then verifies but no longer signs.
    retired_at  TIMESTAMPTZ
);
-- At most one current key per algorithm. Instances starting together on an
-- empty table each try to insert one; this index lets exactly one succeed.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (algorithm) WHERE retired_at IS NULL;
