//! Server-side sessions: started when a person proves who they are, resumed
//! from the cookie on each request, ended at logout or by a timeout.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::FlowError;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{DeviceToken, SessionToken, SignedInWith, User, UserStatus};
use crate::state::AppState;
use crate::store::{NewSession, SessionRecord};
use crate::tokens::TokenSession;

/// `last_seen_at` is written at most this often: a busy session costs one
/// write a minute, not one per request. The idle timeout is therefore
/// measured to within this interval.
const TOUCH_INTERVAL: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// A live session and its (active) account.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub id: Uuid,
    pub user: User,
    pub created_at: DateTime<Utc>,
    /// When the person last proved who they are in this session.
    pub authenticated_at: DateTime<Utc>,
    /// The absolute timeout: the session ends then at the latest.
    pub expires_at: DateTime<Utc>,
    /// How it was signed in (`None`: before sessions kept it).
    pub signed_in_with: Option<SignedInWith>,
}

impl CurrentSession {
    /// What an access token issued for this session is bound to.
    pub fn for_tokens(&self) -> TokenSession {
        TokenSession {
            id: self.id,
            ends_at: self.expires_at,
            signed_in_with: self.signed_in_with,
        }
    }
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// A session just started: the secret for the cookie and the row's id.
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub token: SessionToken,
    pub id: Uuid,
    /// The device cookie to set: the browser was not a known device.
    pub device: Option<DeviceToken>,
    /// The absolute timeout.
    pub expires_at: DateTime<Utc>,
    pub signed_in_with: SignedInWith,
}

impl StartedSession {
    /// What an access token issued for this session is bound to.
    pub fn for_tokens(&self) -> TokenSession {
        TokenSession {
            id: self.id,
            ends_at: self.expires_at,
            signed_in_with: Some(self.signed_in_with),
        }
    }
}

/// A new session for `user`, with a fresh id: ids are never reused, so a
/// session fixed before sign-in is worthless after it. `proof`, the entry of
/// what earned it, is written in the session's transaction.
pub async fn start_session(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
    with: SignedInWith,
    proof: Option<&AuditEvent>,
) -> Result<StartedSession, FlowError> {
    let device = super::device::recognise(state, user, meta).await?;
    start_session_on(state, user, meta, device, with, proof).await
}

/// `start_session` on a device already recognised (or made), recording
/// `proof`, what earned the session, in the same transaction.
pub(super) async fn start_session_on(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
    device: super::device::Device,
    with: SignedInWith,
    proof: Option<&AuditEvent>,
) -> Result<StartedSession, FlowError> {
    let (mut started, mut session) = new_session(state, user, state.clock.now(), with);
    session.device = Some(device.digest);
    state.store.create_session(&session, meta, proof).await?;
    if let Some(token) = device.new_token {
        super::device::announce(state, user, meta).await?;
        started.device = Some(token);
    }
    Ok(started)
}

/// A fresh session for `user`: the secret for the cookie, and the row to store.
pub(super) fn new_session(
    state: &AppState,
    user: &User,
    now: DateTime<Utc>,
    with: SignedInWith,
) -> (StartedSession, NewSession) {
    let token = SessionToken::generate();
    let session = NewSession {
        id: Uuid::now_v7(),
        user_id: user.id,
        digest: token.digest(),
        created_at: now,
        authenticated_at: now,
        signed_in_with: with,
        device: None,
        expires_at: now
            .checked_add_signed(delta(state.sessions.absolute))
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    };
    (
        StartedSession {
            token,
            id: session.id,
            device: None,
            expires_at: session.expires_at,
            signed_in_with: with,
        },
        session,
    )
}

/// The live session the cookie names, or `None` for a missing, unknown,
/// revoked, idle or expired one.
pub async fn resume_session(
    state: &AppState,
    raw_token: &str,
) -> Result<Option<CurrentSession>, FlowError> {
    let Ok(token) = SessionToken::parse(raw_token) else {
        return Ok(None);
    };
    let Some(record) = state.store.session_by_digest(&token.digest()).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle_until = record
        .last_seen_at
        .checked_add_signed(delta(state.sessions.idle))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if record.revoked_at.is_some()
        || now >= record.expires_at
        || now >= idle_until
        || record.user.status != UserStatus::Active
    {
        return Ok(None);
    }
    if now - record.last_seen_at >= TOUCH_INTERVAL {
        state.store.touch_session(record.id, now).await?;
    }
    Ok(Some(CurrentSession {
        id: record.id,
        user: record.user,
        created_at: record.created_at,
        authenticated_at: record.authenticated_at,
        expires_at: record.expires_at,
        signed_in_with: record.signed_in_with,
    }))
}

/// Revokes the session server-side; the cookie is then worthless.
pub async fn end_session(
    state: &AppState,
    session: &CurrentSession,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    if state
        .store
        .revoke_session(session.user.id, session.id, now)
        .await?
    {
        let event = AuditEvent::new(
            now,
            AuditKind::SessionEnded,
            Outcome::Success,
            Some(session.user.id),
            meta,
        )
        .with_detail(session.id.to_string());
        state.store.audit(&event).await?;
    }
    Ok(())
}

/// The account's live sessions, newest first.
pub async fn list_sessions(
    state: &AppState,
    current: &CurrentSession,
) -> Result<Vec<SessionRecord>, FlowError> {
    let now = state.clock.now();
    let idle = delta(state.sessions.idle);
    let sessions = state.store.sessions_of(current.user.id).await?;
    Ok(sessions
        .into_iter()
        .filter(|s| now < s.expires_at && now - s.last_seen_at < idle)
        .collect())
}

/// Revokes one of the account's own sessions; `NotFound` for any other id.
/// "Sign out everywhere else": ends every session of the account but the
/// caller's (and the access tokens issued for them); how many ended.
pub async fn revoke_other_sessions(
    state: &AppState,
    current: &CurrentSession,
    meta: &RequestMeta,
) -> Result<u64, FlowError> {
    let now = state.clock.now();
    let revoked = state
        .store
        .revoke_sessions(current.user.id, Some(current.id), now)
        .await?;
    let event = AuditEvent::new(
        now,
        AuditKind::SessionEnded,
        Outcome::Success,
        Some(current.user.id),
        meta,
    )
    .with_detail(format!(
        "{revoked} other session(s) revoked from {}",
        current.id
    ));
    state.store.audit(&event).await?;
    Ok(revoked)
}

pub async fn revoke_own_session(
    state: &AppState,
    current: &CurrentSession,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    if !state.store.revoke_session(current.user.id, id, now).await? {
        return Err(FlowError::NotFound);
    }
    let event = AuditEvent::new(
        now,
        AuditKind::SessionEnded,
        Outcome::Success,
        Some(current.user.id),
        meta,
    )
    .with_detail(format!("{id} revoked from {}", current.id));
    state.store.audit(&event).await?;
    Ok(())
}
