use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiError;
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, ErrorBody, NotJson, Overloaded, RateLimited, TooLarge};
use super::views::UserEnvelope;
use crate::domain::Password;
use crate::flows::{self, RegisterInput};
use crate::state::AppState;

/// A sign-up. Every field is checked, and every problem reported at once.
#[derive(Deserialize, ToSchema)]
#[schema(as = RegisterRequest)]
pub(super) struct RegisterBody {
    /// 1 to 100 characters once trimmed; no control characters.
    #[schema(required, nullable = false)]
    name: Option<String>,
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
    /// Checked against the password policy (length, common passwords,
    /// strength); `POST /password/check` gives the same verdict.
    #[schema(required, nullable = false, format = Password)]
    password: Option<String>,
}

/// The API (and the sign-up page's script); the form the page posts without
/// JavaScript goes to `pages::signup::submit` (see `http::router`).
#[utoipa::path(
    post, path = "/register", tag = "sign-up",
    description = "Creates a pending account and queues its verification email. \
        (A `application/x-www-form-urlencoded` body is the sign-up page's form: it answers HTML.)",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The account, pending verification: a new one, or the pending account of this address made over to this sign-up", body = UserEnvelope),
        (status = 400, response = BadJson),
        (status = 403, description = "`registration_closed`: sign-up is by invitation only (`LATCHKEY_REGISTRATION=invitation`)", body = ErrorBody),
        (status = 409, description = "`email_taken`: an active or disabled account has the address", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields`", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Overloaded),
    ),
    security(()),
)]
pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<UserEnvelope>), ApiError> {
    let input = RegisterInput {
        name: body.name,
        email: body.email,
        password: body.password.as_deref().map(Password::new),
    };
    let user = flows::register(&state, input, &meta).await?;
    Ok((StatusCode::CREATED, Json(UserEnvelope::from(&user))))
}
