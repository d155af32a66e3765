//! The sign-up flow of SEED-FLOW.md, one file per step. Flows take plain
//! values and return plain results; they know nothing about HTTP.

mod error;
mod register;
mod resend;
mod verify;

pub use error::{FieldError, FieldErrors, FlowError};
pub use register::{RegisterInput, register};
pub use resend::resend_verification;
pub use verify::{Verified, verify_email};
