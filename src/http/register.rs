use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use super::json::ApiJson;
use super::meta::Meta;
use super::views::UserView;
use crate::domain::Password;
use crate::flows::{self, RegisterInput};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct RegisterBody {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// The API (and the sign-up page's script); the form the page posts without
/// JavaScript goes to `pages::signup::submit` (see `http::router`).
pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let input = RegisterInput {
        name: body.name,
        email: body.email,
        password: body.password.as_deref().map(Password::new),
    };
    let user = flows::register(&state, input, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user": UserView::from(&user) })),
    ))
}
