//! The page the unlock link opens: sign-in works again.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::render;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/unlocked.html")]
struct UnlockedPage {
    root: String,
}

pub(in crate::http) fn page(state: &AppState) -> Response {
    render(
        StatusCode::OK,
        &UnlockedPage {
            root: super::root(state),
        },
    )
}
