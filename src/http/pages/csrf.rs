//! Cross-site request forgery protection for form posts.
//!
//! Double submit: each browser gets a random 256-bit token in an `HttpOnly`,
//! `SameSite=Lax` cookie (`__Host-` prefixed over https, so no subdomain can
//! plant one), every form carries the same token in a hidden `csrf_token`
//! field, and a post is accepted only when the two match (compared in
//! constant time).
//! Another site can make a browser post, but cannot read or set our cookie,
//! so it cannot know the token. Before that, the fetch-metadata and origin
//! headers must not name another site. The JSON API's cookie-authenticated
//! requests get the same origin check, and must be JSON
//! (`http::cross_site`).

use axum::http::{HeaderMap, header};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use url::Url;

use crate::domain::CsrfToken;
use crate::state::AppState;

fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-latchkey_csrf"
    } else {
        "latchkey_csrf"
    }
}

/// The browser's token for a page's forms (a new one for a new browser), and
/// the jar that sets its cookie. A session cookie (gone when the browser
/// closes), re-sent with every page; the token stays the same meanwhile, so
/// several open tabs all post.
pub(in crate::http) fn ensure(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let token = jar
        .get(cookie_name(state))
        .and_then(|cookie| CsrfToken::parse(cookie.value()).ok())
        .unwrap_or_else(CsrfToken::generate);
    let encoded = token.encode();
    let cookie = Cookie::build((cookie_name(state), encoded.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .build();
    (jar.add(cookie), encoded)
}

/// Why a form post was refused; logged, never shown in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::http) enum Refusal {
    CrossSite,
    MissingCookie,
    Mismatch,
}

/// Accepts a form post only from our own pages.
pub(in crate::http) fn check(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
    submitted: Option<&str>,
) -> Result<(), Refusal> {
    if !same_origin(state.composer.public_url(), headers) {
        return Err(Refusal::CrossSite);
    }
    let cookie = jar
        .get(cookie_name(state))
        .and_then(|cookie| CsrfToken::parse(cookie.value()).ok())
        .ok_or(Refusal::MissingCookie)?;
    let submitted = submitted
        .and_then(|raw| CsrfToken::parse(raw).ok())
        .ok_or(Refusal::Mismatch)?;
    if cookie.matches(&submitted) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}

/// False when a header says the post came from another origin. Browsers
/// send `Origin: null` from a page whose referrer policy is `no-referrer`
/// (ours), so `null` proves nothing either way; `Sec-Fetch-Site` is sent
/// whatever the policy. A missing header is not a refusal: old browsers and
/// scripts send none, and the token still has to match.
pub(in crate::http) fn same_origin(public_url: &Url, headers: &HeaderMap) -> bool {
    let ours = Some(public_url.origin());
    let header_str = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let origin_of = |value: &str| Url::parse(value).ok().map(|url| url.origin());
    let site = header_str(header::HeaderName::from_static("sec-fetch-site"));
    if site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return false;
    }
    let origin = header_str(header::ORIGIN);
    if origin.is_some_and(|origin| origin != "null" && origin_of(origin) != ours) {
        return false;
    }
    let referer = header_str(header::REFERER);
    if referer.is_some_and(|referer| origin_of(referer) != ours) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn another_site_is_refused_by_any_header_that_names_it() {
        let ours = Url::parse("https://auth.example.com/base/").unwrap();
        assert!(same_origin(&ours, &headers(&[])));
        assert!(same_origin(
            &ours,
            &headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://auth.example.com")
            ])
        ));
        assert!(same_origin(&ours, &headers(&[("origin", "null")])));
        assert!(same_origin(
            &ours,
            &headers(&[("referer", "https://auth.example.com/base/signup")])
        ));
        for refused in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "http://auth.example.com")]),
            headers(&[("origin", "https://auth.example.com:8443")]),
            headers(&[("referer", "https://evil.example/form")]),
            headers(&[("origin", "garbage")]),
        ] {
            assert!(!same_origin(&ours, &refused), "{refused:?}");
        }
    }
}
