//! Email: messages are rendered from template files into the outbox when a
//! flow commits, and delivered later by the worker (`worker.rs`) through a
//! transport (`transport.rs`). A request never waits on SMTP.

mod account_deleted;
mod compose;
mod email_change;
mod notices;
mod password;
mod sms;
mod transport;
mod worker;

pub use account_deleted::DeletedBy;
pub use compose::{Composer, describe as describe_duration};
pub use email_change::EmailChangeStep;
pub use password::PasswordChange;
pub use sms::{SmsConfigError, SmsTransport};
pub use transport::{DeliveryError, Transport};
pub use worker::{OutboxWorker, WorkerSettings};

/// How many messages the outbox worker delivers at once (its batch), and so
/// how many SMTP connections it keeps open: with fewer, a full batch opened
/// new connections and closed them again on return to a full pool (measured:
/// a new connection every 3.4 emails under a stream of sign-ups).
pub const DELIVERIES_AT_ONCE: u32 = 32;
