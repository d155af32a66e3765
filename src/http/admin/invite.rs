//! `POST /admin/users`: an operator invites someone.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::flows;
use crate::http::ApiError;
use crate::http::json::ApiJson;
use crate::http::meta::Meta;
use crate::http::openapi::{BadJson, ErrorBody, NotJson, TooLarge};
use crate::http::views::UserView;
use crate::state::AppState;

/// Whom an operator invites.
#[derive(Deserialize, ToSchema)]
#[schema(as = AdminInvitation)]
pub(in crate::http) struct InviteBody {
    /// The address the invitation goes to, and the account's.
    #[schema(required, nullable = false, format = Email)]
    email: Option<String>,
    /// The display name; the address's local part when absent or empty.
    name: Option<String>,
}

/// `{"user": {...}, "invitation": {"expires_at"}}`.
#[derive(Serialize, ToSchema)]
pub(in crate::http) struct InvitedEnvelope {
    user: UserView,
    invitation: InvitationView,
}

#[derive(Serialize, ToSchema)]
struct InvitationView {
    /// When the emailed link stops working; "Forgot your password?" sends
    /// another after that.
    expires_at: DateTime<Utc>,
}

/// `POST /admin/users`: an account for someone, who chooses its password
/// with the emailed link.
#[utoipa::path(
    post, path = "/admin/users", tag = "admin",
    description = "Makes an account for someone: it waits (`pending`) until its owner chooses a \
        password with the single-use link emailed to the address (valid \
        `LATCHKEY_INVITATION_TTL`), which also activates it. Nobody can sign in to it before \
        that. The way in when `LATCHKEY_REGISTRATION=invitation`. Records `user.invited`.",
    request_body = InviteBody,
    responses(
        (status = 201, description = "The account, and until when its link works", body = InvitedEnvelope),
        (status = 400, response = BadJson),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no admin key is configured (the admin API is absent)", body = ErrorBody),
        (status = 409, description = "`email_taken`: an account has the address, whatever its state (whatever the enumeration setting)", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields.email` or `fields.name`", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(in crate::http) async fn invite(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<(StatusCode, Json<InvitedEnvelope>), ApiError> {
    let invitation =
        flows::invite_by_admin(&state, body.email.as_deref(), body.name.as_deref(), &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitedEnvelope {
            user: UserView::from(&invitation.user),
            invitation: InvitationView {
                expires_at: invitation.until,
            },
        }),
    ))
}
