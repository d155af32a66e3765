//! `GET /signup`, and `POST /register` sent by its form without JavaScript
//! (with JavaScript the page posts JSON to the same endpoint).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::errors::unreadable_form;
use super::fields::Field;
use super::{ErrorPage, csrf, render, see_other};
use crate::domain::{Password, RegistrationMode};
use crate::flows::{self, FieldErrors, FlowError, RegisterInput};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/signup.html")]
struct SignupPage {
    root: String,
    csrf: String,
    /// The client checks lengths with the server's own limits.
    min_length: usize,
    max_length: usize,
    name: Field,
    email: Field,
    password: Field,
    /// 409: the address has an account; the page offers log in and resend.
    email_taken: bool,
    /// Sign-up is by invitation: the page says so instead of the form.
    closed: bool,
}

impl SignupPage {
    fn new(state: &AppState, csrf: String) -> Self {
        Self {
            root: super::root(state),
            csrf,
            min_length: state.policy.min_length,
            max_length: state.policy.max_length,
            name: Field::default(),
            email: Field::default(),
            password: Field::default(),
            email_taken: false,
            closed: state.registration == RegistrationMode::Invitation,
        }
    }
}

#[utoipa::path(get, path = "/signup", tag = "pages", description = "The sign-up page.",
    responses((status = 200, description = "The page", body = String, content_type = "text/html")), security(()))]
pub(super) async fn get(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = csrf::ensure(&state, jar);
    (jar, render(StatusCode::OK, &SignupPage::new(&state, csrf))).into_response()
}

#[derive(Deserialize)]
pub(in crate::http) struct SignupForm {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    csrf_token: Option<String>,
}

/// Validates exactly as the JSON API does; on success 303 to the
/// check-your-inbox page, otherwise the page again with the errors beside
/// their fields. The password is never sent back.
pub(in crate::http) async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<SignupForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return unreadable_form(&state, &rejection),
    };
    if let Err(refusal) = csrf::check(&state, &headers, &jar, form.csrf_token.as_deref()) {
        return ErrorPage::forbidden(&state, refusal);
    }
    let input = RegisterInput {
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password.as_deref().map(Password::new),
    };
    let (status, errors, email_taken) = match flows::register(&state, input, &meta).await {
        Ok(user) => return see_other(&state, "check-inbox", &[("email", user.email.as_str())]),
        Err(FlowError::Validation(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors, false),
        Err(FlowError::EmailTaken) => (StatusCode::CONFLICT, FieldErrors::default(), true),
        Err(FlowError::RegistrationClosed) => {
            let (jar, csrf) = csrf::ensure(&state, jar);
            let page = SignupPage::new(&state, csrf);
            return (jar, render(StatusCode::FORBIDDEN, &page)).into_response();
        }
        Err(other) => return ErrorPage::from_api(&state, &ApiError::from(other)),
    };
    let mut password = Field::checked(None, &errors, "password");
    if !password.invalid() && form.password.as_deref().is_some_and(|p| !p.is_empty()) {
        // The field comes back empty: say why, or it looks like a bug.
        password
            .errors
            .push("Enter your password again: it is never sent back to the page.".to_owned());
    }
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = SignupPage {
        name: Field::checked(form.name.as_deref(), &errors, "name"),
        email: Field::checked(form.email.as_deref(), &errors, "email"),
        password,
        email_taken,
        ..SignupPage::new(&state, csrf)
    };
    (jar, render(status, &page)).into_response()
}
