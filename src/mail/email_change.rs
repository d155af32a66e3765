//! The emails of an address change: the link to the new address, and the
//! notices to the old one when the change is asked for and when it is done
//! (OWASP ASVS 5.0 6.3.7: the owner hears of changes to what signs them in).

use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Utc};

use super::compose::{Composer, Kind, describe};
use crate::audit::RequestMeta;
use crate::domain::{EmailAddress, EmailChangeToken, EmailRevertToken, User};
use crate::store::NewMessage;

#[derive(Template)]
#[template(path = "email/email_change/subject.txt")]
struct LinkSubject;

#[derive(Template)]
#[template(path = "email/email_change/body.txt")]
struct LinkText<'a> {
    name: &'a str,
    new_email: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/email_change/body.html")]
struct LinkHtml<'a> {
    name: &'a str,
    new_email: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/email_change_notice/subject.txt")]
struct NoticeSubject {
    done: bool,
}

/// The notice's fields; the text and HTML parts are two templates over
/// the same.
struct Notice<'a> {
    name: &'a str,
    new_email: &'a str,
    done: bool,
    when: &'a str,
    ip: &'a str,
    agent: &'a str,
    forgot: &'a str,
    /// The link that undoes a change made, and how long it works.
    undo: Option<&'a str>,
    window: &'a str,
}

#[derive(Template)]
#[template(path = "email/email_change_notice/body.txt")]
struct NoticeText<'a>(&'a Notice<'a>);

#[derive(Template)]
#[template(path = "email/email_change_notice/body.html")]
struct NoticeHtml<'a>(&'a Notice<'a>);

impl<'a> std::ops::Deref for NoticeText<'a> {
    type Target = Notice<'a>;
    fn deref(&self) -> &Notice<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for NoticeHtml<'a> {
    type Target = Notice<'a>;
    fn deref(&self) -> &Notice<'a> {
        self.0
    }
}

/// Where an address change stands, for the notice to the old address.
#[derive(Debug, Clone, Copy)]
pub enum EmailChangeStep<'a> {
    /// Asked for: a password reset still cancels it.
    Requested,
    /// Done: the new address confirmed it; `undo` reverts it, for `window`.
    Done {
        undo: &'a EmailRevertToken,
        window: Duration,
    },
}

impl Composer {
    /// `{public_url}/email/confirm?token=...`: a page with a button; opening
    /// it uses nothing (mail scanners open links).
    pub fn email_change_link(&self, token: &EmailChangeToken) -> String {
        let mut link = self.public_link("email/confirm");
        link.query_pairs_mut().append_pair("token", &token.encode());
        link.into()
    }

    /// The link, to the new address (which anyone signed in may type: it
    /// spends the allowance strangers share, like a sign-up's link).
    pub fn email_change_email(
        &self,
        user: &User,
        new_email: &EmailAddress,
        token: &EmailChangeToken,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let link = self.email_change_link(token);
        let ttl = describe(ttl);
        let (name, link, ttl) = (user.name.as_str(), link.as_str(), ttl.as_str());
        let new_email_str = new_email.as_str();
        let message = self.email_to(
            Kind::EmailChange,
            new_email_str,
            &LinkSubject.render()?,
            LinkText {
                name,
                new_email: new_email_str,
                link,
                ttl,
            }
            .render()?,
            LinkHtml {
                name,
                new_email: new_email_str,
                link,
                ttl,
            }
            .render()?,
            now,
        );
        Ok(NewMessage {
            user_id: Some(user.id),
            ..message
        })
    }

    /// `{public_url}/email/revert?token=...`: a page with a button; opening
    /// it uses nothing.
    pub fn email_revert_link(&self, token: &EmailRevertToken) -> String {
        let mut link = self.public_link("email/revert");
        link.query_pairs_mut().append_pair("token", &token.encode());
        link.into()
    }

    /// To the account's old address (`user` as it was): the change, when
    /// and from where, and what to do if it was not the owner: a password
    /// reset while it is asked for, the undo link once it is made.
    pub fn email_change_notice(
        &self,
        user: &User,
        new_email: &EmailAddress,
        step: EmailChangeStep<'_>,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let (undo, window) = match step {
            EmailChangeStep::Requested => (None, String::new()),
            EmailChangeStep::Done { undo, window } => {
                (Some(self.email_revert_link(undo)), describe(window))
            }
        };
        let when = now.format("%Y-%m-%d %H:%M UTC").to_string();
        let forgot = String::from(self.public_link("password/forgot"));
        let notice = Notice {
            name: user.name.as_str(),
            new_email: new_email.as_str(),
            done: undo.is_some(),
            when: &when,
            ip: meta.ip.as_deref().unwrap_or("an unknown address"),
            agent: meta.user_agent.as_deref().unwrap_or("unknown"),
            forgot: &forgot,
            undo: undo.as_deref(),
            window: &window,
        };
        Ok(self.email(
            Kind::EmailChangeNotice,
            user,
            &NoticeSubject { done: notice.done }.render()?,
            NoticeText(&notice).render()?,
            NoticeHtml(&notice).render()?,
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::domain::{DisplayName, UserId, UserStatus};

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
    fn the_link_goes_to_the_new_address_for_the_account() {
        let composer = Composer::new(Url::parse("https://auth.example.com/base/").unwrap());
        let token = EmailChangeToken::generate();
        let new = EmailAddress::parse("ada@new.example").unwrap();
        let user = user();
        let message = composer
            .email_change_email(
                &user,
                &new,
                &token,
                Duration::from_secs(86_400),
                DateTime::UNIX_EPOCH,
            )
            .unwrap();
        let link = format!(
            "https://auth.example.com/base/email/confirm?token={}",
            token.encode()
        );
        assert_eq!(message.kind, crate::store::EMAIL_CHANGE_MAIL);
        assert_eq!(message.recipient, "ada@new.example");
        assert_eq!(message.user_id, Some(user.id));
        assert_eq!(message.subject, "Confirm your new email address");
        assert!(message.text_body.contains(&link));
        assert!(message.text_body.contains("24 hours"));
        assert!(message.html_body.contains(&link));
        assert!(!message.html_body.contains("<b>Ada"));
    }

    #[test]
    fn the_notices_go_to_the_old_address_without_a_secret() {
        let composer = Composer::new(Url::parse("http://127.0.0.1:8080").unwrap());
        let new = EmailAddress::parse("ada@new.example").unwrap();
        let meta = RequestMeta {
            ip: Some("192.0.2.7".to_owned()),
            user_agent: Some("<i>agent</i>".to_owned()),
            device: None,
        };
        let asked = composer
            .email_change_notice(
                &user(),
                &new,
                EmailChangeStep::Requested,
                &meta,
                DateTime::UNIX_EPOCH,
            )
            .unwrap();
        assert_eq!(asked.kind, "email_change_notice");
        assert_eq!(asked.recipient, "ada@example.com");
        assert_eq!(
            asked.subject,
            "A change of your email address was requested"
        );
        assert!(asked.text_body.contains("ada@new.example"));
        assert!(asked.text_body.contains("192.0.2.7"));
        assert!(
            asked
                .text_body
                .contains("http://127.0.0.1:8080/password/forgot")
        );
        assert!(!asked.text_body.contains("token"));
        assert!(!asked.html_body.contains("<i>agent"));
        assert!(!asked.text_body.contains("/email/revert"));
        let undo = EmailRevertToken::generate();
        let done = composer
            .email_change_notice(
                &user(),
                &new,
                EmailChangeStep::Done {
                    undo: &undo,
                    window: Duration::from_secs(7 * 86_400),
                },
                &meta,
                DateTime::UNIX_EPOCH,
            )
            .unwrap();
        assert_eq!(done.subject, "Your email address was changed");
        assert_eq!(done.recipient, "ada@example.com");
        assert!(done.text_body.contains("no longer signs in"));
        let link = format!("http://127.0.0.1:8080/email/revert?token={}", undo.encode());
        assert!(done.text_body.contains(&link), "{}", done.text_body);
        assert!(done.html_body.contains(&link));
        assert!(done.text_body.contains("7 days"), "{}", done.text_body);
    }
}
