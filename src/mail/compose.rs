//! Rendering messages from `templates/email/<kind>/{subject.txt,body.txt,body.html}`.

use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Utc};
use url::Url;
use uuid::Uuid;

use crate::domain::{OneTimeCode, PhoneNumber, User, VerificationToken};
use crate::limits::{self, Quota};
use crate::store::{
    Channel, EMAIL_CHANGE_MAIL, NewMessage, PASSWORD_RESET_MAIL, RecipientLimit, VERIFICATION_MAIL,
};

#[derive(Template)]
#[template(path = "email/verify/subject.txt")]
struct VerifySubject;

#[derive(Template)]
#[template(path = "email/verify/body.txt")]
struct VerifyText<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/verify/body.html")]
struct VerifyHtml<'a> {
    name: &'a str,
    link: &'a str,
    ttl: &'a str,
}

#[derive(Template)]
#[template(path = "email/mfa_code/subject.txt")]
struct CodeSubject;

#[derive(Template)]
#[template(path = "email/mfa_code/body.txt")]
struct CodeText<'a> {
    name: &'a str,
    code: &'a str,
}

#[derive(Template)]
#[template(path = "email/mfa_code/body.html")]
struct CodeHtml<'a> {
    name: &'a str,
    code: &'a str,
}

#[derive(Template)]
#[template(path = "sms/code.txt")]
struct CodeSms<'a> {
    code: &'a str,
    host: &'a str,
}

/// What a message is: its name in the outbox and the audit trail, and so
/// whose allowance at the recipient it spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    VerifyEmail,
    PasswordReset,
    SignupAttempt,
    MfaCode,
    AccountActive,
    FactorChanged,
    NewDevice,
    LoginLocked,
    PasswordChanged,
    AccountDeleted,
    EmailChange,
    EmailChangeNotice,
    Invitation,
    /// A reset link an operator sent: the same outbox kind as the owner's
    /// (a newer link cancels it while unsent), counted as the account's.
    PasswordResetForced,
    /// An operator removed every second factor (the owner lost them).
    FactorsReset,
    /// A sign-in used a recovery code.
    RecoveryCodeUsed,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::VerifyEmail => VERIFICATION_MAIL,
            Self::PasswordReset | Self::PasswordResetForced => PASSWORD_RESET_MAIL,
            Self::SignupAttempt => "signup_attempt",
            Self::MfaCode => "mfa_code",
            Self::AccountActive => "account_active",
            Self::FactorChanged => "factor_changed",
            Self::NewDevice => "new_device",
            Self::LoginLocked => "login_locked",
            Self::PasswordChanged => "password_changed",
            Self::AccountDeleted => "account_deleted",
            Self::EmailChange => EMAIL_CHANGE_MAIL,
            Self::EmailChangeNotice => "email_change_notice",
            Self::Invitation => "invitation",
            Self::FactorsReset => "factors_reset",
            Self::RecoveryCodeUsed => "recovery_code_used",
        }
    }

    /// The recipient's counter this message spends. What anyone who types
    /// the address can ask for is counted apart from what only the account
    /// causes (its password, a session, a link of its own, or its lockout,
    /// at most one per lock): a stranger who uses up what an address may
    /// receive must not also silence its owner's codes and security notices
    /// (OWASP ASVS 5.0 6.3.5, 6.3.7).
    fn counter(self) -> &'static str {
        match self {
            Self::VerifyEmail | Self::PasswordReset | Self::SignupAttempt | Self::EmailChange => {
                "messages_per_recipient"
            }
            Self::MfaCode
            | Self::AccountActive
            | Self::FactorChanged
            | Self::NewDevice
            | Self::LoginLocked
            | Self::PasswordChanged
            | Self::AccountDeleted
            | Self::EmailChangeNotice
            // Only an operator sends these.
            | Self::Invitation
            | Self::PasswordResetForced
            | Self::FactorsReset
            | Self::RecoveryCodeUsed => "account_messages_per_recipient",
        }
    }
}

/// Builds outbox messages; knows the public URL links point to.
#[derive(Debug, Clone)]
pub struct Composer {
    public_url: Url,
    message_id_domain: String,
    /// Caps what any one recipient receives (`None`: limits are off).
    recipient_quota: Option<Quota>,
}

impl Composer {
    pub fn new(public_url: Url) -> Self {
        let message_id_domain = public_url.host_str().unwrap_or("localhost").to_owned();
        Self {
            public_url,
            message_id_domain,
            recipient_quota: None,
        }
    }

    /// Every message composed from now on counts against `quota` for its
    /// recipient (checked in the transaction that queues it).
    #[must_use]
    pub fn with_recipient_quota(mut self, quota: Option<Quota>) -> Self {
        self.recipient_quota = quota;
        self
    }

    /// The counter of `recipient` (an address or a number, compared without
    /// case) that a message of `kind` spends, when limits are on.
    fn recipient_limit(&self, recipient: &str, kind: Kind) -> Option<RecipientLimit> {
        self.recipient_quota.map(|quota| RecipientLimit {
            key: limits::key(kind.counter(), recipient.to_lowercase().as_bytes()),
            quota,
        })
    }

    /// The configured public URL: pages build redirects and check `Origin`
    /// against it, never against the Host header.
    pub fn public_url(&self) -> &Url {
        &self.public_url
    }

    /// `{public_url}/{path}`, keeping any base path of the public URL.
    pub fn public_link(&self, path: &str) -> Url {
        let mut link = self.public_url.clone();
        let base = link.path().trim_end_matches('/').to_owned();
        link.set_path(&format!("{base}/{path}"));
        link.set_query(None);
        link
    }

    /// `{public_url}/verify?token=...`, built from configuration only.
    pub fn verification_link(&self, token: &VerificationToken) -> String {
        let mut link = self.public_link("verify");
        link.query_pairs_mut().append_pair("token", &token.encode());
        link.into()
    }

    pub fn verification_email(
        &self,
        user: &User,
        token: &VerificationToken,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let link = self.verification_link(token);
        let ttl = describe(ttl);
        let name = user.name.as_str();
        Ok(self.email(
            Kind::VerifyEmail,
            user,
            &VerifySubject.render()?,
            VerifyText {
                name,
                link: &link,
                ttl: &ttl,
            }
            .render()?,
            VerifyHtml {
                name,
                link: &link,
                ttl: &ttl,
            }
            .render()?,
            now,
        ))
    }

    /// A sign-in or enrolment code sent by email.
    pub fn code_email(
        &self,
        user: &User,
        code: &OneTimeCode,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let (name, code) = (user.name.as_str(), code.as_str());
        Ok(self.email(
            Kind::MfaCode,
            user,
            &CodeSubject.render()?,
            CodeText { name, code }.render()?,
            CodeHtml { name, code }.render()?,
            now,
        ))
    }

    /// A sign-in or enrolment code sent by SMS. The last line is the
    /// domain-bound form (WebOTP) that lets browsers offer the code only on
    /// this site.
    pub fn code_sms(
        &self,
        user: &User,
        phone: &PhoneNumber,
        code: &OneTimeCode,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let id = Uuid::now_v7();
        Ok(NewMessage {
            id,
            channel: Channel::Sms,
            message_id: format!("<{id}@{}>", self.message_id_domain),
            kind: Kind::MfaCode.name(),
            user_id: Some(user.id),
            recipient: phone.as_str().to_owned(),
            subject: String::new(),
            text_body: CodeSms {
                code: code.as_str(),
                host: &self.message_id_domain,
            }
            .render()?
            .trim()
            .to_owned(),
            html_body: String::new(),
            created_at: now,
            recipient_limit: self.recipient_limit(phone.as_str(), Kind::MfaCode),
        })
    }

    /// An email to `user` at their address.
    pub(super) fn email(
        &self,
        kind: Kind,
        user: &User,
        subject: &str,
        text_body: String,
        html_body: String,
        now: DateTime<Utc>,
    ) -> NewMessage {
        let message = self.email_to(
            kind,
            user.email.as_str(),
            subject,
            text_body,
            html_body,
            now,
        );
        NewMessage {
            user_id: Some(user.id),
            ..message
        }
    }

    /// An email to `recipient`, of no account yet (`email` names it),
    /// counted against the recipient's quota for `kind`.
    pub(super) fn email_to(
        &self,
        kind: Kind,
        recipient: &str,
        subject: &str,
        text_body: String,
        html_body: String,
        now: DateTime<Utc>,
    ) -> NewMessage {
        let id = Uuid::now_v7();
        NewMessage {
            id,
            channel: Channel::Email,
            message_id: format!("<{id}@{}>", self.message_id_domain),
            kind: kind.name(),
            user_id: None,
            recipient: recipient.to_owned(),
            subject: subject.trim().to_owned(),
            text_body,
            html_body,
            created_at: now,
            recipient_limit: self.recipient_limit(recipient, kind),
        }
    }
}

/// "24 hours", "15 minutes": how long a link lasts, in words for people.
pub fn describe(ttl: Duration) -> String {
    let secs = ttl.as_secs();
    // A day reads as "24 hours"; from two days on, days.
    let (count, unit) = match secs {
        s if s >= 2 * 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EmailAddress;
    use crate::domain::{DisplayName, UserId, UserStatus};

    fn user(name: &str) -> User {
        User {
            id: UserId::generate(),
            name: DisplayName::parse(name).unwrap(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            status: UserStatus::Pending,
            created_at: chrono::DateTime::UNIX_EPOCH,
            verified_at: None,
        }
    }

    #[test]
    fn lifetimes_read_as_words() {
        assert_eq!(describe(Duration::from_secs(86_400)), "24 hours");
        assert_eq!(describe(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(describe(Duration::from_secs(36 * 3600)), "36 hours");
        assert_eq!(describe(Duration::from_secs(900)), "15 minutes");
        assert_eq!(describe(Duration::from_secs(1)), "1 second");
        assert_eq!(describe(Duration::from_secs(90)), "90 seconds");
    }

    #[test]
    fn links_use_the_public_url_and_keep_its_path() {
        let composer = Composer::new(Url::parse("https://auth.example.com/base/").unwrap());
        let token = VerificationToken::generate();
        let link = composer.verification_link(&token);
        assert_eq!(
            link,
            format!(
                "https://auth.example.com/base/verify?token={}",
                token.encode()
            )
        );
    }

    #[test]
    fn html_part_escapes_the_name_and_text_part_carries_the_link() {
        let composer = Composer::new(Url::parse("http://127.0.0.1:8080").unwrap());
        let token = VerificationToken::generate();
        let message = composer
            .verification_email(
                &user("<script>alert(1)</script>"),
                &token,
                Duration::from_secs(86_400),
                chrono::DateTime::UNIX_EPOCH,
            )
            .unwrap();
        assert!(!message.html_body.contains("<script>alert(1)"));
        assert!(
            message.html_body.contains("&lt;script&gt;")
                || message.html_body.contains("&#60;script&#62;"),
            "{}",
            message.html_body
        );
        assert!(
            message
                .text_body
                .contains(&composer.verification_link(&token))
        );
        assert!(message.text_body.contains("24 hours"));
        assert_eq!(message.subject, "Confirm your email address");
        assert!(message.message_id.ends_with("@127.0.0.1>"));
    }

    #[test]
    fn the_active_notice_links_to_the_login_and_escapes_the_name() {
        let composer = Composer::new(Url::parse("https://auth.example.com/base/").unwrap());
        let message = composer
            .account_active_email(&user("<b>Ada</b>"), chrono::DateTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(message.kind, "account_active");
        assert_eq!(message.subject, "Your account is active");
        assert!(
            message
                .text_body
                .contains("https://auth.example.com/base/login")
        );
        assert!(
            !message.html_body.contains("<b>Ada"),
            "{}",
            message.html_body
        );
        assert!(!message.text_body.contains("token"));
    }
}
