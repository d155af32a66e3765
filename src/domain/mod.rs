//! Domain types: every value here was checked when it was made, so the rest
//! of the crate can trust it ("parse, don't validate").

mod admin_key;
mod allowed_domains;
mod blocklist;
mod codes;
mod email;
mod mfa;
mod name;
mod password;
mod phone;
mod policy;
mod sign_in;
mod token;
mod totp;
mod user;

pub use admin_key::{AdminKey, AdminKeyError, MIN_ADMIN_KEY_CHARS};
pub use allowed_domains::AllowedDomains;
pub use blocklist::Blocklist;
pub use codes::{EnteredCode, OneTimeCode, RecoveryCode};
pub use email::{EmailAddress, EmailError};
pub use mfa::{FactorKind, MfaPolicy};
pub use name::{DisplayName, NameError, PasskeyName};
pub use password::{Password, PasswordHash};
pub use phone::{PhoneError, PhoneNumber};
pub use policy::{PasswordAssessment, PasswordPolicy, PolicyViolation};
pub use sign_in::{SecondStep, SignedInWith};
pub use token::{
    ChallengeToken, CsrfToken, DeviceToken, EmailChangeToken, EmailRevertToken, ResetToken,
    SessionToken, Token, TokenDigest, TokenError, TokenKind, UnlockToken, VerificationToken,
};
pub use totp::TotpSecret;
pub use user::{RegistrationMode, User, UserId, UserStatus};
