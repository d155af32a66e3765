//! The session cookie and the extractors that read it.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use super::ApiError;
use crate::domain::SessionToken;
use crate::flows::{self, CurrentSession, FlowError};
use crate::state::AppState;

/// `__Host-` makes the browser refuse the cookie unless it is `Secure`, has
/// `Path=/` and no `Domain`: no subdomain can plant or read it.
pub(crate) fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-latchkey_session"
    } else {
        "latchkey_session"
    }
}

/// The cookie that carries a new session: `HttpOnly` (no script can read it),
/// `SameSite=Lax` (not sent on cross-site POSTs), `Secure` over https.
pub(crate) fn session_cookie(state: &AppState, token: &SessionToken) -> Cookie<'static> {
    Cookie::build((cookie_name(state), token.encode()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .build()
}

/// Tells the browser to forget the session cookie.
pub(crate) fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(state, &SessionToken::generate());
    cookie.make_removal();
    cookie
}

/// The live session, if the request carries one.
#[derive(Debug)]
pub(crate) struct MaybeSignedIn(pub(crate) Option<CurrentSession>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(cookie_name(state)) else {
            return Ok(Self(None));
        };
        Ok(Self(flows::resume_session(state, cookie.value()).await?))
    }
}

/// A browser that signs in again gets a new session cookie; the live session
/// its old cookie named is ended rather than left behind with no one holding
/// its cookie (OWASP ASVS 5.0 7.2.4).
pub(crate) async fn end_replaced(
    state: &AppState,
    jar: &CookieJar,
    meta: &crate::audit::RequestMeta,
) -> Result<(), FlowError> {
    let Some(cookie) = jar.get(cookie_name(state)) else {
        return Ok(());
    };
    match flows::resume_session(state, cookie.value()).await? {
        Some(previous) => flows::end_session(state, &previous, meta).await,
        None => Ok(()),
    }
}

/// A live session, or `401 unauthenticated`.
#[derive(Debug)]
pub(crate) struct SignedIn(pub(crate) CurrentSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match MaybeSignedIn::from_request_parts(parts, state).await? {
            MaybeSignedIn(Some(session)) => Ok(Self(session)),
            MaybeSignedIn(None) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Sign in to continue.",
            )),
        }
    }
}
