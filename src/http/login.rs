//! POST /login and what a login hands back.

use axum::Json;
use axum::extract::State;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::device::device_cookie;
use super::json::ApiJson;
use super::meta::Meta;
use super::session::{end_replaced, session_cookie};
use super::views::UserView;
use crate::domain::User;
use crate::flows::mfa::Challenge;
use crate::flows::{self, FlowError, LoginOutcome, StartedSession};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<(CookieJar, Json<Value>), ApiError> {
    let outcome = flows::login(
        &state,
        body.email.as_deref(),
        body.password.as_deref(),
        &meta,
    )
    .await?;
    Ok(match outcome {
        LoginOutcome::Authenticated { user, session } => {
            end_replaced(&state, &jar, &meta).await?;
            authenticated(&state, jar, &user, &session).await?
        }
        LoginOutcome::MfaRequired(challenge) => {
            challenge_answer(&state, jar, "mfa_required", &challenge)
        }
        LoginOutcome::EnrollmentRequired(challenge) => {
            challenge_answer(&state, jar, "mfa_enrollment_required", &challenge)
        }
    })
}

/// The answer to any step that ends a login: the session cookie, the user,
/// and an access token bound to the session (it dies with a logout).
pub(super) async fn authenticated(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    session: &StartedSession,
) -> Result<(CookieJar, Json<Value>), ApiError> {
    let issued = state
        .tokens
        .issue(user.id, Some(session.id))
        .await
        .map_err(|error| FlowError::Internal(Box::new(error)))?;
    let jar = signed_in(state, jar, session);
    let body = json!({
        "status": "authenticated",
        "user": UserView::from(user),
        "access_token": issued.access_token,
        "token_type": issued.token_type,
        "expires_in": issued.expires_in,
    });
    Ok((jar, Json(body)))
}

/// The cookies of a finished login: the new session's, and the end of the
/// `mfa_token` cookie.
pub(super) fn signed_in(state: &AppState, jar: CookieJar, session: &StartedSession) -> CookieJar {
    with_device(
        state,
        jar.add(session_cookie(state, &session.token)),
        session,
    )
    .add(removal(state))
}

/// Adds the device cookie when the session's browser was new to the account.
pub(super) fn with_device(state: &AppState, jar: CookieJar, session: &StartedSession) -> CookieJar {
    match &session.device {
        Some(device) => jar.add(device_cookie(state, device)),
        None => jar,
    }
}

fn challenge_answer(
    state: &AppState,
    jar: CookieJar,
    status: &str,
    challenge: &Challenge,
) -> (CookieJar, Json<Value>) {
    let token = challenge.token.encode();
    let body = json!({ "status": status, "mfa_token": token, "methods": challenge.methods, "expires_in": challenge.expires_in });
    (jar.add(challenge_cookie(state, challenge)), Json(body))
}

/// The challenge's `mfa_token` for browsers: `HttpOnly`, `SameSite=Strict`,
/// as long-lived as the challenge.
pub(super) fn challenge_cookie(state: &AppState, challenge: &Challenge) -> Cookie<'static> {
    Cookie::build((mfa_cookie_name(state), challenge.token.encode()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .max_age(time_duration(challenge.expires_in))
        .build()
}

fn time_duration(seconds: i64) -> time::Duration {
    time::Duration::seconds(seconds)
}

/// The short-lived cookie that carries `mfa_token` for browsers.
pub(super) fn mfa_cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-latchkey_mfa"
    } else {
        "latchkey_mfa"
    }
}

fn removal(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build((mfa_cookie_name(state), ""))
        .path("/")
        .secure(state.secure_cookies)
        .build();
    cookie.make_removal();
    cookie
}

/// The `mfa_token` of a request: from the body, else from the cookie.
pub(super) fn mfa_token(
    state: &AppState,
    jar: &CookieJar,
    from_body: Option<String>,
) -> Option<String> {
    from_body.or_else(|| {
        jar.get(mfa_cookie_name(state))
            .map(|cookie| cookie.value().to_owned())
    })
}
