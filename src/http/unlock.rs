//! GET /login/unlock?token=: the link emailed when the login throttle locks
//! an account. JSON for API clients, a page for the browser.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use super::meta::Meta;
use super::pages;
use crate::flows::FlowError;
use crate::flows::unlock::unlock_login;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct UnlockQuery {
    token: Option<String>,
}

pub(super) async fn get(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    query: Result<Query<UnlockQuery>, QueryRejection>,
) -> Response {
    let token = query.ok().and_then(|Query(query)| query.token);
    let outcome = match token {
        Some(token) => unlock_login(&state, Some(&token), &meta).await,
        None => Err(FlowError::InvalidToken),
    };
    let mut response = match (outcome, pages::wants_html(&headers)) {
        (Ok(()), true) => pages::unlocked::page(&state),
        (Ok(()), false) => (StatusCode::OK, Json(json!({ "status": "unlocked" }))).into_response(),
        (Err(error), true) => pages::ErrorPage::from_api(&state, &ApiError::from(error)),
        (Err(error), false) => ApiError::from(error).into_response(),
    };
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    response
}
