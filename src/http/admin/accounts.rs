//! What an operator does to one account: delete it, disable or enable
//! it, start a change of its address, void its password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::account_id;
use crate::flows::{self, Access};
use crate::http::ApiError;
use crate::http::email_change::PendingEnvelope;
use crate::http::json::ApiJson;
use crate::http::meta::Meta;
use crate::http::openapi::{BadJson, ErrorBody, NotJson, TooLarge};
use crate::http::path::ApiPath;
use crate::http::views::UserEnvelope;
use crate::state::AppState;

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
pub(in crate::http) async fn delete_user(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = account_id(&id)?;
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
pub(in crate::http) async fn disable_user(
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
pub(in crate::http) async fn enable_user(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UserEnvelope>, ApiError> {
    set_access(&state, &id, Access::Enabled, &meta).await
}

/// The new address an operator gives an account.
#[derive(Deserialize, ToSchema)]
#[schema(as = AdminEmailChange)]
pub(in crate::http) struct EmailBody {
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
pub(in crate::http) async fn change_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<(StatusCode, Json<PendingEnvelope>), ApiError> {
    let id = account_id(&id)?;
    let open =
        flows::request_email_change_by_admin(&state, id, body.email.as_deref(), &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(PendingEnvelope::from(open))))
}

/// `{"revoked": N, "expires_at"}`: the sessions an operator's reset ended,
/// and when the link it emailed stops working.
#[derive(Serialize, ToSchema)]
pub(in crate::http) struct ForcedResetView {
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
pub(in crate::http) async fn reset_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<ForcedResetView>), ApiError> {
    let id = account_id(&id)?;
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
    let id = account_id(id)?;
    let user = flows::set_access(&*state.store, state.clock.now(), id, access, meta).await?;
    Ok(Json(UserEnvelope::from(&user)))
}
