//! Undoing a change of address from the old one: the notice of a change
//! made carries a link, for `REVERT_WINDOW`, for an owner whose account was
//! taken over by someone who knew the password (and so could change the
//! address without them). A takeover's recovery, in one transaction: the
//! old address back, everyone signed out, sign-in methods set up since the
//! change was asked for removed, and a password reset link to the old
//! address, since the password is known to whoever made the change.
//!
//! `GET /email/revert?token=` shows what the link will do without using it
//! (mail scanners open links); `POST /email/revert` uses it.

use super::FlowError;
use super::link::{Refusal, Spent};
use super::password_reset::new_reset_link;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EmailRevertToken, User, UserStatus};
use crate::state::AppState;
use crate::store::{EmailChange, EmailRevertRecord};

/// The change behind the undo link while it can still be undone, else the
/// refusal.
async fn usable_link(
    state: &AppState,
    raw_token: Option<&str>,
) -> Result<Result<EmailRevertRecord, Refusal>, FlowError> {
    let invalid = |reason, user| Refusal {
        reason,
        user,
        error: FlowError::InvalidEmailChangeLink,
    };
    let Ok(token) = EmailRevertToken::parse(raw_token.unwrap_or_default()) else {
        return Ok(Err(invalid("malformed undo link", None)));
    };
    let Some(record) = state.store.email_revert_by_digest(&token.digest()).await? else {
        return Ok(Err(invalid("unknown undo link", None)));
    };
    let spent = Spent::judge(
        record.reverted_at,
        None,
        record.expires_at,
        state.clock.now(),
    );
    let user = Some(record.user.clone());
    Ok(match spent {
        Some(Spent::Expired) => Err(Refusal {
            reason: "expired undo link",
            user,
            error: FlowError::EmailChangeLinkExpired,
        }),
        Some(_) => Err(invalid("used undo link", user)),
        // An operator disabled it: giving it back is theirs to do.
        None if record.user.status == UserStatus::Disabled => {
            Err(invalid("account disabled", user))
        }
        None => Ok(record),
    })
}

/// What the page behind the undo link shows: the account and the address
/// it would get back, while the link works. Reads only.
pub async fn check_email_revert_link(
    state: &AppState,
    raw_token: Option<&str>,
) -> Result<EmailRevertRecord, FlowError> {
    match usable_link(state, raw_token).await? {
        Ok(record) => Ok(record),
        Err(refusal) => Err(refusal.error),
    }
}

/// Undoes the change (see the module's comment). The account as it now is,
/// at its old address, where a password reset link is on its way.
#[tracing::instrument(name = "revert_email_change", skip_all, fields(user.id))]
pub async fn revert_email_change(
    state: &AppState,
    raw_token: Option<&str>,
    meta: &RequestMeta,
) -> Result<User, FlowError> {
    let now = state.clock.now();
    let failed = |reason: &'static str, user: Option<&User>| {
        AuditEvent::new(
            now,
            AuditKind::EmailChangeFailed,
            Outcome::Failure,
            user.map(|u| u.id),
            meta,
        )
        .with_detail(reason)
    };
    let record = match usable_link(state, raw_token).await? {
        Ok(record) => record,
        Err(refusal) => {
            let event = failed(refusal.reason, refusal.user.as_ref());
            state.store.audit(&event).await?;
            return Err(refusal.error);
        }
    };
    tracing::Span::current().record("user.id", tracing::field::display(record.user.id));
    let restored = User {
        email: record.old_email.clone(),
        ..record.user.clone()
    };
    let (reset, reset_mail) = new_reset_link(state, &restored, now)?;
    let event = AuditEvent::new(
        now,
        AuditKind::EmailReverted,
        Outcome::Success,
        Some(restored.id),
        meta,
    )
    .with_detail(format!(
        "back to {} from {}",
        restored.email.as_str(),
        record.user.email.as_str()
    ));
    match state
        .store
        .revert_email(&record, &reset, &reset_mail, &event)
        .await?
    {
        EmailChange::Changed => {
            state.mail_wake.notify_one();
            tracing::info!("email change undone, every session ended, reset link sent");
            Ok(restored)
        }
        EmailChange::LinkSpent => {
            let event = failed("used undo link", Some(&record.user));
            state.store.audit(&event).await?;
            Err(FlowError::InvalidEmailChangeLink)
        }
        // Someone signed up with the old address meanwhile (it was free).
        EmailChange::AddressTaken => {
            let event = failed("the old address has an account", Some(&record.user));
            state.store.audit(&event).await?;
            Err(FlowError::EmailTaken)
        }
    }
}
