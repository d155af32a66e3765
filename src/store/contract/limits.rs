//! The counters behind abuse limits: quotas and failed logins. Queries in
//! `sql/limits.rs` (PostgreSQL's own in `postgres/limits.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::RequestMeta;
use crate::domain::{TokenDigest, UserId};
use crate::store::{Delivery, NewMessage, StoreResult};

/// One request to count under a quota: the counter's key (`limits::key`)
/// and the quota's rate, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaTake {
    pub key: [u8; 32],
    /// The time one request uses up.
    pub interval_ms: i64,
    /// The burst: how far ahead of now the counter may run.
    pub period_ms: i64,
}

/// A quota that refused: which of the requests, and how long until it fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaRefusal {
    /// False: the first quota refused (and the second was not counted);
    /// true: the first was counted and the second refused.
    pub second: bool,
    pub wait_ms: i64,
}

/// Consecutive failed logins of one key (see `limits::FailureKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub failures: i64,
    /// No attempt before this time, in milliseconds since the Unix epoch.
    pub not_before: i64,
}

/// The counters behind `limits`, shared by every instance. Times are
/// milliseconds since the Unix epoch, so one integer column serves both engines.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// One request under one or two quotas (generic cell rate algorithm),
    /// in one write: `then` is counted only when `first` allows the
    /// request, as two calls that stop at the first refusal would count.
    /// `None` when every quota allows it (and counts it).
    async fn take_quotas(
        &self,
        now_ms: i64,
        first: &QuotaTake,
        then: Option<&QuotaTake>,
    ) -> StoreResult<Option<QuotaRefusal>>;

    async fn login_failures(&self, key: &[u8; 32]) -> StoreResult<Option<LoginFailures>>;

    /// Moves the next allowed attempt to `not_before_ms`, only if the count is
    /// still `failures` and the wait is over: false when another request won.
    async fn reserve_login_attempt(
        &self,
        key: &[u8; 32],
        failures: i64,
        now_ms: i64,
        not_before_ms: i64,
    ) -> StoreResult<bool>;

    /// One more failure; returns the count.
    async fn record_login_failure(&self, key: &[u8; 32], now_ms: i64) -> StoreResult<i64>;

    async fn hold_login_attempts(&self, key: &[u8; 32], not_before_ms: i64) -> StoreResult<()>;

    async fn clear_login_failures(&self, key: &[u8; 32]) -> StoreResult<()>;

    /// Deletes spent quotas, and failure counts untouched since `forget_before_ms`.
    async fn prune_limits(&self, now_ms: i64, forget_before_ms: i64) -> StoreResult<u64>;

    /// Forgets devices not seen since `before`, and unlock links that expired.
    async fn prune_devices(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64>;

    /// The account a device cookie belongs to.
    async fn device_owner(&self, digest: &TokenDigest) -> StoreResult<Option<UserId>>;

    /// Stores the digest of an unlock link and its email, together.
    async fn create_unlock(
        &self,
        digest: &TokenDigest,
        user_id: UserId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &NewMessage,
        meta: &RequestMeta,
    ) -> StoreResult<Delivery>;

    async fn live_unlock_exists(&self, user_id: UserId, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Uses an unexpired, unused unlock link: the account it was for.
    async fn use_unlock(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>>;
}
