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
    /// Sent as `Retry-After` (seconds).
    retry_after: Option<std::time::Duration>,
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
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE)
                .then_some(std::time::Duration::from_secs(1)),
        }
    }

    /// 400 for query parameters that are not valid, each named in `fields`.
    pub fn invalid_query(fields: FieldErrors) -> Self {
        Self {
            fields: Some(fields),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "Some query parameters are not valid.",
            )
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

    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
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
            FlowError::InvalidResetLink => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "This password reset link is not valid: it was used, or a newer one was sent. Ask for a new one.",
            ),
            FlowError::ResetLinkExpired => Self::new(
                StatusCode::GONE,
                "token_expired",
                "This password reset link has expired. Ask for a new one.",
            ),
            FlowError::InvalidEmailChangeLink => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "This email change link is not valid: it was used, or a newer one was sent. Ask for the change again.",
            ),
            FlowError::EmailChangeLinkExpired => Self::new(
                StatusCode::GONE,
                "token_expired",
                "This email change link has expired. Ask for the change again.",
            ),
            FlowError::WrongPassword => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Your current password is wrong.",
            ),
            FlowError::Overloaded => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "The server is busy. Try again in a moment.",
            ),
            FlowError::RateLimited { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many requests. Wait a little, then try again.",
                )
            },
            FlowError::LoginLocked => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "login_locked",
                "Too many failed sign-ins for this account. Sign in from a device you used before, \
                 or use the unlock link we emailed to the address if it has an account.",
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
            FlowError::RegistrationClosed => Self::new(
                StatusCode::FORBIDDEN,
                "registration_closed",
                "Sign-up is by invitation only: ask the people who run this service for one.",
            ),
            FlowError::AccountDisabled => Self::new(
                StatusCode::FORBIDDEN,
                "account_disabled",
                "This account is disabled. Ask the people who run this service.",
            ),
            FlowError::InvalidCode => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_code",
                "That code is not right. Check it and try again.",
            ),
            FlowError::InvalidPasskey => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_passkey",
                "That passkey could not be verified. Try again, or use another method.",
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
            FlowError::TooManyPasskeys => Self::new(
                StatusCode::CONFLICT,
                "too_many_passkeys",
                "This account has as many passkeys as it may keep. Remove one to add another.",
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
            FlowError::Busy(source) => {
                tracing::warn!(error = %source, cause = ?std::error::Error::source(&source), "the database was busy");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "The server is busy. Try again in a moment.",
                )
            }
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
        if let Some(wait) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(wait.as_secs().max(1)),
            );
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

/// Bounds a request from its head to its answer, body reading included:
/// past `limit`, `408 request_timeout` (the handler is dropped, and with it
/// any transaction it had open, which rolls back).
pub(super) async fn timeout(
    limit: std::time::Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::info!("request timed out");
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request took too long. Try again.",
            )
            .into_response()
        }
    }
}
