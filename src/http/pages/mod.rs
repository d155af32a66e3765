//! The browser's pages: HTML rendered by askama templates
//! (`templates/pages/`), one stylesheet and one script embedded in the
//! binary, and form posts that work without JavaScript. Each page is one
//! file; like the API handlers they decode, call a flow, and render.
//!
//! Links in the pages start with `root`, the path of the public URL, so the
//! pages also work when a proxy serves the service under a base path.

mod assets;
mod check_inbox;
pub(super) mod csrf;
pub(super) mod dashboard;
mod errors;
mod fields;
mod headers;
mod negotiate;
pub(super) mod resend;
pub(super) mod signup;
pub(super) mod verify;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub(super) use errors::ErrorPage;
pub(super) use headers::security_headers;
pub(super) use negotiate::{asks_for_html, is_form, wants_html};

use crate::state::AppState;

/// The pages' own routes; the form posts share their paths with the API
/// (`POST /register`, `/verify/resend`, `/logout`) and are routed there.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("signup") }))
        .route("/signup", get(signup::get))
        .route("/check-inbox", get(check_inbox::get))
        .route("/resend", get(resend::get))
        .route("/dashboard", get(dashboard::get))
        .route("/static/app.css", get(assets::stylesheet))
        .route("/static/app.js", get(assets::script))
}

/// A rendered page with its status. Pages carry CSRF tokens and personal
/// data, so no cache keeps them.
pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(error = %error, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Try again later.",
            )
                .into_response()
        }
    }
}

/// The path every link in a page starts with: `/`, or `/base/` when the
/// public URL has a path.
pub(super) fn root(state: &AppState) -> String {
    let path = state.composer.public_url().path().trim_end_matches('/');
    format!("{path}/")
}

/// 303 See Other to a page, by its path below the public URL: after a form
/// post the browser follows with a GET, so reloading never posts twice.
pub(super) fn see_other(state: &AppState, path: &str, query: &[(&str, &str)]) -> Response {
    let mut url = state.composer.public_link(path);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Redirect::to(url.as_str()).into_response()
}
