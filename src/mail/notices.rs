//! The notices an account's owner gets about it: active, a factor added or
//! removed, every factor removed by an operator, a recovery code used, a
//! sign-in from a new device, sign-in locked, and someone signing up with the address (OWASP
//! ASVS 5.0 6.3.5 and 6.3.7 ask to tell the owner about changes to
//! authentication details and about suspicious sign-ins).

use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Utc};

use super::compose::{Composer, Kind, describe};
use crate::domain::{EmailAddress, FactorKind, UnlockToken, User};
use crate::store::NewMessage;

#[derive(Template)]
#[template(path = "email/factor_changed/subject.txt")]
struct FactorSubject {
    added: bool,
}

#[derive(Template)]
#[template(path = "email/factor_changed/body.txt")]
struct FactorText<'a> {
    name: &'a str,
    method: &'a str,
    added: bool,
}

#[derive(Template)]
#[template(path = "email/factor_changed/body.html")]
struct FactorHtml<'a> {
    name: &'a str,
    method: &'a str,
    added: bool,
}

#[derive(Template)]
#[template(path = "email/factors_reset/subject.txt")]
struct FactorsResetSubject;

#[derive(Template)]
#[template(path = "email/factors_reset/body.txt")]
struct FactorsResetText<'a> {
    name: &'a str,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "email/factors_reset/body.html")]
struct FactorsResetHtml<'a> {
    name: &'a str,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "email/recovery_code_used/subject.txt")]
struct RecoveryUsedSubject;

#[derive(Template)]
#[template(path = "email/recovery_code_used/body.txt")]
struct RecoveryUsedText<'a> {
    name: &'a str,
    left: i64,
    sign_in: &'a SignIn<'a>,
}

#[derive(Template)]
#[template(path = "email/recovery_code_used/body.html")]
struct RecoveryUsedHtml<'a> {
    name: &'a str,
    left: i64,
    sign_in: &'a SignIn<'a>,
}

#[derive(Template)]
#[template(path = "email/new_device/subject.txt")]
struct NewDeviceSubject;

#[derive(Template)]
#[template(path = "email/new_device/body.txt")]
struct NewDeviceText<'a> {
    name: &'a str,
    sign_in: &'a SignIn<'a>,
}

#[derive(Template)]
#[template(path = "email/new_device/body.html")]
struct NewDeviceHtml<'a> {
    name: &'a str,
    sign_in: &'a SignIn<'a>,
}

#[derive(Template)]
#[template(path = "email/login_locked/subject.txt")]
struct LockedSubject;

#[derive(Template)]
#[template(path = "email/login_locked/body.txt")]
struct LockedText<'a> {
    name: &'a str,
    failures: u32,
    link: &'a str,
    valid_for: &'a str,
}

#[derive(Template)]
#[template(path = "email/login_locked/body.html")]
struct LockedHtml<'a> {
    name: &'a str,
    failures: u32,
    link: &'a str,
    valid_for: &'a str,
}

#[derive(Template)]
#[template(path = "email/account_active/subject.txt")]
struct ActiveSubject;

#[derive(Template)]
#[template(path = "email/account_active/body.txt")]
struct ActiveText<'a> {
    name: &'a str,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "email/account_active/body.html")]
struct ActiveHtml<'a> {
    name: &'a str,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "email/signup_attempt/subject.txt")]
struct AttemptSubject;

#[derive(Template)]
#[template(path = "email/signup_attempt/body.txt")]
struct AttemptText<'a> {
    login_link: &'a str,
    forgot_link: &'a str,
}

#[derive(Template)]
#[template(path = "email/signup_attempt/body.html")]
struct AttemptHtml<'a> {
    login_link: &'a str,
    forgot_link: &'a str,
}

/// What a notice about one sign-in says of it, and where to act.
struct SignIn<'a> {
    when: String,
    ip: &'a str,
    agent: &'a str,
    dashboard: String,
}

impl Composer {
    fn sign_in<'a>(
        &self,
        ip: Option<&'a str>,
        agent: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> SignIn<'a> {
        SignIn {
            when: now.format("%Y-%m-%d %H:%M UTC").to_string(),
            ip: ip.unwrap_or("an unknown address"),
            agent: agent.unwrap_or("unknown"),
            dashboard: String::from(self.public_link("dashboard")),
        }
    }

    /// "Your account is active": queued with the activation itself, so it
    /// is sent once, and only when the account really became active.
    pub fn account_active_email(
        &self,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let login = self.public_link("login");
        let (name, login) = (user.name.as_str(), login.as_str());
        Ok(self.email(
            Kind::AccountActive,
            user,
            &ActiveSubject.render()?,
            ActiveText { name, login }.render()?,
            ActiveHtml { name, login }.render()?,
            now,
        ))
    }

    /// "A two-factor method was added/removed" (OWASP ASVS: notify on
    /// changes to authentication details).
    pub fn factor_changed_email(
        &self,
        user: &User,
        kind: FactorKind,
        added: bool,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let name = user.name.as_str();
        let method = method_name(kind);
        Ok(self.email(
            Kind::FactorChanged,
            user,
            &FactorSubject { added }.render()?,
            FactorText {
                name,
                method,
                added,
            }
            .render()?,
            FactorHtml {
                name,
                method,
                added,
            }
            .render()?,
            now,
        ))
    }

    /// "Two-step verification was turned off": an operator removed every
    /// factor and the recovery codes, and ended the sessions.
    pub fn factors_reset_email(
        &self,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let login = self.public_link("login");
        let (name, login) = (user.name.as_str(), login.as_str());
        Ok(self.email(
            Kind::FactorsReset,
            user,
            &FactorsResetSubject.render()?,
            FactorsResetText { name, login }.render()?,
            FactorsResetHtml { name, login }.render()?,
            now,
        ))
    }

    /// "Your account was signed in to from a new device" (OWASP ASVS 5.0
    /// 6.3.5 asks to tell people about suspicious sign-ins).
    pub fn new_device_email(
        &self,
        user: &User,
        ip: Option<&str>,
        agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let name = user.name.as_str();
        let sign_in = &self.sign_in(ip, agent, now);
        Ok(self.email(
            Kind::NewDevice,
            user,
            &NewDeviceSubject.render()?,
            NewDeviceText { name, sign_in }.render()?,
            NewDeviceHtml { name, sign_in }.render()?,
            now,
        ))
    }

    /// "A recovery code was used to sign in": a code stands in for the
    /// second factor, so its use is worth the owner's eye (OWASP ASVS 5.0
    /// 6.3.5), with how many are left.
    pub fn recovery_code_used_email(
        &self,
        user: &User,
        left: i64,
        ip: Option<&str>,
        agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let name = user.name.as_str();
        let sign_in = &self.sign_in(ip, agent, now);
        Ok(self.email(
            Kind::RecoveryCodeUsed,
            user,
            &RecoveryUsedSubject.render()?,
            RecoveryUsedText {
                name,
                left,
                sign_in,
            }
            .render()?,
            RecoveryUsedHtml {
                name,
                left,
                sign_in,
            }
            .render()?,
            now,
        ))
    }

    /// "Sign-in was locked; here is the link that unlocks it."
    pub fn login_locked_email(
        &self,
        user: &User,
        failures: u32,
        token: &UnlockToken,
        valid_for: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let name = user.name.as_str();
        let mut link = self.public_link("login/unlock");
        link.query_pairs_mut().append_pair("token", &token.encode());
        let link = String::from(link);
        let valid_for = describe(valid_for);
        Ok(self.email(
            Kind::LoginLocked,
            user,
            &LockedSubject.render()?,
            LockedText {
                name,
                failures,
                link: &link,
                valid_for: &valid_for,
            }
            .render()?,
            LockedHtml {
                name,
                failures,
                link: &link,
                valid_for: &valid_for,
            }
            .render()?,
            now,
        ))
    }

    /// "Someone tried to sign up with your address": what the owner of a
    /// taken address gets instead of a `409` the sign-up page would show
    /// anyone (enumeration protection), with links to log in and to reset
    /// a forgotten password (pre-filled). Only an account that is active or
    /// disabled gets it: a sign-up replaces a pending one. Made before
    /// anyone knows whether the address is taken, so without the owner's
    /// name (and never with the name just typed, a stranger's words); the
    /// store addresses it to the owner.
    pub fn signup_attempt_email(
        &self,
        email: &EmailAddress,
        now: DateTime<Utc>,
    ) -> Result<NewMessage, askama::Error> {
        let login_link = self.public_link("login");
        let mut forgot_link = self.public_link("password/forgot");
        forgot_link
            .query_pairs_mut()
            .append_pair("email", email.as_str());
        let (login_link, forgot_link) = (login_link.as_str(), forgot_link.as_str());
        Ok(self.email_to(
            Kind::SignupAttempt,
            email.as_str(),
            &AttemptSubject.render()?,
            AttemptText {
                login_link,
                forgot_link,
            }
            .render()?,
            AttemptHtml {
                login_link,
                forgot_link,
            }
            .render()?,
            now,
        ))
    }
}

/// A factor as the owner's emails name it.
fn method_name(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::Totp => "authenticator app",
        FactorKind::Sms => "text message (SMS) codes",
        FactorKind::Email => "email codes",
        FactorKind::Passkey => "passkey",
    }
}
