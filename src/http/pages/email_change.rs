//! A change of address in the browser: the dashboard's form (`POST
//! /email/change`), back to the dashboard saying where the link went or
//! with the errors beside the fields; `GET /email/confirm?token=` (the
//! emailed link: what it will do, the link not used yet) and its form's
//! `POST /email/confirm`, which 303s to the page saying it is done; and
//! the dashboard's `POST /email/change/cancel`.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::dashboard::{self, EmailFields, Forms};
use super::fields::Field;
use super::{ErrorPage, accept_form, csrf, render, see_other};
use crate::domain::Password;
use crate::flows::{self, FlowError};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::openapi::ErrorBody;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

#[derive(Deserialize)]
pub(in crate::http) struct ChangeForm {
    email: Option<String>,
    current_password: Option<String>,
    csrf_token: Option<String>,
}

pub(in crate::http) async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<ChangeForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &ChangeForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let Some(session) = session else {
        return see_other(&state, "login", &[]);
    };
    let email = form.email.as_deref().unwrap_or_default().trim();
    let current = Password::new(form.current_password.as_deref().unwrap_or_default());
    let outcome =
        flows::request_email_change(&state, &session.user, &current, Some(email), &meta).await;
    let (status, fields) = match outcome {
        Ok(_) => return see_other(&state, "dashboard", &[("notice", "email-change-sent")]),
        Err(FlowError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            EmailFields {
                email: Field::checked(Some(email), &errors, "email"),
                current: Field::checked(None, &errors, "current_password"),
            },
        ),
        Err(error @ FlowError::WrongPassword) => (
            StatusCode::UNAUTHORIZED,
            EmailFields {
                email: Field::filled(Some(email)),
                current: Field::wrong(&ApiError::from(error)),
            },
        ),
        Err(error @ FlowError::EmailTaken) => (
            StatusCode::CONFLICT,
            EmailFields {
                email: Field {
                    value: email.to_owned(),
                    ..Field::wrong(&ApiError::from(error))
                },
                current: Field::default(),
            },
        ),
        Err(other) => return ErrorPage::from_api(&state, &ApiError::from(other)),
    };
    let forms = Forms {
        email: fields,
        ..Forms::default()
    };
    dashboard::page(&state, jar, Some(&session), status, None, forms).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct CancelForm {
    /// Equal to the `latchkey_csrf` cookie.
    csrf_token: Option<String>,
}

#[utoipa::path(post, path = "/email/change/cancel", tag = "pages",
    description = "The dashboard's form for `DELETE /email/change`: the link stops working.",
    request_body(content = CancelForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Cancelled, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed", body = String, content_type = "text/html"),
        (status = 404, description = "No change is waiting", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
    ),
    security(("session" = [])))]
pub(super) async fn cancel(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<CancelForm>, FormRejection>,
) -> Response {
    if let Err(refusal) = accept_form(&state, &headers, &jar, form, |form: &CancelForm| {
        form.csrf_token.as_deref()
    }) {
        return *refusal;
    }
    let Some(session) = session else {
        return see_other(&state, "login", &[]);
    };
    match flows::cancel_email_change(&state, &session.user, &meta).await {
        Ok(()) => see_other(&state, "dashboard", &[("notice", "email-change-cancelled")]),
        Err(error) => ErrorPage::from_api(&state, &ApiError::from(error)),
    }
}

/// What the page behind the link shows.
enum Shown {
    /// A working link: the change it makes, and a button to make it.
    Ready {
        token: String,
        old: String,
        new: String,
    },
    /// The change was made (after the button's post).
    Done,
    /// A link that cannot be used: a heading and a sentence.
    Problem(&'static str, &'static str),
}

#[derive(Template)]
#[template(path = "pages/email_confirm.html")]
struct ConfirmPage {
    root: String,
    csrf: String,
    shown: Shown,
}

fn page(state: &AppState, jar: CookieJar, status: StatusCode, shown: Shown) -> Response {
    let (jar, csrf) = csrf::ensure(state, jar);
    let page = ConfirmPage {
        root: super::root(state),
        csrf,
        shown,
    };
    (jar, render(status, &page)).into_response()
}

/// The page for a link that cannot be used; other errors get the error page.
fn refused(state: &AppState, jar: CookieJar, error: FlowError) -> Response {
    let (status, heading, text) = match error {
        FlowError::InvalidEmailChangeLink => (
            StatusCode::BAD_REQUEST,
            "This link does not work",
            "It was used already, or a newer change was asked for. Ask for the change again from your dashboard.",
        ),
        FlowError::EmailChangeLinkExpired => (
            StatusCode::GONE,
            "This link has expired",
            "Ask for the change again from your dashboard.",
        ),
        FlowError::EmailTaken => (
            StatusCode::CONFLICT,
            "This address already has an account",
            "An account uses this address now, so it cannot become the address of another. Your account keeps its address.",
        ),
        other => return ErrorPage::from_api(state, &ApiError::from(other)),
    };
    page(state, jar, status, Shown::Problem(heading, text))
}

#[derive(Deserialize)]
pub(in crate::http) struct ConfirmQuery {
    token: Option<String>,
    changed: Option<String>,
}

/// Opening the link only reads it: a mail scanner that follows it changes
/// nothing. The token goes on in a hidden field.
#[utoipa::path(get, path = "/email/confirm", tag = "pages",
    description = "The page behind the link emailed to a new address: the change it makes and a \
        button that posts to `/email/confirm`. Opening it does not use the link.",
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 400, description = "A link that is unknown, malformed, used or superseded", body = String, content_type = "text/html"),
        (status = 410, description = "An expired link", body = String, content_type = "text/html"),
    ),
    security(()))]
pub(in crate::http) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<ConfirmQuery>, QueryRejection>,
) -> Response {
    let query = query.ok().map(|Query(query)| query);
    let (token, changed) = query.map_or((None, false), |query| {
        (query.token, query.changed.is_some())
    });
    if changed && token.is_none() {
        return page(&state, jar, StatusCode::OK, Shown::Done);
    }
    match flows::check_email_change_link(&state, token.as_deref()).await {
        Ok(record) => {
            let shown = Shown::Ready {
                token: token.unwrap_or_default(),
                old: record.user.email.as_str().to_owned(),
                new: record.new_email.as_str().to_owned(),
            };
            page(&state, jar, StatusCode::OK, shown)
        }
        Err(error) => refused(&state, jar, error),
    }
}

#[derive(Deserialize)]
pub(in crate::http) struct ConfirmForm {
    token: Option<String>,
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
        Err(refusal) => return *refusal,
    };
    match flows::confirm_email_change(&state, form.token.as_deref(), &meta).await {
        Ok(_) => see_other(&state, "email/confirm", &[("changed", "1")]),
        Err(error) => refused(&state, jar, error),
    }
}
