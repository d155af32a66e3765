//! Abuse limits, kept in the database so every instance shares them: quotas
//! per client IP and per target (address, account) on the endpoints that
//! cost a hash, send a message or check a secret; a cap on the messages any
//! one recipient receives; and the failed-login throttle.

mod quota;
mod settings;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use quota::{Quota, QuotaError, QuotaSetting};
pub use settings::{LimitSettings, Switch};
pub use throttle::{LoginThrottle, NextAttempt};

use crate::audit::RequestMeta;
use crate::clock::Clock;
use crate::domain::{EmailAddress, TokenDigest, UserId};
use crate::flows::FlowError;
use crate::store::{Delivery, LoginFailures, QuotaTake, Store};

/// What is counted, per whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    RegisterPerIp,
    RegisterPerAddress,
    LoginPerIp,
    LoginPerAccount,
    VerifyPerIp,
    ResendPerIp,
    ResendPerAddress,
    ResetPerIp,
    ResetPerAddress,
    MfaChallengePerIp,
    MfaChallengePerAccount,
    MfaVerifyPerIp,
    MfaVerifyPerAccount,
}

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Self::RegisterPerIp => "register_per_ip",
            Self::RegisterPerAddress => "register_per_address",
            Self::LoginPerIp => "login_per_ip",
            Self::LoginPerAccount => "login_per_account",
            Self::VerifyPerIp => "verify_per_ip",
            Self::ResendPerIp => "resend_per_ip",
            Self::ResendPerAddress => "resend_per_address",
            Self::ResetPerIp => "reset_per_ip",
            Self::ResetPerAddress => "reset_per_address",
            Self::MfaChallengePerIp => "mfa_challenge_per_ip",
            Self::MfaChallengePerAccount => "mfa_challenge_per_account",
            Self::MfaVerifyPerIp => "mfa_verify_per_ip",
            Self::MfaVerifyPerAccount => "mfa_verify_per_account",
        }
    }

    fn quota(self, settings: &LimitSettings) -> Option<Quota> {
        let setting = match self {
            Self::RegisterPerIp => settings.limit_register_per_ip,
            Self::RegisterPerAddress => settings.limit_register_per_address,
            Self::LoginPerIp => settings.limit_login_per_ip,
            Self::LoginPerAccount => settings.limit_login_per_account,
            Self::VerifyPerIp => settings.limit_verify_per_ip,
            Self::ResendPerIp => settings.limit_resend_per_ip,
            Self::ResendPerAddress => settings.limit_resend_per_address,
            Self::ResetPerIp => settings.limit_reset_per_ip,
            Self::ResetPerAddress => settings.limit_reset_per_address,
            Self::MfaChallengePerIp => settings.limit_mfa_challenge_per_ip,
            Self::MfaChallengePerAccount => settings.limit_mfa_challenge_per_account,
            Self::MfaVerifyPerIp => settings.limit_mfa_verify_per_ip,
            Self::MfaVerifyPerAccount => settings.limit_mfa_verify_per_account,
        };
        setting.0
    }
}

/// Whom a rule counts.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The client's address (an IPv6 client by its /64, which one subscriber
    /// usually holds whole). Requests without one (internal) are not counted.
    Ip(&'a RequestMeta),
    Email(&'a EmailAddress),
    User(UserId),
}

impl Subject<'_> {
    fn text(self) -> Option<String> {
        match self {
            Self::Ip(meta) => meta.ip.as_deref().map(network_of),
            Self::Email(email) => Some(email.unique_key()),
            Self::User(id) => Some(id.to_string()),
        }
    }
}

fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        Ok(IpAddr::V6(v6)) => v6.to_canonical().to_string(),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The database key of one counter: the digest of its scope and subject, so
/// rows are fixed-size and hold no address in clear.
pub fn key(scope: &str, subject: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(subject);
    hasher.finalize().into()
}

/// Whose consecutive login failures are counted: the account named by the
/// address (known or not, so unknown addresses behave identically), or one
/// known device of an account, which an attacker cannot lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureKey([u8; 32]);

impl FailureKey {
    pub fn account(email: &EmailAddress) -> Self {
        Self(key("login_failures", email.unique_key().as_bytes()))
    }

    pub fn device(device: &TokenDigest) -> Self {
        Self(key("login_failures_device", device.as_bytes()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A login attempt the throttle let through, for `login_succeeded`.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct LoginAttempt {
    key: FailureKey,
    /// The key had failures on record when the attempt was let through.
    after_failures: bool,
}

impl LoginAttempt {
    pub fn key(&self) -> FailureKey {
        self.key
    }
}

/// A device cookie lives a year (`http::device`); a device unseen for that
/// long can never be presented again.
pub const DEVICE_DAYS: i64 = 365;

/// Consecutive failures older than this are forgotten, so the table cannot
/// grow without bound under a spray of made-up addresses.
pub const FORGET_FAILURES_AFTER: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct Limiter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// `None`: every limit is off.
    settings: Option<Arc<LimitSettings>>,
}

impl Limiter {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: &LimitSettings) -> Self {
        let settings = settings.rate_limit.0.then(|| Arc::new(settings.clone()));
        Self {
            store,
            clock,
            settings,
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// The cap on messages to one recipient, enforced where messages are queued.
    pub fn recipient_quota(&self) -> Option<Quota> {
        self.settings.as_ref()?.limit_messages_per_recipient.0
    }

    /// Counts one request against `rule` for `subject`: `RateLimited` with
    /// the wait when the quota is spent (a refused request is not counted).
    pub async fn check(&self, rule: Rule, subject: Subject<'_>) -> Result<(), FlowError> {
        self.count((rule, subject), None).await
    }

    /// `check` against two quotas in one write (one round trip and one
    /// commit, not two): `then` is counted only when `first` allows the
    /// request, so a client over its own quota spends none of its target's.
    pub async fn check_both(
        &self,
        first: (Rule, Subject<'_>),
        then: (Rule, Subject<'_>),
    ) -> Result<(), FlowError> {
        self.count(first, Some(then)).await
    }

    async fn count(
        &self,
        first: (Rule, Subject<'_>),
        then: Option<(Rule, Subject<'_>)>,
    ) -> Result<(), FlowError> {
        let Some(settings) = &self.settings else {
            return Ok(());
        };
        // A rule that is off, or a subject without an address, counts nothing.
        let take = |(rule, subject): (Rule, Subject<'_>)| {
            let quota = rule.quota(settings)?;
            let text = subject.text()?;
            Some((
                rule,
                QuotaTake {
                    key: key(rule.name(), text.as_bytes()),
                    interval_ms: quota.interval_ms(),
                    period_ms: quota.period_ms(),
                },
            ))
        };
        let mut takes = take(first).into_iter().chain(then.and_then(take));
        let Some((first_rule, first)) = takes.next() else {
            return Ok(());
        };
        let then = takes.next();
        let now = self.clock.now().timestamp_millis();
        let refused = self
            .store
            .take_quotas(now, &first, then.as_ref().map(|(_, take)| take))
            .await?;
        let Some(refusal) = refused else {
            return Ok(());
        };
        let rule = match then {
            Some((then_rule, _)) if refusal.second => then_rule,
            _ => first_rule,
        };
        tracing::info!(rule = rule.name(), "rate limited");
        Err(FlowError::RateLimited {
            retry_after: wait(refusal.wait_ms),
        })
    }

    fn throttle(&self) -> Option<LoginThrottle> {
        self.settings.as_ref().map(|settings| LoginThrottle {
            free_failures: settings.login_free_failures,
            max_delay: settings.login_max_delay,
            lockout_failures: settings.login_lockout_failures,
        })
    }

    /// Before a password is checked: refuses while the key must wait or is
    /// locked. Past the free failures it reserves the attempt (moves the
    /// next allowed time) atomically, so parallel guesses cannot share one.
    pub async fn login_attempt(&self, key: FailureKey) -> Result<LoginAttempt, FlowError> {
        let on_record = match self.throttle() {
            Some(_) => self.store.login_failures(key.as_bytes()).await?,
            None => None,
        };
        self.login_attempt_on(key, on_record).await
    }

    /// `login_attempt` with the key's failures already read (a sign-in reads
    /// them with the credentials, in the same round trip).
    pub async fn login_attempt_on(
        &self,
        key: FailureKey,
        on_record: Option<LoginFailures>,
    ) -> Result<LoginAttempt, FlowError> {
        let attempt = LoginAttempt {
            key,
            after_failures: on_record.is_some(),
        };
        let (Some(throttle), Some(record)) = (self.throttle(), on_record) else {
            return Ok(attempt);
        };
        let failures = u32::try_from(record.failures).unwrap_or(u32::MAX);
        let now = self.clock.now().timestamp_millis();
        match throttle.after(failures) {
            NextAttempt::Locked => Err(FlowError::LoginLocked),
            NextAttempt::After(wait_for) if wait_for.is_zero() => Ok(attempt),
            NextAttempt::After(_) if record.not_before > now => Err(FlowError::RateLimited {
                retry_after: wait(record.not_before - now),
            }),
            NextAttempt::After(_) => {
                let hold = millis(self.next_wait(throttle, failures.saturating_add(1)));
                if self
                    .store
                    .reserve_login_attempt(key.as_bytes(), record.failures, now, now + hold)
                    .await?
                {
                    Ok(attempt)
                } else {
                    Err(FlowError::RateLimited {
                        retry_after: wait(hold),
                    })
                }
            }
        }
    }

    fn next_wait(&self, throttle: LoginThrottle, failures: u32) -> Duration {
        match throttle.after(failures) {
            NextAttempt::After(wait_for) => wait_for,
            NextAttempt::Locked => throttle.max_delay,
        }
    }

    /// A wrong password (or an unknown address): one more consecutive failure.
    /// Returns true when this failure locked the key.
    pub async fn login_failed(&self, key: FailureKey) -> Result<bool, FlowError> {
        let Some(throttle) = self.throttle() else {
            return Ok(false);
        };
        let now = self.clock.now().timestamp_millis();
        let failures = self.store.record_login_failure(key.as_bytes(), now).await?;
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        let hold = millis(self.next_wait(throttle, failures));
        if hold > 0 {
            self.store
                .hold_login_attempts(key.as_bytes(), now + hold)
                .await?;
        }
        Ok(
            throttle.after(failures) == NextAttempt::Locked
                && failures == throttle.lockout_failures,
        )
    }

    /// The right password: the failures of the attempt's key are forgotten.
    /// An attempt that found none writes nothing, which spares most logins
    /// a round trip and a commit (BENCHMARKS.md, session 9). A failure that
    /// another attempt records meanwhile stays counted: which of the two
    /// came first is not knowable, and the next success forgets it.
    pub async fn login_succeeded(&self, attempt: LoginAttempt) -> Result<(), FlowError> {
        if attempt.after_failures {
            self.forget_login_failures(attempt.key).await?;
        }
        Ok(())
    }

    /// The owner's unlock link, or a success: the failures are forgotten.
    pub async fn forget_login_failures(&self, key: FailureKey) -> Result<(), FlowError> {
        if self.enabled() {
            self.store.clear_login_failures(key.as_bytes()).await?;
        }
        Ok(())
    }

    /// How many consecutive failures lock an address.
    pub fn lockout_failures(&self) -> u32 {
        self.throttle()
            .map_or(100, |throttle| throttle.lockout_failures)
    }

    /// A message the recipient cap held back is a `RateLimited` for whoever
    /// asked for it directly (a code they are waiting for).
    pub fn delivered(&self, delivery: Delivery) -> Result<(), FlowError> {
        match (delivery, self.recipient_quota()) {
            (Delivery::Queued, _) | (Delivery::Suppressed, None) => Ok(()),
            (Delivery::Suppressed, Some(quota)) => Err(FlowError::RateLimited {
                retry_after: wait(quota.interval_ms()),
            }),
        }
    }

    /// Deletes counters that no longer say anything, devices whose cookie
    /// has expired, and dead unlock links. Runs even with limits off: API
    /// clients without a cookie jar leave a device row at every login.
    pub async fn prune(&self) -> Result<u64, FlowError> {
        let now = self.clock.now();
        let now_ms = now.timestamp_millis();
        let forget = now_ms - millis(FORGET_FAILURES_AFTER);
        let stale = now
            .checked_sub_signed(chrono::TimeDelta::days(DEVICE_DAYS))
            .unwrap_or(now);
        Ok(self.store.prune_limits(now_ms, forget).await?
            + self.store.prune_devices(stale, now).await?)
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A wait in whole seconds, at least one (what `Retry-After` can say).
fn wait(ms: i64) -> Duration {
    let ms = u64::try_from(ms.max(1)).unwrap_or(1);
    Duration::from_secs(ms.div_ceil(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(network_of("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(network_of("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(network_of("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn keys_separate_scopes() {
        assert_ne!(key("a", b"bc"), key("ab", b"c"));
        assert_eq!(key("a", b"b"), key("a", b"b"));
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(wait(1), Duration::from_secs(1));
        assert_eq!(wait(1000), Duration::from_secs(1));
        assert_eq!(wait(1001), Duration::from_secs(2));
        assert_eq!(wait(-5), Duration::from_secs(1));
    }
}
