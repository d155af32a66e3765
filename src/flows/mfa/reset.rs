//! An operator turns two-step verification off for an owner who lost every
//! factor and the recovery codes (a phone gone with the authenticator app,
//! codes never written down): the admin API's `DELETE
//! /admin/users/{id}/mfa`, or `latchkey users reset-mfa`. Whether the
//! person asking is the owner is the operator's to check; latchkey cannot.
//! In one transaction the factors and recovery codes go and every session
//! ends (the lost phone may hold one), and the owner is told by email: an
//! owner who did not ask learns of it at once. The password stays, so the
//! owner signs in with it and sets up a factor again (under
//! `LATCHKEY_MFA=required`, before the sign-in finishes).

use chrono::{DateTime, Utc};

use crate::audit::RequestMeta;
use crate::domain::{EmailAddress, FactorKind, User, UserId};
use crate::flows::FlowError;
use crate::mail::Composer;
use crate::state::AppState;
use crate::store::Store;

/// What an operator's reset did.
#[derive(Debug, Clone)]
pub struct FactorsReset {
    pub user: User,
    /// The confirmed factors removed; empty when the account had none (and
    /// then nothing changed, and nobody was emailed).
    pub removed: Vec<FactorKind>,
    pub sessions_ended: u64,
}

/// The admin API's: `NotFound` for an unknown id.
#[tracing::instrument(name = "reset_factors", skip_all, fields(user.id = %id))]
pub async fn reset_factors_by_admin(
    state: &AppState,
    id: UserId,
    meta: &RequestMeta,
) -> Result<FactorsReset, FlowError> {
    let user = state
        .store
        .user_by_id(id)
        .await?
        .ok_or(FlowError::NotFound)?;
    let now = state.clock.now();
    let reset = reset_factors(&*state.store, &state.composer, now, user, meta).await?;
    if !reset.removed.is_empty() {
        state.mail_wake.notify_one();
        tracing::info!(
            sessions_ended = reset.sessions_ended,
            "second factors removed by an operator"
        );
    }
    Ok(reset)
}

/// The command line's, for the account of `email`: the notice is queued
/// for a running instance to send.
pub async fn reset_factors_from_cli(
    store: &dyn Store,
    composer: &Composer,
    now: DateTime<Utc>,
    email: &EmailAddress,
) -> Result<FactorsReset, FlowError> {
    let user = store
        .user_by_email(email)
        .await?
        .ok_or(FlowError::NotFound)?;
    reset_factors(store, composer, now, user, &RequestMeta::internal()).await
}

async fn reset_factors(
    store: &dyn Store,
    composer: &Composer,
    now: DateTime<Utc>,
    user: User,
    meta: &RequestMeta,
) -> Result<FactorsReset, FlowError> {
    let notice = composer.factors_reset_email(&user, now)?;
    let (removed, sessions_ended) = store
        .reset_factors(user.id, &notice, meta)
        .await?
        .unwrap_or_default();
    Ok(FactorsReset {
        user,
        removed,
        sessions_ended,
    })
}
