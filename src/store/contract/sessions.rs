//! Server-side sessions. Queries in `sql/sessions.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{AuditEvent, RequestMeta};
use crate::domain::{TokenDigest, UserId};
use crate::store::{NewSession, SessionRecord, StoreResult};

/// Server-side sessions, looked up by the digest of the cookie's secret.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores the session and its `session.started` audit entry together,
    /// after `proof`, the entry of what earned the session, when given: a
    /// sign-in is never recorded without its session, nor the reverse.
    async fn create_session(
        &self,
        session: &NewSession,
        meta: &RequestMeta,
        proof: Option<&AuditEvent>,
    ) -> StoreResult<()>;

    /// The session and its account, whatever its state; the caller judges expiry.
    async fn session_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<SessionRecord>>;

    async fn touch_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    /// Revokes one session of `user_id`; false when there was none to revoke.
    async fn revoke_session(
        &self,
        user_id: UserId,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Revokes every live session of the account but `keep`.
    async fn revoke_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Revokes every live session of every account (an operator's big red button).
    async fn revoke_all_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// The account's sessions that are not revoked, newest first.
    async fn sessions_of(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>>;

    /// The session and its account by id, whatever its state (an access
    /// token names its session by id, not by the cookie's secret).
    async fn session_by_id(&self, id: Uuid) -> StoreResult<Option<SessionRecord>>;
}
