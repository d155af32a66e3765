//! Ending sessions: every account's, or one account's.

use axum::Json;
use axum::extract::State;

use super::account_id;
use crate::flows::admin;
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::openapi::ErrorBody;
use crate::http::path::ApiPath;
use crate::http::views::Revoked;
use crate::state::AppState;

/// `DELETE /admin/sessions`: every live session of every account ends.
#[utoipa::path(
    delete, path = "/admin/sessions", tag = "admin",
    description = "Ends every live session of every account, with their access tokens.",
    responses(
        (status = 200, description = "How many sessions ended", body = Revoked),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no admin key is configured (the admin API is absent)", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(in crate::http) async fn revoke_all(
    State(state): State<AppState>,
    Meta(meta): Meta,
) -> Result<Json<Revoked>, ApiError> {
    let revoked = admin::revoke_sessions(&*state.store, state.clock.now(), None, &meta).await?;
    Ok(Json(Revoked { revoked }))
}

/// `DELETE /admin/users/{id}/sessions`: every live session of one account
/// ends; `404` for an id that names no account.
#[utoipa::path(
    delete, path = "/admin/users/{id}/sessions", tag = "admin",
    description = "Ends every live session of one account, with their access tokens.",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "How many sessions ended", body = Revoked),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no such account, or no admin key is configured", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(in crate::http) async fn revoke_of(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Revoked>, ApiError> {
    let id = account_id(&id)?;
    let revoked = admin::revoke_sessions(&*state.store, state.clock.now(), Some(id), &meta).await?;
    Ok(Json(Revoked { revoked }))
}
