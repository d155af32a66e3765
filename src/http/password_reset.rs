//! `POST /password/reset` (ask for a reset link) and `POST
//! /password/reset/confirm` (set the new password with it), as JSON. Their
//! forms go to `pages::password_reset`; so does `GET /password/reset`, the
//! page behind the emailed link.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiError;
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, ErrorBody, NotJson, Overloaded, RateLimited, TooLarge};
use super::views::{Accepted, Done};
use crate::domain::Password;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[schema(as = PasswordResetRequest)]
pub(super) struct ResetRequestBody {
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
}

#[utoipa::path(
    post, path = "/password/reset", tag = "login",
    description = "Emails an active account a single-use link to choose a new password (a \
        pending one its verification link again). The answer is the same whether or not the \
        address has an account. (A form body is the page's form: it answers HTML.)",
    request_body = ResetRequestBody,
    responses(
        (status = 202, description = "Accepted, whether or not the address has an account", body = Accepted),
        (status = 400, response = BadJson),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`: a malformed address", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(()),
)]
/// Always 202 for a well-formed address, whether or not it has an account.
pub(super) async fn request(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    flows::request_password_reset(&state, body.email.as_deref(), &meta).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "If this address has an account, an email with a link to choose a new password is on its way.",
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PasswordResetConfirmation)]
pub(super) struct ResetConfirmBody {
    /// The token of the link in the reset email.
    #[schema(required, nullable = false)]
    token: Option<String>,
    /// Checked against the password policy, like a sign-up's.
    #[schema(required, nullable = false, format = Password)]
    password: Option<String>,
}

#[utoipa::path(
    post, path = "/password/reset/confirm", tag = "login",
    description = "Sets the new password with the emailed link: every session of the account \
        ends, and the owner is told by email. It does not sign in. (A form body is the page's \
        form: it answers HTML.)",
    request_body = ResetConfirmBody,
    responses(
        (status = 200, description = "`{\"status\": \"password_reset\"}`", body = Done),
        (status = 400, description = "`malformed_json`, or `invalid_token`: unknown, malformed, used or superseded", body = ErrorBody),
        (status = 410, description = "`token_expired`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields`", body = ErrorBody),
        (status = 503, response = Overloaded),
    ),
    security(()),
)]
/// 200 once the password is set; the person then logs in with it.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<Json<Done>, ApiError> {
    let password = Password::new(body.password.as_deref().unwrap_or_default());
    flows::reset_password(&state, body.token.as_deref(), &password, &meta).await?;
    Ok(Json(Done {
        status: "password_reset",
    }))
}
