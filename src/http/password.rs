//! `POST /password/check {"password","name","email"}`: the verdict the
//! sign-up page shows while a person types, from the very policy
//! `POST /register` applies.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::json::ApiJson;
use super::openapi::{BadJson, NotJson, Overloaded, TooLarge};
use crate::domain::Password;
use crate::flows;
use crate::state::AppState;

/// A password, with the name and email it would be registered with.
#[derive(Deserialize, ToSchema)]
#[schema(as = PasswordCheckRequest)]
pub(super) struct CheckBody {
    #[schema(required, nullable = false, format = Password)]
    password: Option<String>,
    #[schema(nullable = false)]
    name: Option<String>,
    #[schema(nullable = false)]
    email: Option<String>,
}

/// The verdict `POST /register` would give.
#[derive(Serialize, ToSchema)]
#[schema(as = PasswordVerdict)]
pub(super) struct Verdict {
    ok: bool,
    /// zxcvbn's score (0 for a password refused unscored).
    #[schema(minimum = 0, maximum = 4)]
    score: u8,
    errors: Vec<Problem>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = PasswordProblem)]
struct Problem {
    #[schema(pattern = "^[a-z_]+$")]
    code: &'static str,
    message: String,
}

/// Bodies over 64 KiB are refused unread (the router's limit), and a
/// password over the maximum length is refused before any scoring.
#[utoipa::path(
    post, path = "/password/check", tag = "sign-up",
    description = "The password verdict `POST /register` would give with the same name and \
        email (the sign-up page asks it while a person types).",
    request_body = CheckBody,
    responses(
        (status = 200, description = "The verdict", body = Verdict),
        (status = 400, response = BadJson),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Overloaded),
    ),
    security(()),
)]
pub(super) async fn check(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<Verdict>, ApiError> {
    let password = Password::new(body.password.as_deref().unwrap_or_default());
    let assessment = flows::check_password(
        &state,
        &password,
        body.name.as_deref(),
        body.email.as_deref(),
    )
    .await?;
    Ok(Json(Verdict {
        ok: assessment.is_acceptable(),
        score: assessment.score,
        errors: assessment
            .violations
            .iter()
            .map(|violation| Problem {
                code: violation.code(),
                message: violation.message(),
            })
            .collect(),
    }))
}
