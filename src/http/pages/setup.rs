//! `GET /mfa/setup?method=...`: setting up a second factor, from the
//! dashboard (a sign-in within the last 10 minutes) or to finish a login
//! when the server requires one (the enrolment challenge in the
//! `latchkey_mfa` cookie). The forms it shows post to `/mfa/*/enroll` and
//! `/mfa/*/confirm` (`enrol.rs`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use base64::Engine;
use serde::Deserialize;

use super::fields::Field;
use super::{ErrorPage, csrf, render, see_other};
use crate::domain::FactorKind;
use crate::flows::mfa::{self, Enroller, PendingEnrolment};
use crate::flows::{CurrentSession, FlowError};
use crate::http::ApiError;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

/// A kind of factor in words.
pub(super) fn label(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::Totp => "Authenticator app",
        FactorKind::Sms => "Text message",
        FactorKind::Email => "Email",
        FactorKind::Passkey => "Passkey",
    }
}

fn description(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::Totp => {
            "Codes from an app on your phone, such as Aegis, Google Authenticator or 1Password. Works offline."
        }
        FactorKind::Sms => "A code sent to your phone by SMS.",
        FactorKind::Email => {
            "A code sent to your email address. Weaker: whoever reads your email gets it too."
        }
        FactorKind::Passkey => {
            "Your fingerprint, face or screen lock, or a security key. The strongest: it works on this site only, so a look-alike page cannot use it."
        }
    }
}

/// A method the account can still set up.
pub(super) struct Offer {
    pub(super) kind: &'static str,
    pub(super) label: &'static str,
    pub(super) description: &'static str,
    /// The dashboard's button.
    pub(super) action: &'static str,
}

/// The methods the server allows that the account can still set up.
pub(super) fn offers(state: &AppState, enrolled: &[FactorKind]) -> Vec<Offer> {
    FactorKind::ALL
        .into_iter()
        .filter(|kind| mfa::available(state, *kind) && can_add(*kind, enrolled))
        .map(|kind| Offer {
            kind: kind.as_str(),
            label: label(kind),
            description: description(kind),
            action: match kind {
                FactorKind::Totp => "Set up authenticator app",
                FactorKind::Sms => "Set up text messages",
                FactorKind::Email => "Set up email codes",
                FactorKind::Passkey if enrolled.contains(&kind) => "Add another passkey",
                FactorKind::Passkey => "Add a passkey",
            },
        })
        .collect()
}

/// Whether the account can set up `kind` beside what it has: a kind it
/// lacks, or another passkey while it has fewer than it may keep.
fn can_add(kind: FactorKind, enrolled: &[FactorKind]) -> bool {
    let held = enrolled.iter().filter(|held| **held == kind).count();
    match kind {
        FactorKind::Passkey => held < mfa::MAX_PASSKEYS,
        _ => held == 0,
    }
}

/// Where the person is in setting up one method.
enum Step {
    Choose(Vec<Offer>),
    /// The page's script runs the ceremony (`static/passkeys.js`).
    PasskeyStart,
    TotpStart,
    TotpConfirm {
        /// Base32 in groups of four, for typing into an app.
        secret: String,
        otpauth_uri: String,
        /// The QR code as a `data:` URI for an `<img>` (the CSP allows
        /// `img-src data:`; the SVG is never put into the page as markup).
        qr: String,
    },
    SmsPhone,
    EmailStart,
    CodeConfirm {
        kind: &'static str,
        by_sms: bool,
        to: String,
    },
    AlreadyEnrolled(&'static str),
}

#[derive(Template)]
#[template(path = "pages/setup.html")]
struct SetupPage {
    root: String,
    csrf: String,
    /// Enrolling to finish a login, rather than from the dashboard.
    finishing_login: bool,
    /// The account's address, for the recovery codes' download.
    account: String,
    step: Step,
    code: Field,
    phone: Field,
    error: String,
}

impl SetupPage {
    fn choosing(&self) -> bool {
        matches!(self.step, Step::Choose(_))
    }

    /// The passkey's step, whose script is `static/passkeys.js`.
    fn making_passkey(&self) -> bool {
        matches!(self.step, Step::PasskeyStart)
    }
}

/// What went wrong with the last post, for the page shown again.
#[derive(Default)]
pub(super) struct Trouble {
    pub(super) code: Field,
    pub(super) phone: Field,
    pub(super) error: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SetupQuery {
    /// `totp`, `sms` or `email`; anything else shows the choice.
    method: Option<String>,
}

#[utoipa::path(get, path = "/mfa/setup", tag = "pages",
    description = "Setting up a factor, from a recent sign-in or to finish a login under \
        `LATCHKEY_MFA=required`. Signed out, 303 to the log-in page.",
    params(SetupQuery),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 303, description = "Signed out: to the log-in page"),
        (status = 403, description = "Too old a sign-in", body = String, content_type = "text/html"),
        (status = 410, description = "The login's `mfa_token` expired", body = String, content_type = "text/html"),
    ),
    security(("session" = []), ("mfa_challenge" = []), ()))]
pub(super) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    query: Result<Query<SetupQuery>, QueryRejection>,
) -> Response {
    let kind = query
        .ok()
        .and_then(|Query(query)| query.method)
        .and_then(|method| FactorKind::parse(&method));
    let enroller = match authority(&state, session, &jar).await {
        Ok(enroller) => enroller,
        Err(error) => return refused(&state, error),
    };
    page(
        &state,
        jar,
        &enroller,
        kind,
        Trouble::default(),
        StatusCode::OK,
    )
    .await
}

/// Who may enrol here, asked as the API asks.
pub(super) async fn authority(
    state: &AppState,
    session: Option<CurrentSession>,
    jar: &CookieJar,
) -> Result<Enroller, FlowError> {
    crate::http::mfa::enroller(state, session, jar, None).await
}

/// The answer to a request that may not enrol: not signed in goes to the
/// login page; too old a sign-in, or an expired challenge, says so.
pub(super) fn refused(state: &AppState, error: FlowError) -> Response {
    match error {
        FlowError::Unauthenticated => see_other(state, "login", &[]),
        other => ErrorPage::from_api(state, &ApiError::from(other)),
    }
}

/// The page at the step `enroller` has reached with `kind` (or the choice
/// of methods).
pub(super) async fn page(
    state: &AppState,
    jar: CookieJar,
    enroller: &Enroller,
    kind: Option<FactorKind>,
    trouble: Trouble,
    status: StatusCode,
) -> Response {
    let step = match step(state, enroller, kind).await {
        Ok(step) => step,
        Err(error) => return ErrorPage::from_api(state, &ApiError::from(error)),
    };
    let (jar, csrf) = csrf::ensure(state, jar);
    let page = SetupPage {
        root: super::root(state),
        csrf,
        finishing_login: matches!(enroller, Enroller::Challenge(_)),
        account: enroller.user().email.as_str().to_owned(),
        step,
        code: trouble.code,
        phone: trouble.phone,
        error: trouble.error,
    };
    (jar, render(status, &page)).into_response()
}

async fn step(
    state: &AppState,
    enroller: &Enroller,
    kind: Option<FactorKind>,
) -> Result<Step, FlowError> {
    let (factors, _) = mfa::factors(state, enroller.user()).await?;
    let enrolled: Vec<FactorKind> = factors.iter().map(|factor| factor.kind).collect();
    let Some(kind) = kind.filter(|kind| mfa::available(state, *kind)) else {
        return Ok(Step::Choose(offers(state, &enrolled)));
    };
    if !can_add(kind, &enrolled) {
        return Ok(Step::AlreadyEnrolled(label(kind)));
    }
    Ok(match mfa::pending_enrolment(state, enroller, kind).await? {
        Some(PendingEnrolment::Totp(enrollment)) => Step::TotpConfirm {
            secret: grouped(&enrollment.secret),
            otpauth_uri: enrollment.otpauth_uri,
            qr: format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(enrollment.qr_svg)
            ),
        },
        Some(PendingEnrolment::Delivered { to }) => Step::CodeConfirm {
            kind: kind.as_str(),
            by_sms: kind == FactorKind::Sms,
            to,
        },
        None => match kind {
            FactorKind::Totp => Step::TotpStart,
            FactorKind::Sms => Step::SmsPhone,
            FactorKind::Email => Step::EmailStart,
            FactorKind::Passkey => Step::PasskeyStart,
        },
    })
}

/// `ABCD EFGH ...`: easier to read and type; apps ignore the spaces.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_shown_in_groups_of_four() {
        assert_eq!(super::grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
