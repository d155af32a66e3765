//! Email: messages are rendered from template files into the outbox when a
//! flow commits, and delivered later by the worker (`worker.rs`) through a
//! transport (`transport.rs`). A request never waits on SMTP.

mod compose;
mod notices;
mod password;
mod sms;
mod transport;
mod worker;

pub use compose::{Composer, describe as describe_duration};
pub use password::PasswordChange;
pub use sms::{SmsConfigError, SmsTransport};
pub use transport::{DeliveryError, Transport};
pub use worker::{OutboxWorker, WorkerSettings};
