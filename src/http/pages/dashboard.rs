//! `GET /dashboard` (for now: who is signed in) and its Log out form,
//! `POST /logout` as a form, which ends the session and goes back to sign-up.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::errors::unreadable_form;
use super::{ErrorPage, csrf, render, see_other};
use crate::flows;
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::session::{MaybeSignedIn, removal_cookie};
use crate::state::AppState;

struct Person {
    name: String,
    email: String,
}

#[derive(Template)]
#[template(path = "pages/dashboard.html")]
struct DashboardPage {
    root: String,
    csrf: String,
    user: Option<Person>,
}

/// Signed out, the page says so and links to log in and sign up.
pub(super) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
) -> Response {
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = DashboardPage {
        root: super::root(&state),
        csrf,
        user: session.map(|session| Person {
            name: session.user.name.as_str().to_owned(),
            email: session.user.email.as_str().to_owned(),
        }),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
pub(in crate::http) struct LogoutForm {
    csrf_token: Option<String>,
}

/// Ends the session if there is one (logging out twice is no error), clears
/// the cookie, and 303s to the sign-up page.
pub(in crate::http) async fn logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return unreadable_form(&state, &rejection),
    };
    if let Err(refusal) = csrf::check(&state, &headers, &jar, form.csrf_token.as_deref()) {
        return ErrorPage::forbidden(&state, refusal);
    }
    if let Some(session) = session
        && let Err(error) = flows::end_session(&state, &session, &meta).await
    {
        return ErrorPage::from_api(&state, &ApiError::from(error));
    }
    (
        jar.add(removal_cookie(&state)),
        see_other(&state, "signup", &[]),
    )
        .into_response()
}
