use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::ToSchema;

use super::ApiError;
use crate::flows::FlowError;
use crate::state::AppState;
use crate::tokens;

/// A JWK Set (RFC 7517) of Ed25519 keys, as `tokens` builds it.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "describes the JSON that `tokens::AccessTokens::jwks` builds"
)]
pub(super) struct JwkSet {
    /// The current key first, then retired keys whose tokens may still be live.
    keys: Vec<Jwk>,
}

/// An Ed25519 public key (RFC 8037 section 2).
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "describes the JSON of `tokens::keys::VerifyingKey::jwk`"
)]
pub(super) struct Jwk {
    #[schema(schema_with = okp)]
    kty: String,
    #[schema(schema_with = ed25519)]
    crv: String,
    #[schema(schema_with = eddsa)]
    alg: String,
    #[schema(rename = "use", schema_with = sig)]
    use_: String,
    kid: String,
    /// The public key, base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    x: String,
}

fn okp() -> utoipa::openapi::ObjectBuilder {
    super::views::string_enum(&["OKP"])
}
fn ed25519() -> utoipa::openapi::ObjectBuilder {
    super::views::string_enum(&["Ed25519"])
}
fn eddsa() -> utoipa::openapi::ObjectBuilder {
    super::views::string_enum(&["EdDSA"])
}
fn sig() -> utoipa::openapi::ObjectBuilder {
    super::views::string_enum(&["sig"])
}

/// The public keys that verify our access tokens (RFC 7517 JWK Set).
/// Caches may keep it as long as a rotated key is published before it signs.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "meta",
    description = "The keys that verify access tokens: the current one first, then retired \
        keys whose tokens may not have expired yet.",
    responses(
        (status = 200, description = "The JWK Set", body = JwkSet,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    ),
    security(()),
)]
pub(super) async fn get(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let jwks = state
        .tokens
        .jwks()
        .await
        .map_err(|error| ApiError::from(FlowError::Internal(Box::new(error))))?;
    let cache = format!("public, max-age={}", tokens::JWKS_MAX_AGE_SECONDS);
    Ok(([(header::CACHE_CONTROL, cache)], Json(jwks)))
}
