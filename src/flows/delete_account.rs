//! Deleting an account: by its owner, from a session signed in within the
//! last few minutes (as changing factors asks), or by an operator through
//! the admin API.
//!
//! One transaction removes the account and everything that hangs on it
//! (sessions, and so their access tokens; links; factors; devices), cancels
//! its unsent messages and queues the notice to its address. The audit trail
//! keeps its entries, under the account's id, with a last one saying who
//! deleted it. The address is free to sign up again at once.

use super::FlowError;
use super::mfa::require_recent;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{User, UserId};
use crate::flows::CurrentSession;
use crate::mail::DeletedBy;
use crate::state::AppState;

/// The signed-in owner deletes their own account.
pub async fn delete_own_account(
    state: &AppState,
    session: &CurrentSession,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    require_recent(state, session)?;
    delete(state, &session.user, DeletedBy::Owner, meta).await
}

/// An operator deletes an account; `NotFound` for an unknown one.
#[tracing::instrument(name = "admin_delete_account", skip_all, fields(user.id = %id))]
pub async fn delete_account_by_admin(
    state: &AppState,
    id: UserId,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let user = state
        .store
        .user_by_id(id)
        .await?
        .ok_or(FlowError::NotFound)?;
    delete(state, &user, DeletedBy::Administrator, meta).await
}

async fn delete(
    state: &AppState,
    user: &User,
    by: DeletedBy,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    let notice = state.composer.account_deleted_email(user, by, meta, now)?;
    let event = AuditEvent::new(
        now,
        AuditKind::AccountDeleted,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(by.as_str());
    // `false`: deleted by someone else since it was read.
    if !state.store.delete_account(user.id, &notice, &event).await? {
        return Err(FlowError::NotFound);
    }
    state.mail_wake.notify_one();
    Ok(())
}
