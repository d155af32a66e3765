//! Storage: one contract (`Store`, made of one trait per concern), two
//! engines. The embedded SQLite default and PostgreSQL share every query
//! (`sql/`); only the migrations and the outbox's row locking differ.

mod email_change;
mod error;
mod postgres;
mod records;
mod sql;
mod sqlite;

use std::num::NonZeroU32;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use records::{
    AuditFilter, ChallengePurpose, ChallengeRecord, Channel, Delivery, EmailChangeRecord,
    EmailRevertRecord, FactorRecord, LoginRead, LoginRecord, NewAccount, NewChallenge, NewMessage,
    NewSession, NewToken, OutboxMessage, OutboxSummary, PendingFactor, Pruned, RecipientLimit,
    SessionRecord, TokenRecord, UserCredentials, UserFilter, UserSummary,
};
pub use records::{NewSigningKey, SigningKeyRecord};

pub use email_change::{EMAIL_CHANGE_MAIL, EmailChange, EmailChangeStore};
pub use error::{EnrolError, RegisterError, StoreError};

use crate::audit::{AuditEntry, AuditEvent, AuditRecord, RequestMeta};
use crate::domain::{
    DisplayName, EmailAddress, FactorKind, PasswordHash, TokenDigest, User, UserId,
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

pub type StoreResult<T> = Result<T, StoreError>;

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

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit(&self, event: &AuditEvent) -> StoreResult<()>;

    async fn audit_trail(
        &self,
        user_id: Option<UserId>,
        limit: i64,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// The newest `filter.limit` matching events with their account's email,
    /// returned oldest first (in the order they were recorded).
    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
}

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
    /// what hangs on them; their unsent mail is cancelled, and `event` (its
    /// account filled in) is recorded for each. The number deleted.
    async fn prune_unverified(
        &self,
        before: DateTime<Utc>,
        event: &AuditEvent,
        batch: i64,
    ) -> StoreResult<u64>;
}

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

    /// Queues one message on its own (codes, notifications), unless its
    /// recipient's quota is spent.
    async fn enqueue(&self, message: &NewMessage, meta: &RequestMeta) -> StoreResult<Delivery>;
}

/// Second factors, recovery codes and login challenges.
#[async_trait]
pub trait MfaStore: Send + Sync {
    async fn factors_of(&self, user_id: UserId) -> StoreResult<Vec<FactorRecord>>;

    /// Starts (or restarts) an enrolment; refused while a confirmed factor of
    /// that kind exists.
    async fn begin_enrolment(&self, factor: &PendingFactor) -> Result<(), EnrolError>;

    /// Counts one wrong enrolment code; returns the attempts so far.
    async fn count_enrolment_attempt(&self, user_id: UserId, kind: FactorKind) -> StoreResult<i32>;

    /// Confirms a pending enrolment; false when there was none.
    async fn confirm_factor(
        &self,
        user_id: UserId,
        kind: FactorKind,
        last_step: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Records `step` as the last TOTP step used, only if it is later than
    /// the one recorded: two requests with one code cannot both pass.
    async fn advance_totp_step(&self, user_id: UserId, step: i64) -> StoreResult<bool>;

    /// Removes a confirmed factor (and the recovery codes with the last one).
    async fn delete_factor(&self, user_id: UserId, kind: FactorKind) -> StoreResult<bool>;

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        digests: &[[u8; 32]],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Uses an unused recovery code; false when it is unknown or used.
    async fn use_recovery_code(
        &self,
        user_id: UserId,
        digest: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    async fn recovery_codes_left(&self, user_id: UserId) -> StoreResult<i64>;

    async fn create_challenge(&self, challenge: &NewChallenge) -> StoreResult<()>;

    async fn challenge_by_digest(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<ChallengeRecord>>;

    /// Stores a fresh delivered code; the attempt count is kept.
    async fn set_challenge_code(
        &self,
        id: Uuid,
        method: FactorKind,
        digest: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Counts one wrong code; returns the attempts so far.
    async fn count_challenge_attempt(&self, id: Uuid) -> StoreResult<i32>;

    /// Marks the challenge done, once; false when it already was.
    async fn complete_challenge(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
}

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

/// Everything latchkey keeps, on one engine.
pub trait Store:
    UserStore
    + PasswordStore
    + EmailChangeStore
    + SessionStore
    + AuditStore
    + RetentionStore
    + OutboxStore
    + MfaStore
    + KeyStore
    + LimitStore
    + std::fmt::Debug
    + 'static
{
}

impl<T> Store for T where
    T: UserStore
        + PasswordStore
        + EmailChangeStore
        + SessionStore
        + AuditStore
        + RetentionStore
        + OutboxStore
        + MfaStore
        + KeyStore
        + LimitStore
        + std::fmt::Debug
        + 'static
{
}

/// The connections kept to PostgreSQL at most, unless configured.
#[allow(clippy::unwrap_used, reason = "a constant, checked when compiled")]
pub const DEFAULT_MAX_CONNECTIONS: NonZeroU32 = NonZeroU32::new(16).unwrap();

/// Opens the database named by `url`, creating it (SQLite) and applying
/// migrations as needed.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    connect_with(url, DEFAULT_MAX_CONNECTIONS).await
}

/// As `connect`, keeping at most `max_connections` to PostgreSQL. SQLite
/// has one writer and its readers whatever this says.
pub async fn connect_with(url: &str, max_connections: NonZeroU32) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(
            postgres::PgStore::connect(url, max_connections).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Applies pending migrations without serving (`latchkey migrate`).
pub async fn migrate(url: &str) -> StoreResult<()> {
    connect(url).await.map(drop)
}
