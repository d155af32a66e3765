use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiError;
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, ErrorBody, NotJson, RateLimited, TooLarge};
use super::views::Accepted;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[schema(as = ResendRequest)]
pub(super) struct ResendBody {
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
}

/// Always 202 for a well-formed address, whether or not it has an account.
/// (A Resend form's post goes to `pages::resend::submit`.)
#[utoipa::path(
    post, path = "/verify/resend", tag = "sign-up",
    description = "Sends a fresh verification link to a pending account; every earlier link of \
        that account stops working. The answer is the same whether or not the address has an \
        account. (A form body is the Resend form of the pages: it answers HTML.)",
    request_body = ResendBody,
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
pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ResendBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    flows::resend_verification(&state, body.email.as_deref(), &meta).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "If this address has an account waiting for verification, a new link is on its way.",
        }),
    ))
}
