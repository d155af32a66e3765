//! POST /login: the password step. It ends in a session, or in a challenge
//! for the second factor (or for enrolling one when the server requires it).

use super::mfa::{self, Challenge};
use super::{FlowError, StartedSession, start_session};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EmailAddress, MfaPolicy, Password, User, UserStatus};
use crate::state::AppState;

#[derive(Debug)]
pub enum LoginOutcome {
    Authenticated { user: User, session: StartedSession },
    MfaRequired(Challenge),
    EnrollmentRequired(Challenge),
}

#[tracing::instrument(name = "login", skip_all, fields(user.id))]
pub async fn login(
    state: &AppState,
    email: Option<&str>,
    password: Option<&str>,
    meta: &RequestMeta,
) -> Result<LoginOutcome, FlowError> {
    let password = Password::new(password.unwrap_or_default());
    let now = state.clock.now();
    let credentials = match EmailAddress::parse(email.unwrap_or_default()) {
        Ok(email) => state.store.credentials_by_email(&email).await?,
        Err(_) => None,
    };
    // Unknown addresses pay for a hash too, so status, body and timing are
    // the same as for a wrong password (no account enumeration).
    let (hash, user) = match &credentials {
        Some(found) => (&found.password_hash, Some(&found.user)),
        None => (&state.dummy_hash, None),
    };
    let matches = state.hasher.verify(&password, hash).await?;
    let Some(user) = user.filter(|_| matches).cloned() else {
        let event = AuditEvent::new(
            now,
            AuditKind::LoginFailed,
            Outcome::Failure,
            user.map(|u| u.id),
            meta,
        )
        .with_detail(if user.is_some() {
            "wrong password"
        } else {
            "unknown email"
        });
        state.store.audit(&event).await?;
        return Err(FlowError::InvalidCredentials);
    };
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    // Only the right password learns that the account is pending.
    if user.status != UserStatus::Active {
        let event = AuditEvent::new(
            now,
            AuditKind::LoginFailed,
            Outcome::Failure,
            Some(user.id),
            meta,
        )
        .with_detail("email not verified");
        state.store.audit(&event).await?;
        return Err(FlowError::EmailNotVerified);
    }

    if state.mfa.policy != MfaPolicy::Off {
        let methods = mfa::login_methods(state, &user).await?;
        if !methods.is_empty() {
            let challenge =
                mfa::open_challenge(state, &user, crate::store::ChallengePurpose::Login, methods)
                    .await?;
            audit_password_step(state, &user, meta, "second factor required").await?;
            return Ok(LoginOutcome::MfaRequired(challenge));
        }
        if state.mfa.policy == MfaPolicy::Required {
            let methods = state.mfa.methods.iter().map(|kind| kind.as_str()).collect();
            let challenge = mfa::open_challenge(
                state,
                &user,
                crate::store::ChallengePurpose::Enroll,
                methods,
            )
            .await?;
            audit_password_step(state, &user, meta, "second factor enrolment required").await?;
            return Ok(LoginOutcome::EnrollmentRequired(challenge));
        }
    }
    let event = AuditEvent::new(
        now,
        AuditKind::LoginSucceeded,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail("password");
    state.store.audit(&event).await?;
    let session = start_session(state, &user, meta).await?;
    Ok(LoginOutcome::Authenticated { user, session })
}

async fn audit_password_step(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
    detail: &str,
) -> Result<(), FlowError> {
    let event = AuditEvent::new(
        state.clock.now(),
        AuditKind::LoginSucceeded,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(format!("password; {detail}"));
    Ok(state.store.audit(&event).await?)
}
