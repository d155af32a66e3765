//! The stylesheet and the scripts, compiled into the binary.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

const STYLESHEET: &str = include_str!("../../../static/app.css");
const SCRIPT: &str = include_str!("../../../static/app.js");
const PASSKEYS: &str = include_str!("../../../static/passkeys.js");

/// An hour: long enough to spare requests, short enough that a new release
/// reaches browsers soon without fingerprinted file names.
const CACHE_CONTROL: &str = "public, max-age=3600";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        body,
    )
}

#[utoipa::path(get, path = "/static/app.css", tag = "pages",
    responses((status = 200, description = "The stylesheet", body = String, content_type = "text/css")),
    security(()))]
pub(super) async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

#[utoipa::path(get, path = "/static/app.js", tag = "pages",
    responses((status = 200, description = "The pages' script", body = String, content_type = "text/javascript")),
    security(()))]
pub(super) async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

#[utoipa::path(get, path = "/static/passkeys.js", tag = "pages",
    responses((status = 200, description = "The passkey pages' script", body = String, content_type = "text/javascript")),
    security(()))]
pub(super) async fn passkeys_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", PASSKEYS)
}
