//! The last message an account's address gets: the account was deleted,
//! by whom, and (when its owner's session did it) from where.

use askama::Template;
use chrono::{DateTime, Utc};

use super::compose::{Composer, Kind};
use crate::audit::RequestMeta;
use crate::domain::User;
use crate::store::NewMessage;

#[derive(Template)]
#[template(path = "email/account_deleted/subject.txt")]
struct DeletedSubject;

#[derive(Template)]
#[template(path = "email/account_deleted/body.txt")]
struct DeletedText<'a> {
    name: &'a str,
    by_admin: bool,
    when: &'a str,
    ip: &'a str,
    agent: &'a str,
    signup: &'a str,
}

#[derive(Template)]
#[template(path = "email/account_deleted/body.html")]
struct DeletedHtml<'a> {
    name: &'a str,
    by_admin: bool,
    when: &'a str,
    ip: &'a str,
    agent: &'a str,
    signup: &'a str,
}

/// Who deleted an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedBy {
    /// Its owner, from a recent session.
    Owner,
    /// An operator, through the admin API.
    Administrator,
}

impl DeletedBy {
    /// The audit entry's detail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "by its owner",
            Self::Administrator => "by an administrator",
        }
    }
}

impl Composer {
    /// "Your account was deleted". The operator's address and browser are
    /// not the owner's business; the owner's own are, in case it was not them.
    pub fn account_deleted_email(
        &self,
        user: &User,
        by: DeletedBy,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let name = user.name.as_str();
        let by_admin = by == DeletedBy::Administrator;
        let when = now.format("%Y-%m-%d %H:%M UTC").to_string();
        let ip = meta.ip.as_deref().unwrap_or("an unknown address");
        let agent = meta.user_agent.as_deref().unwrap_or("unknown");
        let signup = String::from(self.public_link("signup"));
        let (when, signup) = (when.as_str(), signup.as_str());
        Ok(self.email(
            Kind::AccountDeleted,
            user,
            &DeletedSubject.render()?,
            DeletedText {
                name,
                by_admin,
                when,
                ip,
                agent,
                signup,
            }
            .render()?,
            DeletedHtml {
                name,
                by_admin,
                when,
                ip,
                agent,
                signup,
            }
            .render()?,
            now,
        ))
    }
}
