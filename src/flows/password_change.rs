//! `POST /password/change`: a signed-in person sets a new password, proving
//! the current one (OWASP ASVS 5.0 6.2.3). Every other session ends; the one
//! making the change stays.

use uuid::Uuid;

use super::{FieldErrors, FlowError, unlock};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{Password, User};
use crate::hashing::Admission;
use crate::limits::{FailureKey, Rule, Subject};
use crate::mail::PasswordChange;
use crate::state::AppState;

/// `session`: the session making the change, which is kept (`None` for an
/// access token issued without one: then every session ends).
#[tracing::instrument(name = "change_password", skip_all, fields(user.id = %user.id))]
pub async fn change_password(
    state: &AppState,
    user: &User,
    session: Option<Uuid>,
    current: &Password,
    new: &Password,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    // One place in the pool for the check, the current password and the
    // new hash: refused at once or not at all.
    let admission = state.hasher.admit().await?;
    let mut errors = FieldErrors::default();
    if current.char_count() == 0 {
        errors.add(
            "current_password",
            "required",
            "Enter your current password.",
        );
    }
    let verdict = admission
        .assess(
            state.policy.clone(),
            new,
            Some(&user.name),
            Some(&user.email),
        )
        .await?;
    for violation in verdict.violations {
        errors.add("new_password", violation.code(), violation.message());
    }
    errors.into_result()?;

    prove_password(
        state,
        &admission,
        user,
        current,
        meta,
        AuditKind::PasswordChangeFailed,
    )
    .await?;

    let now = state.clock.now();
    let hash = admission.hash(new).await?;
    drop(admission);
    let notice = state
        .composer
        .password_changed_email(user, PasswordChange::Changed, meta, now)?;
    state
        .store
        .change_password(user.id, &hash, session, &notice, meta)
        .await?;
    state.mail_wake.notify_one();
    tracing::info!("password changed, other sessions ended");
    Ok(())
}

/// Checks the signed-in owner's current password before a change that
/// needs it (OWASP ASVS 5.0 7.5.1), or `WrongPassword` with `failed` in the
/// trail. A try is a login attempt: the same quotas and the same failure
/// count, so a session (or a stolen access token) cannot guess faster than
/// the login form allows, nor get around a lock.
pub(super) async fn prove_password(
    state: &AppState,
    admission: &Admission,
    user: &User,
    current: &Password,
    meta: &RequestMeta,
    failed: AuditKind,
) -> Result<(), FlowError> {
    state
        .limits
        .check_both(
            (Rule::LoginPerIp, Subject::Ip(meta)),
            (Rule::LoginPerAccount, Subject::Email(&user.email)),
        )
        .await?;
    let key = FailureKey::account(&user.email);
    let attempt = state.limits.login_attempt(key).await?;
    let Some(credentials) = state.store.credentials_by_email(&user.email).await? else {
        return Err(FlowError::Unauthenticated);
    };
    if !admission
        .verify(current, &credentials.password_hash)
        .await?
    {
        if state.limits.login_failed(key).await? {
            unlock::announce_lock(state, user, meta).await?;
        }
        let event = AuditEvent::new(
            state.clock.now(),
            failed,
            Outcome::Failure,
            Some(user.id),
            meta,
        )
        .with_detail("wrong current password");
        state.store.audit(&event).await?;
        return Err(FlowError::WrongPassword);
    }
    state.limits.login_succeeded(attempt).await?;
    Ok(())
}
