//! Cross-site request forgery protection for the JSON API.
//!
//! Form posts check a double-submit token (`pages::csrf`). The JSON
//! endpoints that a session cookie (or the second step's `latchkey_mfa`
//! cookie) authorises need a check too: `SameSite=Lax` keeps the cookie
//! off cross-site posts but not off posts from a sibling subdomain (same
//! site, another origin), and an old browser may ignore it. So a request
//! that changes state and carries one of those cookies is refused unless
//!
//! - neither `Sec-Fetch-Site` nor `Origin` (nor `Referer`) names another
//!   origin than the public URL's, and
//! - a `POST` says its body is JSON: a page of another origin can send
//!   `text/plain`, `multipart/form-data`, a form or no body at all without
//!   asking first, but `application/json` only after a CORS preflight,
//!   which this service never grants. (Other methods, like `DELETE`, need
//!   a preflight whatever their body.)
//!
//! Requests without those cookies (a Bearer token, or no credentials) are
//! not affected: a browser attaches no `Authorization` header by itself, so
//! another site cannot borrow it. HTML form posts are left to their own
//! check, which also wants the token.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::ApiError;
use super::json::not_json;
use super::login::mfa_cookie_name;
use super::pages::{csrf, is_form};
use super::session::cookie_name;
use crate::state::AppState;

pub(super) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let exempt = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || is_form(headers)
        || !carries_cookie_credentials(&state, headers);
    if exempt {
        return next.run(request).await;
    }
    if !csrf::same_origin(state.composer.public_url(), headers) {
        tracing::info!("cookie-authenticated request from another origin refused");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "This request came from another site and was refused.",
        )
        .into_response();
    }
    if request.method() == Method::POST && !is_json(headers) {
        return not_json().into_response();
    }
    next.run(request).await
}

/// The session cookie or the second step's cookie: what a browser would
/// send on its own.
fn carries_cookie_credentials(state: &AppState, headers: &HeaderMap) -> bool {
    let jar = CookieJar::from_headers(headers);
    jar.get(cookie_name(state)).is_some() || jar.get(mfa_cookie_name(state)).is_some()
}

/// `application/json` or `application/*+json`, as the JSON extractor takes.
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase())
        .is_some_and(|media| {
            media == "application/json"
                || media
                    .strip_prefix("application/")
                    .is_some_and(|subtype| subtype.ends_with("+json"))
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_json_media_types_count_as_json() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(is_json(&with("application/json")));
        assert!(is_json(&with("Application/JSON; charset=utf-8")));
        assert!(is_json(&with("application/merge-patch+json")));
        assert!(!is_json(&with("text/plain")));
        assert!(!is_json(&with("multipart/form-data; boundary=x")));
        assert!(!is_json(&with("text/json+plain")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
