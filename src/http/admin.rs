//! The admin API: the audit trail, accounts (listed, invited, disabled,
//! deleted, moved to a new address) and sessions, JSON for an operator's
//! tools. It exists only when `LATCHKEY_ADMIN_API_KEY` is set (the
//! router leaves the paths out otherwise, so they answer 404 like any unknown
//! path), and every request must carry that key as `Authorization: Bearer`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use super::bearer::{Credential, bearer};
use super::email_change::PendingEnvelope;
use super::error::method_not_allowed;
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, ErrorBody, NotJson, TooLarge};
use super::path::ApiPath;
use super::views::{Revoked, UserEnvelope};
use crate::domain::{FactorKind, UserId, UserStatus};
use crate::flows::admin::{self, AuditQuery, UserQuery};
use crate::flows::{self, Access, FlowError};
use crate::state::AppState;

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

/// Strict: a misspelt parameter is a 400, not a filter silently ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditParams {
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
pub(super) struct UserParams {
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
pub(super) async fn audit(
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
pub(super) async fn users(
    State(state): State<AppState>,
    params: Result<Query<UserParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|rejection| malformed_query(&rejection))?;
    let query = UserQuery::parse(
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

/// Whom an operator invites.
#[derive(Deserialize, ToSchema)]
#[schema(as = AdminInvitation)]
pub(super) struct InviteBody {
    /// The address the invitation goes to, and the account's.
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
    /// The display name; the address's local part when absent or empty.
    name: Option<String>,
}

/// `{"user": {...}, "invitation": {"expires_at"}}`.
#[derive(Serialize, ToSchema)]
pub(super) struct InvitedEnvelope {
    user: super::views::UserView,
    invitation: InvitationView,
}

#[derive(Serialize, ToSchema)]
struct InvitationView {
    /// When the emailed link stops working; "Forgot your password?" sends
    /// another after that.
    expires_at: DateTime<Utc>,
}

/// `POST /admin/users`: an account for someone, who chooses its password
/// with the emailed link.
#[utoipa::path(
    post, path = "/admin/users", tag = "admin",
    description = "Makes an account for someone: it waits (`pending`) until its owner chooses a \
        password with the single-use link emailed to the address (valid \
        `LATCHKEY_INVITATION_TTL`), which also activates it. Nobody can sign in to it before \
        that. The way in when `LATCHKEY_REGISTRATION=invitation`. Records `user.invited`.",
    request_body = InviteBody,
    responses(
        (status = 201, description = "The account, and until when its link works", body = InvitedEnvelope),
        (status = 400, response = BadJson),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no admin key is configured (the admin API is absent)", body = ErrorBody),
        (status = 409, description = "`email_taken`: an account has the address, whatever its state (whatever the enumeration setting)", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields.email` or `fields.name`", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(super) async fn invite(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<(StatusCode, Json<InvitedEnvelope>), ApiError> {
    let invitation =
        flows::invite_by_admin(&state, body.email.as_deref(), body.name.as_deref(), &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitedEnvelope {
            user: super::views::UserView::from(&invitation.user),
            invitation: InvitationView {
                expires_at: invitation.until,
            },
        }),
    ))
}

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
pub(super) async fn revoke_all(
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
pub(super) async fn revoke_of(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Revoked>, ApiError> {
    let id = uuid::Uuid::parse_str(&id)
        .map(UserId::from_uuid)
        .map_err(|_| ApiError::from(FlowError::NotFound))?;
    let revoked = admin::revoke_sessions(&*state.store, state.clock.now(), Some(id), &meta).await?;
    Ok(Json(Revoked { revoked }))
}

/// `DELETE /admin/users/{id}`: the account and everything that hangs on it
/// are gone; `404` for an id that names no account.
#[utoipa::path(
    delete, path = "/admin/users/{id}", tag = "admin",
    description = "Deletes the account: its sessions (and their access tokens), links, factors \
        and devices go with it, its unsent messages are cancelled, and its address is told and \
        free to sign up again. The audit trail keeps its entries, and records `user.deleted`.",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no such account, or no admin key is configured", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(super) async fn delete_user(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = uuid::Uuid::parse_str(&id)
        .map(UserId::from_uuid)
        .map_err(|_| ApiError::from(FlowError::NotFound))?;
    flows::delete_account_by_admin(&state, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/users/{id}/disable`: the account cannot sign in, and what
/// it held stops working; `404` for an id that names no account.
#[utoipa::path(
    post, path = "/admin/users/{id}/disable", tag = "admin",
    description = "Disables the account: its sessions (and their access tokens) end, its unused \
        links stop working, logins waiting for its second factor expire and its unsent mail is \
        cancelled. Its owner cannot sign in (the right password gets `403 account_disabled`) \
        nor reset the password. Records `user.disabled`. Disabling a disabled account changes \
        nothing more.",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account, `status: disabled`", body = UserEnvelope),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no such account, or no admin key is configured", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(super) async fn disable_user(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UserEnvelope>, ApiError> {
    set_access(&state, &id, Access::Disabled, &meta).await
}

/// `POST /admin/users/{id}/enable`: a disabled account can sign in again.
#[utoipa::path(
    post, path = "/admin/users/{id}/enable", tag = "admin",
    description = "Gives a disabled account back: it is `pending` or `active` again, as before. \
        What ended stays ended: its owner signs in again. Records `user.enabled`.",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account, as it was before it was disabled", body = UserEnvelope),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no such account, or no admin key is configured", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(super) async fn enable_user(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UserEnvelope>, ApiError> {
    set_access(&state, &id, Access::Enabled, &meta).await
}

/// The new address an operator gives an account.
#[derive(Deserialize, ToSchema)]
#[schema(as = AdminEmailChange)]
pub(super) struct EmailBody {
    /// The new address; the link goes there.
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
}

/// `POST /admin/users/{id}/email`: a change of address for an owner who
/// lost the old mailbox, made when the link sent to the new one is used.
#[utoipa::path(
    post, path = "/admin/users/{id}/email", tag = "admin",
    description = "Starts a change of the account's address, for an owner who lost the old \
        mailbox: a single-use link goes to the new address (valid `LATCHKEY_VERIFY_TTL`) and a \
        notice to the current one, as when the owner asks, and the account moves only once the \
        link is used. No password is asked. Records `user.email_change_requested`.",
    params(("id" = String, Path, description = "The account's id")),
    request_body = EmailBody,
    responses(
        (status = 202, description = "The link is on its way: `{\"pending\": {\"email\", \"expires_at\"}}`", body = PendingEnvelope),
        (status = 400, response = BadJson),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 403, description = "`email_not_verified` (a pending account: its owner signs up again) or `account_disabled` (enable it first)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account, or no admin key is configured", body = ErrorBody),
        (status = 409, description = "`email_taken`: an active or disabled account has the address (whatever the enumeration setting)", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields.email` (`unchanged`: exactly the account's address)", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(super) async fn change_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<(StatusCode, Json<PendingEnvelope>), ApiError> {
    let id = uuid::Uuid::parse_str(&id)
        .map(UserId::from_uuid)
        .map_err(|_| ApiError::from(FlowError::NotFound))?;
    let open =
        flows::request_email_change_by_admin(&state, id, body.email.as_deref(), &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(PendingEnvelope::from(open))))
}

/// `{"revoked": N, "expires_at"}`: the sessions an operator's reset ended,
/// and when the link it emailed stops working.
#[derive(Serialize, ToSchema)]
pub(super) struct ForcedResetView {
    revoked: u64,
    expires_at: DateTime<Utc>,
}

/// `POST /admin/users/{id}/password/reset`: the password stops working now
/// and its owner is emailed a link to choose a new one.
#[utoipa::path(
    post, path = "/admin/users/{id}/password/reset", tag = "admin",
    description = "For evidence that the account's password leaked: it stops working at once \
        (a hash no password matches takes its place), every session ends with its access \
        tokens, open reset and change-of-address links and logins waiting for a second factor \
        stop, and a single-use reset link (valid `LATCHKEY_PASSWORD_RESET_TTL`) goes to the \
        account's address. Second factors stay. For a pending account, a fresh link to choose \
        its first password. Records `password.reset_forced`. No body.",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 202, description = "Done; the link is on its way", body = ForcedResetView),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 403, description = "`account_disabled`: enable it first", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account, or no admin key is configured", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(super) async fn reset_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<ForcedResetView>), ApiError> {
    let id = uuid::Uuid::parse_str(&id)
        .map(UserId::from_uuid)
        .map_err(|_| ApiError::from(FlowError::NotFound))?;
    let reset = flows::force_password_reset_by_admin(&state, id, &meta).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ForcedResetView {
            revoked: reset.sessions_ended,
            expires_at: reset.until,
        }),
    ))
}

async fn set_access(
    state: &AppState,
    id: &str,
    access: Access,
    meta: &crate::audit::RequestMeta,
) -> Result<Json<UserEnvelope>, ApiError> {
    let id = uuid::Uuid::parse_str(id)
        .map(UserId::from_uuid)
        .map_err(|_| ApiError::from(FlowError::NotFound))?;
    let user = flows::set_access(&*state.store, state.clock.now(), id, access, meta).await?;
    Ok(Json(UserEnvelope::from(&user)))
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
