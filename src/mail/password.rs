//! The emails of a forgotten, changed or first password: the reset link,
//! an operator's invitation (a reset link for a new account) and forced
//! reset (one for a voided password), and the
//! notice that the password changed (OWASP ASVS 5.0 6.2.3 asks to tell the
//! owner about changes to authentication details).

use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Utc};

use super::compose::{Composer, Kind, describe};
use crate::audit::RequestMeta;
use crate::domain::{ResetToken, User};
use crate::store::NewMessage;

#[derive(Template)]
#[template(path = "email/password_reset/subject.txt")]
struct ResetSubject;

#[derive(Template)]
#[template(path = "email/password_reset/body.txt")]
struct ResetText<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_reset/body.html")]
struct ResetHtml<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/invitation/subject.txt")]
struct InvitationSubject;

#[derive(Template)]
#[template(path = "email/invitation/body.txt")]
struct InvitationText<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/invitation/body.html")]
struct InvitationHtml<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_reset_forced/subject.txt")]
struct ForcedSubject;

#[derive(Template)]
#[template(path = "email/password_reset_forced/body.txt")]
struct ForcedText<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_reset_forced/body.html")]
struct ForcedHtml<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_changed/subject.txt")]
struct ChangedSubject;

#[derive(Template)]
#[template(path = "email/password_changed/body.txt")]
struct ChangedText<'a> {
    name: &'a str,
    reset: bool,
    when: &'a str,
    ip: &'a str,
    agent: &'a str,
    forgot: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_changed/body.html")]
struct ChangedHtml<'a> {
    name: &'a str,
    reset: bool,
    when: &'a str,
    ip: &'a str,
    agent: &'a str,
    forgot: &'a str,
}

/// How the password came to change, for the notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// With a reset link: every session was ended.
    Reset,
    /// By the signed-in owner: every other session was ended.
    Changed,
}

impl Composer {
    /// `{public_url}/password/reset?token=...`: a page with a form; opening
    /// it uses nothing (mail scanners open links).
    pub fn password_reset_link(&self, token: &ResetToken) -> String {
        let mut link = self.public_link("password/reset");
        link.query_pairs_mut().append_pair("token", &token.encode());
        link.into()
    }

    pub fn password_reset_email(
        &self,
        user: &User,
        token: &ResetToken,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let link = self.password_reset_link(token);
        let ttl = describe(ttl);
        let (name, link, ttl) = (user.name.as_str(), link.as_str(), ttl.as_str());
        Ok(self.email(
            Kind::PasswordReset,
            user,
            &ResetSubject.render()?,
            ResetText { name, link, ttl }.render()?,
            ResetHtml { name, link, ttl }.render()?,
            now,
        ))
    }

    /// An operator's invitation: the account's first password is chosen
    /// with a reset link, which proves the address as it does for any
    /// account waiting for verification.
    pub fn invitation_email(
        &self,
        user: &User,
        token: &ResetToken,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let link = self.password_reset_link(token);
        let ttl = describe(ttl);
        let (name, link, ttl) = (user.name.as_str(), link.as_str(), ttl.as_str());
        Ok(self.email(
            Kind::Invitation,
            user,
            &InvitationSubject.render()?,
            InvitationText { name, link, ttl }.render()?,
            InvitationHtml { name, link, ttl }.render()?,
            now,
        ))
    }

    /// An operator voided the password: the owner's way back, a reset link.
    pub fn forced_reset_email(
        &self,
        user: &User,
        token: &ResetToken,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let link = self.password_reset_link(token);
        let ttl = describe(ttl);
        let (name, link, ttl) = (user.name.as_str(), link.as_str(), ttl.as_str());
        Ok(self.email(
            Kind::PasswordResetForced,
            user,
            &ForcedSubject.render()?,
            ForcedText { name, link, ttl }.render()?,
            ForcedHtml { name, link, ttl }.render()?,
            now,
        ))
    }

    /// "Your password was changed": when, from where, and what to do if it
    /// was not the owner (a reset link of their own).
    pub fn password_changed_email(
        &self,
        user: &User,
        how: PasswordChange,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let name = user.name.as_str();
        let reset = how == PasswordChange::Reset;
        let when = now.format("%Y-%m-%d %H:%M UTC").to_string();
        let ip = meta.ip.as_deref().unwrap_or("an unknown address");
        let agent = meta.user_agent.as_deref().unwrap_or("unknown");
        let forgot = String::from(self.public_link("password/forgot"));
        let (when, forgot) = (when.as_str(), forgot.as_str());
        Ok(self.email(
            Kind::PasswordChanged,
            user,
            &ChangedSubject.render()?,
            ChangedText {
                name,
                reset,
                when,
                ip,
                agent,
                forgot,
            }
            .render()?,
            ChangedHtml {
                name,
                reset,
                when,
                ip,
                agent,
                forgot,
            }
            .render()?,
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::domain::{DisplayName, EmailAddress, UserId, UserStatus};

    fn user() -> User {
        User {
            id: UserId::generate(),
            name: DisplayName::parse("<b>Ada</b>").unwrap(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            status: UserStatus::Active,
            created_at: DateTime::UNIX_EPOCH,
            verified_at: None,
        }
    }

    #[test]
    fn the_reset_email_carries_the_link_first_and_escapes_the_name() {
        let composer = Composer::new(Url::parse("https://auth.example.com/base/").unwrap());
        let token = ResetToken::generate();
        let message = composer
            .password_reset_email(
                &user(),
                &token,
                Duration::from_secs(3600),
                DateTime::UNIX_EPOCH,
            )
            .unwrap();
        let link = format!(
            "https://auth.example.com/base/password/reset?token={}",
            token.encode()
        );
        assert_eq!(message.kind, crate::store::PASSWORD_RESET_MAIL);
        assert_eq!(message.subject, "Reset your password");
        let first = message.text_body.find("http").unwrap();
        assert!(message.text_body[first..].starts_with(&link));
        assert!(message.text_body.contains("1 hour"));
        assert!(message.html_body.contains(&link));
        assert!(!message.html_body.contains("<b>Ada"));
    }

    #[test]
    fn the_notice_says_how_and_from_where_without_a_secret() {
        let composer = Composer::new(Url::parse("http://127.0.0.1:8080").unwrap());
        let meta = RequestMeta {
            ip: Some("192.0.2.7".to_owned()),
            user_agent: Some("<i>agent</i>".to_owned()),
            device: None,
        };
        let reset = composer
            .password_changed_email(&user(), PasswordChange::Reset, &meta, DateTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(reset.kind, "password_changed");
        assert_eq!(reset.subject, "Your password was changed");
        assert!(reset.text_body.contains("reset with a link"));
        assert!(reset.text_body.contains("192.0.2.7"));
        assert!(
            reset
                .text_body
                .contains("http://127.0.0.1:8080/password/forgot")
        );
        assert!(!reset.text_body.contains("token"));
        assert!(!reset.html_body.contains("<i>agent"));
        let changed = composer
            .password_changed_email(
                &user(),
                PasswordChange::Changed,
                &meta,
                DateTime::UNIX_EPOCH,
            )
            .unwrap();
        assert!(changed.text_body.contains("Every other session"));
    }
}
