//! `GET /me/activity`: the account's recent sign-ins and security changes,
//! for its owner (`flows::activity`).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use super::bearer::Authenticated;
use super::openapi::BearerChallenge;
use crate::audit::Outcome;
use crate::flows;
use crate::state::AppState;

/// One entry of the account's activity.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ActivityEntry {
    at: DateTime<Utc>,
    /// The trail's stable name of the event, such as `session.started`.
    #[schema(example = "session.started")]
    event: &'static str,
    /// How it reads.
    #[schema(example = "Signed in")]
    description: &'static str,
    /// `success`, or `failure` for an attempt that was refused (a wrong
    /// password, a wrong code).
    #[schema(example = "success")]
    outcome: &'static str,
    /// For a method added or removed: `totp`, `sms` or `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    /// Where the request came from: for a failed sign-in, whoever tried.
    ip: Option<String>,
    user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ActivityList {
    /// Newest first, at most 50.
    events: Vec<ActivityEntry>,
}

/// The account's recent activity, newest first.
#[utoipa::path(
    get, path = "/me/activity", tag = "sessions",
    description = "The account's newest 50 sign-ins, failed attempts and changes to how it is \
        protected (password, address, two-step verification, sessions ended), newest first: \
        an owner who sees one they did not make knows to act. Operational entries of the \
        trail (emails sent, hashes upgraded) are left out.",
    responses(
        (status = 200, description = "The activity", body = ActivityList),
        (status = 401, response = BearerChallenge),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub(super) async fn get(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
) -> Result<Json<ActivityList>, ApiError> {
    let events = flows::activity(&state, &user)
        .await?
        .into_iter()
        .map(|entry| ActivityEntry {
            at: entry.at,
            event: entry.kind.as_str(),
            description: entry.description,
            outcome: if entry.succeeded {
                Outcome::Success
            } else {
                Outcome::Failure
            }
            .as_str(),
            method: entry.factor.map(|kind| kind.as_str()),
            ip: entry.ip,
            user_agent: entry.user_agent,
        })
        .collect();
    Ok(Json(ActivityList { events }))
}
