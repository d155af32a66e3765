//! The second factor: challenges opened by the password step, codes sent by
//! SMS or email, TOTP, passkeys, recovery codes, and enrolment of each; and
//! a passkey's sign-in by itself, which is both factors at once.

mod challenge;
mod describe;
mod enroll;
mod manage;
mod passkey;
mod passkey_sign_in;
mod reset;
mod verify;

use chrono::{DateTime, TimeDelta, Utc};

pub use challenge::{Challenge, load_challenge, open_challenge, send_login_code};
pub use describe::{
    LoginChallenge, PendingEnrolment, SentCode, describe_challenge, pending_enrolment,
};
pub use enroll::{
    Enrolled, Enroller, TotpEnrollment, confirm_delivered, confirm_totp, enroll_delivered,
    enroll_totp, enroller,
};
pub(crate) use manage::require_recent;
pub use manage::{FactorSummary, factors, new_recovery_codes, remove_factor};
pub use passkey::{
    MAX_PASSKEYS, Passkeys, available, confirm_passkey, enroll_passkey, passkey_options,
    rename_passkey,
};
pub use passkey_sign_in::{SignInOptions, passkey_sign_in_options, sign_in_with_passkey};
pub use reset::{FactorsReset, reset_factors_by_admin, reset_factors_from_cli};
pub use verify::{Answer, verify_second_step};

use super::FlowError;
use crate::domain::{FactorKind, User};
use crate::state::AppState;

/// Wrong codes allowed per challenge (or per enrolment) before it is spent.
pub const MAX_ATTEMPTS: i32 = 5;
/// How long a challenge and a delivered code stay good.
pub const CODE_TTL: TimeDelta = TimeDelta::minutes(10);
/// Changing factors needs a sign-in at most this old.
pub const REAUTH_WINDOW: TimeDelta = TimeDelta::minutes(10);
const RECOVERY_CODES: usize = 10;

/// The methods this account can finish a login with, as the API names them.
pub async fn login_methods(state: &AppState, user: &User) -> Result<Vec<&'static str>, FlowError> {
    let mut methods: Vec<&'static str> = Vec::new();
    for factor in state.store.factors_of(user.id).await? {
        let method = factor.kind.as_str();
        // Several passkeys are one method.
        if factor.confirmed_at.is_some()
            && state.mfa.allows(factor.kind)
            && !methods.contains(&method)
        {
            methods.push(method);
        }
    }
    if !methods.is_empty() && state.store.recovery_codes_left(user.id).await? > 0 {
        methods.push("recovery_code");
    }
    Ok(methods)
}

/// Digest of a delivered code, bound to where it may be used.
fn code_digest(state: &AppState, scope: &str, code: &str) -> [u8; 32] {
    state
        .sealer
        .digest(&format!("mfa-code:{scope}"), code.as_bytes())
}

fn recovery_digest(state: &AppState, user: &User, canonical: &str) -> [u8; 32] {
    state
        .sealer
        .digest(&format!("recovery:{}", user.id), canonical.as_bytes())
}

fn ten_minutes_from(now: DateTime<Utc>) -> DateTime<Utc> {
    now + CODE_TTL
}

fn enrolment_scope(user: &User, kind: FactorKind) -> String {
    format!("enroll:{}:{kind}", user.id)
}
