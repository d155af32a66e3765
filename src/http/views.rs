//! What the API shows of an account.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{User, UserId, UserStatus};

#[derive(Debug, Serialize)]
pub(super) struct UserView<'a> {
    pub(super) id: UserId,
    pub(super) name: &'a str,
    pub(super) email: &'a str,
    pub(super) status: UserStatus,
    pub(super) created_at: DateTime<Utc>,
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id,
            name: user.name.as_str(),
            email: user.email.as_str(),
            status: user.status,
            created_at: user.created_at,
        }
    }
}
