//! `GET /me/export`: everything held about the signed-in account, as a JSON
//! download (`flows::export_account`).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiError;
use super::meta::Meta;
use super::openapi::{ErrorBody, Unauthenticated};
use super::session::SignedIn;
use super::views::UserView;
use crate::flows;

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ExportView {
    exported_at: DateTime<Utc>,
    account: ExportedAccount,
    /// Confirmed second factors; their secrets are never exported.
    second_factors: Vec<ExportedFactorView>,
    recovery_codes_left: i64,
    /// Every session still kept, ended ones included.
    sessions: Vec<ExportedSession>,
    /// The account's audit trail, oldest first; this download is the last entry.
    audit_trail: Vec<ExportedEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
struct ExportedAccount {
    #[serde(flatten)]
    user: UserView,
    verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
struct ExportedFactorView {
    /// `totp`, `sms`, `email` or `passkey`.
    method: &'static str,
    /// For `sms`: the number codes go to.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    /// For `passkey`: what the owner calls it.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    added_at: DateTime<Utc>,
    /// For `passkey`: its last sign-in, once it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
struct ExportedSession {
    id: Uuid,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    authenticated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    ip: Option<String>,
    user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
struct ExportedEntry {
    at: DateTime<Utc>,
    event: String,
    outcome: String,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

/// The account's data as a JSON file.
#[utoipa::path(
    get, path = "/me/export", tag = "sessions",
    description = "Everything the service holds about the session cookie's account (GDPR \
        access and portability), as a download (`Content-Disposition: attachment`): the \
        profile, the confirmed second factors without their secrets, the recovery codes left, \
        every session still kept and the account's whole audit trail. Needs a sign-in within \
        the last 10 minutes; recorded as `user.data_exported`.",
    responses(
        (status = 200, description = "The account's data", body = ExportView),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`: sign in again first", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub(super) async fn get(
    State(state): State<crate::state::AppState>,
    Meta(meta): Meta,
    SignedIn(session): SignedIn,
) -> Result<Response, ApiError> {
    let export = flows::export_account(&state, &session, &meta).await?;
    let filename = format!(
        "attachment; filename=\"latchkey-data-{}.json\"",
        export.exported_at.format("%Y-%m-%d")
    );
    let view = ExportView {
        exported_at: export.exported_at,
        account: ExportedAccount {
            user: UserView::from(&export.user),
            verified_at: export.user.verified_at,
        },
        second_factors: export
            .factors
            .into_iter()
            .map(|factor| ExportedFactorView {
                method: factor.kind.as_str(),
                phone: factor.phone,
                name: factor.name,
                added_at: factor.added_at,
                last_used_at: factor.last_used_at,
            })
            .collect(),
        recovery_codes_left: export.recovery_codes_left,
        sessions: export
            .sessions
            .into_iter()
            .map(|session| ExportedSession {
                id: session.id,
                created_at: session.created_at,
                last_seen_at: session.last_seen_at,
                authenticated_at: session.authenticated_at,
                expires_at: session.expires_at,
                revoked_at: session.revoked_at,
                ip: session.ip,
                user_agent: session.user_agent,
            })
            .collect(),
        audit_trail: export
            .trail
            .into_iter()
            .map(|entry| ExportedEntry {
                at: entry.at,
                event: entry.event,
                outcome: entry.outcome,
                ip: entry.ip,
                user_agent: entry.user_agent,
                detail: entry.detail,
            })
            .collect(),
    };
    Ok(([(header::CONTENT_DISPOSITION, filename)], Json(view)).into_response())
}
