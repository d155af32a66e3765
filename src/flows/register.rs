//! POST /register: validate everything, hash, and commit the pending account
//! with its verification email in one transaction.

use super::link::new_link;
use super::{FieldErrors, FlowError};
use crate::audit::RequestMeta;
use crate::domain::{DisplayName, EmailAddress, Password, User, UserId, UserStatus};
use crate::limits::{Rule, Subject};
use crate::state::AppState;
use crate::store::NewAccount;

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
    // Counted once the input is valid: typos cost nothing, hashes and emails do.
    state
        .limits
        .check(Rule::RegisterPerIp, Subject::Ip(meta))
        .await?;
    state
        .limits
        .check(Rule::RegisterPerAddress, Subject::Email(&email))
        .await?;

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
    tracing::Span::current().record("user.id", tracing::field::display(user.id));

    let link = new_link(state, &user, now)?;
    let account = NewAccount {
        user: &user,
        password_hash: &password_hash,
    };
    state
        .store
        .register(&account, &link.stored, &link.mail, meta)
        .await?;
    link.announce(state);
    tracing::info!("account registered, verification email queued");
    Ok(user)
}
