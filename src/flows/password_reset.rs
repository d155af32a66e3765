//! A forgotten password (OWASP ASVS 5.0 6.4.1-6.4.3, NIST SP 800-63B 6.1.2.3):
//! `POST /password/reset` emails a single-use link to an active account,
//! `GET /password/reset?token=` shows the form without using the link (mail
//! scanners open links), and `POST /password/reset/confirm` sets the new
//! password with it.
//!
//! The request never says whether the address has an account: same status
//! and body, and the same time (the work happens just after the answer).
//! A pending account gets a reset link too, not its verification link: its
//! password may be a stranger's, typed by whoever signed up with the address
//! first (account pre-hijacking), and a verification link would activate
//! it. The reset link proves the address, so setting a password with it
//! also activates the account. A reset does not sign in: the person logs in
//! with the new password, and a second factor, if the account has one, is
//! still asked for.

use chrono::{DateTime, Utc};

use super::after_answer::{email_field, run_after_answer};
use super::link::{Refusal, Spent, stored_token};
use super::{FieldErrors, FlowError};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EmailAddress, Password, ResetToken, User, UserStatus};
use crate::limits::{FailureKey, Rule, Subject};
use crate::mail::PasswordChange;
use crate::state::AppState;
use crate::store::{NewMessage, NewToken, TokenRecord};

#[tracing::instrument(name = "request_password_reset", skip_all, fields(user.id))]
pub async fn request_password_reset(
    state: &AppState,
    email: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let email = email_field(email)?;
    // Unknown and known addresses are counted alike: the answer says nothing.
    state
        .limits
        .check_both(
            (Rule::ResetPerIp, Subject::Ip(meta)),
            (Rule::ResetPerAddress, Subject::Email(&email)),
        )
        .await?;
    // The answer comes now, the work just after it (`after_answer`): an
    // account costs a transaction with a token and an email, an unknown
    // address an audit row, about half a millisecond less on PostgreSQL.
    let (task_state, task_meta) = (state.clone(), meta.clone());
    run_after_answer(
        state,
        tracing::info_span!("reset_link", user.id = tracing::field::Empty),
        "could not answer a password reset request",
        async move { act_on_request(&task_state, &email, &task_meta).await },
    )
    .await
}

/// What a reset request does once answered: a reset link for an active or
/// a pending account, an audit row for a disabled account or an unknown
/// address.
async fn act_on_request(
    state: &AppState,
    email: &EmailAddress,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    match state.store.user_by_email(email).await? {
        Some(user) => {
            tracing::Span::current().record("user.id", tracing::field::display(user.id));
            match user.status {
                UserStatus::Active | UserStatus::Pending => {
                    send_reset_link(state, &user, now, meta).await?;
                }
                // An operator disabled it: no way back in through the inbox.
                UserStatus::Disabled => {
                    let event = AuditEvent::new(
                        now,
                        AuditKind::PasswordResetRequested,
                        Outcome::Failure,
                        Some(user.id),
                        meta,
                    )
                    .with_detail("account disabled");
                    state.store.audit(&event).await?;
                }
            }
        }
        None => {
            let event = AuditEvent::new(
                now,
                AuditKind::PasswordResetRequested,
                Outcome::Failure,
                None,
                meta,
            )
            .with_detail("no account");
            state.store.audit(&event).await?;
        }
    }
    Ok(())
}

/// A fresh link for `user`; every older unused one stops working. The
/// link itself is never logged (it is a password in an email), not even
/// without SMTP: the `.eml` file in the mail folder has it.
async fn send_reset_link(
    state: &AppState,
    user: &User,
    now: DateTime<Utc>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let (stored, mail) = new_reset_link(state, user, now)?;
    // A recipient over their cap gets nothing; the answer is the same
    // (`email.suppressed` in the audit trail says so).
    state
        .store
        .replace_password_reset(user.id, &stored, &mail, meta)
        .await?;
    state.mail_wake.notify_one();
    Ok(())
}

/// A fresh reset link for `user` at its address: the stored form of its
/// token and the email that carries it, to commit together.
pub(super) fn new_reset_link(
    state: &AppState,
    user: &User,
    now: DateTime<Utc>,
) -> Result<(NewToken, NewMessage), FlowError> {
    let token = ResetToken::generate();
    let ttl = state.password_reset_ttl;
    let stored = stored_token(token.digest(), now, ttl);
    let mail = state
        .composer
        .password_reset_email(user, &token, ttl, now)?;
    Ok((stored, mail))
}

/// The link's stored record while it can still be used, else the refusal.
async fn usable_link(
    state: &AppState,
    raw_token: Option<&str>,
) -> Result<Result<TokenRecord, Refusal>, FlowError> {
    let invalid = |reason, user| Refusal {
        reason,
        user,
        error: FlowError::InvalidResetLink,
    };
    let Ok(token) = ResetToken::parse(raw_token.unwrap_or_default()) else {
        return Ok(Err(invalid("malformed link", None)));
    };
    let Some(record) = state.store.reset_token_by_digest(&token.digest()).await? else {
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
        _ if record.user.status == UserStatus::Disabled => Err(invalid("account disabled", user)),
        Some(Spent::Expired) => Err(Refusal {
            reason: Spent::Expired.reason(),
            user,
            error: FlowError::ResetLinkExpired,
        }),
        None => Ok(record),
    })
}

/// What the page behind the emailed link shows: the account the link is
/// for, while it works. Reads only: opening the link uses nothing.
pub async fn check_reset_link(
    state: &AppState,
    raw_token: Option<&str>,
) -> Result<User, FlowError> {
    match usable_link(state, raw_token).await? {
        Ok(record) => Ok(record.user),
        Err(refusal) => Err(refusal.error),
    }
}

/// Sets the new password with the link: in one transaction the hash, the
/// link used, every session ended, the audit entry and the notice email.
/// The failed logins of the address are forgotten (its owner just proved
/// control of the inbox, as the unlock link does).
#[tracing::instrument(name = "reset_password", skip_all, fields(user.id))]
pub async fn reset_password(
    state: &AppState,
    raw_token: Option<&str>,
    password: &Password,
    meta: &RequestMeta,
) -> Result<User, FlowError> {
    // Before the link is looked at: refused at once, or not at all.
    let admission = state.hasher.admit().await?;
    let now = state.clock.now();
    let failed = |reason: &'static str, user: Option<&User>| {
        AuditEvent::new(
            now,
            AuditKind::PasswordResetFailed,
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
    let user = record.user;
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    let mut errors = FieldErrors::default();
    let verdict = admission
        .assess(
            state.policy.clone(),
            password,
            Some(&user.name),
            Some(&user.email),
        )
        .await?;
    for violation in verdict.violations {
        errors.add("password", violation.code(), violation.message());
    }
    errors.into_result()?;
    let hash = admission.hash(password).await?;
    drop(admission);
    // A pending account (an invitation taken up, or a sign-up nobody
    // verified) is activated by the link, which proved the address: its
    // owner hears that it is active, as after a verification link.
    let notice = if user.status == UserStatus::Pending {
        state.composer.account_active_email(&user, now)?
    } else {
        state
            .composer
            .password_changed_email(&user, PasswordChange::Reset, meta, now)?
    };
    if !state
        .store
        .reset_password(record.id, user.id, &hash, &notice, meta)
        .await?
    {
        // Another use of the same link committed first.
        state.store.audit(&failed("used link", Some(&user))).await?;
        return Err(FlowError::InvalidResetLink);
    }
    state.mail_wake.notify_one();
    state
        .limits
        .forget_login_failures(FailureKey::account(&user.email))
        .await?;
    tracing::info!("password reset, every session ended");
    Ok(user)
}
