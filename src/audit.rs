//! The audit trail: who did what, when, from where, and how it went. Never a
//! password, a token or a code; `detail` carries only non-secret context.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::UserId;

/// Every kind of event the trail records; the string form is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    UserRegistered,
    /// Someone signed up with an address that already has an account
    /// (under enumeration protection: the owner is emailed instead).
    SignupWithTakenAddress,
    EmailQueued,
    EmailSuppressed,
    EmailSent,
    EmailDeferred,
    EmailFailed,
    VerificationSucceeded,
    VerificationFailed,
    VerificationResent,
    SessionStarted,
    SessionEnded,
    SessionsRevokedByAdmin,
    LoginSucceeded,
    LoginFailed,
    LoginLocked,
    LoginUnlocked,
    MfaCodeSent,
    MfaSucceeded,
    MfaFailed,
    FactorAdded,
    FactorRemoved,
    /// An operator removed every second factor and the recovery codes
    /// (their owner lost them), and ended the sessions.
    FactorsReset,
    RecoveryCodesIssued,
    PasswordResetRequested,
    PasswordResetFailed,
    PasswordReset,
    /// An operator voided the password and emailed a reset link.
    PasswordResetForced,
    PasswordChanged,
    PasswordChangeFailed,
    /// A sign-in found the password's hash made with other parameters than
    /// the configured ones and stored it hashed again with them (the
    /// detail says from which to which).
    PasswordRehashed,
    /// The account and everything that hung on it were deleted (by its
    /// owner or an administrator: the detail says which).
    AccountDeleted,
    /// An operator made the account and emailed its owner the link to
    /// choose a password.
    UserInvited,
    /// The owner changed the account's display name.
    UserRenamed,
    /// The owner downloaded everything the service holds about the account.
    DataExported,
    /// The owner asked to change the account's address (the link went to
    /// the new one).
    EmailChangeRequested,
    /// A change of address was refused: a wrong password, a dead link, an
    /// address taken meanwhile.
    EmailChangeFailed,
    /// The owner cancelled a change of address before its link was used.
    EmailChangeCancelled,
    /// The new address confirmed the change: the account has it now.
    EmailChanged,
    /// The old address undid a change: it is the account's again.
    EmailReverted,
    /// An operator disabled the account, or gave it back.
    AccountDisabled,
    AccountEnabled,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserRegistered => "user.registered",
            Self::SignupWithTakenAddress => "user.signup_with_taken_address",
            Self::EmailQueued => "email.queued",
            Self::EmailSuppressed => "email.suppressed",
            Self::EmailSent => "email.sent",
            Self::EmailDeferred => "email.deferred",
            Self::EmailFailed => "email.failed",
            Self::VerificationSucceeded => "verification.succeeded",
            Self::VerificationFailed => "verification.failed",
            Self::VerificationResent => "verification.resent",
            Self::SessionStarted => "session.started",
            Self::SessionEnded => "session.ended",
            Self::SessionsRevokedByAdmin => "session.revoked_by_admin",
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::LoginLocked => "login.locked",
            Self::LoginUnlocked => "login.unlocked",
            Self::MfaCodeSent => "mfa.code_sent",
            Self::MfaSucceeded => "mfa.succeeded",
            Self::MfaFailed => "mfa.failed",
            Self::FactorAdded => "mfa.factor_added",
            Self::FactorRemoved => "mfa.factor_removed",
            Self::FactorsReset => "mfa.reset",
            Self::RecoveryCodesIssued => "mfa.recovery_codes_issued",
            Self::PasswordResetRequested => "password.reset_requested",
            Self::PasswordResetFailed => "password.reset_failed",
            Self::PasswordReset => "password.reset",
            Self::PasswordResetForced => "password.reset_forced",
            Self::PasswordChanged => "password.changed",
            Self::PasswordRehashed => "password.rehashed",
            Self::PasswordChangeFailed => "password.change_failed",
            Self::AccountDeleted => "user.deleted",
            Self::UserInvited => "user.invited",
            Self::UserRenamed => "user.renamed",
            Self::DataExported => "user.data_exported",
            Self::EmailChangeRequested => "user.email_change_requested",
            Self::EmailChangeFailed => "user.email_change_failed",
            Self::EmailChangeCancelled => "user.email_change_cancelled",
            Self::EmailChanged => "user.email_changed",
            Self::EmailReverted => "user.email_reverted",
            Self::AccountDisabled => "user.disabled",
            Self::AccountEnabled => "user.enabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Where a request came from, as far as the server can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The digest of the device cookie the browser presented, if any (never
    /// stored in the trail: it only tells a known device from a new one).
    pub device: Option<crate::domain::TokenDigest>,
}

impl RequestMeta {
    /// Events raised by the service itself (the outbox worker, the CLI).
    pub fn internal() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    pub outcome: Outcome,
    pub user_id: Option<UserId>,
    pub meta: RequestMeta,
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(
        at: DateTime<Utc>,
        kind: AuditKind,
        outcome: Outcome,
        user_id: Option<UserId>,
        meta: &RequestMeta,
    ) -> Self {
        Self {
            at,
            kind,
            outcome,
            user_id,
            meta: meta.clone(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// One row of the trail for an operator (`latchkey audit`, `GET
/// /admin/audit`): the record, its position and the account's email.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Increases in the order events were recorded.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<uuid::Uuid>,
    /// The account's current address, when the event names an account.
    pub email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

/// One stored row of the trail, as read back.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<uuid::Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}
