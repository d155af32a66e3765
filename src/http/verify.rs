use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use super::meta::Meta;
use super::session::session_cookie;
use super::views::UserView;
use crate::flows::{self, FlowError};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct VerifyQuery {
    token: Option<String>,
}

/// Activates the account. The first use of a link also signs the person in;
/// a link that was already used does not, or it would be a 24-hour password.
pub(super) async fn get(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<(CookieJar, Json<serde_json::Value>), ApiError> {
    // A mangled query string is just another invalid link.
    let Ok(Query(query)) = query else {
        return Err(FlowError::InvalidToken.into());
    };
    let verified = flows::verify_email(&state, query.token.as_deref(), &meta).await?;
    let jar = if verified.already_verified {
        jar
    } else {
        let session = flows::start_session(&state, &verified.user, &meta).await?;
        jar.add(session_cookie(&state, &session.token))
    };
    let body = json!({ "user": UserView::from(&verified.user), "already_verified": verified.already_verified });
    Ok((jar, Json(body)))
}
