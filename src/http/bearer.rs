//! `Authorization: Bearer <access token>` (RFC 6750), accepted wherever the
//! `Authenticated` extractor is, as an alternative to the session cookie.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::ApiError;
use super::session::MaybeSignedIn;
use crate::domain::User;
use crate::flows;
use crate::state::AppState;

/// An active account, proven by a valid access token or else by a live
/// session cookie. A request that carries a Bearer token is judged by the
/// token alone: a bad token is refused even next to a good cookie.
#[derive(Debug)]
pub(crate) struct Authenticated(pub(crate) User);

pub(super) enum Credential<'a> {
    /// No `Authorization: Bearer` header: look for the cookie.
    Absent,
    Bearer(&'a str),
    /// An empty token, or several Bearer headers.
    Malformed,
}

pub(super) fn bearer(headers: &HeaderMap) -> Credential<'_> {
    let mut tokens = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| value.trim().split_once(' ').unwrap_or((value.trim(), "")))
        // The scheme is case-insensitive (RFC 9110 11.1).
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match (tokens.next(), tokens.next()) {
        (None, _) => Credential::Absent,
        (Some(token), None) if !token.is_empty() => Credential::Bearer(token),
        _ => Credential::Malformed,
    }
}

/// 401 with the challenge RFC 6750 3 asks for; `invalid_token` tells a client
/// to get a new token rather than to ask the person to sign in again.
fn unauthorized(invalid_token: bool) -> Response {
    let (challenge, error) = if invalid_token {
        (
            r#"Bearer realm="latchkey", error="invalid_token""#,
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_access_token",
                "The access token is invalid or has expired.",
            ),
        )
    } else {
        (
            r#"Bearer realm="latchkey""#,
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Sign in to continue.",
            ),
        )
    };
    ([(header::WWW_AUTHENTICATE, challenge)], error).into_response()
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state)
            .await
            .map(|caller| Self(caller.user))
    }
}

/// `Authenticated`, with the session the credential speaks for: the
/// cookie's, or the one an access token names in `sid` (`None` for a token
/// issued without a session).
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) user: User,
    pub(crate) session: Option<Uuid>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(&parts.headers) {
            Credential::Bearer(token) => {
                match flows::authenticate_access_token(state, token).await {
                    Ok(Some(identity)) => Ok(Self {
                        user: identity.user,
                        session: identity.claims.sid,
                    }),
                    Ok(None) => Err(unauthorized(true)),
                    Err(error) => Err(ApiError::from(error).into_response()),
                }
            }
            Credential::Malformed => Err(unauthorized(true)),
            Credential::Absent => match MaybeSignedIn::from_request_parts(parts, state).await {
                Ok(MaybeSignedIn(Some(session))) => Ok(Self {
                    user: session.user,
                    session: Some(session.id),
                }),
                Ok(MaybeSignedIn(None)) => Err(unauthorized(false)),
                Err(error) => Err(error.into_response()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_one_non_empty_bearer_token_counts() {
        assert!(matches!(bearer(&headers(&[])), Credential::Absent));
        assert!(matches!(
            bearer(&headers(&["Basic dXNlcjpwYXNz"])),
            Credential::Absent
        ));
        assert!(matches!(
            bearer(&headers(&["bearer abc.def.ghi"])),
            Credential::Bearer("abc.def.ghi")
        ));
        assert!(matches!(
            bearer(&headers(&["Bearer  abc "])),
            Credential::Bearer("abc")
        ));
        assert!(matches!(
            bearer(&headers(&["Bearer "])),
            Credential::Malformed
        ));
        assert!(matches!(
            bearer(&headers(&["Bearer a", "Bearer b"])),
            Credential::Malformed
        ));
    }
}
