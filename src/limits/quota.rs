//! A quota: at most `count` requests per `period`, written `20/1h`.
//!
//! Enforced with the generic cell rate algorithm (GCRA): a burst of `count`
//! is allowed, then one request per `period / count`. It needs one number per
//! subject (the next request's "theoretical arrival time"), so the database
//! can hold it for every instance with a single conditional upsert.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    count: u32,
    period: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a quota like \"20/1h\" (a count, a slash, a duration) or \"off\", got {0:?}")]
pub struct QuotaError(String);

impl Quota {
    pub fn new(count: u32, period: Duration) -> Option<Self> {
        (count > 0 && period >= Duration::from_millis(u64::from(count)))
            .then_some(Self { count, period })
    }

    /// The steady rate: one request per this many milliseconds.
    pub fn interval_ms(self) -> i64 {
        self.period_ms() / i64::from(self.count)
    }

    /// How far ahead the theoretical arrival time may run: the burst.
    pub fn period_ms(self) -> i64 {
        i64::try_from(self.period.as_millis()).unwrap_or(i64::MAX)
    }
}

impl FromStr for Quota {
    type Err = QuotaError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || QuotaError(text.to_owned());
        let (count, period) = text.split_once('/').ok_or_else(error)?;
        let count: u32 = count.trim().parse().map_err(|_| error())?;
        let period = humantime::parse_duration(period.trim()).map_err(|_| error())?;
        Self::new(count, period).ok_or_else(error)
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.count,
            humantime::format_duration(self.period)
        )
    }
}

/// A quota in the configuration, or `off` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QuotaSetting(pub Option<Quota>);

impl TryFrom<String> for QuotaSetting {
    type Error = QuotaError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.trim() {
            "off" | "none" => Ok(Self(None)),
            other => other.parse().map(|quota| Self(Some(quota))),
        }
    }
}

impl From<QuotaSetting> for String {
    fn from(setting: QuotaSetting) -> Self {
        setting
            .0
            .map_or_else(|| "off".to_owned(), |quota| quota.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_durations() {
        let quota: Quota = "20/1h".parse().unwrap();
        assert_eq!(quota.interval_ms(), 180_000);
        assert_eq!(quota.period_ms(), 3_600_000);
        assert_eq!(quota.to_string(), "20/1h");
        assert_eq!("5 / 10m".parse::<Quota>().unwrap().interval_ms(), 120_000);
    }

    #[test]
    fn refuses_nonsense() {
        for text in [
            "", "20", "/1h", "0/1h", "-1/1h", "20/", "20/soon", "5/1ms", "1h/20",
        ] {
            assert!(text.parse::<Quota>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn off_is_a_setting() {
        assert_eq!(
            QuotaSetting::try_from("off".to_owned()).unwrap(),
            QuotaSetting(None)
        );
        assert_eq!(
            String::from(QuotaSetting(Some("3/1m".parse().unwrap()))),
            "3/1m"
        );
    }
}
