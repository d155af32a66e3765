//! POST /login and what a login hands back.

use axum::Json;
use axum::extract::State;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::device::device_cookie;
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, ErrorBody, NotJson, Overloaded, TooLarge};
use super::session::{end_replaced, session_cookie};
use super::views::{UserView, string_enum};
use crate::domain::User;
use crate::flows::mfa::Challenge;
use crate::flows::{self, FlowError, LoginOutcome, StartedSession};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[schema(as = LoginRequest)]
pub(super) struct LoginBody {
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
    #[schema(required, nullable = false, format = Password)]
    password: Option<String>,
}

/// A finished login: the session cookie comes with it (`Set-Cookie`).
#[derive(Serialize, ToSchema)]
pub(super) struct AuthenticatedBody {
    #[schema(schema_with = status_authenticated)]
    status: &'static str,
    user: UserView,
    /// A JWT (`EdDSA`, `typ: at+jwt`), bound to the session.
    access_token: String,
    #[schema(schema_with = bearer)]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Only when confirming the first factor finished the login: shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub(super) recovery_codes: Option<Vec<String>>,
}

fn status_authenticated() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["authenticated"])
}

pub(super) fn bearer() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["Bearer"])
}

fn status_challenge() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["mfa_required", "mfa_enrollment_required"])
}

fn factor_methods() -> utoipa::openapi::ArrayBuilder {
    utoipa::openapi::ArrayBuilder::new().items(string_enum(&[
        "totp",
        "sms",
        "email",
        "recovery_code",
    ]))
}

/// A second step is needed: prove a factor (`mfa_required`) or set one up
/// (`mfa_enrollment_required`). The `mfa_token` also comes as a cookie.
#[derive(Serialize, ToSchema)]
pub(super) struct ChallengeBody {
    #[schema(schema_with = status_challenge)]
    status: &'static str,
    mfa_token: String,
    /// The factors that may answer the challenge (or may be set up).
    #[schema(schema_with = factor_methods)]
    methods: Vec<&'static str>,
    /// Seconds until the challenge expires.
    expires_in: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum LoginAnswer {
    Authenticated(AuthenticatedBody),
    Challenge(ChallengeBody),
}

#[utoipa::path(
    post, path = "/login", tag = "login",
    description = "Checks the password; the answer is a finished login or a second step. \
        A wrong password and an unknown email answer alike. (A form body is the login page's \
        form: it answers 303 or HTML.)",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Authenticated, or a second step", body = LoginAnswer),
        (status = 400, response = BadJson),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`email_not_verified` (only with the right password)", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, description = "`rate_limited` (with `Retry-After`), or `login_locked`: too many \
            consecutive failures for this address; a known device or the emailed unlock link gets in", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)"))),
        (status = 503, response = Overloaded),
    ),
    security(()),
)]
pub(super) async fn post(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<(CookieJar, Json<LoginAnswer>), ApiError> {
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
            let (jar, Json(body)) = authenticated(&state, jar, &user, &session).await?;
            (jar, Json(LoginAnswer::Authenticated(body)))
        }
        LoginOutcome::MfaRequired(challenge) => {
            challenge_answer(&state, jar, "mfa_required", &challenge)
        }
        LoginOutcome::EnrollmentRequired(challenge) => {
            // Enrolment prefers a session to the challenge: one left from
            // another account would have the factor set up for it.
            end_replaced(&state, &jar, &meta).await?;
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
) -> Result<(CookieJar, Json<AuthenticatedBody>), ApiError> {
    let issued = state
        .tokens
        .issue(user.id, Some(session.for_tokens()))
        .await
        .map_err(|error| FlowError::Internal(Box::new(error)))?;
    let jar = signed_in(state, jar, session);
    let body = AuthenticatedBody {
        status: "authenticated",
        user: UserView::from(user),
        access_token: issued.access_token,
        token_type: issued.token_type,
        expires_in: issued.expires_in,
        recovery_codes: None,
    };
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
    status: &'static str,
    challenge: &Challenge,
) -> (CookieJar, Json<LoginAnswer>) {
    let body = ChallengeBody {
        status,
        mfa_token: challenge.token.encode(),
        methods: challenge.methods.clone(),
        expires_in: challenge.expires_in,
    };
    (
        jar.add(challenge_cookie(state, challenge)),
        Json(LoginAnswer::Challenge(body)),
    )
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
