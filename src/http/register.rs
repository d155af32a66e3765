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

/// JSON for the API (and the sign-up page's script); an HTML form post from
/// the sign-up page without JavaScript. Any other body is 415 as before.
pub(super) async fn post(State(state): State<AppState>, request: Request) -> Response {
    if pages::is_form(request.headers()) {
        pages::signup::submit.call(request, state).await
    } else {
        json.call(request, state).await
    }
}

async fn json(
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
