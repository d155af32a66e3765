//! The owner changes the account's display name (the one the emails greet).
//! A name is no secret and no credential: a signed-in session or access
//! token may change it, no recent sign-in needed, and the trail records it.

use super::FlowError;
use super::error::FieldErrors;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{DisplayName, User};
use crate::state::AppState;

/// The account as it now is; `Validation` (field `name`) for a name that
/// is empty, too long or holds control characters.
#[tracing::instrument(name = "rename", skip_all, fields(user.id = %user.id))]
pub async fn rename(
    state: &AppState,
    user: &User,
    raw_name: Option<&str>,
    meta: &RequestMeta,
) -> Result<User, FlowError> {
    let name = match DisplayName::parse(raw_name.unwrap_or_default()) {
        Ok(name) => name,
        Err(error) => {
            let mut errors = FieldErrors::default();
            errors.add("name", error.code(), error.to_string());
            return Err(FlowError::Validation(errors));
        }
    };
    if name == user.name {
        return Ok(user.clone());
    }
    let event = AuditEvent::new(
        state.clock.now(),
        AuditKind::UserRenamed,
        Outcome::Success,
        Some(user.id),
        meta,
    );
    state
        .store
        .rename(user.id, &name, &event)
        .await?
        .ok_or(FlowError::NotFound)
}
