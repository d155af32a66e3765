//! POST /register: validate everything, hash, and commit the pending account
//! with its verification email in one transaction.

use super::link::new_link;
use super::{FieldErrors, FlowError};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{DisplayName, EmailAddress, Password, User, UserId, UserStatus};
use crate::state::AppState;
use crate::store::{NewAccount, RegisterError};

/// The fields as the client sent them; `None` when absent.
#[derive(Debug, Default)]
pub struct RegisterInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<Password>,
}

#[tracing::instrument(name = "register", skip_all, fields(user.id))]
pub async fn register(
    state: &AppState,
    input: RegisterInput,
    meta: &RequestMeta,
) -> Result<User, FlowError> {
    let mut errors = FieldErrors::default();
    let name = DisplayName::parse(input.name.as_deref().unwrap_or_default())
        .map_err(|error| errors.add("name", error.code(), error.to_string()))
        .ok();
    let email = EmailAddress::parse(input.email.as_deref().unwrap_or_default())
        .map_err(|error| errors.add("email", error.code(), error.to_string()))
        .ok();
    let password = input.password.unwrap_or_else(|| Password::new(""));
    for violation in state.policy.check(&password, name.as_ref(), email.as_ref()) {
        errors.add("password", violation.code(), violation.message());
    }
    let (Some(name), Some(email), true) = (name, email, errors.is_empty()) else {
        return Err(FlowError::Validation(errors));
    };

    let password_hash = state.hasher.hash(&password).await?;
    let now = state.clock.now();
    let user = User {
        id: UserId::generate(),
        name,
        email,
        status: UserStatus::Pending,
        created_at: now,
        verified_at: None,
    };
    // Under enumeration protection a taken address is answered like a new
    // one, with `user` made above (a fresh UUIDv7 of now, like every real id,
    // owned by nobody), and its owner is told by email. The address is
    // looked up first, whether taken or not, so that both kinds then run one
    // write transaction of about the same size: a failed insert and its
    // rollback would cost a taken address a round trip and an error more.
    if state.enumeration_protection
        && let Some(owner) = state.store.user_by_email(&user.email).await?
    {
        tell_the_owner(state, &owner, meta).await?;
        return Ok(user);
    }

    let link = new_link(state, &user, now)?;
    let account = NewAccount {
        user: &user,
        password_hash: &password_hash,
    };
    match state
        .store
        .register(&account, &link.stored, &link.mail, meta)
        .await
    {
        Ok(()) => {}
        // Taken between the lookup and the insert: the unique index decides.
        Err(RegisterError::EmailTaken) if state.enumeration_protection => {
            if let Some(owner) = state.store.user_by_email(&user.email).await? {
                tell_the_owner(state, &owner, meta).await?;
            }
            return Ok(user);
        }
        Err(error) => return Err(error.into()),
    }
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    link.announce(state);
    tracing::info!("account registered, verification email queued");
    Ok(user)
}

/// A sign-up with a taken address, under enumeration protection: its owner
/// gets "someone tried to sign up with your address", with a link to log in,
/// and, when the account still waits for verification, a link to the resend
/// page instead (a login would only meet `403 email_not_verified`).
///
/// Why not a fresh verification link for a pending account, which would
/// save the owner a click: the answer must take as long as a new account's,
/// and this is the same transaction for either status (an email and two
/// audit rows), while a new link would first revoke the old ones (two more
/// statements, a measurable fraction of a millisecond on PostgreSQL). It
/// also leaves the owner's links alone until the owner asks.
///
/// The account keeps the password it was created with: the one just typed
/// is never stored, or whoever knows an address could set the password of an
/// account its owner is about to verify.
async fn tell_the_owner(
    state: &AppState,
    owner: &User,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    tracing::Span::current().record("user.id", tracing::field::display(owner.id));
    let now = state.clock.now();
    let pending = owner.status == UserStatus::Pending;
    let event = AuditEvent::new(
        now,
        AuditKind::SignupWithTakenAddress,
        Outcome::Failure,
        Some(owner.id),
        meta,
    )
    .with_detail(if pending {
        "account pending: the owner was emailed a link to resend"
    } else {
        "the owner was emailed"
    });
    let mail = state.composer.signup_attempt_email(owner, now)?;
    state.store.enqueue_audited(&mail, &event).await?;
    state.mail_wake.notify_one();
    tracing::info!("sign-up with a registered address; its owner was emailed");
    Ok(())
}
