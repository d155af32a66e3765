//! `GET /me/activity`: the account's recent sign-ins and security changes,
//! for its owner (`flows::activity`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use super::bearer::Authenticated;
use super::openapi::BearerChallenge;
use crate::audit::Outcome;
use crate::domain::SignedInWith;
use crate::flows::{self, ActivityCursor};
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
    /// For a method added or removed: `totp`, `sms`, `email` or `passkey`.
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    /// For a sign-in: how it was made, as `GET /sessions` says it
    /// (`password`, `password+totp`, `passkey`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "password+passkey")]
    signed_in_with: Option<&'static str>,
    /// Where the request came from: for a failed sign-in, whoever tried.
    ip: Option<String>,
    user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ActivityList {
    /// Newest first, at most 50.
    events: Vec<ActivityEntry>,
    /// The `before` of the next page (older entries); `null` on the last.
    #[schema(example = "4711")]
    next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ActivityQuery {
    /// The `next` of the page before: the entries older than that page's.
    before: Option<String>,
}

fn bad_cursor() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "`before` is the `next` of an earlier page of the activity.",
    )
}

/// The account's recent activity, newest first.
#[utoipa::path(
    get, path = "/me/activity", tag = "sessions",
    description = "The account's sign-ins, failed attempts and changes to how it is protected \
        (password, address, two-step verification, sessions ended), newest first, 50 a page: \
        an owner who sees one they did not make knows to act. `next` is the `before` of the \
        page of older ones. Operational entries of the trail (emails sent, hashes upgraded) \
        are left out.",
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of the activity", body = ActivityList),
        (status = 400, description = "`bad_request`: `before` is not a page's `next`", body = super::openapi::ErrorBody),
        (status = 401, response = BearerChallenge),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub(super) async fn get(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    query: Result<Query<ActivityQuery>, QueryRejection>,
) -> Result<Json<ActivityList>, ApiError> {
    // axum's own rejection is plain text; answer in our error format.
    let Query(query) = query.map_err(|_| bad_cursor())?;
    let before = match query.before.as_deref() {
        Some(raw) => Some(ActivityCursor::parse(raw).ok_or_else(bad_cursor)?),
        None => None,
    };
    let page = flows::activity(&state, &user, before).await?;
    let events = page
        .entries
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
            signed_in_with: entry.signed_in_with.map(SignedInWith::as_str),
            ip: entry.ip,
            user_agent: entry.user_agent,
        })
        .collect();
    Ok(Json(ActivityList {
        events,
        next: page.next.map(|cursor| cursor.to_string()),
    }))
}
