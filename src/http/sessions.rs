//! GET /sessions and DELETE /sessions/{id}: a person's own sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::ApiError;
use super::session::SignedIn;
use crate::flows::FlowError;
use crate::state::AppState;

pub(super) async fn list(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
) -> Result<Json<Value>, ApiError> {
    let sessions = state
        .store
        .sessions_of(current.user.id)
        .await
        .map_err(FlowError::from)?;
    let now = state.clock.now();
    let sessions: Vec<Value> = sessions
        .iter()
        .filter(|s| now < s.expires_at)
        .map(|s| {
            json!({
                "id": s.id,
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "current": s.id == current.id,
            })
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| FlowError::NotFound)?;
    let revoked = state
        .store
        .revoke_session(current.user.id, id, state.clock.now())
        .await
        .map_err(FlowError::from)?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(FlowError::NotFound.into())
    }
}
