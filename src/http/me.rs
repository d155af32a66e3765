use axum::Json;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::ApiError;
use super::bearer::Authenticated;
use super::meta::Meta;
use super::pages;
use super::session::{SignedIn, removal_cookie};
use super::views::UserView;
use crate::flows;
use crate::state::AppState;

/// The signed-in account, by session cookie or Bearer access token.
pub(super) async fn get(Authenticated(user): Authenticated) -> Json<serde_json::Value> {
    Json(json!({ "user": UserView::from(&user) }))
}

/// The API's logout (204), or the dashboard's Log out form (303 to sign-up).
pub(super) async fn logout(State(state): State<AppState>, request: Request) -> Response {
    if pages::is_form(request.headers()) {
        pages::dashboard::logout.call(request, state).await
    } else {
        api_logout.call(request, state).await
    }
}

/// Ends the session server-side and clears the cookie.
async fn api_logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    SignedIn(session): SignedIn,
) -> Result<(StatusCode, CookieJar), ApiError> {
    flows::end_session(&state, &session, &meta).await?;
    Ok((StatusCode::NO_CONTENT, jar.add(removal_cookie(&state))))
}
