use axum::Json;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use super::json::ApiJson;
use super::meta::Meta;
use super::pages;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct ResendBody {
    email: Option<String>,
}

/// JSON for the API; an HTML form post from a Resend form.
pub(super) async fn post(State(state): State<AppState>, request: Request) -> Response {
    if pages::is_form(request.headers()) {
        pages::resend::submit.call(request, state).await
    } else {
        json.call(request, state).await
    }
}

/// Always 202 for a well-formed address, whether or not it has an account.
async fn json(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ResendBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    flows::resend_verification(&state, body.email.as_deref(), &meta).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "message": "If this address has an account waiting for verification, a new link is on its way." }),
        ),
    ))
}
