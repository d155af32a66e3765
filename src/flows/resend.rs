//! POST /verify/resend: a fresh link for a pending account; every older link
//! of that account stops working. The answer never says whether the address
//! has an account.

use super::link::new_link;
use super::{FieldErrors, FlowError};
use crate::audit::RequestMeta;
use crate::domain::{EmailAddress, UserStatus};
use crate::limits::{Rule, Subject};
use crate::state::AppState;

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
    // Unknown and known addresses are counted alike: the answer says nothing.
    state
        .limits
        .check(Rule::ResendPerIp, Subject::Ip(meta))
        .await?;
    state
        .limits
        .check(Rule::ResendPerAddress, Subject::Email(&email))
        .await?;
    let Some(user) = state.store.user_by_email(&email).await? else {
        return Ok(());
    };
    if user.status != UserStatus::Pending {
        return Ok(());
    }
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    let link = new_link(state, &user, state.clock.now())?;
    state
        .store
        .replace_verification(user.id, &link.stored, &link.mail, meta)
        .await?;
    link.announce(state);
    Ok(())
}
