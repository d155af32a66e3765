//! The page for `GET /verify?token=...` when a browser opens the link in the
//! email: "Account verified" (then on to the dashboard), "Link expired" with
//! a Resend form, or an unknown link with a Resend form.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::fields::Field;
use super::{ErrorPage, csrf, render};
use crate::flows::{FlowError, Verified};
use crate::http::ApiError;
use crate::mail::describe_duration;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/verify.html")]
struct VerifyPage {
    root: String,
    csrf: String,
    title: &'static str,
    /// `verified`, `already_verified`, `expired` or `invalid`.
    outcome: &'static str,
    name: String,
    ttl: String,
    resend: Field,
}

/// Renders the outcome of `verify_and_sign_in`; `jar` is the request's, for
/// the CSRF cookie of the Resend form. Statuses match the JSON answers.
pub(in crate::http) fn page(
    state: &AppState,
    jar: CookieJar,
    outcome: Result<(CookieJar, Verified), FlowError>,
) -> Response {
    let (status, jar, title, kind, name, resend) = match outcome {
        Ok((jar, verified)) => {
            let kind = match (verified.already_verified, &verified.session) {
                (true, _) => "already_verified",
                (false, Some(_)) => "verified",
                // Under `LATCHKEY_MFA=required`: log in, then set up a factor.
                (false, None) => "verified_log_in",
            };
            let name = verified.user.name.as_str().to_owned();
            (StatusCode::OK, jar, "Account verified", kind, name, None)
        }
        Err(FlowError::TokenExpired { email }) => {
            let email = email.map(|email| email.as_str().to_owned());
            (
                StatusCode::GONE,
                jar,
                "Link expired",
                "expired",
                String::new(),
                email,
            )
        }
        Err(FlowError::InvalidToken) => (
            StatusCode::BAD_REQUEST,
            jar,
            "This link does not work",
            "invalid",
            String::new(),
            None,
        ),
        Err(other) => return ErrorPage::from_api(state, &ApiError::from(other)),
    };
    let (jar, csrf) = csrf::ensure(state, jar);
    let page = VerifyPage {
        root: super::root(state),
        csrf,
        title,
        outcome: kind,
        name,
        ttl: describe_duration(state.verify_ttl),
        resend: Field::filled(resend.as_deref()),
    };
    (jar, render(status, &page)).into_response()
}
