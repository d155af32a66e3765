//! The keys that sign access tokens. Queries in `sql/keys.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::{NewSigningKey, SigningKeyRecord, StoreResult};

/// The keys that sign access tokens, shared by every instance.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Keys of `algorithm` that are current or were retired after
    /// `retired_after`: the current key first, then the most recently retired.
    async fn signing_keys(
        &self,
        algorithm: &str,
        retired_after: DateTime<Utc>,
    ) -> StoreResult<Vec<SigningKeyRecord>>;

    /// Stores `key` as the current key of its algorithm unless one exists.
    /// False when another key is current (another instance was first).
    async fn insert_first_signing_key(&self, key: &NewSigningKey) -> StoreResult<bool>;

    /// Retires the current key of `key.algorithm` at `key.created_at` and
    /// makes `key` current, atomically. False (and nothing changed) when a
    /// concurrent rotation committed first.
    async fn rotate_signing_key(&self, key: &NewSigningKey) -> StoreResult<bool>;
}
