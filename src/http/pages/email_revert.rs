//! Undoing a change of address in the browser: `GET /email/revert?token=`
//! (the link in the notice to the old address: what it will do, the link
//! not used yet) and its form's `POST /email/revert`, which 303s to the
//! page saying it is done.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{ErrorPage, accept_form, csrf, render, see_other};
use crate::flows::{self, FlowError};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::session::removal_cookie;
use crate::state::AppState;

/// What the page behind the undo link shows.
enum Shown {
    /// A working link: the address it gives back, and a button.
    Ready {
        token: String,
        now: String,
        old: String,
    },
    /// Undone (after the button's post).
    Done,
    /// A link that cannot be used: a heading and a sentence.
    Problem(&'static str, &'static str),
}

#[derive(Template)]
#[template(path = "pages/email_revert.html")]
struct RevertPage {
    root: String,
    csrf: String,
    shown: Shown,
}

fn page(state: &AppState, jar: CookieJar, status: StatusCode, shown: Shown) -> Response {
    let (jar, csrf) = csrf::ensure(state, jar);
    let page = RevertPage {
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
            "The change was undone already, or the link is not whole. If you cannot sign in, ask the people who run this service.",
        ),
        FlowError::EmailChangeLinkExpired => (
            StatusCode::GONE,
            "This link has expired",
            "A change can be undone for a week. If you cannot sign in, ask the people who run this service.",
        ),
        FlowError::EmailTaken => (
            StatusCode::CONFLICT,
            "That address has another account now",
            "Someone signed up with it since the change, so it cannot be given back. Ask the people who run this service.",
        ),
        other => return ErrorPage::from_api(state, &ApiError::from(other)),
    };
    page(state, jar, status, Shown::Problem(heading, text))
}

#[derive(Deserialize)]
pub(in crate::http) struct RevertQuery {
    token: Option<String>,
    reverted: Option<String>,
}

/// Opening the link only reads it. The token goes on in a hidden field.
#[utoipa::path(get, path = "/email/revert", tag = "pages",
    description = "The page behind the undo link in the notice of a change of address: what \
        undoing does and a button that posts to `/email/revert`. Opening it does not use the link.",
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 400, description = "A link that is unknown, malformed or used", body = String, content_type = "text/html"),
        (status = 410, description = "An expired link", body = String, content_type = "text/html"),
    ),
    security(()))]
pub(in crate::http) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<RevertQuery>, QueryRejection>,
) -> Response {
    let query = query.ok().map(|Query(query)| query);
    let (token, reverted) = query.map_or((None, false), |query| {
        (query.token, query.reverted.is_some())
    });
    if reverted && token.is_none() {
        return page(&state, jar, StatusCode::OK, Shown::Done);
    }
    match flows::check_email_revert_link(&state, token.as_deref()).await {
        Ok(record) => {
            let shown = Shown::Ready {
                token: token.unwrap_or_default(),
                now: record.user.email.as_str().to_owned(),
                old: record.old_email.as_str().to_owned(),
            };
            page(&state, jar, StatusCode::OK, shown)
        }
        Err(error) => refused(&state, jar, error),
    }
}

#[derive(Deserialize)]
pub(in crate::http) struct RevertForm {
    token: Option<String>,
    csrf_token: Option<String>,
}

/// Every session ends, this browser's too: its cookie is cleared.
pub(in crate::http) async fn revert(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<RevertForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &RevertForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refusal) => return *refusal,
    };
    match flows::revert_email_change(&state, form.token.as_deref(), &meta).await {
        Ok(_) => (
            jar.add(removal_cookie(&state)),
            see_other(&state, "email/revert", &[("reverted", "1")]),
        )
            .into_response(),
        Err(error) => refused(&state, jar, error),
    }
}
