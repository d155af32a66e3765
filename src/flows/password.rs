//! POST /password/check: the sign-up page's strength meter asks the server
//! instead of guessing, so the page never accepts a password that
//! `register` refuses, nor refuses one it accepts.

use super::FlowError;
use crate::domain::{DisplayName, EmailAddress, Password, PasswordAssessment};
use crate::state::AppState;

/// Judges `password` exactly as `register` would with the same fields:
/// name and email count only when they parse, as they do there. On the
/// hashing pool like `register`'s check, so a flood of long passwords here
/// cannot stall the async runtime.
pub async fn check_password(
    state: &AppState,
    password: &Password,
    name: Option<&str>,
    email: Option<&str>,
) -> Result<PasswordAssessment, FlowError> {
    let name = name.and_then(|raw| DisplayName::parse(raw).ok());
    let email = email.and_then(|raw| EmailAddress::parse(raw).ok());
    Ok(state
        .hasher
        .assess(
            state.policy.clone(),
            password,
            name.as_ref(),
            email.as_ref(),
        )
        .await?)
}
