//! The keys one instance holds in memory: loaded from the database, which
//! all instances share, and reloaded now and then to pick up rotations.

use chrono::{DateTime, TimeDelta, Utc};

use super::TokenError;
use super::keys::{self, ALGORITHM, SigningKey, VerifyingKey};
use crate::crypto::Sealer;
use crate::store::{Store, StoreError};

/// A snapshot of the database's signing keys.
#[derive(Debug)]
pub(super) struct KeyRing {
    /// The current key, and since when.
    current: SigningKey,
    current_since: DateTime<Utc>,
    /// The key the latest rotation retired, which keeps signing for a while.
    previous: Option<SigningKey>,
    /// The current key, then recently retired ones (latest retired first).
    verifying: Vec<VerifyingKey>,
    pub(super) loaded_at: DateTime<Utc>,
}

impl KeyRing {
    /// The keys in the database, after creating the first one if there is
    /// none. `history` bounds how long ago a retired key may have been
    /// retired to be loaded at all; `KeyRing::usable` decides precisely.
    pub(super) async fn load(
        store: &dyn Store,
        sealer: &Sealer,
        now: DateTime<Utc>,
        history: TimeDelta,
    ) -> Result<Self, TokenError> {
        let since = now.checked_sub_signed(history).unwrap_or(now);
        // Two rounds suffice: either a key is current, or we insert one, or
        // another instance inserted one between our read and our insert.
        for _ in 0..3 {
            // The current key first, then the most recently retired: the
            // first retired key is the one the latest rotation retired.
            let records = store.signing_keys(ALGORITHM, since).await?;
            let mut current = None;
            let mut previous = None;
            let mut verifying = Vec::with_capacity(records.len());
            for record in &records {
                let (sign, verify) = keys::open(record, sealer)?;
                if record.retired_at.is_none() {
                    current = Some((sign, record.created_at));
                } else if previous.is_none() {
                    previous = Some(sign);
                }
                verifying.push(verify);
            }
            if let Some((current, current_since)) = current {
                return Ok(Self {
                    current,
                    current_since,
                    previous,
                    verifying,
                    loaded_at: now,
                });
            }
            // The unique index on the current key decides between instances
            // starting together: the loser's insert does nothing, and it
            // reads the winner's key on the next round.
            let key = keys::generate(sealer, now)?;
            if store.insert_first_signing_key(&key).await? {
                tracing::info!(kid = %key.kid, "created the access token signing key");
            }
        }
        Err(StoreError::Corrupt("no current signing key after creating one").into())
    }

    /// The key to sign with at `now`. A new key is published in the JWKS at
    /// once but signs only once it is `publish_ahead` old: by then every
    /// JWKS cached before the rotation has expired, so services that verify
    /// our tokens already hold it when the first token signed with it comes.
    pub(super) fn signing_key(&self, now: DateTime<Utc>, publish_ahead: TimeDelta) -> &SigningKey {
        match &self.previous {
            Some(previous) if now - self.current_since < publish_ahead => previous,
            _ => &self.current,
        }
    }

    /// The key named `kid`, if it may verify a token at `now`: current, or
    /// retired less than `retention` ago.
    pub(super) fn key(
        &self,
        kid: &str,
        now: DateTime<Utc>,
        retention: TimeDelta,
    ) -> Option<&VerifyingKey> {
        self.usable(now, retention).find(|key| key.kid == kid)
    }

    /// Whether the snapshot holds `kid` at all, usable or not.
    pub(super) fn knows(&self, kid: &str) -> bool {
        self.verifying.iter().any(|key| key.kid == kid)
    }

    pub(super) fn usable(
        &self,
        now: DateTime<Utc>,
        retention: TimeDelta,
    ) -> impl Iterator<Item = &VerifyingKey> {
        self.verifying.iter().filter(move |key| {
            key.retired_at.is_none_or(|retired| {
                retired
                    .checked_add_signed(retention)
                    .is_none_or(|until| now < until)
            })
        })
    }
}
