//! `POST /password/reset` (ask for a reset link) and `POST
//! /password/reset/confirm` (set the new password with it), as JSON. Their
//! forms go to `pages::password_reset`; so does `GET /password/reset`, the
//! page behind the emailed link.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::json::ApiJson;
use super::meta::Meta;
use crate::domain::Password;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct ResetRequestBody {
    email: Option<String>,
}

/// Always 202 for a well-formed address, whether or not it has an account.
pub(super) async fn request(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    flows::request_password_reset(&state, body.email.as_deref(), &meta).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "message": "If this address has an account, an email with a link to choose a new password is on its way." }),
        ),
    ))
}

#[derive(Deserialize)]
pub(super) struct ResetConfirmBody {
    token: Option<String>,
    password: Option<String>,
}

/// 200 once the password is set; the person then logs in with it.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<Json<Value>, ApiError> {
    let password = Password::new(body.password.as_deref().unwrap_or_default());
    flows::reset_password(&state, body.token.as_deref(), &password, &meta).await?;
    Ok(Json(json!({ "status": "password_reset" })))
}
