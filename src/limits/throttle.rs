//! The failed-login schedule (NIST SP 800-63B 5.2.2): a few free failures,
//! then a wait that doubles with each failure up to a cap, then a lockout at
//! the hundredth. Pure arithmetic; `Limiter` keeps the counts.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub free_failures: u32,
    pub max_delay: Duration,
    pub lockout_failures: u32,
}

/// What `failures` consecutive failures allow next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// After this long since the last failure (zero: at once).
    After(Duration),
    /// Not with a password from an unknown device, until the owner unlocks.
    Locked,
}

impl LoginThrottle {
    pub fn after(&self, failures: u32) -> NextAttempt {
        if failures >= self.lockout_failures {
            return NextAttempt::Locked;
        }
        let Some(excess) = failures.checked_sub(self.free_failures) else {
            return NextAttempt::After(Duration::ZERO);
        };
        let doubled = 1u64.checked_shl(excess).unwrap_or(u64::MAX);
        NextAttempt::After(Duration::from_secs(doubled).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THROTTLE: LoginThrottle = LoginThrottle {
        free_failures: 5,
        max_delay: Duration::from_secs(900),
        lockout_failures: 100,
    };

    fn secs(failures: u32) -> u64 {
        match THROTTLE.after(failures) {
            NextAttempt::After(wait) => wait.as_secs(),
            NextAttempt::Locked => u64::MAX,
        }
    }

    #[test]
    fn free_then_doubling_then_capped_then_locked() {
        assert_eq!((0..5).map(secs).collect::<Vec<_>>(), [0; 5]);
        assert_eq!((5..10).map(secs).collect::<Vec<_>>(), [1, 2, 4, 8, 16]);
        assert_eq!(secs(14), 512);
        assert_eq!(secs(15), 900);
        assert_eq!(secs(99), 900);
        assert_eq!(THROTTLE.after(100), NextAttempt::Locked);
        assert_eq!(THROTTLE.after(u32::MAX), NextAttempt::Locked);
    }

    #[test]
    fn an_attacker_needs_most_of_a_day_to_reach_the_lockout() {
        let total: u64 = (0..100).map(secs).sum();
        assert!(total > 20 * 3600, "{total} s");
    }
}
