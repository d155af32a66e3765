//! The rows that cross the storage boundary.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{LoginFailures, QuotaTake};
use crate::domain::{
    EmailAddress, FactorKind, PasswordHash, SignedInWith, TokenDigest, User, UserId, UserStatus,
};

#[derive(Debug)]
pub struct NewAccount<'a> {
    pub user: &'a User,
    pub password_hash: &'a PasswordHash,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: Uuid,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A rendered message (email or SMS) waiting in the outbox. For SMS the
/// recipient is the phone number and only `text_body` is used.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Uuid,
    pub channel: Channel,
    /// The `Message-ID` header, fixed when queued so retries are recognisable
    /// as the same message.
    pub message_id: String,
    pub kind: &'static str,
    pub user_id: Option<UserId>,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: DateTime<Utc>,
    /// The cap on messages to this recipient, when limits are on.
    pub recipient_limit: Option<RecipientLimit>,
}

/// A recipient's message quota and the counter it is kept under.
#[derive(Debug, Clone)]
pub struct RecipientLimit {
    pub key: [u8; 32],
    pub quota: crate::limits::Quota,
}

impl RecipientLimit {
    /// The one message, counted under the recipient's quota.
    pub fn take(&self) -> QuotaTake {
        QuotaTake {
            key: self.key,
            interval_ms: self.quota.interval_ms(),
            period_ms: self.quota.period_ms(),
        }
    }
}

/// What queueing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// The recipient had their quota of messages; nothing was queued.
    Suppressed,
}

#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub channel: Channel,
    pub message_id: String,
    pub user_id: Option<UserId>,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// What `latchkey outbox list` shows: state, never bodies.
#[derive(Debug, Clone)]
pub struct OutboxSummary {
    pub id: Uuid,
    pub message_id: String,
    pub kind: String,
    pub recipient: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: Uuid,
    pub user: User,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A stored request to change an account's address, and its account.
#[derive(Debug, Clone)]
pub struct EmailChangeRecord {
    pub id: Uuid,
    pub user: User,
    /// The address the link was sent to, which becomes the account's.
    pub new_email: EmailAddress,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A change of address that was made, as the link to undo it finds it.
#[derive(Debug, Clone)]
pub struct EmailRevertRecord {
    /// The change's id.
    pub id: Uuid,
    /// The account as it now is.
    pub user: User,
    /// The address the change replaced, which the undo restores.
    pub old_email: EmailAddress,
    /// When the change was asked for: what was added to the account since
    /// may be an intruder's.
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub reverted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

/// What a password sign-in needs to know about the account: its
/// credentials, whether the browser's device cookie belongs to it, and
/// whether it has a confirmed second factor (else there is none to ask).
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub credentials: UserCredentials,
    pub known_device: bool,
    pub has_second_factor: bool,
}

/// Everything a password sign-in reads, in one round trip: the account,
/// if there is one, and the failed logins on record for the keys asked
/// about (the address's, known or not, and the browser's device's).
#[derive(Debug, Clone, Default)]
pub struct LoginRead {
    pub account: Option<LoginRecord>,
    pub failures: Vec<([u8; 32], LoginFailures)>,
}

impl LoginRead {
    /// The failures on record for `key`, one of the keys asked about.
    pub fn failures_of(&self, key: &[u8; 32]) -> Option<LoginFailures> {
        self.failures
            .iter()
            .find(|(found, _)| found == key)
            .map(|(_, failures)| *failures)
    }
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: UserId,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub signed_in_with: SignedInWith,
    /// The device cookie's digest of the browser it started on: remembered
    /// (or seen again) in the same transaction as the session.
    pub device: Option<TokenDigest>,
}

impl NewSession {
    /// The detail of its `session.started` entry: the session's id and how
    /// it signed in (`flows::activity` reads the second word back).
    pub fn started_detail(&self) -> String {
        format!("{} {}", self.id, self.signed_in_with.as_str())
    }

    /// A device seen after this is not written again. Its `last_seen_at`
    /// only decides when it is forgotten (unseen for a year), so a day's
    /// precision is plenty; and without the write, one browser's sign-ins
    /// do not queue on its row's lock for each other's commits
    /// (BENCHMARKS.md, session 15).
    pub fn device_fresh_since(&self) -> DateTime<Utc> {
        self.created_at
            .checked_sub_signed(TimeDelta::days(1))
            .unwrap_or(self.created_at)
    }
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user: User,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// How it was signed in (`None`: before sessions kept it).
    pub signed_in_with: Option<SignedInWith>,
}

/// The messages of one channel waiting to be delivered, for an operator's
/// alert on a stuck queue.
#[derive(Debug, Clone)]
pub struct Backlog {
    pub channel: Channel,
    pub queued: i64,
    /// When the oldest of them was queued.
    pub oldest: DateTime<Utc>,
}

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Self; 2] = [Self::Email, Self::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// A second factor, enrolled or being enrolled.
#[derive(Debug, Clone)]
pub struct FactorRecord {
    pub id: Uuid,
    pub user_id: UserId,
    pub kind: FactorKind,
    /// Sealed: the TOTP seed, or a passkey's credential (while it is being
    /// enrolled, its ceremony's state).
    pub secret: Option<Vec<u8>>,
    pub phone: Option<String>,
    pub last_step: Option<i64>,
    pub code_digest: Option<Vec<u8>>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub code_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// What the owner calls it (passkeys).
    pub name: Option<String>,
    /// Its last sign-in (passkeys).
    pub last_used_at: Option<DateTime<Utc>>,
    /// A passkey's credential id (public).
    pub credential_id: Option<Vec<u8>>,
}

/// A passkey made by the owner's device, to keep once its enrolment is
/// confirmed.
#[derive(Debug, Clone)]
pub struct NewPasskey<'a> {
    /// The credential, sealed.
    pub sealed: &'a [u8],
    pub credential_id: &'a [u8],
    pub name: &'a str,
}

/// An enrolment waiting for its confirming code.
#[derive(Debug, Clone)]
pub struct PendingFactor {
    pub id: Uuid,
    pub user_id: UserId,
    pub kind: FactorKind,
    pub secret: Option<Vec<u8>>,
    pub phone: Option<String>,
    pub code_digest: Option<[u8; 32]>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What a challenge token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// Finish a login with a second factor.
    Login,
    /// Enrol a first factor, which the server requires before any session.
    Enroll,
}

impl ChallengePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Enroll => "enroll",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewChallenge {
    pub id: Uuid,
    pub user_id: UserId,
    pub digest: TokenDigest,
    pub purpose: ChallengePurpose,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ChallengeRecord {
    pub id: Uuid,
    pub user: User,
    pub purpose: ChallengePurpose,
    pub expires_at: DateTime<Utc>,
    pub attempts: i32,
    pub code_method: Option<FactorKind>,
    pub code_digest: Option<Vec<u8>>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// A passkey ceremony's state, sealed (`POST /mfa/passkey/options`).
    pub passkey_state: Option<Vec<u8>>,
}

/// A signing key to store; its private half is already sealed.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub kid: String,
    pub algorithm: &'static str,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A stored signing key. The private half stays sealed until the token
/// module opens it.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// Which audit events to read: the newest `limit` of those that match.
#[derive(Debug, Clone)]
pub struct AuditFilter {
    pub user_id: Option<UserId>,
    /// Events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// Which accounts to list, newest first: `limit` of them, from just after
/// the account `after` (the last one of the previous page).
#[derive(Debug, Clone)]
pub struct UserFilter<'a> {
    /// Only the account with this address.
    pub email: Option<&'a EmailAddress>,
    pub status: Option<UserStatus>,
    pub after: Option<UserId>,
    pub limit: i64,
}

/// An account and the kinds of second factor it has confirmed.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user: User,
    pub factors: Vec<FactorKind>,
}

/// Rows deleted because what they recorded ended before a given instant.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    /// Verification, password reset and email change links.
    pub links: u64,
    /// Second-factor challenges of past sign-ins, and the claims of past
    /// passkey sign-ins.
    pub challenges: u64,
    /// Messages delivered, given up on or cancelled.
    pub messages: u64,
    /// Token signing keys retired that long ago: every token they signed
    /// has expired (a token lives a day at most), and no JWKS lists them.
    pub signing_keys: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.sessions + self.links + self.challenges + self.messages + self.signing_keys
    }
}
