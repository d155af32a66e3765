//! For requests whose answer must not depend on whether an address has an
//! account (resend, password reset): the address is checked and the limits
//! counted before answering, the work itself runs just after.
//!
//! Why not before: an account costs a durable write (a token, an email and
//! their audit rows, committed with an fsync), an unknown address much less,
//! and the difference (0.5 to 1 ms, measured by `tests/api/timing.rs`) would
//! tell anyone timing the answer who has an account. The answer is
//! `202 Accepted` and promises no delivery, so nothing is lost by not
//! waiting: a crash in between loses a link the person can ask for again. A
//! failure is logged, not shown.

use std::future::Future;

use tracing::Instrument;

use super::{FieldErrors, FlowError};
use crate::domain::EmailAddress;
use crate::state::AppState;

/// The address a stranger typed, or the field error that says why not.
pub(super) fn email_field(raw: Option<&str>) -> Result<EmailAddress, FlowError> {
    EmailAddress::parse(raw.unwrap_or_default()).map_err(|error| {
        let mut errors = FieldErrors::default();
        errors.add("email", error.code(), error.to_string());
        FlowError::Validation(errors)
    })
}

/// Runs `work` in `span` once the caller has answered. The tasks are
/// bounded (`AppState::background`): under a flood the answer waits for a
/// permit, whatever the address.
pub(super) async fn run_after_answer(
    state: &AppState,
    span: tracing::Span,
    failure: &'static str,
    work: impl Future<Output = Result<(), FlowError>> + Send + 'static,
) -> Result<(), FlowError> {
    let Ok(permit) = state.background.clone().acquire_owned().await else {
        // Closed only while shutting down.
        return Err(FlowError::Overloaded);
    };
    tokio::spawn(
        async move {
            if let Err(error) = work.await {
                tracing::error!(error = %error, "{failure}");
            }
            drop(permit);
        }
        .instrument(span),
    );
    Ok(())
}
