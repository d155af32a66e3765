use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::EmailAddress;
use crate::hashing::HashError;
use crate::store::{RegisterError, StoreError};

/// One problem with one field, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
}

/// Every problem with every field, so a form can show them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<&'static str, Vec<FieldError>>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, code: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_default().push(FieldError {
            code,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&[FieldError]> {
        self.0.get(field).map(Vec::as_slice)
    }

    /// `Ok` when nothing was added.
    pub fn into_result(self) -> Result<(), FlowError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(FlowError::Validation(self))
        }
    }
}

/// `field: message; field: message`, for the command line.
impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (field, errors) in &self.0 {
            for error in errors {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {}", error.message)?;
            }
        }
        Ok(())
    }
}

/// How a flow can end other than in success. Everything but `Internal` is the
/// client's to fix; `Internal` details stay in the server log.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the input is invalid")]
    Validation(FieldErrors),
    #[error("the email address is already registered")]
    EmailTaken,
    /// Sign-up is by invitation only (`LATCHKEY_REGISTRATION=invitation`).
    #[error("sign-up is by invitation only")]
    RegistrationClosed,
    #[error("the verification link is invalid")]
    InvalidToken,
    /// `email` is the address of the pending account the link was for, so a
    /// page can offer to resend to it; the JSON API never shows it.
    #[error("the verification link has expired")]
    TokenExpired { email: Option<EmailAddress> },
    /// A password reset link that is unknown, malformed, used or superseded.
    #[error("the password reset link is invalid")]
    InvalidResetLink,
    #[error("the password reset link has expired")]
    ResetLinkExpired,
    /// An email change link that is unknown, malformed, used or superseded.
    #[error("the email change link is invalid")]
    InvalidEmailChangeLink,
    #[error("the email change link has expired")]
    EmailChangeLinkExpired,
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the server is busy")]
    Overloaded,
    /// A quota or the login throttle says wait.
    #[error("too many requests")]
    RateLimited { retry_after: std::time::Duration },
    /// Too many consecutive failed logins: a known device or the unlock
    /// link emailed to the owner is needed.
    #[error("sign-in is locked")]
    LoginLocked,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("the email address is not verified yet")]
    EmailNotVerified,
    /// An operator disabled the account (told only to the right password).
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("the code is wrong")]
    InvalidCode,
    /// The browser's answer to a passkey ceremony did not verify: another
    /// passkey, another site, or an answer to another challenge.
    #[error("the passkey's answer did not verify")]
    InvalidPasskey,
    #[error("too many wrong codes")]
    TooManyAttempts,
    #[error("the sign-in attempt expired")]
    MfaExpired,
    #[error("a second factor must be enrolled first")]
    MfaEnrollmentRequired,
    #[error("this method is not available for this account")]
    MethodUnavailable,
    #[error("this kind of factor is already enrolled")]
    AlreadyEnrolled,
    #[error("the account has as many passkeys as it may")]
    TooManyPasskeys,
    #[error("a recent sign-in is required")]
    ReauthenticationRequired,
    #[error("not found")]
    NotFound,
    #[error("not signed in")]
    Unauthenticated,
    #[error("the database is busy")]
    Busy(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for FlowError {
    fn from(error: StoreError) -> Self {
        if error.is_busy() {
            Self::Busy(error)
        } else {
            Self::Internal(Box::new(error))
        }
    }
}

impl From<RegisterError> for FlowError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::EmailTaken => Self::EmailTaken,
            RegisterError::Store(error) => error.into(),
        }
    }
}

impl From<HashError> for FlowError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Overloaded => Self::Overloaded,
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<crate::store::EnrolError> for FlowError {
    fn from(error: crate::store::EnrolError) -> Self {
        match error {
            crate::store::EnrolError::AlreadyEnrolled => Self::AlreadyEnrolled,
            crate::store::EnrolError::Store(error) => error.into(),
        }
    }
}

impl From<crate::crypto::OpenError> for FlowError {
    fn from(error: crate::crypto::OpenError) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl From<askama::Error> for FlowError {
    fn from(error: askama::Error) -> Self {
        Self::Internal(Box::new(error))
    }
}
