//! The dashboard's forms that change the account: `POST /mfa/{method}/remove`
//! and `POST /sessions/{id}/revoke` (the API's `DELETE`s, which a form
//! cannot send). Both answer 303 back to the dashboard.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use uuid::Uuid;

use super::{ErrorPage, accept_form, see_other};
use crate::domain::FactorKind;
use crate::flows::{self, CurrentSession, FlowError, mfa};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct ManageForm {
    csrf_token: Option<String>,
}

/// The session behind a form post whose CSRF token checks out; else the
/// answer to give (a signed-out browser goes to the login page).
fn accept(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
    session: Option<CurrentSession>,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Result<CurrentSession, Box<Response>> {
    accept_form(state, headers, jar, form, |form: &ManageForm| {
        form.csrf_token.as_deref()
    })?;
    session.ok_or_else(|| Box::new(see_other(state, "login", &[])))
}

fn done(state: &AppState, outcome: Result<(), FlowError>, notice: &str) -> Response {
    match outcome {
        Ok(()) => see_other(state, "dashboard", &[("notice", notice)]),
        Err(error) => ErrorPage::from_api(state, &ApiError::from(error)),
    }
}

pub(super) async fn remove_factor(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    Path(method): Path<String>,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Response {
    let session = match accept(&state, &headers, &jar, session, form) {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    let outcome = match FactorKind::parse(&method) {
        Some(kind) => mfa::remove_factor(&state, &session, kind, false, &meta).await,
        None => Err(FlowError::NotFound),
    };
    done(&state, outcome, "factor-removed")
}

pub(super) async fn revoke_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    Path(id): Path<String>,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Response {
    let session = match accept(&state, &headers, &jar, session, form) {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    let outcome = match Uuid::parse_str(&id) {
        Ok(id) => flows::revoke_own_session(&state, &session, id, &meta).await,
        Err(_) => Err(FlowError::NotFound),
    };
    done(&state, outcome, "session-revoked")
}
