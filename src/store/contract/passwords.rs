//! Setting a new password: reset links, changes by the owner or an
//! operator, and upgrades of the stored hash. Queries in `sql/passwords.rs`.

use async_trait::async_trait;
use uuid::Uuid;

use crate::audit::{AuditEvent, RequestMeta};
use crate::domain::{PasswordHash, TokenDigest, UserId};
use crate::store::{Delivery, NewMessage, NewToken, StoreResult, TokenRecord};

/// The outbox kind of the email that carries a reset link: a newer link, a
/// reset or a change cancels such emails while still unsent.
pub const PASSWORD_RESET_MAIL: &str = "password_reset";

/// Setting a new password: through an emailed reset link, or by its owner
/// signed in. Each change commits with the sessions it ends, its audit entry
/// and the notice email, or not at all.
#[async_trait]
pub trait PasswordStore: Send + Sync {
    /// Revokes the account's unused reset links (and cancels their unsent
    /// emails), then stores a fresh one and the email that carries it.
    async fn replace_password_reset(
        &self,
        user_id: UserId,
        token: &NewToken,
        mail: &NewMessage,
        meta: &RequestMeta,
    ) -> StoreResult<Delivery>;

    /// The reset link and its account, whatever its state; the caller judges.
    async fn reset_token_by_digest(&self, digest: &TokenDigest)
    -> StoreResult<Option<TokenRecord>>;

    /// Uses the link and, in the same transaction, stores `hash`, revokes
    /// every session, every other reset link and open login challenges of
    /// the account, records `password.reset` and queues `notice`. False,
    /// with nothing changed, when the link was used, revoked or had expired
    /// by then (a concurrent use won).
    async fn reset_password(
        &self,
        token_id: Uuid,
        user_id: UserId,
        hash: &PasswordHash,
        notice: &NewMessage,
        meta: &RequestMeta,
    ) -> StoreResult<bool>;

    /// An operator voids the account's password (evidence it leaked): in
    /// one transaction `unusable` (a hash no password matches) replaces it,
    /// whatever rests on it stops (reset and change-of-address links, logins
    /// waiting for a second factor), every session ends, and a fresh reset
    /// link goes out with `mail` (stored only when its recipient's quota
    /// lets the email go), with `password.reset_forced`. The sessions ended.
    async fn force_password_reset(
        &self,
        user_id: UserId,
        unusable: &PasswordHash,
        token: &NewToken,
        mail: &NewMessage,
        meta: &RequestMeta,
    ) -> StoreResult<u64>;

    /// Puts `new`, the same password hashed with the configured parameters,
    /// in place of `old` and records `event`, together; only while the
    /// account's hash is still `old`, so a password changed meanwhile stays.
    /// Nothing else moves: sessions, links and `updated_at` rest on the
    /// password, which is the same. False when nothing was replaced.
    async fn upgrade_password_hash(
        &self,
        user_id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
        event: &AuditEvent,
    ) -> StoreResult<bool>;

    /// Stores `hash`, revokes every session but `keep`, the reset links and
    /// open login challenges, records `password.changed` and queues `notice`.
    async fn change_password(
        &self,
        user_id: UserId,
        hash: &PasswordHash,
        keep: Option<Uuid>,
        notice: &NewMessage,
        meta: &RequestMeta,
    ) -> StoreResult<()>;
}
