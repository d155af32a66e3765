use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::ApiError;
use crate::flows::FlowError;
use crate::state::AppState;

/// The public keys that verify our access tokens (RFC 7517 JWK Set).
/// Caches may keep it a minute: no longer than an instance takes to start
/// signing with a newly rotated key.
pub(super) async fn get(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let jwks = state
        .tokens
        .jwks()
        .await
        .map_err(|error| ApiError::from(FlowError::Internal(Box::new(error))))?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(jwks)))
}
