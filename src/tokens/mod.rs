//! Access tokens: short-lived JWTs signed with Ed25519 (`EdDSA`), and the
//! keys that sign them.
//!
//! The keys live in the database (private halves sealed with the server's
//! secret key), so every instance signs and verifies alike. Each instance
//! keeps a snapshot (`KeyRing`) and reloads it once it is `REFRESH_AFTER`
//! old, or sooner when a token names a key it does not know. A rotation adds
//! a current key and retires the old one. The new key is published within a
//! second and signs a minute later (`PUBLISH_AHEAD`); the old one verifies
//! until every token it may have signed has expired.

mod jwt;
mod keyring;
mod keys;

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::Validation;
use rand::RngCore;
use rand::rngs::OsRng;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

pub use jwt::AccessClaims;
pub use keys::ALGORITHM;

use crate::clock::Clock;
use crate::crypto::Sealer;
use crate::domain::{SignedInWith, UserId};
use crate::store::{Store, StoreError};
use keyring::KeyRing;

/// How long an access token works unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
/// Bounds for `LATCHKEY_ACCESS_TOKEN_TTL`. Past a day a token is no longer
/// short-lived, and retired keys would have to stay published that long.
pub const MIN_TTL: Duration = Duration::from_secs(10);
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// A snapshot older than this is reloaded before use.
const REFRESH_AFTER: TimeDelta = TimeDelta::seconds(60);
/// How long others may cache the JWKS (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECONDS: u32 = 60;
/// A new key signs only once it is this old: it is in every verifier's
/// JWKS before the first token signed with it. Together with `REFRESH_AFTER`,
/// a retired key signs for at most this long after its rotation.
const PUBLISH_AHEAD: TimeDelta = TimeDelta::seconds(JWKS_MAX_AGE_SECONDS as i64);
/// The JWKS, and a token naming a key we do not know, reload the keys when
/// the snapshot is older than this: soon, yet at most once a second, so
/// forged `kid`s cannot turn every request into a database read.
const QUICK_RELOAD_AFTER: TimeDelta = TimeDelta::seconds(1);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The reason is for logs and tests; clients only learn "invalid".
    #[error("the access token is invalid: {0}")]
    Invalid(&'static str),
    #[error("the access token has expired")]
    Expired,
    #[error(
        "a signing key cannot be opened: LATCHKEY_SECRET_KEY is not the key it was sealed with, or the row is damaged"
    )]
    KeyUnreadable,
    #[error("cannot create a signing key or sign a token")]
    Crypto,
    #[error(
        "another key rotation committed at the same moment; nothing changed (see `latchkey keys list`)"
    )]
    RotationRaced,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A freshly issued access token, in the shape of an OAuth 2.0 token
/// response (RFC 6749 5.1).
#[derive(Clone, Serialize)]
pub struct IssuedToken {
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The session a token is issued for (its `sid`), when that session ends
/// at the latest (its absolute timeout), and how it was signed in (its
/// `aal` and `amr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSession {
    pub id: Uuid,
    pub ends_at: DateTime<Utc>,
    pub signed_in_with: Option<SignedInWith>,
}

/// Issues and verifies access tokens, and publishes the JWKS. Cheap to clone:
/// clones share one key snapshot.
#[derive(Debug, Clone)]
pub struct AccessTokens {
    shared: Arc<Shared>,
    ttl: Duration,
}

#[derive(Debug)]
struct Shared {
    store: Arc<dyn Store>,
    sealer: Sealer,
    clock: Arc<dyn Clock>,
    issuer: String,
    audience: String,
    validation: Validation,
    ring: RwLock<Arc<KeyRing>>,
    /// One reload at a time; requests that find a reload under way wait for
    /// it and use its result instead of starting another.
    reloading: tokio::sync::Mutex<()>,
}

impl AccessTokens {
    /// Loads the signing keys, creating the first one if there is none.
    /// Tokens live `DEFAULT_TTL` unless `with_ttl` says otherwise.
    pub async fn load(
        store: Arc<dyn Store>,
        sealer: Sealer,
        clock: Arc<dyn Clock>,
        issuer: String,
        audience: String,
    ) -> Result<Self, TokenError> {
        let ring = KeyRing::load(&*store, &sealer, clock.now(), history()).await?;
        Ok(Self {
            shared: Arc::new(Shared {
                validation: jwt::validation(&issuer, &audience),
                store,
                sealer,
                clock,
                issuer,
                audience,
                ring: RwLock::new(Arc::new(ring)),
                reloading: tokio::sync::Mutex::new(()),
            }),
            ttl: DEFAULT_TTL,
        })
    }

    /// The lifetime of the tokens this issues, clamped to `MIN_TTL..=MAX_TTL`
    /// (startup refuses a configuration outside those bounds).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.clamp(MIN_TTL, MAX_TTL);
        self
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user_id`; issued for a session, it stops working when
    /// that session ends (checked by `flows::authenticate_access_token`) and
    /// expires by the session's absolute end at the latest, so that a
    /// service checking it offline never accepts it past that either.
    pub async fn issue(
        &self,
        user_id: UserId,
        session: Option<TokenSession>,
    ) -> Result<IssuedToken, TokenError> {
        let ring = self.ring(REFRESH_AFTER).await?;
        let now = self.shared.clock.now();
        let iat = now.timestamp();
        let full_term = iat.saturating_add_unsigned(self.ttl.as_secs());
        let exp = session.map_or(full_term, |session| {
            full_term.min(session.ends_at.timestamp()).max(iat)
        });
        let with = session.and_then(|session| session.signed_in_with);
        let claims = AccessClaims {
            iss: self.shared.issuer.clone(),
            sub: user_id,
            aud: self.shared.audience.clone(),
            exp,
            iat,
            nbf: None,
            jti: random_id(),
            sid: session.map(|session| session.id),
            aal: with.map(|with| format!("aal{}", with.aal())),
            amr: with.map_or_else(Vec::new, |with| {
                with.amr().iter().map(|value| (*value).to_owned()).collect()
            }),
        };
        Ok(IssuedToken {
            access_token: jwt::encode(&claims, ring.signing_key(now, PUBLISH_AHEAD))?,
            token_type: "Bearer",
            expires_in: exp.abs_diff(iat),
        })
    }

    /// The claims of `token` if we signed it with a key still published, for
    /// our issuer and audience, and it has not expired. Whether its account
    /// and session still allow it is the caller's question.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let kid = jwt::key_id(token)?;
        let mut ring = self.ring(REFRESH_AFTER).await?;
        if !ring.knows(&kid) {
            // Perhaps another instance rotated since our last reload.
            ring = self.ring(QUICK_RELOAD_AFTER).await?;
        }
        let now = self.shared.clock.now();
        let key = ring
            .key(&kid, now, self.retention())
            .ok_or(TokenError::Invalid("unknown key id"))?;
        jwt::decode(token, &key.decoding, &self.shared.validation, now)
    }

    /// The JSON Web Key Set (RFC 7517): the current key first (published
    /// within a second of a rotation, before it signs), then every retired
    /// key that may have signed a token that has not expired yet.
    pub async fn jwks(&self) -> Result<Value, TokenError> {
        let ring = self.ring(QUICK_RELOAD_AFTER).await?;
        let now = self.shared.clock.now();
        let keys: Vec<Value> = ring
            .usable(now, self.retention())
            .map(keys::VerifyingKey::jwk)
            .collect();
        Ok(json!({ "keys": keys }))
    }

    /// How long a retired key keeps verifying: it may sign for up to a
    /// minute after its rotation, and such a token lives `ttl` more.
    fn retention(&self) -> TimeDelta {
        retention(self.ttl)
    }

    /// The key snapshot, reloaded first when older than `max_age`.
    async fn ring(&self, max_age: TimeDelta) -> Result<Arc<KeyRing>, TokenError> {
        // A clock that went backwards counts as stale, not as fresh forever.
        let fresh = |ring: &KeyRing| {
            let age = self.shared.clock.now() - ring.loaded_at;
            age >= TimeDelta::zero() && age < max_age
        };
        let ring = self.snapshot();
        if fresh(&ring) {
            return Ok(ring);
        }
        let _reloading = self.shared.reloading.lock().await;
        let ring = self.snapshot();
        if fresh(&ring) {
            return Ok(ring);
        }
        let shared = &self.shared;
        let ring = Arc::new(
            KeyRing::load(
                &*shared.store,
                &shared.sealer,
                shared.clock.now(),
                history(),
            )
            .await?,
        );
        *shared.ring.write().unwrap_or_else(PoisonError::into_inner) = ring.clone();
        Ok(ring)
    }

    fn snapshot(&self) -> Arc<KeyRing> {
        self.shared
            .ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Adds a key, makes it current and retires the previous one, which stays in
/// the JWKS until the tokens it signed have expired (`latchkey keys rotate`).
/// Running instances publish the new key within a second and sign with it
/// a minute after the rotation.
pub async fn rotate(
    store: &dyn Store,
    sealer: &Sealer,
    clock: &dyn Clock,
) -> Result<String, TokenError> {
    let now = clock.now();
    // Open the current key first: a rotation run with another secret key
    // than the service's would leave it a current key it cannot open.
    for record in store.signing_keys(ALGORITHM, now).await? {
        if record.retired_at.is_none() {
            keys::open(&record, sealer)?;
        }
    }
    let key = keys::generate(sealer, now)?;
    if !store.rotate_signing_key(&key).await? {
        return Err(TokenError::RotationRaced);
    }
    tracing::info!(kid = %key.kid, "rotated the access token signing key");
    Ok(key.kid)
}

fn retention(ttl: Duration) -> TimeDelta {
    // `ttl` is at most `MAX_TTL` (see `with_ttl`), so this cannot overflow.
    TimeDelta::from_std(ttl.min(MAX_TTL)).unwrap_or(TimeDelta::days(1))
        + PUBLISH_AHEAD.max(REFRESH_AFTER)
        + TimeDelta::seconds(jwt::LEEWAY_SECONDS)
}

/// How far back retired keys are loaded: enough for the longest lifetime.
fn history() -> TimeDelta {
    retention(MAX_TTL)
}

/// 128 random bits, base64url: unique without coordination.
fn random_id() -> String {
    let mut bytes = [0_u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
