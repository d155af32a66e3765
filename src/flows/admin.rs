//! What an operator may read: the audit trail and the accounts. The admin
//! API and the command line both come here, so they filter alike; the
//! functions take the store and the time rather than `AppState`, which the
//! command line does not build.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::audit::{AuditEntry, AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EmailAddress, UserId, UserStatus};
use crate::store::{AuditFilter, Store, UserFilter, UserSummary};

use super::{FieldErrors, FlowError};

/// How many rows one answer holds unless asked otherwise.
pub const DEFAULT_LIMIT: i64 = 100;
/// The most one request of the admin API may ask for.
pub const MAX_LIMIT: i64 = 1000;

/// `--since` / `since=`: an instant in RFC 3339, or a time ago (`24h`, `7d`,
/// `1h 30m`) counted back from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    At(DateTime<Utc>),
    Ago(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected an RFC 3339 time such as 2026-11-21T09:00:00Z or a duration such as 24h or 7d")]
pub struct InvalidSince;

impl FromStr for Since {
    type Err = InvalidSince;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
            return Ok(Self::At(at.with_timezone(&Utc)));
        }
        humantime::parse_duration(raw)
            .map(Self::Ago)
            .map_err(|_| InvalidSince)
    }
}

impl Since {
    /// The instant meant; `None` when a duration reaches before any date
    /// chrono can represent.
    pub fn resolve(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::At(at) => Some(at),
            Self::Ago(ago) => chrono::TimeDelta::from_std(ago)
                .ok()
                .and_then(|ago| now.checked_sub_signed(ago)),
        }
    }
}

/// A filter of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub user: Option<EmailAddress>,
    pub since: Option<Since>,
    pub limit: i64,
}

impl AuditQuery {
    /// From the admin API's query string (empty values count as absent),
    /// with every problem at once.
    pub fn parse(
        user: Option<&str>,
        since: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Self, FlowError> {
        let mut errors = FieldErrors::default();
        let user = present(user).and_then(|raw| {
            EmailAddress::parse(raw)
                .map_err(|error| errors.add("user", error.code(), error.to_string()))
                .ok()
        });
        let since = present(since).and_then(|raw| {
            raw.parse::<Since>()
                .map_err(|error| errors.add("since", "invalid_since", error.to_string()))
                .ok()
        });
        let limit = parse_limit(limit, &mut errors);
        errors.into_result()?;
        Ok(Self { user, since, limit })
    }
}

/// The newest `query.limit` events that match, oldest first. An address
/// without an account is a validation error on `user`, not an empty trail:
/// a typo should not look like a quiet account.
#[tracing::instrument(name = "admin_audit", skip_all)]
pub async fn audit_trail(
    store: &dyn Store,
    now: DateTime<Utc>,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>, FlowError> {
    let mut errors = FieldErrors::default();
    let since = query.since.and_then(|since| {
        let resolved = since.resolve(now);
        if resolved.is_none() {
            errors.add("since", "invalid_since", "That is too long ago.");
        }
        resolved
    });
    let user_id = match &query.user {
        Some(email) => match store.user_by_email(email).await? {
            Some(user) => Some(user.id),
            None => {
                errors.add("user", "unknown_user", "No account has this email address.");
                None
            }
        },
        None => None,
    };
    errors.into_result()?;
    let filter = AuditFilter {
        user_id,
        since,
        limit: query.limit,
    };
    Ok(store.audit_events(&filter).await?)
}

/// A filter of the accounts, and where the page starts.
#[derive(Debug, Clone)]
pub struct UserQuery {
    /// Only the account with this address (any letter case): how an
    /// operator finds the id the other endpoints take.
    pub email: Option<EmailAddress>,
    pub status: Option<UserStatus>,
    pub after: Option<UserId>,
    pub limit: i64,
}

impl UserQuery {
    pub fn parse(
        email: Option<&str>,
        status: Option<&str>,
        after: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Self, FlowError> {
        let mut errors = FieldErrors::default();
        let email = present(email).and_then(|raw| {
            EmailAddress::parse(raw)
                .map_err(|error| errors.add("email", error.code(), error.to_string()))
                .ok()
        });
        let status = present(status).and_then(|raw| {
            let status = UserStatus::parse(raw);
            if status.is_none() {
                errors.add(
                    "status",
                    "invalid_status",
                    "Expected pending, active or disabled.",
                );
            }
            status
        });
        let after = present(after).and_then(|raw| {
            uuid::Uuid::parse_str(raw)
                .map(UserId::from_uuid)
                .map_err(|_| {
                    errors.add(
                        "after",
                        "invalid_cursor",
                        "Expected the next value of a previous page.",
                    );
                })
                .ok()
        });
        let limit = parse_limit(limit, &mut errors);
        errors.into_result()?;
        Ok(Self {
            email,
            status,
            after,
            limit,
        })
    }
}

/// One page of accounts, newest first.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    /// Where the next page starts (give it as `after`); `None` on the last page.
    pub next: Option<UserId>,
}

#[tracing::instrument(name = "admin_users", skip_all)]
pub async fn list_users(store: &dyn Store, query: &UserQuery) -> Result<UserPage, FlowError> {
    // One more than asked: whether it comes back says if there is a next page.
    let mut users = store
        .user_summaries(&UserFilter {
            email: query.email.as_ref(),
            status: query.status,
            after: query.after,
            limit: query.limit.saturating_add(1),
        })
        .await?;
    let more = users.len() > usize::try_from(query.limit).unwrap_or(usize::MAX);
    users.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    let next = more
        .then(|| users.last().map(|last| last.user.id))
        .flatten();
    Ok(UserPage { users, next })
}

/// Ends every live session of one account (`Some`) or of every account
/// (`None`): their cookies and the access tokens issued for them stop
/// working at once (OWASP ASVS 5.0 7.4.5). `NotFound` for an unknown account.
#[tracing::instrument(name = "admin_revoke_sessions", skip_all, fields(user.id))]
pub async fn revoke_sessions(
    store: &dyn Store,
    now: DateTime<Utc>,
    user: Option<UserId>,
    meta: &RequestMeta,
) -> Result<u64, FlowError> {
    let revoked = match user {
        Some(id) => {
            tracing::Span::current().record("user.id", tracing::field::display(id));
            if store.user_by_id(id).await?.is_none() {
                return Err(FlowError::NotFound);
            }
            store.revoke_sessions(id, None, now).await?
        }
        None => store.revoke_all_sessions(now).await?,
    };
    let event = AuditEvent::new(
        now,
        AuditKind::SessionsRevokedByAdmin,
        Outcome::Success,
        user,
        meta,
    )
    .with_detail(format!("{revoked} session(s)"));
    store.audit(&event).await?;
    Ok(revoked)
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|raw| !raw.is_empty())
}

fn parse_limit(raw: Option<&str>, errors: &mut FieldErrors) -> i64 {
    let Some(raw) = present(raw) else {
        return DEFAULT_LIMIT;
    };
    match raw.parse::<i64>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
        _ => {
            errors.add(
                "limit",
                "invalid_limit",
                format!("Expected a whole number from 1 to {MAX_LIMIT}."),
            );
            DEFAULT_LIMIT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_an_instant_or_a_time_ago() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |raw: &str| raw.parse::<Since>().unwrap().resolve(now).unwrap();
        assert_eq!(at("24h"), now - chrono::TimeDelta::hours(24));
        assert_eq!(at("7d"), now - chrono::TimeDelta::days(7));
        assert_eq!(at("1h 30m"), now - chrono::TimeDelta::minutes(90));
        assert_eq!(
            at("2026-11-20T10:00:00+02:00"),
            DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z").unwrap()
        );
        for bad in ["", "yesterday", "-1h", "24", "2026-11-20", "7 days ago"] {
            assert!(bad.parse::<Since>().is_err(), "{bad}");
        }
        assert!(
            "100000000000y"
                .parse::<Since>()
                .map_or(true, |since| since.resolve(now).is_none())
        );
    }

    #[test]
    fn queries_collect_every_problem() {
        let Err(FlowError::Validation(errors)) =
            AuditQuery::parse(Some("nope"), Some("soon"), Some("0"))
        else {
            panic!("three problems");
        };
        for field in ["user", "since", "limit"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let Err(FlowError::Validation(errors)) =
            UserQuery::parse(None, Some("banned"), Some("x"), Some("1001"))
        else {
            panic!("three problems");
        };
        for field in ["status", "after", "limit"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let query = UserQuery::parse(Some(""), Some(""), None, Some(" 5 ")).unwrap();
        assert_eq!((query.status, query.after, query.limit), (None, None, 5));
        assert_eq!(AuditQuery::parse(None, None, None).unwrap().limit, 100);
    }
}
