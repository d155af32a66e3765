use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::ApiError;
use crate::state::AppState;

/// 200 once the database answers; migrations ran before the port opened.
pub(super) async fn get(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ok" }))),
        Err(error) => {
            tracing::error!(error = %error, "health check: database unreachable");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The database is unreachable.",
            ))
        }
    }
}
