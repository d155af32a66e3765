//! `DELETE /admin/users/{id}/mfa`: two-step verification turned off for an
//! owner who lost every factor (`flows::mfa::reset_factors_by_admin`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::account_id;
use crate::flows::mfa;
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::openapi::ErrorBody;
use crate::http::path::ApiPath;
use crate::state::AppState;

/// What an operator's reset of the second factors did.
#[derive(Debug, Serialize, ToSchema)]
pub(in crate::http) struct FactorsResetView {
    /// The confirmed factors removed (`totp`, `sms`, `email`); empty when
    /// the account had none, and then nothing changed.
    #[schema(example = json!(["totp"]))]
    removed: Vec<&'static str>,
    /// The sessions that ended.
    revoked: u64,
}

#[utoipa::path(
    delete, path = "/admin/users/{id}/mfa", tag = "admin",
    description = "For an owner who lost every second factor and the recovery codes (check who \
        is asking first: latchkey cannot): in one transaction the factors (enrolments in \
        progress too) and recovery codes are removed, every session ends with its access \
        tokens, logins waiting for a second factor expire, and the owner is emailed. The \
        password stays: its owner signs in with it and sets up a factor again (under \
        `LATCHKEY_MFA=required`, before that sign-in finishes). Records `mfa.reset`. An \
        account without a confirmed factor is left as it is (`removed: []`).",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Done", body = FactorsResetView),
        (status = 401, description = "`invalid_admin_key`: no or the wrong key", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey-admin\"`"))),
        (status = 404, description = "`not_found`: no such account, or no admin key is configured", body = ErrorBody),
    ),
    security(("admin_key" = [])),
)]
pub(in crate::http) async fn reset_factors(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FactorsResetView>, ApiError> {
    let id = account_id(&id)?;
    let reset = mfa::reset_factors_by_admin(&state, id, &meta).await?;
    Ok(Json(FactorsResetView {
        removed: reset.removed.iter().map(|kind| kind.as_str()).collect(),
        revoked: reset.sessions_ended,
    }))
}
