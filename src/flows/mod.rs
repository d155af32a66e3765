//! The sign-up flow of SEED-FLOW.md, one file per step. Flows take plain
//! values and return plain results; they know nothing about HTTP.

mod access_token;
mod activity;
pub mod admin;
mod after_answer;
mod delete_account;
pub mod device;
mod disable;
mod email_change;
mod email_revert;
mod error;
mod export;
mod forced_reset;
mod invite;
mod link;
mod login;
pub mod mfa;
mod password;
mod password_change;
mod password_reset;
mod register;
mod rename;
mod resend;
mod session;
pub mod unlock;
mod verify;

pub use access_token::{AccessIdentity, authenticate_access_token};
pub use activity::{ACTIVITY_SHOWN, Activity, ActivityCursor, ActivityPage, activity};
pub use delete_account::{delete_account_by_admin, delete_account_by_email, delete_own_account};
pub use disable::{Access, set_access};
pub use email_change::{
    OpenChange, REVERT_WINDOW, cancel_email_change, check_email_change_link, confirm_email_change,
    open_email_change, request_email_change, request_email_change_by_admin,
    request_email_change_from_cli,
};
pub use email_revert::{check_email_revert_link, revert_email_change};
pub use error::{FieldError, FieldErrors, FlowError};
pub use export::{AccountExport, EXPORTED_ENTRIES, ExportedFactor, export_account};
pub use forced_reset::{ForcedReset, force_password_reset_by_admin, force_password_reset_from_cli};
pub use invite::{Invitation, invite, invite_by_admin};
pub use link::LinkSender;
pub use login::{LoginOutcome, login};
pub use password::check_password;
pub use password_change::change_password;
pub use password_reset::{check_reset_link, request_password_reset, reset_password};
pub use register::{RegisterInput, register};
pub use rename::rename;
pub use resend::resend_verification;
pub use session::{
    CurrentSession, SessionPolicy, StartedSession, end_session, list_sessions, resume_session,
    revoke_other_sessions, revoke_own_session, start_session,
};
pub use verify::{Verified, verify_email};
