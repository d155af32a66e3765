//! Forgetting what has ended. Queries in `sql/retention.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::AuditEvent;
use crate::store::{Pruned, StoreResult};

/// Forgetting what has ended, in batches of at most `batch` rows a
/// statement, so that SQLite's one writer is never held for long.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes sessions that expired or were revoked before `before`, links
    /// and challenges that expired before it, messages queued before it
    /// that are no longer pending, and signing keys retired before it.
    async fn prune_ended(&self, before: DateTime<Utc>, batch: i64) -> StoreResult<Pruned>;

    /// Deletes the audit trail's entries recorded before `before`.
    async fn prune_audit(&self, before: DateTime<Utc>, batch: i64) -> StoreResult<u64>;

    /// Deletes accounts still pending that signed up before `before`, with
    /// what hangs on them, unless they hold a verification or reset link
    /// still good at `event.at` (an invitation not yet taken up waits for its
    /// link); their unsent mail is cancelled, and `event` (its account filled
    /// in) is recorded for each. The number deleted.
    async fn prune_unverified(
        &self,
        before: DateTime<Utc>,
        event: &AuditEvent,
        batch: i64,
    ) -> StoreResult<u64>;
}
