use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use super::json::ApiJson;
use super::meta::Meta;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct ResendBody {
    email: Option<String>,
}

/// Always 202 for a well-formed address, whether or not it has an account.
/// (A Resend form's post goes to `pages::resend::submit`.)
pub(super) async fn post(
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
