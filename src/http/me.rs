use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::ApiError;
use super::bearer::Authenticated;
use super::meta::Meta;
use super::session::{SignedIn, removal_cookie};
use super::views::UserView;
use crate::flows;
use crate::state::AppState;

/// The signed-in account, by session cookie or Bearer access token.
pub(super) async fn get(Authenticated(user): Authenticated) -> Json<serde_json::Value> {
    Json(json!({ "user": UserView::from(&user) }))
}

/// Ends the session server-side and clears the cookie: 204. (The
/// dashboard's Log out form goes to `pages::dashboard::logout`.)
pub(super) async fn logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    SignedIn(session): SignedIn,
) -> Result<(StatusCode, CookieJar), ApiError> {
    flows::end_session(&state, &session, &meta).await?;
    Ok((StatusCode::NO_CONTENT, jar.add(removal_cookie(&state))))
}
