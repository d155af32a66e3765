//! The error body of every failure:
//! `{"error": {"code": "...", "message": "...", "fields": {...}?}}`.
//! 4xx carry a stable code for programs and a message for people; 5xx say
//! nothing about the cause, which is logged here, once.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::flows::{FieldErrors, FlowError};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Option<FieldErrors>,
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
#[schema(as = ErrorBody)]
pub(super) struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ErrorDetail)]
struct Inner<'a> {
    /// Stable, snake_case: for programs.
    #[schema(pattern = "^[a-z_]+$", example = "validation_failed")]
    code: &'a str,
    /// For people.
    message: &'a str,
    /// With `validation_failed`: every problem of every field, by field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, Vec<FieldProblem>>>, nullable = false)]
    fields: Option<&'a FieldErrors>,
}

/// One problem with one field (`flows::FieldError` as it is serialised).
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes the JSON of `flows::FieldError`")]
pub(super) struct FieldProblem {
    #[schema(pattern = "^[a-z_]+$")]
    code: String,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::Validation(fields) => Self {
                fields: Some(fields),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "Some fields need attention.",
                )
            },
            FlowError::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "This email is already registered.",
            ),
            FlowError::InvalidToken => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "This verification link is not valid. Ask for a new one.",
            ),
            FlowError::TokenExpired { .. } => Self::new(
                StatusCode::GONE,
                "token_expired",
                "This verification link has expired. Ask for a new one.",
            ),
            FlowError::Overloaded => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "The server is busy. Try again in a moment.",
            ),
            FlowError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "The email or password is wrong.",
            ),
            FlowError::EmailNotVerified => Self::new(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "Confirm your email address first: open the link we sent, or ask for a new one.",
            ),
            FlowError::InvalidCode => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_code",
                "That code is not right. Check it and try again.",
            ),
            FlowError::TooManyAttempts => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many wrong codes. Sign in again to get a new attempt.",
            ),
            FlowError::MfaExpired => Self::new(
                StatusCode::GONE,
                "mfa_expired",
                "This sign-in attempt has expired. Sign in again.",
            ),
            FlowError::MfaEnrollmentRequired => Self::new(
                StatusCode::FORBIDDEN,
                "mfa_enrollment_required",
                "Set up a second factor to finish signing in.",
            ),
            FlowError::MethodUnavailable => Self::new(
                StatusCode::BAD_REQUEST,
                "method_unavailable",
                "This method is not available for this account.",
            ),
            FlowError::AlreadyEnrolled => Self::new(
                StatusCode::CONFLICT,
                "already_enrolled",
                "This method is already set up. Remove it first to set it up again.",
            ),
            FlowError::ReauthenticationRequired => Self::new(
                StatusCode::FORBIDDEN,
                "reauthentication_required",
                "Sign in again (within the last 10 minutes) to change this.",
            ),
            FlowError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "not_found", "There is nothing here.")
            }
            FlowError::Unauthenticated => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Sign in to continue.",
            ),
            FlowError::Internal(source) => {
                tracing::error!(error = %source, cause = ?source.source(), "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Something went wrong on our side. Try again later.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                fields: self.fields.as_ref(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

/// JSON, or a page for a browser that follows a stale link.
pub(super) async fn not_found(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let error = ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is nothing at this address.",
    );
    if super::pages::asks_for_html(&headers) {
        super::pages::ErrorPage::from_api(&state, &error)
    } else {
        error.into_response()
    }
}

pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This method is not allowed here.",
    )
}
