//! Time is injected: code that expires links or codes asks a `Clock`, so
//! tests move time forward instead of sleeping.

use std::fmt::Debug;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place that reads the wall clock"
    )]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Real time plus an offset that tests can move forward (and back). Time
/// keeps flowing, so retry back-offs and timeouts behave as in production.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<TimeDelta>,
}

impl ShiftedClock {
    pub fn advance(&self, by: std::time::Duration) {
        self.shift(TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX));
    }

    /// Moves time back, as an NTP correction of a fast clock does.
    pub fn step_back(&self, by: std::time::Duration) {
        self.shift(-TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX));
    }

    fn shift(&self, by: TimeDelta) {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bound = if by < TimeDelta::zero() {
            TimeDelta::MIN
        } else {
            TimeDelta::MAX
        };
        *offset = offset.checked_add(&by).unwrap_or(bound);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = *self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        SystemClock.now() + offset
    }
}
