//! POST /verify/resend: a fresh link for a pending account; every older link
//! of that account stops working. The answer never says whether the address
//! has an account, by its content or by how long it takes.

use tracing::Instrument;

use super::link::new_link;
use super::{FieldErrors, FlowError};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EmailAddress, UserStatus};
use crate::limits::{Rule, Subject};
use crate::state::AppState;

/// Checks the address, then answers at once: the lookup and, for a pending
/// account, the new link happen after the answer.
///
/// Why not before: a pending account costs a durable write (the token, the
/// email and their audit rows, committed with an fsync), an unknown or an
/// active address only a read, and the difference (about a millisecond)
/// would tell anyone timing the answer which addresses wait for
/// verification. The answer is `202 Accepted` and promises no delivery and
/// no durability ("if this address has an account waiting ..."), so nothing
/// is lost by not waiting: a crash in between loses a link the person can
/// ask for again. A failure is logged, not shown. The tasks are bounded
/// (`AppState::background`): under a flood the answer waits for a permit,
/// whatever the address.
#[tracing::instrument(name = "resend_verification", skip_all)]
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
    let Ok(permit) = state.background.clone().acquire_owned().await else {
        // Closed only while shutting down.
        return Err(FlowError::Overloaded);
    };
    let (state, meta) = (state.clone(), meta.clone());
    let span = tracing::info_span!("resend_link", user.id = tracing::field::Empty);
    tokio::spawn(
        async move {
            if let Err(error) = send_fresh_link(&state, &email, &meta).await {
                tracing::error!(error = %error, "could not send a new verification link");
            }
            drop(permit);
        }
        .instrument(span),
    );
    Ok(())
}

async fn send_fresh_link(
    state: &AppState,
    email: &EmailAddress,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let Some(user) = state.store.user_by_email(email).await? else {
        return Ok(());
    };
    if user.status != UserStatus::Pending {
        return Ok(());
    }
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    let now = state.clock.now();
    let link = new_link(state, &user, now)?;
    let event = AuditEvent::new(
        now,
        AuditKind::VerificationResent,
        Outcome::Success,
        Some(user.id),
        meta,
    );
    state
        .store
        .replace_verification(user.id, &link.stored, &link.mail, &event)
        .await?;
    link.announce(state);
    Ok(())
}
