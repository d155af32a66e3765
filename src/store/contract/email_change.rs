//! Changing an account's address: the request waiting for its link, its
//! use, and the undo link the old address gets (`flows::email_change`,
//! `flows::email_revert`). Queries in `sql/email_changes.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::AuditEvent;
use crate::domain::{EmailAddress, TokenDigest, UserId};
use crate::store::{
    Delivery, EmailChangeRecord, EmailRevertRecord, NewMessage, NewToken, StoreResult,
};

/// The outbox kind of the email that carries an email change link: a newer
/// request or the change itself cancels such emails while still unsent.
pub const EMAIL_CHANGE_MAIL: &str = "email_change";

/// What using an email change link (or the link that undoes a change) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailChange {
    /// The account has the new address now (or its old one back).
    Changed,
    /// The link was used, revoked or had expired by then (a concurrent use
    /// won): nothing changed.
    LinkSpent,
    /// Another account has the address (it signed up since the request):
    /// nothing changed, the link still works.
    AddressTaken,
}

/// Changing an account's address: a request waits, with the link emailed
/// to the new address, until that link is used.
#[async_trait]
pub trait EmailChangeStore: Send + Sync {
    /// Revokes the account's unused email change links (and cancels their
    /// unsent emails), then stores a fresh request for `new_email`, `link`
    /// (the email that carries it), `notice` (to the current address) and
    /// `event`. The link's delivery: suppressed when the new address has
    /// had its quota of messages, and then nothing is revoked or stored
    /// (the change already waiting keeps its link); the notice and `event`
    /// are written either way.
    async fn replace_email_change(
        &self,
        user_id: UserId,
        new_email: &EmailAddress,
        token: &NewToken,
        link: &NewMessage,
        notice: &NewMessage,
        event: &AuditEvent,
    ) -> StoreResult<Delivery>;

    /// The account's change of address waiting for its link at `now`: the
    /// new address and when the link stops working (the newest, since a
    /// request revokes the ones before it).
    async fn open_email_change(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(EmailAddress, DateTime<Utc>)>>;

    /// Revokes the account's open change links (and cancels their unsent
    /// emails) and records `event` when there was one; whether there was.
    async fn cancel_email_change(&self, user_id: UserId, event: &AuditEvent) -> StoreResult<bool>;

    /// The request and its account, whatever its state; the caller judges.
    async fn email_change_by_digest(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<EmailChangeRecord>>;

    /// Uses the link and, in the same transaction, gives the account its
    /// new address, keeps the old one with `undo` (the digest of the link
    /// that undoes the change, working until `undo_until`), revokes its
    /// other change links, records `event` and queues `notice` (to the old
    /// address, with that link).
    async fn change_email(
        &self,
        change: &EmailChangeRecord,
        undo: &TokenDigest,
        undo_until: DateTime<Utc>,
        notice: &NewMessage,
        event: &AuditEvent,
    ) -> StoreResult<EmailChange>;

    /// The change whose undo link has this digest, and its account.
    async fn email_revert_by_digest(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<EmailRevertRecord>>;

    /// Undoes a change of address, once, in one transaction: the old
    /// address back, every session ended, open change links revoked, logins
    /// waiting for a second factor expired, factors confirmed since the
    /// change was asked for removed (with the recovery codes if none is
    /// left), and `reset` (a fresh password reset link, `reset_mail` to the
    /// old address) in place of any other, with `event`. Whoever changed the
    /// address knew the password.
    async fn revert_email(
        &self,
        revert: &EmailRevertRecord,
        reset: &NewToken,
        reset_mail: &NewMessage,
        event: &AuditEvent,
    ) -> StoreResult<EmailChange>;
}
