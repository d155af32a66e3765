//! Housekeeping: what latchkey forgets, and when. Personal data is kept
//! only while it is of use (OWASP ASVS 5.0 14.2.7: old data deleted
//! automatically, on a schedule):
//! - a session, a verification or password reset link, a second-factor
//!   challenge: a week after it ended, so that a link clicked late is still
//!   told it expired rather than that it is unknown;
//! - a message: a week after it was queued, once delivered, given up on or
//!   cancelled (delivery already erased its body); a pending one, never;
//! - a token signing key a week after it was retired (its tokens lived a
//!   day at most), so old private keys, sealed as they are, do not pile up;
//! - the audit trail's entries: after `LATCHKEY_AUDIT_RETENTION` (a year
//!   unless configured), or never with `forever`;
//! - an account never verified, with `LATCHKEY_UNVERIFIED_ACCOUNT_RETENTION`
//!   set (never by default): that long after its sign-up, with what hangs
//!   on it and its unsent mail, a `user.deleted` entry saying why. Nobody
//!   proved the address is theirs: it may be a stranger's, typed by mistake;
//! - spent quotas, devices unseen for a year, dead unlock links
//!   (`Limiter::prune`).
//!
//! Every instance does it a minute after start, then every ten minutes
//! (two deleting the same rows is harmless); `latchkey prune` does it once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::clock::Clock;
use crate::flows::FlowError;
use crate::limits::Limiter;
use crate::store::{Pruned, Store};

/// How long what has ended is kept.
pub const ENDED_KEPT_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// The audit trail's default retention: a year (365.25 days, what
/// humantime calls `1year`).
pub const DEFAULT_AUDIT_RETENTION: KeepFor = KeepFor::Period(Duration::from_secs(31_557_600));

/// The shortest retention accepted where it is configurable: a trail that
/// forgets within hours could not tell what happened overnight.
pub const MIN_RETENTION: Duration = Duration::from_secs(24 * 3600);

const EVERY: Duration = Duration::from_secs(600);

/// The first round's delay after start.
const FIRST_AFTER: Duration = Duration::from_secs(60);

/// The detail of the trail's `user.deleted` for an account never verified.
const NEVER_VERIFIED: &str = "never verified, by the retention policy";

/// Rows deleted a statement at most.
const BATCH: i64 = 1000;

/// How long a kind of record is kept: `forever`, or a humantime duration
/// (`90d`, `1y`) in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepFor {
    Forever,
    Period(Duration),
}

impl KeepFor {
    /// The instant before which records are deleted, if any are.
    fn cutoff(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Forever => None,
            Self::Period(period) => Some(before(now, period)),
        }
    }
}

impl fmt::Display for KeepFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forever => f.write_str("forever"),
            Self::Period(period) => write!(f, "{}", humantime::format_duration(*period)),
        }
    }
}

impl std::str::FromStr for KeepFor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("forever") {
            return Ok(Self::Forever);
        }
        humantime::parse_duration(text)
            .map(Self::Period)
            .map_err(|error| format!("`forever` or a duration such as `90d` ({error})"))
    }
}

impl Serialize for KeepFor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeepFor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What one round deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub ended: Pruned,
    pub audit_entries: u64,
    /// Accounts never verified.
    pub unverified_accounts: u64,
    /// Spent quotas, stale devices and dead unlock links.
    pub limits: u64,
}

impl Report {
    pub fn total(&self) -> u64 {
        self.ended.total() + self.audit_entries + self.unverified_accounts + self.limits
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Pruned {
            sessions,
            links,
            challenges,
            messages,
            signing_keys,
        } = self.ended;
        write!(
            f,
            "{sessions} sessions, {links} links, {challenges} challenges, {messages} messages, \
             {signing_keys} retired signing keys, \
             {} audit entries, {} accounts never verified, {} limit records",
            self.audit_entries, self.unverified_accounts, self.limits
        )
    }
}

#[derive(Debug, Clone)]
pub struct Housekeeping {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    limits: Limiter,
    policy: Policy,
}

/// How long what is configurable is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub audit: KeepFor,
    pub unverified_accounts: KeepFor,
}

impl Housekeeping {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        limits: Limiter,
        policy: Policy,
    ) -> Self {
        Self {
            store,
            clock,
            limits,
            policy,
        }
    }

    /// Deletes everything the policy no longer keeps.
    pub async fn run_once(&self) -> Result<Report, FlowError> {
        let now = self.clock.now();
        let ended = self
            .store
            .prune_ended(before(now, ENDED_KEPT_FOR), BATCH)
            .await?;
        let audit_entries = match self.policy.audit.cutoff(now) {
            Some(cutoff) => self.store.prune_audit(cutoff, BATCH).await?,
            None => 0,
        };
        let unverified_accounts = match self.policy.unverified_accounts.cutoff(now) {
            Some(cutoff) => {
                let event = AuditEvent::new(
                    now,
                    AuditKind::AccountDeleted,
                    Outcome::Success,
                    None,
                    &RequestMeta::internal(),
                )
                .with_detail(NEVER_VERIFIED);
                self.store.prune_unverified(cutoff, &event, BATCH).await?
            }
            None => 0,
        };
        let limits = self.limits.prune().await?;
        Ok(Report {
            ended,
            audit_entries,
            unverified_accounts,
            limits,
        })
    }

    /// A minute after start, then every ten minutes, until the task is
    /// dropped. Not at once: a round scans tables (sessions has no index on
    /// its expiry), and a start is when the first requests want the writer.
    pub async fn run(self) {
        let first = tokio::time::Instant::now() + FIRST_AFTER;
        let mut every = tokio::time::interval_at(first, EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match self.run_once().await {
                Ok(report) if report.total() > 0 => tracing::info!(%report, "housekeeping"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "housekeeping failed"),
            }
        }
    }
}

/// `now - period`, or the earliest instant when that is out of range (so
/// an absurd period keeps everything rather than nothing).
fn before(now: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(period)
        .ok()
        .and_then(|period| now.checked_sub_signed(period))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_for_reads_forever_and_durations() {
        assert_eq!("forever".parse(), Ok(KeepFor::Forever));
        assert_eq!(" Forever ".parse(), Ok(KeepFor::Forever));
        assert_eq!(
            "90d".parse(),
            Ok(KeepFor::Period(Duration::from_secs(90 * 86_400)))
        );
        assert!("90".parse::<KeepFor>().is_err(), "a unit is required");
        assert!("soon".parse::<KeepFor>().is_err());
    }

    #[test]
    fn the_default_reads_as_a_year() {
        assert_eq!(DEFAULT_AUDIT_RETENTION.to_string(), "1year");
    }

    #[test]
    fn keep_for_round_trips_through_its_text() {
        for keep in [KeepFor::Forever, DEFAULT_AUDIT_RETENTION] {
            assert_eq!(keep.to_string().parse(), Ok(keep));
        }
    }

    #[test]
    fn an_absurd_period_keeps_everything() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            KeepFor::Period(Duration::MAX).cutoff(now),
            Some(DateTime::<Utc>::MIN_UTC)
        );
        assert_eq!(KeepFor::Forever.cutoff(now), None);
        assert_eq!(
            KeepFor::Period(Duration::from_secs(60)).cutoff(now),
            Some(now - TimeDelta::seconds(60))
        );
    }
}
