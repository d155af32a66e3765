//! `GET /mfa`: the second step of a login in a browser (the `latchkey_mfa`
//! cookie names the challenge). Its forms post to `/mfa/verify` (a code
//! from the app, a sent code, or a recovery code) and `/mfa/challenge`
//! (send a code by SMS or email; 303 back here, where the page says where
//! it went); its script signs in with a passkey (`static/passkeys.js`).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::fields::Field;
use super::login::replace;
use super::{ErrorPage, accept_form, csrf, render, see_other};
use crate::domain::FactorKind;
use crate::flows::{FlowError, mfa};
use crate::http::ApiError;
use crate::http::login::{mfa_token, signed_in};
use crate::http::meta::Meta;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

/// Where the last code went.
struct Sent {
    by_sms: bool,
    to: String,
}

#[derive(Template)]
#[template(path = "pages/mfa.html")]
struct MfaPage {
    root: String,
    csrf: String,
    totp: bool,
    sms: bool,
    email: bool,
    /// The account's passkey: the page's script signs in with it.
    passkey: bool,
    recovery: bool,
    sent: Option<Sent>,
    /// The 6-digit field, and the recovery code field (shown open when it
    /// was the one that failed).
    code: Field,
    recovery_code: Field,
    form_error: String,
}

impl MfaPage {
    /// No app to read a code from, and no code sent yet: the buttons that
    /// send one come before the field to type it in.
    fn send_first(&self) -> bool {
        !self.totp && self.sent.is_none() && (self.sms || self.email)
    }

    /// Whether a code can come from anywhere but the recovery codes.
    fn codes(&self) -> bool {
        self.totp || self.sms || self.email
    }
}

/// What went wrong with the last post, for the page shown again.
#[derive(Default)]
struct Trouble {
    code: Field,
    recovery_code: Field,
    form_error: String,
}

pub(in crate::http) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
) -> Response {
    let token = mfa_token(&state, &jar, None);
    if token.is_none() && session.is_some() {
        return see_other(&state, "dashboard", &[]);
    }
    page(
        &state,
        jar,
        token.as_deref(),
        Trouble::default(),
        StatusCode::OK,
    )
    .await
}

/// The page for the challenge `token` names; a challenge that is over
/// (expired, used, too many wrong codes) gets a page that leads back to
/// the login.
async fn page(
    state: &AppState,
    jar: CookieJar,
    token: Option<&str>,
    trouble: Trouble,
    status: StatusCode,
) -> Response {
    let challenge = match mfa::describe_challenge(state, token).await {
        Ok(challenge) => challenge,
        Err(error) => return over(state, error),
    };
    let offers = |method: &str| challenge.methods.contains(&method);
    let (jar, csrf) = csrf::ensure(state, jar);
    let page = MfaPage {
        root: super::root(state),
        csrf,
        totp: offers("totp"),
        sms: offers("sms"),
        email: offers("email"),
        passkey: offers("passkey"),
        recovery: offers("recovery_code"),
        sent: challenge.sent.map(|sent| Sent {
            by_sms: sent.kind == FactorKind::Sms,
            to: sent.to,
        }),
        code: trouble.code,
        recovery_code: trouble.recovery_code,
        form_error: trouble.form_error,
    };
    (jar, render(status, &page)).into_response()
}

/// The answer when the login cannot go on here.
fn over(state: &AppState, error: FlowError) -> Response {
    match error {
        FlowError::MfaEnrollmentRequired => see_other(state, "mfa/setup", &[]),
        other => ErrorPage::from_api(state, &ApiError::from(other)),
    }
}

#[derive(Deserialize)]
pub(in crate::http) struct MfaForm {
    code: Option<String>,
    /// `recovery` when the code came from the recovery code field.
    field: Option<String>,
    method: Option<String>,
    csrf_token: Option<String>,
}

impl MfaForm {
    fn token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// `POST /mfa/verify` from the page: 303 to the dashboard with a session,
/// or the page again with the error beside the field that was used.
pub(in crate::http) async fn verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(previous): MaybeSignedIn,
    form: Result<Form<MfaForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, MfaForm::token) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let token = mfa_token(&state, &jar, None);
    match mfa::verify_second_step(
        &state,
        token.as_deref(),
        mfa::Answer::Code(form.code.as_deref()),
        &meta,
    )
    .await
    {
        Ok((_, session)) => {
            if let Err(error) = replace(&state, previous, &meta).await {
                return ErrorPage::from_api(&state, &ApiError::from(error));
            }
            let jar = signed_in(&state, jar, &session);
            (jar, see_other(&state, "dashboard", &[])).into_response()
        }
        Err(FlowError::InvalidCode) => {
            let wrong = Field::wrong(&ApiError::from(FlowError::InvalidCode));
            let trouble = if form.field.as_deref() == Some("recovery") {
                Trouble {
                    recovery_code: wrong,
                    ..Trouble::default()
                }
            } else {
                Trouble {
                    code: wrong,
                    ..Trouble::default()
                }
            };
            page(
                &state,
                jar,
                token.as_deref(),
                trouble,
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        Err(other) => over(&state, other),
    }
}

/// `POST /mfa/challenge` from the page: sends a code, then 303 back to the
/// page, which says where it went.
pub(in crate::http) async fn send_code(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<MfaForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, MfaForm::token) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let token = mfa_token(&state, &jar, None);
    match mfa::send_login_code(&state, token.as_deref(), form.method.as_deref(), &meta).await {
        Ok(()) => see_other(&state, "mfa", &[]),
        Err(FlowError::MethodUnavailable) => {
            let trouble = Trouble {
                form_error: ApiError::from(FlowError::MethodUnavailable)
                    .message()
                    .to_owned(),
                ..Trouble::default()
            };
            page(
                &state,
                jar,
                token.as_deref(),
                trouble,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(other) => over(&state, other),
    }
}
