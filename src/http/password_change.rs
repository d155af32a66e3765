//! `POST /password/change` as JSON, with the session cookie or a Bearer
//! access token. (The dashboard's form goes to `pages::password_change`.)

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiError;
use super::bearer::Caller;
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, ErrorBody, NotJson, Overloaded, TooLarge};
use super::views::Done;
use crate::domain::Password;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[schema(as = PasswordChange)]
pub(super) struct ChangeBody {
    #[schema(required, nullable = false, format = Password)]
    current_password: Option<String>,
    /// Checked against the password policy, like a sign-up's.
    #[schema(required, nullable = false, format = Password)]
    new_password: Option<String>,
}

#[utoipa::path(
    post, path = "/password/change", tag = "sessions",
    description = "Changes the signed-in account's password, given the current one (a wrong \
        one counts as a failed login). Every other session ends; this one stays. The owner is \
        told by email. (A form body is the dashboard's form: it answers HTML.)",
    request_body = ChangeBody,
    responses(
        (status = 200, description = "`{\"status\": \"password_changed\"}`", body = Done),
        (status = 400, response = BadJson),
        (status = 401, description = "`unauthenticated`, `invalid_access_token`, or `invalid_credentials`: the current password is wrong", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (with `Retry-After`) or `login_locked`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)"))),
        (status = 503, response = Overloaded),
    ),
    security(("bearer" = []), ("session" = [])),
)]
/// 200 once changed; the caller's own session stays, every other one ends.
pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    caller: Caller,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Json<Done>, ApiError> {
    let current = Password::new(body.current_password.as_deref().unwrap_or_default());
    let new = Password::new(body.new_password.as_deref().unwrap_or_default());
    flows::change_password(&state, &caller.user, caller.session, &current, &new, &meta).await?;
    Ok(Json(Done {
        status: "password_changed",
    }))
}
