//! The set-up page's forms: `POST /mfa/totp/enroll`, `/mfa/totp/confirm`,
//! `/mfa/{sms,email}/enroll` and `/mfa/{sms,email}/confirm` as forms.
//! Starting a method answers 303 back to the set-up page at its next step;
//! confirming shows the recovery codes (when the account gets new ones),
//! else 303 to the dashboard; a wrong code or number shows the page again.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::fields::Field;
use super::setup::{self, Trouble, authority, refused};
use super::{ErrorPage, accept_form, recovery_codes, see_other};
use crate::domain::FactorKind;
use crate::flows::mfa::{self, Enrolled, Enroller};
use crate::flows::{CurrentSession, FlowError};
use crate::http::ApiError;
use crate::http::login::signed_in;
use crate::http::meta::Meta;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

#[derive(Deserialize)]
pub(in crate::http) struct EnrolForm {
    code: Option<String>,
    phone: Option<String>,
    revoke_other_sessions: Option<String>,
    csrf_token: Option<String>,
}

/// The form, once its CSRF token checks out, and who may enrol.
async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
    session: Option<CurrentSession>,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Result<(EnrolForm, Enroller), Box<Response>> {
    let form = accept_form(state, headers, jar, form, |form: &EnrolForm| {
        form.csrf_token.as_deref()
    })?;
    let enroller = authority(state, session, jar)
        .await
        .map_err(|error| Box::new(refused(state, error)))?;
    Ok((form, enroller))
}

fn delivered(method: &str) -> Option<FactorKind> {
    FactorKind::parse(method).filter(|kind| kind.is_delivered())
}

fn not_found(state: &AppState) -> Response {
    ErrorPage::from_api(state, &ApiError::from(FlowError::NotFound))
}

pub(in crate::http) async fn start_totp(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Response {
    let (_, enroller) = match accept(&state, &headers, &jar, session, form).await {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    match mfa::enroll_totp(&state, &enroller).await {
        Ok(_) => see_other(&state, "mfa/setup", &[("method", "totp")]),
        Err(error) => failed(&state, jar, &enroller, FactorKind::Totp, error, None).await,
    }
}

pub(in crate::http) async fn confirm_totp(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Response {
    let (form, enroller) = match accept(&state, &headers, &jar, session, form).await {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    let revoke = form.revoke_other_sessions.is_some();
    match mfa::confirm_totp(&state, &enroller, form.code.as_deref(), revoke, &meta).await {
        Ok(done) => enrolled(&state, jar, &enroller, FactorKind::Totp, &done),
        Err(error) => failed(&state, jar, &enroller, FactorKind::Totp, error, None).await,
    }
}

pub(in crate::http) async fn start_delivered(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    Path(method): Path<String>,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Response {
    let Some(kind) = delivered(&method) else {
        return not_found(&state);
    };
    let (form, enroller) = match accept(&state, &headers, &jar, session, form).await {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    let phone = form.phone.as_deref();
    match mfa::enroll_delivered(&state, &enroller, kind, phone, &meta).await {
        Ok(()) => see_other(&state, "mfa/setup", &[("method", kind.as_str())]),
        Err(error) => failed(&state, jar, &enroller, kind, error, phone).await,
    }
}

pub(in crate::http) async fn confirm_delivered(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    Path(method): Path<String>,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Response {
    let Some(kind) = delivered(&method) else {
        return not_found(&state);
    };
    let (form, enroller) = match accept(&state, &headers, &jar, session, form).await {
        Ok(accepted) => accepted,
        Err(refusal) => return *refusal,
    };
    let revoke = form.revoke_other_sessions.is_some();
    let code = form.code.as_deref();
    match mfa::confirm_delivered(&state, &enroller, kind, code, revoke, &meta).await {
        Ok(done) => enrolled(&state, jar, &enroller, kind, &done),
        Err(error) => failed(&state, jar, &enroller, kind, error, None).await,
    }
}

/// A confirmed factor: the recovery codes when the account got new ones
/// (with the session, when this finished a login), else the dashboard.
fn enrolled(
    state: &AppState,
    jar: CookieJar,
    enroller: &Enroller,
    kind: FactorKind,
    done: &Enrolled,
) -> Response {
    let jar = match &done.session {
        Some((_, session)) => signed_in(state, jar, session),
        None => jar,
    };
    if done.recovery_codes.is_empty() {
        let notice = [("notice", "factor-added")];
        return (jar, see_other(state, "dashboard", &notice)).into_response();
    }
    let title = match kind {
        FactorKind::Totp => "Your authenticator app is set up",
        FactorKind::Sms => "Text message codes are set up",
        FactorKind::Email => "Email codes are set up",
        FactorKind::Passkey => "Your passkey is set up",
    };
    recovery_codes::page(
        state,
        jar,
        title,
        &done.recovery_codes,
        enroller.user().email.as_str(),
    )
}

/// The set-up page again, saying what went wrong.
async fn failed(
    state: &AppState,
    jar: CookieJar,
    enroller: &Enroller,
    kind: FactorKind,
    error: FlowError,
    phone: Option<&str>,
) -> Response {
    let (status, trouble) = match error {
        FlowError::InvalidCode => (
            StatusCode::UNAUTHORIZED,
            Trouble {
                code: Field::wrong(&ApiError::from(FlowError::InvalidCode)),
                ..Trouble::default()
            },
        ),
        FlowError::Validation(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Trouble {
                phone: Field::checked(phone, &errors, "phone"),
                ..Trouble::default()
            },
        ),
        FlowError::TooManyAttempts => (
            StatusCode::TOO_MANY_REQUESTS,
            Trouble {
                error: "Too many wrong codes. Start again: you will get a new code.".to_owned(),
                ..Trouble::default()
            },
        ),
        FlowError::AlreadyEnrolled => (StatusCode::CONFLICT, Trouble::default()),
        // Nothing pending (confirmed meanwhile, or never started): start again.
        FlowError::NotFound => {
            return see_other(state, "mfa/setup", &[("method", kind.as_str())]);
        }
        other => return refused(state, other),
    };
    setup::page(state, jar, enroller, Some(kind), trouble, status).await
}
