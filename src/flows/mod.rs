//! The sign-up flow of SEED-FLOW.md, one file per step. Flows take plain
//! values and return plain results; they know nothing about HTTP.

mod error;
mod password;
mod register;
mod resend;
mod session;
mod verify;

pub use error::{FieldError, FieldErrors, FlowError};
pub use password::check_password;
pub use register::{RegisterInput, register};
pub use resend::resend_verification;
pub use session::{CurrentSession, SessionPolicy, end_session, resume_session, start_session};
pub use verify::{Verified, verify_email};
