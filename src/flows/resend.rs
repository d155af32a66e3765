//! POST /verify/resend: a fresh link for a pending account; every older link
//! of that account stops working. The answer never says whether the address
//! has an account.

use uuid::Uuid;

use super::register::expiry;
use super::{FieldErrors, FlowError};
use crate::audit::RequestMeta;
use crate::domain::{EmailAddress, UserStatus, VerificationToken};
use crate::state::AppState;
use crate::store::NewToken;

#[tracing::instrument(name = "resend_verification", skip_all, fields(user.id))]
pub async fn resend_verification(
    state: &AppState,
    email: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let email = match EmailAddress::parse(email.unwrap_or_default()) {
        Ok(email) => email,
        Err(error) => {
            let mut errors = FieldErrors::default();
            errors.add("email", error.code(), error.to_string());
            return Err(FlowError::Validation(errors));
        }
    };
    let Some(user) = state.store.user_by_email(&email).await? else {
        return Ok(());
    };
    if user.status != UserStatus::Pending {
        return Ok(());
    }
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    let now = state.clock.now();
    let token = VerificationToken::generate();
    let new_token = NewToken {
        id: Uuid::now_v7(),
        digest: token.digest(),
        created_at: now,
        expires_at: expiry(state, now),
    };
    let mail = state
        .composer
        .verification_email(&user, &token, state.verify_ttl, now)?;
    state
        .store
        .replace_verification(user.id, &new_token, &mail, meta)
        .await?;
    state.mail_wake.notify_one();
    if state.log_links {
        tracing::info!(link = %state.composer.verification_link(&token), "verification link (no SMTP configured: the email is in the mail folder)");
    }
    Ok(())
}
