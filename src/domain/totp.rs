//! RFC 6238 time-based codes for authenticator apps: 160-bit secret, SHA-1,
//! 6 digits, 30-second steps, one step of clock skew either way. The code
//! arithmetic is totp-rs's; the policy (skew, replay) is ours.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use super::codes::base32_encode;

const SECRET_BYTES: usize = 20;
const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
const SKEW_STEPS: u64 = 1;

/// A TOTP seed. Sealed at rest; shown to the person once, at enrolment.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The form authenticator apps accept when typed by hand.
    pub fn base32(&self) -> String {
        base32_encode(&self.0)
    }

    fn totp(&self, issuer: &str, account: &str) -> Option<TOTP> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_SECONDS,
            self.0.clone(),
            Some(issuer.to_owned()),
            account.to_owned(),
        )
        .ok()
    }

    /// The `otpauth://` URI that QR codes carry.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Option<String> {
        self.totp(issuer, account).map(|totp| totp.get_url())
    }

    /// The code for time step `step`.
    pub fn code_at_step(&self, step: u64) -> Option<String> {
        self.totp("latchkey", "code")
            .map(|totp| totp.generate(step * STEP_SECONDS))
    }

    /// The step `code` belongs to, if it matches the current step or one
    /// either side and is later than `last_used` (each code works once).
    pub fn matching_step(
        &self,
        code: &str,
        now: DateTime<Utc>,
        last_used: Option<u64>,
    ) -> Option<u64> {
        let current = u64::try_from(now.timestamp()).ok()? / STEP_SECONDS;
        let mut found = None;
        // Check every candidate so timing does not reveal which step matched.
        for step in current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS {
            let expected = self.code_at_step(step)?;
            let matches = bool::from(expected.as_bytes().ct_eq(code.as_bytes()));
            if matches && last_used.is_none_or(|last| step > last) {
                found = Some(step);
            }
        }
        found
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[cfg(test)]
#[path = "totp_tests.rs"]
mod tests;
