//! Everything latchkey holds about an account, for its owner to download
//! (GDPR articles 15 and 20: access and portability): the profile, the
//! second factors (never their secrets), the sessions, and the account's
//! whole audit trail. It asks for a sign-in within the last 10 minutes, as
//! deleting the account does: a session left open somewhere must not hand
//! over the trail and the phone number. The download is recorded first, so
//! the trail it carries ends with it.

use chrono::{DateTime, Utc};

use super::mfa::require_recent;
use super::{CurrentSession, FlowError};
use crate::audit::{AuditEvent, AuditKind, AuditRecord, Outcome, RequestMeta};
use crate::domain::{FactorKind, User};
use crate::state::AppState;
use crate::store::SessionRecord;

/// The trail's entries exported at most; the retention policy bounds the
/// trail too (a year by default).
pub const EXPORTED_ENTRIES: i64 = 100_000;

/// A confirmed second factor, without its secret.
#[derive(Debug, Clone)]
pub struct ExportedFactor {
    pub kind: FactorKind,
    /// The number codes go to, for SMS.
    pub phone: Option<String>,
    /// What the owner calls it, for passkeys.
    pub name: Option<String>,
    pub added_at: DateTime<Utc>,
    /// Its last sign-in, for passkeys.
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct AccountExport {
    pub exported_at: DateTime<Utc>,
    pub user: User,
    pub factors: Vec<ExportedFactor>,
    pub recovery_codes_left: i64,
    /// Every session the store still keeps, ended ones included.
    pub sessions: Vec<SessionRecord>,
    /// Oldest first, this download's own entry last.
    pub trail: Vec<AuditRecord>,
}

pub async fn export_account(
    state: &AppState,
    session: &CurrentSession,
    meta: &RequestMeta,
) -> Result<AccountExport, FlowError> {
    require_recent(state, session)?;
    let user = &session.user;
    let now = state.clock.now();
    state
        .store
        .audit(&AuditEvent::new(
            now,
            AuditKind::DataExported,
            Outcome::Success,
            Some(user.id),
            meta,
        ))
        .await?;
    let factors = state
        .store
        .factors_of(user.id)
        .await?
        .into_iter()
        .filter_map(|factor| {
            Some(ExportedFactor {
                kind: factor.kind,
                phone: factor.phone,
                name: factor.name,
                added_at: factor.confirmed_at?,
                last_used_at: factor.last_used_at,
            })
        })
        .collect();
    Ok(AccountExport {
        exported_at: now,
        user: user.clone(),
        factors,
        recovery_codes_left: state.store.recovery_codes_left(user.id).await?,
        sessions: state.store.sessions_of(user.id).await?,
        trail: state
            .store
            .audit_trail(Some(user.id), EXPORTED_ENTRIES)
            .await?,
    })
}
