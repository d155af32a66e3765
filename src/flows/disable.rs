//! An operator disables an account, or gives it back: through the admin
//! API or `latchkey users disable|enable`. A disabled account cannot sign
//! in (the right password learns `account_disabled`, a wrong one the usual
//! answer), and nothing it held works: its sessions and their access
//! tokens, its links, a login halfway through its second factor. A
//! password reset sends it nothing. Giving it back restores the account as
//! it was, but not what ended: its owner signs in again.
//!
//! For an owner who should not come back at all, deletion; for a spell
//! away (a dispute, a compromise being looked into), this. It takes the
//! store and the time rather than `AppState`, so the CLI shares it.

use chrono::{DateTime, Utc};

use super::FlowError;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{User, UserId};
use crate::store::Store;

/// Whether an operator wants the account disabled or back in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Disabled,
    Enabled,
}

/// The account as it now is; `NotFound` for an unknown id. Doing it twice
/// changes nothing more (the trail records each).
#[tracing::instrument(name = "set_access", skip_all, fields(user.id = %id))]
pub async fn set_access(
    store: &dyn Store,
    now: DateTime<Utc>,
    id: UserId,
    access: Access,
    meta: &RequestMeta,
) -> Result<User, FlowError> {
    let kind = match access {
        Access::Disabled => AuditKind::AccountDisabled,
        Access::Enabled => AuditKind::AccountEnabled,
    };
    let event = AuditEvent::new(now, kind, Outcome::Success, Some(id), meta);
    let user = store
        .set_disabled(id, access == Access::Disabled, &event)
        .await?
        .ok_or(FlowError::NotFound)?;
    tracing::info!(
        status = user.status.as_str(),
        "account access set by an operator"
    );
    Ok(user)
}
