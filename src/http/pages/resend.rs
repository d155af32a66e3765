//! `GET /resend?email=...` (a form to ask for a new link), and
//! `POST /verify/resend` sent by any Resend form without JavaScript.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::errors::unreadable_form;
use super::fields::Field;
use super::{ErrorPage, csrf, render, see_other};
use crate::flows::{self, FlowError};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/resend.html")]
struct ResendPage {
    root: String,
    csrf: String,
    resend: Field,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ResendQuery {
    /// Fills the form in.
    email: Option<String>,
}

#[utoipa::path(get, path = "/resend", tag = "pages",
    description = "A Resend form on its own.", params(ResendQuery), responses((status = 200, description = "The page", body = String, content_type = "text/html")), security(()))]
pub(super) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<ResendQuery>, QueryRejection>,
) -> Response {
    let email = query.ok().and_then(|Query(query)| query.email);
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = ResendPage {
        root: super::root(&state),
        csrf,
        resend: Field::filled(email.as_deref()),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
pub(in crate::http) struct ResendForm {
    email: Option<String>,
    csrf_token: Option<String>,
}

/// Like the API, the answer never says whether the address has an account:
/// every well-formed address goes on to the same check-your-inbox page.
pub(in crate::http) async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<ResendForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return unreadable_form(&state, &rejection),
    };
    if let Err(refusal) = csrf::check(&state, &headers, &jar, form.csrf_token.as_deref()) {
        return ErrorPage::forbidden(&state, refusal);
    }
    match flows::resend_verification(&state, form.email.as_deref(), &meta).await {
        Ok(()) => see_other(
            &state,
            "check-inbox",
            &[
                ("email", form.email.as_deref().unwrap_or_default().trim()),
                ("resent", "1"),
            ],
        ),
        Err(FlowError::Validation(errors)) => {
            let (jar, csrf) = csrf::ensure(&state, jar);
            let page = ResendPage {
                root: super::root(&state),
                csrf,
                resend: Field::checked(form.email.as_deref(), &errors, "email"),
            };
            (jar, render(StatusCode::UNPROCESSABLE_ENTITY, &page)).into_response()
        }
        Err(other) => ErrorPage::from_api(&state, &ApiError::from(other)),
    }
}
