//! `POST /password/change` as JSON, with the session cookie or a Bearer
//! access token. (The dashboard's form goes to `pages::password_change`.)

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::bearer::Caller;
use super::json::ApiJson;
use super::meta::Meta;
use crate::domain::Password;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct ChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// 200 once changed; the caller's own session stays, every other one ends.
pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    caller: Caller,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Json<Value>, ApiError> {
    let current = Password::new(body.current_password.as_deref().unwrap_or_default());
    let new = Password::new(body.new_password.as_deref().unwrap_or_default());
    flows::change_password(&state, &caller.user, caller.session, &current, &new, &meta).await?;
    Ok(Json(json!({ "status": "password_changed" })))
}
