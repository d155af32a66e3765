//! `POST /password/check {"password","name","email"}`: the verdict the
//! sign-up page shows while a person types, from the very policy
//! `POST /register` applies.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::ApiError;
use super::json::ApiJson;
use crate::domain::Password;
use crate::flows;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct CheckBody {
    password: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Verdict {
    ok: bool,
    score: u8,
    errors: Vec<Problem>,
}

#[derive(Serialize)]
struct Problem {
    code: &'static str,
    message: String,
}

/// Bodies over 64 KiB are refused unread (the router's limit), and a
/// password over the maximum length is refused before any scoring.
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
    );
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
