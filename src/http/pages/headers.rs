//! Security headers on every answer, pages and API alike, and
//! `Cache-Control: no-store` unless the handler chose otherwise.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// Only our own script, stylesheet and form targets; no inline code, no
/// plugins, no framing. `data:` images only for the empty favicon and the
/// TOTP set-up's QR code (an SVG, base64 in an `<img src>`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Added unless the handler set its own. `no-referrer` everywhere: the
/// verify page has a token in its URL, and no other page needs to tell
/// anyone where a person came from.
pub(in crate::http) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in set {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    // Answers carry secrets (access tokens, `mfa_token`s, recovery codes,
    // TOTP keys, CSRF tokens) or personal data (`/me`, sessions): no cache,
    // shared or private, keeps any. The only answers a cache may keep say
    // so themselves: the static assets and the JWKS.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
