//! A forgotten password in the browser: `GET /password/forgot` (ask for a
//! link) and its form's `POST /password/reset`; `GET /password/reset?token=`
//! (the emailed link: a form, the link not used yet) and its form's `POST
//! /password/reset/confirm`, which 303s to the login page.

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
use crate::domain::{Password, User, UserStatus};
use crate::flows::{self, FlowError};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::mail::describe_duration;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/password_forgot.html")]
struct ForgotPage {
    root: String,
    csrf: String,
    email: Field,
    /// A request went out: the page says what happens next.
    sent: bool,
    ttl: String,
}

#[derive(Deserialize)]
pub(super) struct ForgotQuery {
    email: Option<String>,
    sent: Option<String>,
}

#[utoipa::path(get, path = "/password/forgot", tag = "pages",
    description = "The \"Forgot your password?\" page: a form that posts to `/password/reset`.",
    responses((status = 200, description = "The page", body = String, content_type = "text/html")), security(()))]
pub(super) async fn forgot(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<ForgotQuery>, QueryRejection>,
) -> Response {
    let query = query.ok().map(|Query(query)| query);
    let (email, sent) = query.map_or((None, false), |query| (query.email, query.sent.is_some()));
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = ForgotPage {
        root: super::root(&state),
        csrf,
        email: Field::filled(email.as_deref()),
        sent,
        ttl: describe_duration(state.password_reset_ttl),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
pub(in crate::http) struct ForgotForm {
    email: Option<String>,
    csrf_token: Option<String>,
}

/// Like the API, the answer never says whether the address has an account.
pub(in crate::http) async fn request(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<ForgotForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &ForgotForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let email = form.email.as_deref().unwrap_or_default().trim();
    match flows::request_password_reset(&state, Some(email), &meta).await {
        Ok(()) => see_other(
            &state,
            "password/forgot",
            &[("email", email), ("sent", "1")],
        ),
        Err(FlowError::Validation(errors)) => {
            let (jar, csrf) = csrf::ensure(&state, jar);
            let page = ForgotPage {
                root: super::root(&state),
                csrf,
                email: Field::checked(Some(email), &errors, "email"),
                sent: false,
                ttl: describe_duration(state.password_reset_ttl),
            };
            (jar, render(StatusCode::UNPROCESSABLE_ENTITY, &page)).into_response()
        }
        Err(other) => ErrorPage::from_api(&state, &ApiError::from(other)),
    }
}

/// The form behind a working link.
struct ResetForm {
    token: String,
    /// The account waits for its first password (an invitation, or a
    /// sign-up nobody verified): nothing to sign out of.
    first: bool,
    name: String,
    email: String,
    password: Field,
    confirm: Field,
}

#[derive(Template)]
#[template(path = "pages/password_reset.html")]
struct ResetPage {
    root: String,
    csrf: String,
    min_length: usize,
    max_length: usize,
    /// `None`: the link does not work, and `problem` says why.
    form: Option<ResetForm>,
    problem: (&'static str, &'static str),
}

impl ResetPage {
    fn new(state: &AppState, csrf: String, form: Option<ResetForm>) -> Self {
        Self {
            root: super::root(state),
            csrf,
            min_length: state.policy.min_length,
            max_length: state.policy.max_length,
            form,
            problem: ("", ""),
        }
    }
}

impl ResetForm {
    fn new(token: &str, user: &User) -> Self {
        Self {
            token: token.to_owned(),
            first: user.status == UserStatus::Pending,
            name: user.name.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            password: Field::default(),
            confirm: Field::default(),
        }
    }
}

/// The page for a link that cannot be used; other errors get the error page.
fn dead_link(state: &AppState, jar: CookieJar, error: FlowError) -> Response {
    let (status, problem) = match error {
        FlowError::InvalidResetLink => (
            StatusCode::BAD_REQUEST,
            (
                "This link does not work",
                "It was used already, or a newer link was sent. Ask for a new one.",
            ),
        ),
        FlowError::ResetLinkExpired => (
            StatusCode::GONE,
            (
                "This link has expired",
                "Password reset links work for a short time only. Ask for a new one.",
            ),
        ),
        other => return ErrorPage::from_api(state, &ApiError::from(other)),
    };
    let (jar, csrf) = csrf::ensure(state, jar);
    let page = ResetPage {
        problem,
        ..ResetPage::new(state, csrf, None)
    };
    (jar, render(status, &page)).into_response()
}

#[derive(Deserialize)]
pub(in crate::http) struct ResetQuery {
    token: Option<String>,
}

/// Opening the link only reads it: a mail scanner that follows it uses up
/// nothing. The token goes on in a hidden field.
#[utoipa::path(get, path = "/password/reset", tag = "pages",
    description = "The page behind the emailed link: a form for the new password. Opening it \
        does not use the link.",
    responses(
        (status = 200, description = "The form", body = String, content_type = "text/html"),
        (status = 400, description = "A link that is unknown, malformed, used or superseded", body = String, content_type = "text/html"),
        (status = 410, description = "An expired link", body = String, content_type = "text/html"),
    ),
    security(()))]
pub(in crate::http) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<ResetQuery>, QueryRejection>,
) -> Response {
    let token = query.ok().and_then(|Query(query)| query.token);
    match flows::check_reset_link(&state, token.as_deref()).await {
        Ok(user) => {
            let (jar, csrf) = csrf::ensure(&state, jar);
            let form = ResetForm::new(token.as_deref().unwrap_or_default(), &user);
            let page = ResetPage::new(&state, csrf, Some(form));
            (jar, render(StatusCode::OK, &page)).into_response()
        }
        Err(error) => dead_link(&state, jar, error),
    }
}

#[derive(Deserialize)]
pub(in crate::http) struct ConfirmForm {
    token: Option<String>,
    password: Option<String>,
    password_confirm: Option<String>,
    csrf_token: Option<String>,
}

pub(in crate::http) async fn confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &ConfirmForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let token = form.token.as_deref().unwrap_or_default();
    let password = form.password.as_deref().unwrap_or_default();
    // Typed twice on the page only (the API takes one): a typo here would
    // lock the person out of the account the link was meant to give back.
    let outcome = if password == form.password_confirm.as_deref().unwrap_or_default() {
        flows::reset_password(&state, Some(token), &Password::new(password), &meta)
            .await
            .map(|_| ())
    } else {
        Err(FlowError::Validation(Default::default()))
    };
    let errors = match outcome {
        Ok(()) => return see_other(&state, "login", &[("password", "reset")]),
        Err(FlowError::Validation(errors)) => errors,
        Err(other) => return dead_link(&state, jar, other),
    };
    // The link still works (the flow checked it before the password).
    let user = match flows::check_reset_link(&state, Some(token)).await {
        Ok(user) => user,
        Err(error) => return dead_link(&state, jar, error),
    };
    let mut form = ResetForm::new(token, &user);
    form.password = Field::checked(None, &errors, "password");
    if errors.is_empty() {
        form.confirm
            .errors
            .push("The two passwords differ. Type the new password twice.".to_owned());
    }
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = ResetPage::new(&state, csrf, Some(form));
    (jar, render(StatusCode::UNPROCESSABLE_ENTITY, &page)).into_response()
}
