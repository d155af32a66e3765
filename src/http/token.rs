//! A fresh access token for the session cookie's session.
//!
//! Access tokens are short-lived on purpose (revocation cannot reach a
//! service that checks them offline), so a client needs a way to get the
//! next one without the password. The session is that way: it is already a
//! revocable, expiring, server-side credential, and the cookie that names it
//! is `HttpOnly`. A Bearer token is not accepted here: a stolen token must
//! die at its `exp`, not renew itself.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use super::cross_site::is_json;
use super::json::not_json;
use super::login::bearer;
use super::openapi::{NotJson, Unauthenticated};
use super::session::SignedIn;
use crate::flows::FlowError;
use crate::state::AppState;

/// An access token, in the shape of an OAuth 2.0 token response.
#[derive(Serialize, ToSchema)]
pub(super) struct TokenBody {
    /// A JWT (`EdDSA`, `typ: at+jwt`), bound to the session.
    access_token: String,
    #[schema(schema_with = bearer)]
    token_type: &'static str,
    /// Seconds until the access token expires: the configured lifetime, or
    /// less when the session reaches its absolute timeout sooner.
    expires_in: u64,
}

/// A new access token for the cookie's session. Each call signs a new
/// token; the earlier ones stay valid until their own `exp`.
#[utoipa::path(
    post, path = "/token", tag = "sessions",
    description = "A new access token for the session cookie's session, bound to it like the \
        login's: it stops working on latchkey's endpoints when the session ends, and expires \
        by the session's absolute timeout at the latest. Only the session cookie is accepted: \
        a Bearer token cannot renew itself. Send a JSON content type (the body is ignored).",
    responses(
        (status = 200, description = "A fresh access token", body = TokenBody),
        (status = 401, response = Unauthenticated),
        (status = 415, response = NotJson),
    ),
    security(("session" = [])),
)]
pub(super) async fn post(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    headers: HeaderMap,
) -> Result<Json<TokenBody>, ApiError> {
    // The cross-site guard lets form posts through to their pages' own
    // check; this path has no page, so a form is refused like any non-JSON.
    if !is_json(&headers) {
        return Err(not_json());
    }
    let issued = state
        .tokens
        .issue(session.user.id, Some(session.for_tokens()))
        .await
        .map_err(|error| FlowError::Internal(Box::new(error)))?;
    Ok(Json(TokenBody {
        access_token: issued.access_token,
        token_type: issued.token_type,
        expires_in: issued.expires_in,
    }))
}
