//! The mail outbox: queueing, leasing and the outcome of delivery.
//! Queries in `sql/outbox.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::RequestMeta;
use crate::store::{Backlog, Delivery, NewMessage, OutboxMessage, OutboxSummary, StoreResult};

/// The mail outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Leases up to `limit` due messages until `lease_until`; several workers
    /// (on several instances) never receive the same message at once.
    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>>;

    /// The server accepted these messages: record it and erase their bodies,
    /// in one write however many there are.
    async fn messages_sent(&self, ids: &[Uuid], now: DateTime<Utc>) -> StoreResult<()>;

    /// Delivery failed; try again at `retry_at`, or give up when it is `None`.
    async fn message_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    async fn messages(&self, limit: i64) -> StoreResult<Vec<OutboxSummary>>;

    /// The messages still to deliver, by channel (none for a channel with
    /// nothing waiting). Retries count; a message given up on does not.
    async fn backlog(&self) -> StoreResult<Vec<Backlog>>;

    /// Queues one message on its own (codes, notifications), unless its
    /// recipient's quota is spent.
    async fn enqueue(&self, message: &NewMessage, meta: &RequestMeta) -> StoreResult<Delivery>;
}
