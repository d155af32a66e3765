//! The dashboard's forms that change the account: `POST /mfa/{method}/remove`,
//! `POST /mfa/passkeys/{id}/remove` and `/rename`,
//! `POST /sessions/{id}/revoke` and `POST /sessions/revoke-others` (the
//! API's `DELETE`s, which a form cannot send). Each answers 303 back to the
//! dashboard.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
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
use crate::http::openapi::ErrorBody;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ManageForm {
    /// Equal to the `latchkey_csrf` cookie.
    csrf_token: Option<String>,
}

/// A dashboard form: its CSRF token.
trait DashboardForm {
    fn csrf_token(&self) -> Option<&str>;
}

impl DashboardForm for ManageForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// The session behind a form post whose CSRF token checks out, and the
/// form; else the answer to give (a signed-out browser goes to the login
/// page).
fn accept<T: DashboardForm>(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
    session: Option<CurrentSession>,
    form: Result<Form<T>, FormRejection>,
) -> Result<(CurrentSession, T), Box<Response>> {
    let form = accept_form(state, headers, jar, form, T::csrf_token)?;
    let session = session.ok_or_else(|| Box::new(see_other(state, "login", &[])))?;
    Ok((session, form))
}

fn done(state: &AppState, outcome: Result<(), FlowError>, notice: &str) -> Response {
    match outcome {
        Ok(()) => see_other(state, "dashboard", &[("notice", notice)]),
        Err(error) => ErrorPage::from_api(state, &ApiError::from(error)),
    }
}

#[utoipa::path(post, path = "/mfa/{method}/remove", tag = "pages",
    description = "The dashboard's form for `DELETE /mfa/{method}`.",
    params(("method" = String, Path, description = "`totp`, `sms` or `email`")),
    request_body(content = ManageForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed, or too old a sign-in", body = String, content_type = "text/html"),
        (status = 404, description = "No such factor", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
    ),
    security(("session" = [])))]
pub(super) async fn remove_factor(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    method: Result<Path<String>, PathRejection>,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Response {
    let (session, _) = match accept(&state, &headers, &jar, session, form) {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    // A segment that is not UTF-8 names no factor.
    let method = method.map(|Path(method)| method).unwrap_or_default();
    let outcome = match FactorKind::parse(&method) {
        Some(kind) => mfa::remove_factor(&state, &session, kind, None, false, &meta).await,
        None => Err(FlowError::NotFound),
    };
    done(&state, outcome, "factor-removed")
}

#[utoipa::path(post, path = "/mfa/passkeys/{id}/remove", tag = "pages",
    description = "The dashboard's form for `DELETE /mfa/passkeys/{id}`.",
    params(("id" = String, Path, description = "A passkey's id")),
    request_body(content = ManageForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed, or too old a sign-in", body = String, content_type = "text/html"),
        (status = 404, description = "No such passkey", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
    ),
    security(("session" = [])))]
pub(super) async fn remove_passkey(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    id: Result<Path<Uuid>, PathRejection>,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Response {
    let (session, _) = match accept(&state, &headers, &jar, session, form) {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    // A segment that is not a UUID names no passkey.
    let outcome = match id {
        Ok(Path(id)) => {
            let kind = FactorKind::Passkey;
            mfa::remove_factor(&state, &session, kind, Some(id), false, &meta).await
        }
        Err(_) => Err(FlowError::NotFound),
    };
    done(&state, outcome, "factor-removed")
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct RenamePasskeyForm {
    /// Equal to the `latchkey_csrf` cookie.
    csrf_token: Option<String>,
    /// 1 to 64 characters.
    name: Option<String>,
}

impl DashboardForm for RenamePasskeyForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

#[utoipa::path(post, path = "/mfa/passkeys/{id}/rename", tag = "pages",
    description = "The dashboard's form for `PATCH /mfa/passkeys/{id}`.",
    params(("id" = String, Path, description = "A passkey's id")),
    request_body(content = RenamePasskeyForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed", body = String, content_type = "text/html"),
        (status = 404, description = "No such passkey", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
        (status = 422, description = "The name: blank, over 64 characters, or with control characters", body = String, content_type = "text/html"),
    ),
    security(("session" = [])))]
pub(super) async fn rename_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    id: Result<Path<Uuid>, PathRejection>,
    form: Result<Form<RenamePasskeyForm>, FormRejection>,
) -> Response {
    let (session, form) = match accept(&state, &headers, &jar, session, form) {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    let outcome = match id {
        Ok(Path(id)) => {
            let name = form.name.unwrap_or_default();
            mfa::rename_passkey(&state, &session.user, id, &name).await
        }
        Err(_) => Err(FlowError::NotFound),
    };
    done(&state, outcome, "passkey-renamed")
}

#[utoipa::path(post, path = "/sessions/{id}/revoke", tag = "pages",
    description = "The dashboard's form for `DELETE /sessions/{id}`.",
    params(("id" = String, Path, description = "A session id")),
    request_body(content = ManageForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed, or too old a sign-in", body = String, content_type = "text/html"),
        (status = 404, description = "No such session", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
    ),
    security(("session" = [])))]
pub(super) async fn revoke_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    id: Result<Path<Uuid>, PathRejection>,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Response {
    let (session, _) = match accept(&state, &headers, &jar, session, form) {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    let outcome = match id {
        Ok(Path(id)) => flows::revoke_own_session(&state, &session, id, &meta).await,
        Err(_) => Err(FlowError::NotFound),
    };
    done(&state, outcome, "session-revoked")
}

#[utoipa::path(post, path = "/sessions/revoke-others", tag = "pages",
    description = "The dashboard's form for `DELETE /sessions`: signs out everywhere else.",
    request_body(content = ManageForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done, or signed out: to the dashboard or the log-in page"),
        (status = 400, description = "An unreadable form", body = String, content_type = "text/html"),
        (status = 403, description = "The CSRF check failed", body = String, content_type = "text/html"),
        (status = 413, description = "Over 64 KiB", body = String, content_type = "text/html"),
        (status = 415, description = "`unsupported_media_type`: a post carrying the session cookie \
            must be a form or JSON", body = ErrorBody, content_type = "application/json"),
    ),
    security(("session" = [])))]
pub(super) async fn revoke_other_sessions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Response {
    let (session, _) = match accept(&state, &headers, &jar, session, form) {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    let outcome = flows::revoke_other_sessions(&state, &session, &meta).await;
    done(&state, outcome.map(drop), "sessions-revoked")
}
