use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use super::meta::Meta;
use super::views::UserView;
use crate::flows::{self, FlowError};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct VerifyQuery {
    token: Option<String>,
}

pub(super) async fn get(
    State(state): State<AppState>,
    Meta(meta): Meta,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // A mangled query string is just another invalid link.
    let Ok(Query(query)) = query else {
        return Err(FlowError::InvalidToken.into());
    };
    let verified = flows::verify_email(&state, query.token.as_deref(), &meta).await?;
    Ok(Json(
        json!({ "user": UserView::from(&verified.user), "already_verified": verified.already_verified }),
    ))
}
