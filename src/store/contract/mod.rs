//! The storage contract, one trait per concern. Both engines implement
//! every one; `Store` is all of them together.

mod audit;
mod email_change;
mod keys;
mod limits;
mod mfa;
mod outbox;
mod passwords;
mod retention;
mod sessions;
mod users;

pub use audit::AuditStore;
pub use email_change::{EMAIL_CHANGE_MAIL, EmailChange, EmailChangeStore};
pub use keys::KeyStore;
pub use limits::{LimitStore, LoginFailures, QuotaRefusal, QuotaTake};
pub use mfa::MfaStore;
pub use outbox::OutboxStore;
pub use passwords::{PASSWORD_RESET_MAIL, PasswordStore};
pub use retention::RetentionStore;
pub use sessions::SessionStore;
pub use users::{
    Activation, REPLACED_SIGN_UP, Registration, TakenAddress, UserStore, VERIFICATION_MAIL,
};
