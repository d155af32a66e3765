//! What the owner is shown of the account's trail: sign-ins, failed
//! attempts and every change to how the account is protected, newest first,
//! worded for people. An owner who sees a sign-in or a change they did not
//! make knows to act; operational entries (emails queued and sent, a hash
//! upgraded, a password step waiting for its second factor) stay for
//! operators.

use std::fmt;

use chrono::{DateTime, Utc};

use super::FlowError;
use crate::audit::{AuditKind, Outcome};
use crate::domain::{FactorKind, SignedInWith, User};
use crate::state::AppState;

/// The entries of one page, at most.
pub const ACTIVITY_SHOWN: usize = 50;

/// The kinds an owner is shown, each with how it reads.
const SHOWN: &[(AuditKind, &str)] = &[
    (AuditKind::UserRegistered, "Account created"),
    (AuditKind::UserInvited, "Invited by an administrator"),
    (AuditKind::VerificationSucceeded, "Email address confirmed"),
    (
        AuditKind::SignupWithTakenAddress,
        "Someone tried to sign up with your email address",
    ),
    (AuditKind::SessionStarted, "Signed in"),
    (AuditKind::SessionEnded, "Session ended"),
    (
        AuditKind::SessionsRevokedByAdmin,
        "Signed out by an administrator",
    ),
    (AuditKind::LoginFailed, "Failed sign-in"),
    (
        AuditKind::LoginLocked,
        "Sign-in locked after failed attempts",
    ),
    (AuditKind::LoginUnlocked, "Sign-in unlocked"),
    (AuditKind::MfaFailed, "Wrong two-step verification code"),
    (AuditKind::FactorAdded, "Two-step verification method added"),
    (
        AuditKind::FactorRemoved,
        "Two-step verification method removed",
    ),
    (
        AuditKind::FactorsReset,
        "Two-step verification turned off by an administrator",
    ),
    (AuditKind::RecoveryCodesIssued, "New recovery codes made"),
    (
        AuditKind::PasswordResetRequested,
        "Password reset asked for",
    ),
    (AuditKind::PasswordReset, "Password reset"),
    (
        AuditKind::PasswordResetForced,
        "Password reset by an administrator",
    ),
    (AuditKind::PasswordChanged, "Password changed"),
    (AuditKind::PasswordChangeFailed, "Password change refused"),
    (AuditKind::UserRenamed, "Name changed"),
    (AuditKind::DataExported, "Your data downloaded"),
    (
        AuditKind::EmailChangeRequested,
        "Change of email address asked for",
    ),
    (
        AuditKind::EmailChangeFailed,
        "Change of email address refused",
    ),
    (
        AuditKind::EmailChangeCancelled,
        "Change of email address cancelled",
    ),
    (AuditKind::EmailChanged, "Email address changed"),
    (AuditKind::EmailReverted, "Change of email address undone"),
    (
        AuditKind::AccountDisabled,
        "Account disabled by an administrator",
    ),
    (
        AuditKind::AccountEnabled,
        "Account enabled by an administrator",
    ),
];

/// One entry as its owner sees it.
#[derive(Debug, Clone)]
pub struct Activity {
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    pub description: &'static str,
    pub succeeded: bool,
    /// The method added or removed, for those entries.
    pub factor: Option<FactorKind>,
    /// How a sign-in was made, for its entry.
    pub signed_in_with: Option<SignedInWith>,
    /// Where the request came from: for a failed sign-in, whoever tried.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Where a page of the activity ended: the next one starts after it. The
/// id of the page's last entry, opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor(i64);

impl ActivityCursor {
    /// A cursor as `fmt::Display` wrote it; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        raw.bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| raw.parse().ok())
            .flatten()
            .filter(|id| *id > 0)
            .map(Self)
    }
}

impl fmt::Display for ActivityCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One page of the activity, newest first, and where the next one starts
/// (`None` on the last page).
#[derive(Debug, Clone)]
pub struct ActivityPage {
    pub entries: Vec<Activity>,
    pub next: Option<ActivityCursor>,
}

/// The account's entries worth its owner's eye, newest first: the newest
/// page, or the one after `before`. The trail's free-text detail is not
/// passed on: it is written for operators.
pub async fn activity(
    state: &AppState,
    user: &User,
    before: Option<ActivityCursor>,
) -> Result<ActivityPage, FlowError> {
    let names: Vec<&'static str> = SHOWN.iter().map(|(kind, _)| kind.as_str()).collect();
    // One more than a page: whether there is a next one.
    let limit = i64::try_from(ACTIVITY_SHOWN + 1).unwrap_or(i64::MAX);
    let mut records = state
        .store
        .account_activity(user.id, &names, before.map(|cursor| cursor.0), limit)
        .await?;
    let next = (records.len() > ACTIVITY_SHOWN)
        .then(|| {
            records
                .get(ACTIVITY_SHOWN - 1)
                .map(|(id, _)| ActivityCursor(*id))
        })
        .flatten();
    records.truncate(ACTIVITY_SHOWN);
    let entries = records
        .into_iter()
        .filter_map(|(_, record)| {
            let &(kind, description) = SHOWN
                .iter()
                .find(|(kind, _)| kind.as_str() == record.event)?;
            let factor = matches!(kind, AuditKind::FactorAdded | AuditKind::FactorRemoved)
                .then(|| record.detail.as_deref().and_then(FactorKind::parse))
                .flatten();
            // "<session id> <how>" (`NewSession::started_detail`); older
            // entries have the id alone.
            let signed_in_with = (kind == AuditKind::SessionStarted)
                .then(|| {
                    let detail = record.detail.as_deref()?;
                    SignedInWith::parse(detail.split_once(' ')?.1)
                })
                .flatten();
            Some(Activity {
                at: record.at,
                kind,
                description,
                succeeded: record.outcome == Outcome::Success.as_str(),
                factor,
                signed_in_with,
                ip: record.ip,
                user_agent: record.user_agent,
            })
        })
        .collect();
    Ok(ActivityPage { entries, next })
}

#[cfg(test)]
mod tests {
    use super::{ActivityCursor, SHOWN};

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_nothing_else() {
        let cursor = ActivityCursor(4711);
        assert_eq!(ActivityCursor::parse(&cursor.to_string()), Some(cursor));
        for raw in [
            "",
            "0",
            "-5",
            "+5",
            " 5",
            "5a",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(ActivityCursor::parse(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn each_kind_is_worded_once() {
        let mut names: Vec<&str> = SHOWN.iter().map(|(kind, _)| kind.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SHOWN.len());
    }
}
