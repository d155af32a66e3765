//! POST /verify/resend: a fresh link for a pending account; every older link
//! of that account stops working. An account an operator invited gets its
//! invitation again instead (`invite::invite_again`). The answer never says whether the address
//! has an account, by its content or by how long it takes.

use super::FlowError;
use super::after_answer::{email_field, run_after_answer};
use super::link::new_link;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EmailAddress, UserStatus};
use crate::limits::{Rule, Subject};
use crate::state::AppState;
use crate::store::Delivery;

/// Checks the address and counts the limits, then answers at once: the
/// lookup and, for a pending account, the new link happen after the answer
/// (`after_answer`), so it takes as long whatever the address.
#[tracing::instrument(name = "resend_verification", skip_all)]
pub async fn resend_verification(
    state: &AppState,
    email: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let email = email_field(email)?;
    // Unknown and known addresses are counted alike: the answer says nothing.
    state
        .limits
        .check_both(
            (Rule::ResendPerIp, Subject::Ip(meta)),
            (Rule::ResendPerAddress, Subject::Email(&email)),
        )
        .await?;
    let (task_state, task_meta) = (state.clone(), meta.clone());
    run_after_answer(
        state,
        tracing::info_span!("resend_link", user.id = tracing::field::Empty),
        "could not send a new verification link",
        async move { send_fresh_link(&task_state, &email, &task_meta).await },
    )
    .await
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
    if state.store.waits_for_invitation(user.id).await? {
        return super::invite::invite_again(state, &user, meta).await;
    }
    let now = state.clock.now();
    let link = new_link(state, &user, now)?;
    let event = AuditEvent::new(
        now,
        AuditKind::VerificationResent,
        Outcome::Success,
        Some(user.id),
        meta,
    );
    let delivery = state
        .store
        .replace_verification(user.id, &link.stored, &link.mail, &event)
        .await?;
    // Held back, the link was not stored: announcing it would log a dead one.
    if delivery == Delivery::Queued {
        link.announce(state);
    }
    Ok(())
}
