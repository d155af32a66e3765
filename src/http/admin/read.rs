//! What an operator reads: `GET /admin/audit` and `GET /admin/users`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::domain::{FactorKind, UserId, UserStatus};
use crate::flows::FlowError;
use crate::flows::admin::{self, AuditQuery, UserQuery};
use crate::http::ApiError;
use crate::http::openapi::ErrorBody;
use crate::state::AppState;

/// Strict: a misspelt parameter is a 400, not a filter silently ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(in crate::http) struct AuditParams {
    /// The account's email address.
    user: Option<String>,
    /// An RFC 3339 instant, or a time ago such as `30m`, `24h`, `7d`.
    since: Option<String>,
    /// 1 to 1000 (default 100): the newest events, oldest first.
    limit: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(in crate::http) struct UserParams {
    /// Only the account with this address (any letter case).
    email: Option<String>,
    /// `pending`, `active` or `disabled`.
    status: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1 to 1000 (default 100).
    limit: Option<String>,
}

#[utoipa::path(
    get, path = "/admin/audit", tag = "admin",
    description = "The audit trail: the newest events (oldest first), by account and time.",
    params(AuditParams),
    responses(
        (status = 200, description = "`{\"events\": [...]}`", body = Object),
        (status = 400, description = "`invalid_query`, with `fields`", body = ErrorBody),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no admin key is configured (the admin API is absent)", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(in crate::http) async fn audit(
    State(state): State<AppState>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|rejection| malformed_query(&rejection))?;
    let query = AuditQuery::parse(
        params.user.as_deref(),
        params.since.as_deref(),
        params.limit.as_deref(),
    )
    .map_err(query_error)?;
    let events = admin::audit_trail(&*state.store, state.clock.now(), &query)
        .await
        .map_err(query_error)?;
    Ok(Json(json!({ "events": events })))
}

/// An account as the admin API lists it.
#[derive(Debug, Serialize)]
struct UserRow<'a> {
    id: UserId,
    email: &'a str,
    name: &'a str,
    status: UserStatus,
    created_at: DateTime<Utc>,
    verified_at: Option<DateTime<Utc>>,
    factors: Vec<&'static str>,
}

#[utoipa::path(
    get, path = "/admin/users", tag = "admin",
    description = "Accounts, newest first, a page at a time, with their confirmed second factors.",
    params(UserParams),
    responses(
        (status = 200, description = "`{\"users\": [...], \"next\": cursor or null}`", body = Object),
        (status = 400, description = "`invalid_query`, with `fields`", body = ErrorBody),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no admin key is configured (the admin API is absent)", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(in crate::http) async fn users(
    State(state): State<AppState>,
    params: Result<Query<UserParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|rejection| malformed_query(&rejection))?;
    let query = UserQuery::parse(
        params.email.as_deref(),
        params.status.as_deref(),
        params.after.as_deref(),
        params.limit.as_deref(),
    )
    .map_err(query_error)?;
    let page = admin::list_users(&*state.store, &query)
        .await
        .map_err(query_error)?;
    let users: Vec<UserRow<'_>> = page
        .users
        .iter()
        .map(|summary| UserRow {
            id: summary.user.id,
            email: summary.user.email.as_str(),
            name: summary.user.name.as_str(),
            status: summary.user.status,
            created_at: summary.user.created_at,
            verified_at: summary.user.verified_at,
            factors: summary
                .factors
                .iter()
                .map(|kind| FactorKind::as_str(*kind))
                .collect(),
        })
        .collect();
    Ok(Json(json!({ "users": users, "next": page.next })))
}

/// A query string that does not even decode: an unknown or repeated parameter.
fn malformed_query(rejection: &QueryRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        rejection.body_text(),
    )
}

/// Validation errors of a query are the client's: 400, not 422 (there is no
/// body to be unprocessable).
fn query_error(error: FlowError) -> ApiError {
    match error {
        FlowError::Validation(fields) => ApiError::invalid_query(fields),
        other => other.into(),
    }
}
