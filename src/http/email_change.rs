//! `POST /email/change` (ask, with the session cookie or a Bearer access
//! token), `POST /email/confirm` (use the link emailed to the new address)
//! and `POST /email/revert` (undo a change, with the link emailed to the
//! old one), as JSON. Their forms go to `pages::email_change` and
//! `pages::email_revert`; so do `GET /email/confirm` and `GET
//! /email/revert`, the pages behind the links.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::bearer::{Authenticated, Caller};
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, BearerChallenge, ErrorBody, NotJson, Overloaded, TooLarge};
use super::views::{Accepted, Done};
use crate::domain::Password;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[schema(as = EmailChangeRequest)]
pub(super) struct ChangeBody {
    /// The new address; the link goes there.
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
    #[schema(required, nullable = false, format = Password)]
    current_password: Option<String>,
}

#[utoipa::path(
    post, path = "/email/change", tag = "sessions",
    description = "Asks to change the signed-in account's address, given the current password \
        (a wrong one counts as a failed login). A single-use link goes to the new address; the \
        account keeps its address until the link is used. The current address is told, and a \
        password reset cancels the request. (A form body is the dashboard's form: it answers HTML.)",
    request_body = ChangeBody,
    responses(
        (status = 202, description = "The link is on its way to the new address", body = Accepted),
        (status = 400, response = BadJson),
        (status = 401, description = "`unauthenticated`, `invalid_access_token`, or `invalid_credentials`: the current password is wrong", body = ErrorBody),
        (status = 403, description = "`cross_site_request`: sent from another origin", body = ErrorBody),
        (status = 409, description = "`email_taken`: another account has the address (not under enumeration protection)", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields` (`unchanged`: it is exactly the account's address; the same one in other letters is a change)", body = ErrorBody),
        (status = 429, description = "`rate_limited` (with `Retry-After`) or `login_locked`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)"))),
        (status = 503, response = Overloaded),
    ),
    security(("bearer" = []), ("session" = [])),
)]
/// 202 once the link is queued for the new address.
pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    caller: Caller,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let current = Password::new(body.current_password.as_deref().unwrap_or_default());
    flows::request_email_change(&state, &caller.user, &current, body.email.as_deref(), &meta)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "A link is on its way to the new address. The change takes effect when it is opened.",
        }),
    ))
}

/// A change of address waiting for its link.
#[derive(Serialize, ToSchema)]
pub(super) struct PendingChange {
    /// Where the link went: the account's address once it is used.
    #[schema(format = Email)]
    email: String,
    /// When the link stops working.
    expires_at: DateTime<Utc>,
}

impl From<flows::OpenChange> for PendingChange {
    fn from(open: flows::OpenChange) -> Self {
        Self {
            email: open.email.as_str().to_owned(),
            expires_at: open.until,
        }
    }
}

/// `{"pending": {...}}`, or `{"pending": null}` when no change waits.
#[derive(Serialize, ToSchema)]
pub(super) struct PendingEnvelope {
    pending: Option<PendingChange>,
}

impl From<flows::OpenChange> for PendingEnvelope {
    fn from(open: flows::OpenChange) -> Self {
        Self {
            pending: Some(open.into()),
        }
    }
}

#[utoipa::path(
    get, path = "/email/change", tag = "sessions",
    description = "The signed-in account's change of address waiting for its link, if any.",
    responses(
        (status = 200, description = "The change waiting, or `null`", body = PendingEnvelope),
        (status = 401, response = BearerChallenge),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub(super) async fn pending(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
) -> Result<Json<PendingEnvelope>, ApiError> {
    let open = flows::open_email_change(&state, &user).await?;
    Ok(Json(PendingEnvelope {
        pending: open.map(PendingChange::from),
    }))
}

#[utoipa::path(
    delete, path = "/email/change", tag = "sessions",
    description = "Cancels the change of address waiting for its link: the link stops working. \
        (The dashboard's form posts to `/email/change/cancel`.)",
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, response = BearerChallenge),
        (status = 403, description = "`cross_site_request`: sent from another origin", body = ErrorBody),
        (status = 404, description = "`not_found`: no change is waiting", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Authenticated(user): Authenticated,
) -> Result<StatusCode, ApiError> {
    flows::cancel_email_change(&state, &user, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = EmailChangeConfirmation)]
pub(super) struct ConfirmBody {
    /// The token of the link in the email sent to the new address.
    #[schema(required, nullable = false)]
    token: Option<String>,
}

#[utoipa::path(
    post, path = "/email/confirm", tag = "sessions",
    description = "Uses the link emailed to the new address: the account has that address from \
        now on (to sign in, and for every email), and the old address is told. Sessions stay. \
        (A form body is the page's form: it answers HTML.)",
    request_body = ConfirmBody,
    responses(
        (status = 200, description = "`{\"status\": \"email_changed\"}`", body = Done),
        (status = 400, description = "`malformed_json`, or `invalid_token`: unknown, malformed, used or superseded", body = ErrorBody),
        (status = 409, description = "`email_taken`: another account took the address since the request", body = ErrorBody),
        (status = 410, description = "`token_expired`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
    ),
    security(()),
)]
/// 200 once the account has its new address.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<Done>, ApiError> {
    flows::confirm_email_change(&state, body.token.as_deref(), &meta).await?;
    Ok(Json(Done {
        status: "email_changed",
    }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = EmailChangeUndo)]
pub(super) struct RevertBody {
    /// The token of the undo link in the notice sent to the old address.
    #[schema(required, nullable = false)]
    token: Option<String>,
}

#[utoipa::path(
    post, path = "/email/revert", tag = "sessions",
    description = "Undoes a change of address with the link the notice sent to the old address \
        (it works once, for 7 days): the account has its old address back, every session ends, \
        sign-in methods set up since the change was asked for are removed, and a password reset \
        link goes to the old address. (A form body is the page's form: it answers HTML.)",
    request_body = RevertBody,
    responses(
        (status = 200, description = "`{\"status\": \"email_restored\"}`", body = Done),
        (status = 400, description = "`malformed_json`, or `invalid_token`: unknown, malformed or used", body = ErrorBody),
        (status = 409, description = "`email_taken`: another account took the old address since", body = ErrorBody),
        (status = 410, description = "`token_expired`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
    ),
    security(()),
)]
/// 200 once the old address is back.
pub(super) async fn revert(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RevertBody>,
) -> Result<Json<Done>, ApiError> {
    flows::revert_email_change(&state, body.token.as_deref(), &meta).await?;
    Ok(Json(Done {
        status: "email_restored",
    }))
}
