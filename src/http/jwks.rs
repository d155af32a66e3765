use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::ApiError;
use crate::flows::FlowError;
use crate::state::AppState;
use crate::tokens;

/// The public keys that verify our access tokens (RFC 7517 JWK Set).
/// Caches may keep it as long as a rotated key is published before it signs.
pub(super) async fn get(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let jwks = state
        .tokens
        .jwks()
        .await
        .map_err(|error| ApiError::from(FlowError::Internal(Box::new(error))))?;
    let cache = format!("public, max-age={}", tokens::JWKS_MAX_AGE_SECONDS);
    Ok(([(header::CACHE_CONTROL, cache)], Json(jwks)))
}
