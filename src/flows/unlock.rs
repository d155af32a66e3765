//! The way out of a login lockout that an attacker cannot block: when the
//! throttle locks an account, its owner is emailed a link; opening it
//! forgets the failures (GET /login/unlock).

use std::time::Duration;

use chrono::TimeDelta;

use super::FlowError;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{UnlockToken, User};
use crate::limits::FailureKey;
use crate::state::AppState;

/// How long an unlock link works.
pub const UNLOCK_TTL: Duration = Duration::from_secs(24 * 3600);

/// The lock just engaged on `user`'s address: audit it and email the link.
pub async fn announce_lock(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    let token = UnlockToken::generate();
    let failures = state.limits.lockout_failures();
    let mail = state
        .composer
        .login_locked_email(user, failures, &token, UNLOCK_TTL, now)?;
    let expires_at = now
        .checked_add_signed(TimeDelta::from_std(UNLOCK_TTL).unwrap_or(TimeDelta::MAX))
        .unwrap_or(now);
    state
        .store
        .create_unlock(&token.digest(), user.id, now, expires_at, &mail, meta)
        .await?;
    state.mail_wake.notify_one();
    let event = AuditEvent::new(
        now,
        AuditKind::LoginLocked,
        Outcome::Failure,
        Some(user.id),
        meta,
    )
    .with_detail(format!("{failures} consecutive failures"));
    state.store.audit(&event).await?;
    Ok(())
}

/// A locked address was tried again: if no unlock link is live (the last
/// one expired or was used), send a fresh one. The recipient cap bounds how
/// many emails this can cause.
pub async fn remind(state: &AppState, user: &User, meta: &RequestMeta) -> Result<(), FlowError> {
    if state
        .store
        .live_unlock_exists(user.id, state.clock.now())
        .await?
    {
        return Ok(());
    }
    announce_lock(state, user, meta).await
}

/// Uses an unlock link: the account's failed logins are forgotten.
#[tracing::instrument(name = "unlock", skip_all, fields(user.id))]
pub async fn unlock_login(
    state: &AppState,
    raw_token: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let token =
        UnlockToken::parse(raw_token.unwrap_or_default()).map_err(|_| FlowError::InvalidToken)?;
    let now = state.clock.now();
    let Some(user_id) = state.store.use_unlock(&token.digest(), now).await? else {
        return Err(FlowError::InvalidToken);
    };
    tracing::Span::current().record("user.id", tracing::field::display(user_id));
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return Err(FlowError::InvalidToken);
    };
    state
        .limits
        .forget_login_failures(FailureKey::account(&user.email))
        .await?;
    let event = AuditEvent::new(
        now,
        AuditKind::LoginUnlocked,
        Outcome::Success,
        Some(user.id),
        meta,
    );
    state.store.audit(&event).await?;
    Ok(())
}
