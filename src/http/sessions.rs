//! GET /sessions and DELETE /sessions/{id}: a person's own sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::ApiError;
use super::meta::Meta;
use super::session::SignedIn;
use crate::flows::{self, FlowError};
use crate::state::AppState;

pub(super) async fn list(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
) -> Result<Json<Value>, ApiError> {
    let sessions: Vec<Value> = flows::list_sessions(&state, &current)
        .await?
        .iter()
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
    Meta(meta): Meta,
    SignedIn(current): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| FlowError::NotFound)?;
    flows::revoke_own_session(&state, &current, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
