//! The wire format: a JWS (compact form) over our claims, checked strictly.
//!
//! The header is read by hand before any key is touched, so the algorithm is
//! pinned by us and not by the token: only `EdDSA` gets as far as a key
//! lookup (`none`, HS256 "signed" with our public key and the rest are
//! refused), and jsonwebtoken then pins it again. Time is checked here against
//! the injected clock, because jsonwebtoken's own checks read the system clock.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::TokenError;
use super::keys::{ALGORITHM, SigningKey};
use crate::domain::UserId;

/// The header `typ` of a JWT access token (RFC 9068): an ID token or any
/// other JWT we may sign later cannot be replayed as an access token.
pub(super) const TYPE: &str = "at+jwt";

/// Clock skew tolerated between the instance that issued a token and the one
/// checking it.
pub(super) const LEEWAY_SECONDS: i64 = 5;

/// Our tokens are a few hundred bytes; anything far larger is refused before
/// base64 or JSON decoding spends work on it.
const MAX_TOKEN_BYTES: usize = 4096;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The public URL of the issuing service, without a trailing slash.
    pub iss: String,
    #[serde(deserialize_with = "user_id")]
    pub sub: UserId,
    pub aud: String,
    /// Seconds since the epoch.
    pub exp: i64,
    pub iat: i64,
    /// Never issued by us; honoured if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Random and unique per token.
    pub jti: String,
    /// The session the token was issued for; ending the session ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// How that session was signed in, as NIST SP 800-63B's level: `aal1`
    /// or `aal2` (two factors). None for a session from before sessions
    /// kept it: take it as `aal1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aal: Option<String>,
    /// And as RFC 8176's method references (`pwd`, `otp`, `sms`, `hwk`,
    /// `user`, `mfa`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

fn user_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UserId, D::Error> {
    Uuid::deserialize(deserializer).map(UserId::from_uuid)
}

/// The header members we look at. Unknown ones are ignored, except `crit`.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    /// Extensions the verifier must understand (RFC 7515 4.1.11); we know none.
    crit: Option<serde_json::Value>,
}

/// Checks the header and returns the `kid` to verify with.
pub(super) fn key_id(token: &str) -> Result<String, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Invalid("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid("not a compact JWS"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Invalid("header is not base64url"))?;
    let header: RawHeader =
        serde_json::from_slice(&header).map_err(|_| TokenError::Invalid("malformed header"))?;
    if header.alg != ALGORITHM {
        return Err(TokenError::Invalid("algorithm is not EdDSA"));
    }
    // Media types are case-insensitive; RFC 9068 allows the long form too.
    let typ = header.typ.as_deref().unwrap_or_default();
    if !typ.eq_ignore_ascii_case(TYPE) && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(TokenError::Invalid("not an access token"));
    }
    if header.crit.is_some() {
        return Err(TokenError::Invalid("unsupported critical header"));
    }
    header.kid.ok_or(TokenError::Invalid("no key id"))
}

/// jsonwebtoken's checks: signature, algorithm, issuer, audience, and the
/// presence of the registered claims. Its time checks stay off (see above).
pub(super) fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation
}

pub(super) fn encode(claims: &AccessClaims, key: &SigningKey) -> Result<String, TokenError> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(TYPE.to_owned());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|_| TokenError::Crypto)
}

/// Verifies `token` with `key`, then its times against `now`.
pub(super) fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
    now: DateTime<Utc>,
) -> Result<AccessClaims, TokenError> {
    let claims = jsonwebtoken::decode::<AccessClaims>(token, key, validation)
        .map_err(|error| TokenError::Invalid(reason(error.kind())))?
        .claims;
    let now = now.timestamp();
    // `exp` is the first second the token is no longer good (RFC 7519 4.1.4).
    if now >= claims.exp.saturating_add(LEEWAY_SECONDS) {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| now.saturating_add(LEEWAY_SECONDS) < nbf)
    {
        return Err(TokenError::Invalid("not valid yet"));
    }
    Ok(claims)
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "algorithm is not EdDSA",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::Json(_) => "malformed claims",
        _ => "malformed",
    }
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
