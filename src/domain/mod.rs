//! Domain types: every value here was checked when it was made, so the rest
//! of the crate can trust it ("parse, don't validate").

mod email;
mod name;
mod password;
mod policy;
mod token;
mod user;

pub use email::{EmailAddress, EmailError};
pub use name::{DisplayName, NameError};
pub use password::{Password, PasswordHash};
pub use policy::{PasswordAssessment, PasswordPolicy, PolicyViolation};
pub use token::{
    CsrfToken, SessionToken, Token, TokenDigest, TokenError, TokenKind, VerificationToken,
};
pub use user::{User, UserId, UserStatus};
