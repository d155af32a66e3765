//! The dashboard's "Delete my account" form (`POST /account/delete`, the
//! page's `DELETE /me`), and the page that says it is done.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{ErrorPage, accept_form, render, see_other};
use crate::flows;
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::openapi::ErrorBody;
use crate::http::session::{MaybeSignedIn, removal_cookie};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct DeleteForm {
    /// Equal to the `latchkey_csrf` cookie.
    csrf_token: Option<String>,
    /// The box "I understand that this cannot be undone": `yes` when ticked.
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/account_deleted.html")]
struct DeletedPage {
    root: String,
}

#[utoipa::path(post, path = "/account/delete", tag = "pages",
    description = "The dashboard's form for `DELETE /me`: with the box ticked, deletes the \
        account and answers the page that says so; without it, back to the dashboard.",
    request_body(content = DeleteForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Deleted; the session cookie is cleared", body = String, content_type = "text/html"),
        (status = 303, description = "Not confirmed, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed, or too old a sign-in", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
    ),
    security(("session" = [])))]
pub(super) async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &DeleteForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refusal) => return *refusal,
    };
    let Some(session) = session else {
        return see_other(&state, "login", &[]);
    };
    if form.confirm.as_deref() != Some("yes") {
        return see_other(&state, "dashboard", &[("notice", "delete-unconfirmed")]);
    }
    if let Err(error) = flows::delete_own_account(&state, &session, &meta).await {
        return ErrorPage::from_api(&state, &ApiError::from(error));
    }
    let page = render(
        StatusCode::OK,
        &DeletedPage {
            root: super::root(&state),
        },
    );
    (jar.add(removal_cookie(&state)), page).into_response()
}
