//! Deleting an account: by its owner, from a session signed in within the
//! last few minutes (as changing factors asks), or by an operator through
//! the admin API or `latchkey users delete`.
//!
//! One transaction removes the account and everything that hangs on it
//! (sessions, and so their access tokens; links; factors; devices), cancels
//! its unsent messages and queues the notice to its address. The audit trail
//! keeps its entries, under the account's id, with a last one saying who
//! deleted it. The address is free to sign up again at once.

use chrono::{DateTime, Utc};

use super::FlowError;
use super::mfa::require_recent;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EmailAddress, User, UserId};
use crate::flows::CurrentSession;
use crate::mail::{Composer, DeletedBy};
use crate::state::AppState;
use crate::store::Store;

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

/// An operator deletes the account of `email` from the command line; the
/// notice waits in the outbox for a running instance's worker. Returns the
/// account deleted; `NotFound` when no account has the address.
pub async fn delete_account_by_email(
    store: &dyn Store,
    composer: &Composer,
    now: DateTime<Utc>,
    email: &EmailAddress,
) -> Result<User, FlowError> {
    let user = store
        .user_by_email(email)
        .await?
        .ok_or(FlowError::NotFound)?;
    let meta = RequestMeta::internal();
    remove(store, composer, now, &user, DeletedBy::Administrator, &meta).await?;
    Ok(user)
}

async fn delete(
    state: &AppState,
    user: &User,
    by: DeletedBy,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    remove(&*state.store, &state.composer, now, user, by, meta).await?;
    state.mail_wake.notify_one();
    Ok(())
}

/// The account, everything on it, its unsent mail; the notice and the
/// trail's last entry, in one transaction.
async fn remove(
    store: &dyn Store,
    composer: &Composer,
    now: DateTime<Utc>,
    user: &User,
    by: DeletedBy,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let notice = composer.account_deleted_email(user, by, meta, now)?;
    let event = AuditEvent::new(
        now,
        AuditKind::AccountDeleted,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(by.as_str());
    // `false`: deleted by someone else since it was read.
    if !store.delete_account(user.id, &notice, &event).await? {
        return Err(FlowError::NotFound);
    }
    Ok(())
}
