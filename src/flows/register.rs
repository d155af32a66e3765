//! POST /register: validate everything, hash, and commit the pending account
//! with its verification email in one transaction.

use super::link::new_link;
use super::{FieldErrors, FlowError};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{
    DisplayName, EmailAddress, Password, RegistrationMode, User, UserId, UserStatus,
};
use crate::limits::{Rule, Subject};
use crate::state::AppState;
use crate::store::{NewAccount, Registration, TakenAddress};

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
    // Before anything: a closed sign-up costs nothing and says nothing
    // about any address.
    if state.registration == RegistrationMode::Invitation {
        return Err(FlowError::RegistrationClosed);
    }
    // First: a sign-up refused for overload spends nothing, and one that is
    // admitted is not refused between its checks and its hash.
    let admission = state.hasher.admit().await?;
    let mut errors = FieldErrors::default();
    let name = DisplayName::parse(input.name.as_deref().unwrap_or_default())
        .map_err(|error| errors.add("name", error.code(), error.to_string()))
        .ok();
    let email = EmailAddress::parse(input.email.as_deref().unwrap_or_default())
        .map_err(|error| errors.add("email", error.code(), error.to_string()))
        .ok()
        .filter(|email| admitted(state, email, &mut errors));
    let password = input.password.unwrap_or_else(|| Password::new(""));
    let verdict = admission
        .assess(
            state.policy.clone(),
            &password,
            name.as_ref(),
            email.as_ref(),
        )
        .await?;
    for violation in verdict.violations {
        errors.add("password", violation.code(), violation.message());
    }
    let (Some(name), Some(email), true) = (name, email, errors.is_empty()) else {
        return Err(FlowError::Validation(errors));
    };
    // Counted once the input is valid: typos cost nothing, hashes and emails do.
    state
        .limits
        .check_both(
            (Rule::RegisterPerIp, Subject::Ip(meta)),
            (Rule::RegisterPerAddress, Subject::Email(&email)),
        )
        .await?;

    // The place in the pool is kept through the write, as a login's is
    // (`flows::login`): the pool's bound is a bound on the writer's queue.
    let password_hash = admission.hash(&password).await?;
    let now = state.clock.now();
    let user = User {
        id: UserId::generate(),
        name,
        email,
        status: UserStatus::Pending,
        created_at: now,
        verified_at: None,
    };
    let link = new_link(state, &user, now)?;
    let account = NewAccount {
        user: &user,
        password_hash: &password_hash,
    };
    // Under enumeration protection a taken address is answered like a new
    // one, with `user` made above (a fresh UUIDv7 of now, like every real
    // id, owned by nobody), and its owner is emailed instead. Whether the
    // address is taken is learnt inside the one write transaction, which
    // runs as many statements either way; the notice is made for every
    // sign-up, so that costs the same too.
    let (notice, event);
    let taken = if state.enumeration_protection {
        notice = state.composer.signup_attempt_email(&user.email, now)?;
        event = AuditEvent::new(
            now,
            AuditKind::SignupWithTakenAddress,
            Outcome::Failure,
            None,
            meta,
        )
        .with_detail("the owner was emailed");
        Some(TakenAddress {
            notice: &notice,
            event: &event,
        })
    } else {
        None
    };
    let registration = state
        .store
        .register(&account, &link.stored, &link.mail, meta, taken.as_ref())
        .await?;
    let span = tracing::Span::current();
    match registration {
        Registration::Created => {
            span.record("user.id", tracing::field::display(user.id));
            link.announce(state);
            tracing::info!("account registered, verification email queued");
            Ok(user)
        }
        Registration::Replaced(id) => {
            span.record("user.id", tracing::field::display(id));
            link.announce(state);
            tracing::info!(
                "an unverified account's sign-up replaced by a new one, verification email queued"
            );
            // The account keeps its id. Under enumeration protection the
            // answer keeps the fresh one: the old id's time would tell that
            // somebody had signed up with this address before.
            Ok(if state.enumeration_protection {
                user
            } else {
                User { id, ..user }
            })
        }
        Registration::OwnerNotified(owner) => {
            span.record("user.id", tracing::field::display(owner));
            state.mail_wake.notify_one();
            tracing::info!("sign-up with a registered address; its owner was emailed");
            Ok(user)
        }
    }
}

/// Whether `email`'s domain may sign up (`LATCHKEY_REGISTRATION_DOMAINS`);
/// the reason in `errors` when not. A change of address is held to it too.
pub(super) fn admitted(state: &AppState, email: &EmailAddress, errors: &mut FieldErrors) -> bool {
    let admitted = state.signup_domains.admit(email);
    if !admitted {
        errors.add(
            "email",
            "domain_not_allowed",
            state.signup_domains.refusal(),
        );
    }
    admitted
}
