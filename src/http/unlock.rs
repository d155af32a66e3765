//! GET /login/unlock?token=: the link emailed when the login throttle locks
//! an account. JSON for API clients, a page for the browser.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiError;
use super::meta::Meta;
use super::openapi::ErrorBody;
use super::pages;
use super::views::Done;
use crate::flows::FlowError;
use crate::flows::unlock::unlock_login;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UnlockQuery {
    /// The token of the link in the "sign-in was locked" email.
    #[param(required, nullable = false)]
    token: Option<String>,
}

#[utoipa::path(
    get, path = "/login/unlock", tag = "login",
    description = "The link emailed when failed logins lock an address: it forgets the \
        failures, once, within 24 hours. JSON when `Accept` prefers `application/json`, a page \
        otherwise (`Vary: Accept`).",
    params(UnlockQuery),
    responses(
        (status = 200, description = "Sign-in works again", content(
            (Done = "application/json"), (String = "text/html"))),
        (status = 400, description = "`invalid_token`: unknown, malformed, used or expired", content(
            (ErrorBody = "application/json"), (String = "text/html"))),
    ),
    security(()),
)]
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
        (Ok(()), false) => (StatusCode::OK, Json(Done { status: "unlocked" })).into_response(),
        (Err(error), true) => pages::ErrorPage::from_api(&state, &ApiError::from(error)),
        (Err(error), false) => ApiError::from(error).into_response(),
    };
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    response
}
