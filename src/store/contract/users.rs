//! Accounts and their verification links: sign-up, activation, look-ups,
//! and what operators change. Queries in `sql/users.rs` and `sql/register.rs`.

use async_trait::async_trait;
use uuid::Uuid;

use crate::audit::{AuditEvent, RequestMeta};
use crate::domain::{DisplayName, EmailAddress, TokenDigest, User, UserId};
use crate::store::{
    Delivery, LoginRead, NewAccount, NewMessage, NewSession, NewToken, RegisterError, StoreResult,
    TokenRecord, UserCredentials, UserFilter, UserSummary,
};

/// What `register` writes when the address is taken, under enumeration
/// protection: the notice for the owner (the store addresses it and `event`
/// to the account that has the address).
#[derive(Debug)]
pub struct TakenAddress<'a> {
    pub notice: &'a NewMessage,
    pub event: &'a AuditEvent,
}

/// What `register` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Created,
    /// The address belonged to an account still waiting for its first
    /// verification, and not disabled: that sign-up was replaced by this
    /// one (this account, under its old id). Nobody ever proved the address,
    /// so nobody loses anything, and whoever signed up first with somebody
    /// else's address cannot keep it nor pick its password (account
    /// pre-hijacking).
    Replaced(UserId),
    /// The address was taken: the owner (this account) was notified.
    OwnerNotified(UserId),
}

/// The trail's detail on the `user.registered` entry of a sign-up that
/// replaced a pending one (`Registration::Replaced`).
pub const REPLACED_SIGN_UP: &str = "replaced the unverified sign-up of this address";

/// What consuming a verification token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// This call used the token and activated the account.
    Activated,
    /// The token had already been used (by a mail scanner, or a double click).
    AlreadyUsed,
    /// The token was superseded by a newer link.
    Revoked,
}

/// Accounts and their verification links.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails unless the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// The pending account, its first verification token and the email that
    /// carries it, committed together: either all exist or none does.
    ///
    /// An address whose account is pending and not disabled is free to sign
    /// up with again: the account is replaced in the same transaction (its
    /// name, address as typed, password and `created_at`; its unused
    /// verification links revoked, their unsent emails cancelled).
    ///
    /// Any other taken address: `EmailTaken`, or with `taken` (enumeration
    /// protection) the owner's notice and its audit row instead, in the same
    /// transaction and with as many statements, so every way takes as long.
    async fn register(
        &self,
        account: &NewAccount<'_>,
        token: &NewToken,
        mail: &NewMessage,
        meta: &RequestMeta,
        taken: Option<&TakenAddress<'_>>,
    ) -> Result<Registration, RegisterError>;

    /// An operator's invitation: the pending account (`account`'s hash one
    /// no password matches), the reset link its owner chooses a password
    /// with, the email that carries it and `event`, together. `EmailTaken`,
    /// with nothing written, when any account has the address.
    async fn invite(
        &self,
        account: &NewAccount<'_>,
        token: &NewToken,
        mail: &NewMessage,
        event: &AuditEvent,
    ) -> Result<Delivery, RegisterError>;

    /// Whether the account is pending because an operator invited it (and
    /// no sign-up has replaced it since): its owner has chosen no password.
    async fn waits_for_invitation(&self, user_id: UserId) -> StoreResult<bool>;

    async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<User>>;

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;

    async fn credentials_by_email(
        &self,
        email: &EmailAddress,
    ) -> StoreResult<Option<UserCredentials>>;

    /// The credentials of `email`'s account with what else a sign-in asks
    /// about it, and the failed logins on record for each of `failure_keys`
    /// (whether or not the account exists); `device` is the digest of the
    /// browser's device cookie.
    async fn login_record(
        &self,
        email: &EmailAddress,
        device: Option<&TokenDigest>,
        failure_keys: [Option<&[u8; 32]>; 2],
    ) -> StoreResult<LoginRead>;

    async fn users(&self, limit: i64) -> StoreResult<Vec<User>>;

    /// A page of accounts, newest first (by id: UUIDv7, so creation order),
    /// with their confirmed factors.
    async fn user_summaries(&self, filter: &UserFilter<'_>) -> StoreResult<Vec<UserSummary>>;

    async fn token_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>>;

    /// Uses the token, activates its account, starts `session` and queues
    /// `notice` ("your account is active"), once, in one transaction.
    async fn activate(
        &self,
        token_id: Uuid,
        user_id: UserId,
        session: Option<&NewSession>,
        notice: &NewMessage,
        meta: &RequestMeta,
    ) -> StoreResult<Activation>;

    /// Revokes every unused link of the account (and cancels their unsent
    /// emails), then stores a fresh token, its email and `event` (what
    /// asked for the link: a resend). When the recipient's quota holds the
    /// email back, nothing is revoked and nothing stored but `event` and
    /// `email.suppressed`: the link already sent keeps working.
    async fn replace_verification(
        &self,
        user_id: UserId,
        token: &NewToken,
        mail: &NewMessage,
        event: &AuditEvent,
    ) -> StoreResult<Delivery>;

    /// Deletes the account and what hangs on it (sessions, links, factors,
    /// devices; their rows cascade), cancels its unsent messages, queues
    /// `notice` to its address and records `event`, in one transaction.
    /// `false` when there was no such account.
    async fn delete_account(
        &self,
        user_id: UserId,
        notice: &NewMessage,
        event: &AuditEvent,
    ) -> StoreResult<bool>;

    /// Disables the account (or gives it back), and records `event`,
    /// together. Disabling ends its sessions, revokes its unused links,
    /// expires logins waiting for its second factor and cancels its unsent
    /// mail; giving it back restores only the status (what ended stays
    /// ended). The account as it now is, or `None` when there is no such
    /// account.
    async fn set_disabled(
        &self,
        user_id: UserId,
        disabled: bool,
        event: &AuditEvent,
    ) -> StoreResult<Option<User>>;

    /// Sets the account's display name and records `event`, together; the
    /// account as it now is, or `None` when there is no such account.
    async fn rename(
        &self,
        user_id: UserId,
        name: &DisplayName,
        event: &AuditEvent,
    ) -> StoreResult<Option<User>>;
}

/// The outbox kind of the email that carries a verification link: a newer
/// link, or a sign-up that replaces a pending one, cancels such emails while
/// still unsent.
pub const VERIFICATION_MAIL: &str = "verify_email";
