//! The admin API: the audit trail, accounts (listed, invited, disabled,
//! deleted, moved to a new address, their password voided, their second
//! factors removed) and sessions,
//! JSON for an operator's tools. It exists only when
//! `LATCHKEY_ADMIN_API_KEY` is set (the router leaves the paths out
//! otherwise, so they answer 404 like any unknown path), and every request
//! must carry that key as `Authorization: Bearer`.
//!
//! `read.rs` lists (the trail, the accounts), `invite.rs` makes an account,
//! `accounts.rs` acts on one, `factors.rs` removes its second factors,
//! `sessions.rs` ends sessions.

pub(super) mod accounts;
pub(super) mod factors;
pub(super) mod invite;
pub(super) mod read;
pub(super) mod sessions;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::ApiError;
use super::bearer::{Credential, bearer};
use super::error::method_not_allowed;
use crate::domain::UserId;
use crate::flows::FlowError;
use crate::state::AppState;

use accounts::{change_email, delete_user, disable_user, enable_user, reset_password};
use factors::reset_factors;
use invite::invite;
use read::{audit, users};
use sessions::{revoke_all, revoke_of};

/// The admin routes, behind the key check; none without a configured key.
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    if state.admin_key.is_none() {
        return Router::new();
    }
    Router::new()
        // Their own 405 (the router's would replace it, outside the
        // gate), so a wrong method too is judged after the key check:
        // nothing answers a caller without the key.
        .route("/admin/audit", get(audit).fallback(method_not_allowed))
        .route(
            "/admin/users",
            get(users).post(invite).fallback(method_not_allowed),
        )
        .route(
            "/admin/sessions",
            delete(revoke_all).fallback(method_not_allowed),
        )
        .route(
            "/admin/users/{id}/sessions",
            delete(revoke_of).fallback(method_not_allowed),
        )
        .route(
            "/admin/users/{id}",
            delete(delete_user).fallback(method_not_allowed),
        )
        .route(
            "/admin/users/{id}/disable",
            post(disable_user).fallback(method_not_allowed),
        )
        .route(
            "/admin/users/{id}/enable",
            post(enable_user).fallback(method_not_allowed),
        )
        .route(
            "/admin/users/{id}/email",
            post(change_email).fallback(method_not_allowed),
        )
        .route(
            "/admin/users/{id}/password/reset",
            post(reset_password).fallback(method_not_allowed),
        )
        .route(
            "/admin/users/{id}/mfa",
            delete(reset_factors).fallback(method_not_allowed),
        )
        .layer(middleware::from_fn_with_state(state.clone(), gate))
}

/// Checks the key before anything else and marks every answer uncacheable:
/// they list people's addresses and where they signed in from.
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let authorized = match (&state.admin_key, bearer(request.headers())) {
        (Some(key), Credential::Bearer(presented)) => key.matches(presented),
        _ => false,
    };
    let mut response = if authorized {
        next.run(request).await
    } else {
        // Neither the key nor the header is logged; the request span has the path.
        tracing::info!("admin API request without the right key");
        let error = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_admin_key",
            "This needs the admin API key as a Bearer token.",
        );
        (
            [(header::WWW_AUTHENTICATE, r#"Bearer realm="latchkey-admin""#)],
            error,
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The account an `{id}` path segment names; `404` for one that is not a
/// UUID, as for one that names no account.
fn account_id(raw: &str) -> Result<UserId, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(UserId::from_uuid)
        .map_err(|_| ApiError::from(FlowError::NotFound))
}
