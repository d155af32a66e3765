//! The page shown when a form post or a page cannot go on: the same
//! statuses and messages as the API's errors, as HTML.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::csrf::Refusal;
use crate::http::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/error.html")]
pub(in crate::http) struct ErrorPage {
    root: String,
    title: &'static str,
    message: String,
    /// Where the page's one button leads (below `root`), and its words.
    onward: (&'static str, &'static str),
}

const BACK_TO_SIGNUP: (&str, &str) = ("signup", "Back to sign-up");
const LOG_IN_AGAIN: (&str, &str) = ("login", "Log in again");

impl ErrorPage {
    /// A form post that did not come from our own page, or whose page is too
    /// old to know this browser's token.
    pub(in crate::http) fn forbidden(state: &AppState, refusal: Refusal) -> Response {
        tracing::info!(?refusal, "form post refused: CSRF check failed");
        super::render(
            StatusCode::FORBIDDEN,
            &Self {
                root: super::root(state),
                title: "This form has expired",
                message: "For your safety the form was not sent. Go back, reload the page and try again. (Cookies must be enabled for this site.)"
                    .to_owned(),
                onward: BACK_TO_SIGNUP,
            },
        )
    }

    /// The page for an API error: same status, same message. 5xx were
    /// logged when the `ApiError` was made.
    /// A login that cannot go on (expired, too many wrong codes, too old to
    /// change factors) leads back to the login page.
    pub(in crate::http) fn from_api(state: &AppState, error: &ApiError) -> Response {
        let title = match (error.code(), error.status()) {
            ("mfa_expired", _) => "This sign-in has expired",
            ("too_many_attempts", _) => "Too many wrong codes",
            ("reauthentication_required", _) => "Sign in again to continue",
            ("unauthenticated", _) => "You're not signed in",
            ("rate_limited", _) => "Too many requests",
            ("login_locked", _) => "Sign-in is locked",
            ("invalid_token", _) => "This link does not work",
            (_, StatusCode::SERVICE_UNAVAILABLE) => "The server is busy",
            (_, StatusCode::PAYLOAD_TOO_LARGE) => "That was too much text",
            (_, StatusCode::NOT_FOUND) => "Page not found",
            (_, status) if status.is_server_error() => "Something went wrong",
            _ => "This request could not be handled",
        };
        let onward = match error.code() {
            "mfa_expired"
            | "too_many_attempts"
            | "reauthentication_required"
            | "unauthenticated"
            | "mfa_enrollment_required"
            | "login_locked" => LOG_IN_AGAIN,
            _ => BACK_TO_SIGNUP,
        };
        let mut response = super::render(
            error.status(),
            &Self {
                root: super::root(state),
                title,
                message: error.message().to_owned(),
                onward,
            },
        );
        if let Some(wait) = error.retry_after() {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}

/// A form body that could not be decoded: too large, or not a form.
pub(in crate::http) fn unreadable_form(
    state: &AppState,
    rejection: &axum::extract::rejection::FormRejection,
) -> Response {
    let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "The form is larger than {} KiB.",
                crate::http::MAX_BODY_BYTES / 1024
            ),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The form could not be read. Reload the page and try again.",
        )
    };
    ErrorPage::from_api(state, &error)
}
