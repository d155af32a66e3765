//! The limits' configuration: flat keys (`limit_login_per_ip = "60/1m"`, or
//! `LATCHKEY_LIMIT_LOGIN_PER_IP`), flattened into `Config`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::quota::{Quota, QuotaSetting};

/// On unless switched off; `LATCHKEY_RATE_LIMIT=off` switches every limit
/// off at once (IP, account and recipient limits and the login throttle),
/// for a deployment whose gateway limits already, and for the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Toggle", into = "String")]
pub struct Switch(pub bool);

#[derive(Deserialize)]
#[serde(untagged)]
enum Toggle {
    Bool(bool),
    Text(String),
}

impl TryFrom<Toggle> for Switch {
    type Error = String;

    fn try_from(toggle: Toggle) -> Result<Self, Self::Error> {
        match toggle {
            Toggle::Bool(on) => Ok(Self(on)),
            Toggle::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" => Ok(Self(true)),
                "off" | "false" | "no" | "0" => Ok(Self(false)),
                _ => Err(format!("expected on or off, got {text:?}")),
            },
        }
    }
}

impl From<Switch> for String {
    fn from(switch: Switch) -> Self {
        if switch.0 { "on" } else { "off" }.to_owned()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimitSettings {
    pub rate_limit: Switch,
    pub limit_register_per_ip: QuotaSetting,
    pub limit_register_per_address: QuotaSetting,
    pub limit_login_per_ip: QuotaSetting,
    pub limit_login_per_account: QuotaSetting,
    pub limit_verify_per_ip: QuotaSetting,
    pub limit_resend_per_ip: QuotaSetting,
    pub limit_resend_per_address: QuotaSetting,
    /// Password reset requests (each may email a link).
    pub limit_reset_per_ip: QuotaSetting,
    pub limit_reset_per_address: QuotaSetting,
    pub limit_mfa_challenge_per_ip: QuotaSetting,
    pub limit_mfa_challenge_per_account: QuotaSetting,
    pub limit_mfa_verify_per_ip: QuotaSetting,
    pub limit_mfa_verify_per_account: QuotaSetting,
    /// Emails and text messages to one address or number: latchkey cannot
    /// be used to flood someone's inbox. What anyone can ask for and what
    /// only the account causes are counted apart, each up to this.
    pub limit_messages_per_recipient: QuotaSetting,
    /// Consecutive failed logins allowed before each attempt must wait.
    pub login_free_failures: u32,
    /// The wait doubles from one second with each failure, up to this.
    #[serde(with = "humantime_serde")]
    pub login_max_delay: Duration,
    /// After this many consecutive failures (at most 100, NIST SP 800-63B
    /// 5.2.2) only a known device or the emailed unlock link can sign in.
    pub login_lockout_failures: u32,
}

fn every(text: &str) -> QuotaSetting {
    QuotaSetting(text.parse::<Quota>().ok())
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            rate_limit: Switch(true),
            limit_register_per_ip: every("20/1h"),
            limit_register_per_address: every("5/1h"),
            limit_login_per_ip: every("60/1m"),
            limit_login_per_account: every("10/1m"),
            limit_verify_per_ip: every("60/1m"),
            limit_resend_per_ip: every("20/1h"),
            limit_resend_per_address: every("5/1h"),
            limit_reset_per_ip: every("20/1h"),
            limit_reset_per_address: every("5/1h"),
            limit_mfa_challenge_per_ip: every("20/10m"),
            limit_mfa_challenge_per_account: every("5/10m"),
            limit_mfa_verify_per_ip: every("60/1m"),
            limit_mfa_verify_per_account: every("10/1m"),
            limit_messages_per_recipient: every("10/1h"),
            login_free_failures: 5,
            login_max_delay: Duration::from_secs(15 * 60),
            login_lockout_failures: 100,
        }
    }
}

impl LimitSettings {
    /// A configuration error, said plainly, or nothing.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.login_lockout_failures) {
            return Err(format!(
                "login_lockout_failures must be between 1 and 100 (NIST SP 800-63B), got {}",
                self.login_lockout_failures
            ));
        }
        if self.login_free_failures >= self.login_lockout_failures {
            return Err("login_free_failures must be below login_lockout_failures".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_quota_parses() {
        let defaults = serde_json::to_value(LimitSettings::default()).unwrap();
        for (key, value) in defaults.as_object().unwrap() {
            if key.starts_with("limit_") {
                assert_ne!(value, "off", "{key} has a default");
            }
        }
        LimitSettings::default().validate().unwrap();
    }

    #[test]
    fn the_switch_reads_words_and_booleans() {
        let off: Switch = serde_json::from_value(serde_json::json!("off")).unwrap();
        assert_eq!(off, Switch(false));
        let on: Switch = serde_json::from_value(serde_json::json!(true)).unwrap();
        assert_eq!(on, Switch(true));
        assert!(serde_json::from_value::<Switch>(serde_json::json!("maybe")).is_err());
    }
}
