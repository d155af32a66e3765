//! What the API shows of an account, and the small bodies several
//! endpoints share. Each derives its OpenAPI schema (`http::openapi`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{ObjectBuilder, Type};

use crate::domain::{User, UserId, UserStatus};

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub(super) struct UserView {
    #[schema(value_type = uuid::Uuid)]
    pub(super) id: UserId,
    pub(super) name: String,
    #[schema(format = Email)]
    pub(super) email: String,
    #[schema(schema_with = user_status)]
    pub(super) status: UserStatus,
    pub(super) created_at: DateTime<Utc>,
}

/// `pending` until the email address is proven, then `active`; `disabled`
/// while an operator has disabled the account.
fn user_status() -> ObjectBuilder {
    string_enum(
        &[
            UserStatus::Pending,
            UserStatus::Active,
            UserStatus::Disabled,
        ]
        .map(UserStatus::as_str),
    )
}

/// The schema of a string that is one of `values`.
pub(super) fn string_enum(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            name: user.name.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            status: user.status,
            created_at: user.created_at,
        }
    }
}

/// `{"user": {...}}`: a new account, or the signed-in one.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UserEnvelope {
    pub(super) user: UserView,
}

impl From<&User> for UserEnvelope {
    fn from(user: &User) -> Self {
        Self {
            user: UserView::from(user),
        }
    }
}

/// `{"revoked": N}`: how many sessions a request ended.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Revoked {
    pub(super) revoked: u64,
}

/// `{"status": "..."}`: what a request did, in one stable word.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Done {
    #[schema(example = "password_changed")]
    pub(super) status: &'static str,
}

/// `202 Accepted` with a sentence for people: the work goes on in the
/// background (an email or a text message on its way).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Accepted {
    pub(super) message: &'static str,
}
