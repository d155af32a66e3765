//! Looking at and changing enrolled factors from a session.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::REAUTH_WINDOW;
use super::enroll::issue_recovery_codes;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{FactorKind, PhoneNumber, RecoveryCode, User};
use crate::flows::{CurrentSession, FlowError};
use crate::state::AppState;

/// An enrolled factor as pages and the API show it.
#[derive(Debug, Clone)]
pub struct FactorSummary {
    pub id: Uuid,
    pub kind: FactorKind,
    pub phone: Option<String>,
    /// What the owner calls it (passkeys).
    pub name: Option<String>,
    pub confirmed_at: DateTime<Utc>,
    /// Its last sign-in (passkeys).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The confirmed factors and how many recovery codes are left.
pub async fn factors(
    state: &AppState,
    user: &User,
) -> Result<(Vec<FactorSummary>, i64), FlowError> {
    let factors = state
        .store
        .factors_of(user.id)
        .await?
        .into_iter()
        .filter_map(|factor| {
            Some(FactorSummary {
                id: factor.id,
                kind: factor.kind,
                phone: factor
                    .phone
                    .map(|phone| PhoneNumber::from_stored(phone).masked()),
                name: factor.name,
                confirmed_at: factor.confirmed_at?,
                last_used_at: factor.last_used_at,
            })
        })
        .collect();
    Ok((factors, state.store.recovery_codes_left(user.id).await?))
}

/// `ReauthenticationRequired` unless the session's sign-in is at most
/// `REAUTH_WINDOW` old: what changing factors or deleting the account asks.
pub(crate) fn require_recent(state: &AppState, session: &CurrentSession) -> Result<(), FlowError> {
    if state.clock.now() - session.authenticated_at > REAUTH_WINDOW {
        return Err(FlowError::ReauthenticationRequired);
    }
    Ok(())
}

/// Removes the account's factor of `kind` (every passkey), or only its
/// passkey `id`.
pub async fn remove_factor(
    state: &AppState,
    session: &CurrentSession,
    kind: FactorKind,
    id: Option<Uuid>,
    revoke_others: bool,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    require_recent(state, session)?;
    let user = &session.user;
    if !state.store.delete_factor(user.id, kind, id).await? {
        return Err(FlowError::NotFound);
    }
    let now = state.clock.now();
    if revoke_others {
        state
            .store
            .revoke_sessions(user.id, Some(session.id), now)
            .await?;
    }
    let notice = state
        .composer
        .factor_changed_email(user, kind, false, now)?;
    state.store.enqueue(&notice, meta).await?;
    state.mail_wake.notify_one();
    let event = AuditEvent::new(
        now,
        AuditKind::FactorRemoved,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(kind.as_str());
    state.store.audit(&event).await?;
    Ok(())
}

/// A new set of recovery codes; the old set stops working.
pub async fn new_recovery_codes(
    state: &AppState,
    session: &CurrentSession,
    meta: &RequestMeta,
) -> Result<Vec<RecoveryCode>, FlowError> {
    require_recent(state, session)?;
    let (factors, _) = factors(state, &session.user).await?;
    if factors.is_empty() {
        return Err(FlowError::MethodUnavailable);
    }
    issue_recovery_codes(state, &session.user, meta).await
}
