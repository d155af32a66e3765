//! GET /sessions, DELETE /sessions and DELETE /sessions/{id}: a person's
//! own sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiError;
use super::meta::Meta;
use super::openapi::{ErrorBody, Unauthenticated};
use super::path::ApiPath;
use super::session::SignedIn;
use super::views::Revoked;
use crate::domain::SignedInWith;
use crate::flows::{self, FlowError};
use crate::state::AppState;

/// One live session of the account.
#[derive(Serialize, ToSchema)]
pub(super) struct SessionView {
    id: Uuid,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    ip: Option<String>,
    user_agent: Option<String>,
    /// How it was signed in: `password`, `password+totp` (`+sms`, `+email`,
    /// `+passkey`, `+recovery_code`), `passkey` (alone), or `email_link` (a
    /// new account's verification link); `null` for a session from before
    /// sessions kept it.
    #[schema(example = "password+totp")]
    signed_in_with: Option<&'static str>,
    /// The session this request came with.
    current: bool,
}

#[derive(Serialize, ToSchema)]
pub(super) struct SessionList {
    sessions: Vec<SessionView>,
}

#[utoipa::path(
    get, path = "/sessions", tag = "sessions",
    description = "The account's live sessions.",
    responses(
        (status = 200, description = "The sessions", body = SessionList),
        (status = 401, response = Unauthenticated),
    ),
    security(("session" = [])),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = flows::list_sessions(&state, &current)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: s.id == current.id,
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            ip: s.ip,
            user_agent: s.user_agent,
            signed_in_with: s.signed_in_with.map(SignedInWith::as_str),
        })
        .collect();
    Ok(Json(SessionList { sessions }))
}

#[utoipa::path(
    delete, path = "/sessions", tag = "sessions",
    description = "Signs out everywhere else: ends every session of the account but this one \
        (with the access tokens issued for them). (The dashboard's form posts to \
        `/sessions/revoke-others`.)",
    responses(
        (status = 200, description = "How many ended", body = Revoked),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`cross_site_request`: sent from another origin", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub(super) async fn revoke_others(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(current): SignedIn,
) -> Result<Json<Revoked>, ApiError> {
    let revoked = flows::revoke_other_sessions(&state, &current, &meta).await?;
    Ok(Json(Revoked { revoked }))
}

#[utoipa::path(
    delete, path = "/sessions/{id}", tag = "sessions",
    description = "Ends one of the account's sessions. (The dashboard's form posts to \
        `/sessions/{id}/revoke`.)",
    params(("id" = String, Path, description = "A session id from `GET /sessions`")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, response = Unauthenticated),
        (status = 404, description = "`not_found`: no such session of this account", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub(super) async fn revoke(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(current): SignedIn,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| FlowError::NotFound)?;
    flows::revoke_own_session(&state, &current, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
