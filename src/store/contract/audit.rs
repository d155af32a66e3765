//! Writing and reading the audit trail. Queries in `sql/audit.rs`.

use async_trait::async_trait;

use crate::audit::{AuditEntry, AuditEvent, AuditRecord};
use crate::domain::UserId;
use crate::store::{AuditFilter, StoreResult};

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit(&self, event: &AuditEvent) -> StoreResult<()>;

    async fn audit_trail(
        &self,
        user_id: Option<UserId>,
        limit: i64,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// The account's newest `limit` entries whose event is one of `events`
    /// (their stored names), newest first: what its owner is shown. With
    /// `before` (an entry's id), only the entries recorded before it: the
    /// next page. Each with its id.
    async fn account_activity(
        &self,
        user_id: UserId,
        events: &[&'static str],
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<(i64, AuditRecord)>>;

    /// The newest `filter.limit` matching events with their account's email,
    /// returned oldest first (in the order they were recorded).
    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
}
