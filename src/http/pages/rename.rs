//! The dashboard's name form (`POST /account/name`, the page's `PATCH /me`):
//! back to the dashboard saying so, or the dashboard again with the error
//! beside the field.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::dashboard::{self, Forms};
use super::fields::Field;
use super::{ErrorPage, accept_form, see_other};
use crate::flows::{self, FlowError};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::openapi::ErrorBody;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct NameForm {
    /// Equal to the `latchkey_csrf` cookie.
    csrf_token: Option<String>,
    name: Option<String>,
}

#[utoipa::path(post, path = "/account/name", tag = "pages",
    description = "The dashboard's form for `PATCH /me`: changes the display name and goes \
        back to the dashboard.",
    request_body(content = NameForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Changed, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
        (status = 422, description = "The dashboard, the error beside the name", body = String, content_type = "text/html"),
    ),
    security(("session" = [])))]
pub(super) async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<NameForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &NameForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refusal) => return *refusal,
    };
    let Some(session) = session else {
        return see_other(&state, "login", &[]);
    };
    match flows::rename(&state, &session.user, form.name.as_deref(), &meta).await {
        Ok(_) => see_other(&state, "dashboard", &[("notice", "name-changed")]),
        Err(FlowError::Validation(errors)) => {
            let forms = Forms {
                name: Some(Field::checked(form.name.as_deref(), &errors, "name")),
                ..Forms::default()
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            dashboard::page(&state, jar, Some(&session), status, None, forms).await
        }
        Err(other) => ErrorPage::from_api(&state, &ApiError::from(other)),
    }
}
