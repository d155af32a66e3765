//! Ed25519 key material: made here, sealed at rest, published as JWKs.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::rngs::OsRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::TokenError;
use crate::crypto::Sealer;
use crate::store::{NewSigningKey, SigningKeyRecord};

/// The JWS algorithm of every key (RFC 8037: Ed25519 as `EdDSA`).
pub const ALGORITHM: &str = "EdDSA";

/// The current key, able to sign.
#[derive(Clone)]
pub(super) struct SigningKey {
    pub(super) kid: String,
    pub(super) encoding: EncodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A published key: the current one, or a retired one whose tokens may be alive.
#[derive(Clone)]
pub(super) struct VerifyingKey {
    pub(super) kid: String,
    pub(super) public: [u8; 32],
    pub(super) decoding: DecodingKey,
    pub(super) retired_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The key as a JWK (RFC 7517, RFC 8037 section 2).
    pub(super) fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": ALGORITHM,
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(self.public),
        })
    }
}

/// A fresh key pair from the OS CSPRNG, its private half sealed for storage
/// and bound to its `kid`, so a sealed key copied to another row will not open.
pub(super) fn generate(sealer: &Sealer, now: DateTime<Utc>) -> Result<NewSigningKey, TokenError> {
    let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
    let public = key.verifying_key().to_bytes();
    let kid = thumbprint(&public);
    // PKCS#8 is what ring (inside jsonwebtoken) takes as an Ed25519 private key.
    let der = key.to_pkcs8_der().map_err(|_| TokenError::Crypto)?;
    Ok(NewSigningKey {
        sealed_private_key: sealer.seal(der.as_bytes(), kid.as_bytes()),
        kid,
        algorithm: ALGORITHM,
        public_key: public.to_vec(),
        created_at: now,
    })
}

/// The stored key, checked: its private half must open under our secret key
/// and derive the stored public half. A row written by someone holding the
/// database but not the secret key is therefore never trusted to verify.
pub(super) fn open(
    record: &SigningKeyRecord,
    sealer: &Sealer,
) -> Result<(SigningKey, VerifyingKey), TokenError> {
    let der = sealer
        .open(&record.sealed_private_key, record.kid.as_bytes())
        .map_err(|_| TokenError::KeyUnreadable)?;
    let key =
        ed25519_dalek::SigningKey::from_pkcs8_der(&der).map_err(|_| TokenError::KeyUnreadable)?;
    let public = key.verifying_key().to_bytes();
    if record.algorithm != ALGORITHM || record.public_key.as_slice() != public.as_slice() {
        return Err(TokenError::KeyUnreadable);
    }
    let signing = SigningKey {
        kid: record.kid.clone(),
        encoding: EncodingKey::from_ed_der(&der),
    };
    let verifying = VerifyingKey {
        kid: record.kid.clone(),
        public,
        // Despite the name, jsonwebtoken wants the raw 32-byte public key here.
        decoding: DecodingKey::from_ed_der(&public),
        retired_at: record.retired_at,
    };
    Ok((signing, verifying))
}

/// The RFC 7638 JWK thumbprint: a `kid` that names exactly this public key.
pub(super) fn thumbprint(public: &[u8; 32]) -> String {
    // The required members in lexicographic order, no whitespace (RFC 8037 A.3).
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
