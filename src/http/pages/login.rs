//! `GET /login`, and `POST /login` sent by its form: 303 to the dashboard,
//! to `/mfa` for the second factor, or to `/mfa/setup` when one must be set
//! up first; or the page again with what went wrong.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::fields::Field;
use super::{ErrorPage, accept_form, csrf, render, see_other};
use crate::domain::FactorKind;
use crate::flows::{self, CurrentSession, FlowError, LoginOutcome, mfa};
use crate::http::ApiError;
use crate::http::login::{challenge_cookie, signed_in};
use crate::http::meta::Meta;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

/// Why the last attempt failed, in the words the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    WrongCredentials,
    NotVerified,
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    root: String,
    csrf: String,
    email: Field,
    problem: Option<Problem>,
    /// Signed in already: the page asks to sign in again (a factor change
    /// needs a recent sign-in).
    signed_in_as: Option<String>,
    /// After a password reset: log in with the new password.
    password_reset: bool,
    /// "Sign in with a passkey" (the public URL is a domain name, and
    /// passkeys are allowed).
    passkeys: bool,
}

impl LoginPage {
    fn wrong_credentials(&self) -> bool {
        self.problem == Some(Problem::WrongCredentials)
    }

    fn not_verified(&self) -> bool {
        self.problem == Some(Problem::NotVerified)
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LoginQuery {
    /// Fills the form in.
    email: Option<String>,
    /// `reset`: a password reset just finished.
    password: Option<String>,
}

#[utoipa::path(get, path = "/login", tag = "pages",
    description = "The log-in page. (`POST /login` is the API, and the page's form.)",
    params(LoginQuery), responses((status = 200, description = "The page", body = String, content_type = "text/html")), security(("session" = []), ()))]
pub(super) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let signed_in_as = session.map(|session| session.user.email.as_str().to_owned());
    let query = query.ok().map(|Query(query)| query);
    let password_reset = query
        .as_ref()
        .is_some_and(|query| query.password.as_deref() == Some("reset"));
    let email = query
        .and_then(|query| query.email)
        .or_else(|| signed_in_as.clone());
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = LoginPage {
        root: super::root(&state),
        csrf,
        email: Field::filled(email.as_deref()),
        problem: None,
        signed_in_as,
        password_reset,
        passkeys: mfa::available(&state, FactorKind::Passkey),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
pub(in crate::http) struct LoginForm {
    email: Option<String>,
    password: Option<String>,
    csrf_token: Option<String>,
}

pub(in crate::http) async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(previous): MaybeSignedIn,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &LoginForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = flows::login(
        &state,
        form.email.as_deref(),
        form.password.as_deref(),
        &meta,
    )
    .await;
    let (status, problem) = match outcome {
        Ok(LoginOutcome::Authenticated { session, .. }) => {
            if let Err(error) = replace(&state, previous, &meta).await {
                return ErrorPage::from_api(&state, &ApiError::from(error));
            }
            let jar = signed_in(&state, jar, &session);
            return (jar, see_other(&state, "dashboard", &[])).into_response();
        }
        Ok(LoginOutcome::MfaRequired(challenge)) => {
            let jar = jar.add(challenge_cookie(&state, &challenge));
            return (jar, see_other(&state, "mfa", &[])).into_response();
        }
        Ok(LoginOutcome::EnrollmentRequired(challenge)) => {
            // The set-up page prefers a session to the challenge: one left
            // from another account would have the factor set up for it.
            if let Err(error) = replace(&state, previous, &meta).await {
                return ErrorPage::from_api(&state, &ApiError::from(error));
            }
            let jar = jar.add(challenge_cookie(&state, &challenge));
            return (jar, see_other(&state, "mfa/setup", &[])).into_response();
        }
        Err(FlowError::InvalidCredentials) => (StatusCode::UNAUTHORIZED, Problem::WrongCredentials),
        Err(FlowError::EmailNotVerified) => (StatusCode::FORBIDDEN, Problem::NotVerified),
        Err(other) => return ErrorPage::from_api(&state, &ApiError::from(other)),
    };
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = LoginPage {
        root: super::root(&state),
        csrf,
        email: Field::filled(form.email.as_deref().map(str::trim)),
        problem: Some(problem),
        signed_in_as: previous.map(|session| session.user.email.as_str().to_owned()),
        password_reset: false,
        passkeys: mfa::available(&state, FactorKind::Passkey),
    };
    (jar, render(status, &page)).into_response()
}

/// A browser that signs in again gets a new session cookie; the session
/// the old cookie named is ended rather than left behind with no one
/// holding its cookie.
pub(super) async fn replace(
    state: &AppState,
    previous: Option<CurrentSession>,
    meta: &crate::audit::RequestMeta,
) -> Result<(), FlowError> {
    match previous {
        Some(session) => flows::end_session(state, &session, meta).await,
        None => Ok(()),
    }
}
