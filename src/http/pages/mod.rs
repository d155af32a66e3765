//! The browser's pages: HTML rendered by askama templates
//! (`templates/pages/`), one stylesheet and one script embedded in the
//! binary, and form posts that work without JavaScript. Each page is one
//! file; like the API handlers they decode, call a flow, and render.
//!
//! Links in the pages start with `root`, the path of the public URL, so the
//! pages also work when a proxy serves the service under a base path.

mod assets;
mod check_inbox;
pub(super) mod csrf;
pub(super) mod dashboard;
mod delete_account;
pub(super) mod email_change;
pub(super) mod email_revert;
pub(super) mod enrol;
mod errors;
mod fields;
mod headers;
pub(super) mod login;
mod manage;
pub(super) mod mfa;
mod negotiate;
mod openapi;
pub(super) mod password_change;
pub(super) mod password_reset;
pub(super) mod recovery_codes;
mod rename;
pub(super) mod resend;
mod setup;
pub(super) mod signup;
pub(super) mod unlocked;
pub(super) mod verify;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;

pub(super) use errors::ErrorPage;
pub(super) use headers::security_headers;
pub(super) use negotiate::{asks_for_html, form_or_json, is_form, page_or_json, wants_html};
pub(super) use openapi::openapi;

use crate::state::AppState;

/// The pages' own routes. Form posts to paths the API also serves
/// (`/register`, `/verify/resend`, `/logout`, `/login`, `/mfa/...`) are
/// routed in `http::router`; these are the pages and the two forms that
/// stand in for the API's `DELETE`s.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signup", get(signup::get))
        .route("/check-inbox", get(check_inbox::get))
        .route("/resend", get(resend::get))
        .route("/login", get(login::get))
        .route("/password/forgot", get(password_reset::forgot))
        .route("/mfa/setup", get(setup::get))
        .route("/dashboard", get(dashboard::get))
        .route("/mfa/{method}/remove", post(manage::remove_factor))
        .route("/mfa/passkeys/{id}/remove", post(manage::remove_passkey))
        .route("/mfa/passkeys/{id}/rename", post(manage::rename_passkey))
        .route("/sessions/{id}/revoke", post(manage::revoke_session))
        .route(
            "/sessions/revoke-others",
            post(manage::revoke_other_sessions),
        )
        .route("/account/delete", post(delete_account::submit))
        .route("/account/name", post(rename::submit))
        .route("/email/change/cancel", post(email_change::cancel))
        .route("/static/app.css", get(assets::stylesheet))
        .route("/static/app.js", get(assets::script))
        .route("/static/passkeys.js", get(assets::passkeys_script))
}

#[utoipa::path(get, path = "/", tag = "pages",
    responses((status = 303, description = "To the sign-up page")), security(()))]
async fn home() -> Redirect {
    Redirect::to("signup")
}

/// A form post's fields, once the body decoded as a form and its CSRF
/// token checked out (the first thing every form handler does); else the
/// page that says why not.
pub(super) fn accept_form<T>(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
    form: Result<Form<T>, FormRejection>,
    token: impl FnOnce(&T) -> Option<&str>,
) -> Result<T, Box<Response>> {
    let Form(form) =
        form.map_err(|rejection| Box::new(errors::unreadable_form(state, &rejection)))?;
    csrf::check(state, headers, jar, token(&form))
        .map_err(|refusal| Box::new(ErrorPage::forbidden(state, refusal)))?;
    Ok(form)
}

/// A rendered page with its status. Pages carry CSRF tokens and personal
/// data, so no cache keeps them.
pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(error = %error, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Try again later.",
            )
                .into_response()
        }
    }
}

/// The path every link in a page starts with: `/`, or `/base/` when the
/// public URL has a path.
pub(super) fn root(state: &AppState) -> String {
    let path = state.composer.public_url().path().trim_end_matches('/');
    format!("{path}/")
}

/// 303 See Other to a page, by its path below the public URL: after a form
/// post the browser follows with a GET, so reloading never posts twice.
pub(super) fn see_other(state: &AppState, path: &str, query: &[(&str, &str)]) -> Response {
    let mut url = state.composer.public_link(path);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Redirect::to(url.as_str()).into_response()
}
