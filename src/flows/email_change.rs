//! Changing the account's email address. The signed-in owner asks with
//! their current password (OWASP ASVS 5.0 7.5.1: re-authentication before a
//! change to what recovers the account); a link goes to the new address,
//! and only that link, used, moves the account there (the new address is
//! proven as the first one was). The old address hears of the request, with
//! the way to cancel it (a password reset), and of the change (ASVS 6.3.7),
//! with a link that undoes it for a week (`email_revert`). Until its link
//! is used, the owner sees the change waiting and can cancel it.
//!
//! `GET /email/confirm?token=` shows what the link will do without using it
//! (mail scanners open links); `POST /email/confirm` uses it. Sessions stay:
//! the person who confirms is the owner, and nothing about signing in
//! changed but the address typed.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::link::{LinkSender, Refusal, Spent, later, stored_token};
use super::password_change::prove_password;
use super::{FieldErrors, FlowError};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{
    EmailAddress, EmailChangeToken, EmailRevertToken, Password, User, UserId, UserStatus,
};
use crate::mail::EmailChangeStep;
use crate::state::AppState;
use crate::store::{EmailChange, EmailChangeRecord};

/// Sends the link to `raw_email` once the current password checks out; the
/// address the link went to. `EmailTaken` when another account has the
/// address, unless enumeration protection is on: then the link goes out
/// alike, and only its use (by whoever reads that inbox) says so.
#[tracing::instrument(name = "request_email_change", skip_all, fields(user.id = %user.id))]
pub async fn request_email_change(
    state: &AppState,
    user: &User,
    current: &Password,
    raw_email: Option<&str>,
    meta: &RequestMeta,
) -> Result<EmailAddress, FlowError> {
    let admission = state.hasher.admit().await?;
    let mut errors = FieldErrors::default();
    if current.char_count() == 0 {
        errors.add(
            "current_password",
            "required",
            "Enter your current password.",
        );
    }
    let email = new_address(user, raw_email, &mut errors)
        .filter(|email| super::register::admitted(state, email, &mut errors));
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(FlowError::Validation(errors));
    };
    prove_password(
        state,
        &admission,
        user,
        current,
        meta,
        AuditKind::EmailChangeFailed,
    )
    .await?;
    drop(admission);

    let sender = LinkSender::of(state);
    if !state.enumeration_protection {
        refuse_if_taken(&sender, user, &email, meta).await?;
    }
    let (token, _until) = queue_link(&sender, user, &email, meta, None).await?;
    announce(state, &token);
    Ok(email)
}

/// An operator starts a change for an owner who lost the old mailbox (the
/// admin API): the same link to the new address and notice to the current
/// one as when the owner asks, and the account moves only once the link is
/// used, so a mistyped address changes nothing. No password: the operator
/// vouches for whoever asked. The operator is told when the address is
/// taken, whatever the enumeration setting. `NotFound` for an unknown id; an
/// account must be active (a pending one signs up again, a disabled one is
/// enabled first).
#[tracing::instrument(name = "request_email_change_by_admin", skip_all, fields(user.id = %id))]
pub async fn request_email_change_by_admin(
    state: &AppState,
    id: UserId,
    raw_email: Option<&str>,
    meta: &RequestMeta,
) -> Result<OpenChange, FlowError> {
    let user = state
        .store
        .user_by_id(id)
        .await?
        .ok_or(FlowError::NotFound)?;
    let (open, token) = by_operator(&LinkSender::of(state), &user, raw_email, meta).await?;
    announce(state, &token);
    Ok(open)
}

/// `request_email_change_by_admin` from the command line, for the account
/// that has `current`: the link and the notice are queued, and a running
/// instance sends them. The account and its change.
pub async fn request_email_change_from_cli(
    sender: &LinkSender<'_>,
    current: &EmailAddress,
    raw_email: &str,
) -> Result<(User, OpenChange), FlowError> {
    let user = sender
        .store
        .user_by_email(current)
        .await?
        .ok_or(FlowError::NotFound)?;
    let meta = RequestMeta::internal();
    // The link's token stays here: whoever runs the command does not get
    // to use it, only whoever reads the new address.
    let (open, _token) = by_operator(sender, &user, Some(raw_email), &meta).await?;
    Ok((user, open))
}

async fn by_operator(
    sender: &LinkSender<'_>,
    user: &User,
    raw_email: Option<&str>,
    meta: &RequestMeta,
) -> Result<(OpenChange, EmailChangeToken), FlowError> {
    match user.status {
        UserStatus::Active => {}
        UserStatus::Pending => return Err(FlowError::EmailNotVerified),
        UserStatus::Disabled => return Err(FlowError::AccountDisabled),
    }
    let mut errors = FieldErrors::default();
    let Some(email) = new_address(user, raw_email, &mut errors) else {
        return Err(FlowError::Validation(errors));
    };
    refuse_if_taken(sender, user, &email, meta).await?;
    let (token, until) = queue_link(sender, user, &email, meta, Some("an operator")).await?;
    Ok((OpenChange { email, until }, token))
}

/// The address asked for, unless it is malformed or exactly the account's
/// own (a reason for each in `errors`).
fn new_address(
    user: &User,
    raw_email: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<EmailAddress> {
    match EmailAddress::parse(raw_email.unwrap_or_default()) {
        // The same address in other letters (Ada@ for ada@) is a change:
        // the same inbox, written as its owner wants it shown.
        Ok(email) if email.as_str() == user.email.as_str() => {
            errors.add("email", "unchanged", "That is already your address.");
            None
        }
        Ok(email) => Some(email),
        Err(error) => {
            errors.add("email", error.code(), error.to_string());
            None
        }
    }
}

/// `EmailTaken` (and a trail entry) when another account that counts has
/// `email`: one nobody verified is replaced when the link is used.
async fn refuse_if_taken(
    sender: &LinkSender<'_>,
    user: &User,
    email: &EmailAddress,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let taken = sender
        .store
        .user_by_email(email)
        .await?
        .is_some_and(|owner| owner.id != user.id && owner.status != UserStatus::Pending);
    if !taken {
        return Ok(());
    }
    let event = AuditEvent::new(
        sender.now,
        AuditKind::EmailChangeFailed,
        Outcome::Failure,
        Some(user.id),
        meta,
    )
    .with_detail("the address has an account");
    sender.store.audit(&event).await?;
    Err(FlowError::EmailTaken)
}

/// Wakes the outbox worker for a link just queued (and, with no SMTP
/// configured, logs it, as every link is).
fn announce(state: &AppState, token: &EmailChangeToken) {
    state.mail_wake.notify_one();
    if state.log_links {
        tracing::info!(
            link = %state.composer.email_change_link(token),
            "email change link (no SMTP configured: the email is in the mail folder)"
        );
    }
    tracing::info!("email change requested, link sent to the new address");
}

/// A fresh link to `email` (older ones revoked) and the notice to the
/// current address, committed together; `by` says who asked, when not the
/// owner. The link's token, and when it stops working.
async fn queue_link(
    sender: &LinkSender<'_>,
    user: &User,
    email: &EmailAddress,
    meta: &RequestMeta,
    by: Option<&str>,
) -> Result<(EmailChangeToken, DateTime<Utc>), FlowError> {
    let (now, ttl) = (sender.now, sender.ttl);
    let token = EmailChangeToken::generate();
    let stored = stored_token(token.digest(), now, ttl);
    let link = sender
        .composer
        .email_change_email(user, email, &token, ttl, now)?;
    let notice =
        sender
            .composer
            .email_change_notice(user, email, EmailChangeStep::Requested, meta, now)?;
    let detail = match by {
        Some(by) => format!("to {}, asked for by {by}", email.as_str()),
        None => format!("to {}", email.as_str()),
    };
    let event = AuditEvent::new(
        now,
        AuditKind::EmailChangeRequested,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(detail);
    // A new address over its cap gets nothing; the answer is the same
    // (`email.suppressed` in the trail says so), as for any link.
    sender
        .store
        .replace_email_change(user.id, email, &stored, &link, &notice, &event)
        .await?;
    Ok((token, stored.expires_at))
}

/// A change of address waiting for its link: where it goes, and until when.
#[derive(Debug, Clone)]
pub struct OpenChange {
    pub email: EmailAddress,
    pub until: DateTime<Utc>,
}

/// The account's change of address waiting for its link, if any.
pub async fn open_email_change(
    state: &AppState,
    user: &User,
) -> Result<Option<OpenChange>, FlowError> {
    let open = state
        .store
        .open_email_change(user.id, state.clock.now())
        .await?;
    Ok(open.map(|(email, until)| OpenChange { email, until }))
}

/// The owner takes back a change of address before its link is used: the
/// link stops working. `NotFound` when none is waiting.
pub async fn cancel_email_change(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let event = AuditEvent::new(
        state.clock.now(),
        AuditKind::EmailChangeCancelled,
        Outcome::Success,
        Some(user.id),
        meta,
    );
    if state.store.cancel_email_change(user.id, &event).await? {
        Ok(())
    } else {
        Err(FlowError::NotFound)
    }
}

/// The request behind the link while it can still be used, else the refusal.
async fn usable_link(
    state: &AppState,
    raw_token: Option<&str>,
) -> Result<Result<EmailChangeRecord, Refusal>, FlowError> {
    let invalid = |reason, user| Refusal {
        reason,
        user,
        error: FlowError::InvalidEmailChangeLink,
    };
    let Ok(token) = EmailChangeToken::parse(raw_token.unwrap_or_default()) else {
        return Ok(Err(invalid("malformed link", None)));
    };
    let Some(record) = state.store.email_change_by_digest(&token.digest()).await? else {
        return Ok(Err(invalid("unknown link", None)));
    };
    let spent = Spent::judge(
        record.used_at,
        record.revoked_at,
        record.expires_at,
        state.clock.now(),
    );
    let user = Some(record.user.clone());
    Ok(match spent {
        Some(spent @ (Spent::Used | Spent::Superseded)) => Err(invalid(spent.reason(), user)),
        // Disabling revokes the links too; this holds should one slip by.
        _ if record.user.status != UserStatus::Active => Err(invalid("account not active", user)),
        Some(Spent::Expired) => Err(Refusal {
            reason: Spent::Expired.reason(),
            user,
            error: FlowError::EmailChangeLinkExpired,
        }),
        None => Ok(record),
    })
}

/// What the page behind the emailed link shows: the account and the new
/// address, while the link works. Reads only: opening the link uses nothing.
pub async fn check_email_change_link(
    state: &AppState,
    raw_token: Option<&str>,
) -> Result<EmailChangeRecord, FlowError> {
    match usable_link(state, raw_token).await? {
        Ok(record) => Ok(record),
        Err(refusal) => Err(refusal.error),
    }
}

/// How long the old address can undo a change made (`email_revert`): a
/// week, for an owner who reads that inbox now and then.
pub const REVERT_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// Uses the link: in one transaction the account's new address, the link
/// used (and the account's other change links revoked), the trail's entry
/// and the notice to the old address, with the link that undoes the
/// change. The account as it now is.
#[tracing::instrument(name = "confirm_email_change", skip_all, fields(user.id))]
pub async fn confirm_email_change(
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
    let old = &record.user;
    tracing::Span::current().record("user.id", tracing::field::display(old.id));
    let undo = EmailRevertToken::generate();
    let step = EmailChangeStep::Done {
        undo: &undo,
        window: REVERT_WINDOW,
    };
    let notice = state
        .composer
        .email_change_notice(old, &record.new_email, step, meta, now)?;
    let event = AuditEvent::new(
        now,
        AuditKind::EmailChanged,
        Outcome::Success,
        Some(old.id),
        meta,
    )
    .with_detail(format!("from {}", old.email.as_str()));
    match state
        .store
        .change_email(
            &record,
            &undo.digest(),
            later(now, REVERT_WINDOW),
            &notice,
            &event,
        )
        .await?
    {
        EmailChange::Changed => {
            state.mail_wake.notify_one();
            tracing::info!("email address changed");
            Ok(User {
                email: record.new_email,
                ..record.user
            })
        }
        EmailChange::LinkSpent => {
            state.store.audit(&failed("used link", Some(old))).await?;
            Err(FlowError::InvalidEmailChangeLink)
        }
        EmailChange::AddressTaken => {
            let event = failed("the address has an account", Some(old));
            state.store.audit(&event).await?;
            Err(FlowError::EmailTaken)
        }
    }
}
