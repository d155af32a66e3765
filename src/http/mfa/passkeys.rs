//! The passkey endpoints: a login's options, adding a passkey, and naming
//! or removing one of several.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use uuid::Uuid;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use super::{
    Confirmed, EnrollRequest, PasskeyConfirmRequest, PasskeyOptionsRequest, PasskeyRenameRequest,
    RemoveQuery, enrolled, enroller, remove_query,
};
use crate::domain::FactorKind;
use crate::flows::mfa;
use crate::http::ApiError;
use crate::http::json::ApiJson;
use crate::http::login::mfa_token;
use crate::http::meta::Meta;
use crate::http::openapi::{BadJson, ErrorBody, NotJson, TooLarge, Unauthenticated};
use crate::http::path::ApiPath;
use crate::http::session::{MaybeSignedIn, SignedIn};
use crate::state::AppState;

/// POST /mfa/passkey/options: what the browser signs for the login.
#[utoipa::path(
    post, path = "/mfa/passkey/options", tag = "login",
    description = "For a login waiting on its second step, with a passkey among its `methods`: \
        the options for `navigator.credentials.get` (`{\"publicKey\": ...}`, the form \
        `PublicKeyCredential.parseRequestOptionsFromJSON` takes). Send what the browser answers \
        to `POST /mfa/verify` as `passkey`. Asked again, the options replace the last.",
    request_body = PasskeyOptionsRequest,
    responses(
        (status = 200, description = "The options", body = Object),
        (status = 400, description = "`malformed_json`, `bad_request`, or `method_unavailable`: no passkey, or passkeys are off", body = ErrorBody),
        (status = 403, description = "`mfa_enrollment_required`: the token is an enrolment's", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: unknown, expired or used `mfa_token`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, description = "`rate_limited` (with `Retry-After`) or `too_many_attempts`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)"))),
    ),
    security(("mfa_challenge" = []), ()),
)]
pub(in crate::http) async fn passkey_options(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasskeyOptionsRequest>,
) -> Result<Json<RequestChallengeResponse>, ApiError> {
    let token = mfa_token(&state, &jar, body.mfa_token);
    Ok(Json(
        mfa::passkey_options(&state, token.as_deref(), &meta).await?,
    ))
}

#[utoipa::path(
    post, path = "/mfa/passkey/enroll", tag = "mfa",
    description = "Starts adding a passkey: the options for `navigator.credentials.create` \
        (`{\"publicKey\": ...}`, the form `PublicKeyCredential.parseCreationOptionsFromJSON` \
        takes), good for 10 minutes. Needs a sign-in within the last 10 minutes, or (under \
        `LATCHKEY_MFA=required`) the enrolment `mfa_token`. Passkeys need the public URL's host \
        to be a domain name (`localhost` counts); on an IP address they are unavailable.",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "The options", body = Object),
        (status = 400, description = "`malformed_json`, `bad_request`, or `method_unavailable`", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 409, description = "`too_many_passkeys`: the account has 10", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: the enrolment `mfa_token` is over", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
    ),
    security(("session" = []), ("mfa_challenge" = []), ()),
)]
pub(in crate::http) async fn passkey_enroll(
    State(state): State<AppState>,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiJson(body): ApiJson<EnrollRequest>,
) -> Result<Json<CreationChallengeResponse>, ApiError> {
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    Ok(Json(mfa::enroll_passkey(&state, &enroller).await?))
}

#[utoipa::path(
    post, path = "/mfa/passkey/confirm", tag = "mfa",
    description = "Adds the passkey the browser made for the options of `POST /mfa/passkey/enroll`, \
        with its `name` (\"Passkey 2\" when none is given).",
    request_body = PasskeyConfirmRequest,
    responses(
        (status = 200, description = "Confirmed (see `POST /mfa/totp/confirm`)", body = Confirmed),
        (status = 400, description = "`malformed_json`, `bad_request`, or `method_unavailable`", body = ErrorBody),
        (status = 401, description = "`unauthenticated` or `invalid_passkey`", body = ErrorBody),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no set-up in progress", body = ErrorBody),
        (status = 409, description = "`already_enrolled`: this credential is already an account's", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: the set-up or the enrolment `mfa_token` expired", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`: the name", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    ),
    security(("session" = []), ("mfa_challenge" = []), ()),
)]
pub(in crate::http) async fn passkey_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasskeyConfirmRequest>,
) -> Result<(CookieJar, Json<Confirmed>), ApiError> {
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    let credential = body.credential.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`credential` is what the browser made for the options of `POST /mfa/passkey/enroll`.",
        )
    })?;
    let done = mfa::confirm_passkey(
        &state,
        &enroller,
        &credential,
        body.name.as_deref(),
        body.revoke_other_sessions,
        &meta,
    )
    .await?;
    enrolled(&state, jar, done, &meta).await
}

/// PATCH /mfa/passkeys/{id}: a new name.
#[utoipa::path(
    patch, path = "/mfa/passkeys/{id}", tag = "mfa",
    description = "Renames one of the account's passkeys (its `id` in `GET /mfa`).",
    params(("id" = Uuid, Path, description = "The passkey's `id`")),
    request_body = PasskeyRenameRequest,
    responses(
        (status = 204, description = "Renamed"),
        (status = 400, response = BadJson),
        (status = 401, response = Unauthenticated),
        (status = 404, description = "`not_found`: no such passkey", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`: the name", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub(in crate::http) async fn rename_passkey(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PasskeyRenameRequest>,
) -> Result<StatusCode, ApiError> {
    let name = body.name.unwrap_or_default();
    mfa::rename_passkey(&state, &session.user, id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /mfa/passkeys/{id}: one passkey goes, the others stay.
#[utoipa::path(
    delete, path = "/mfa/passkeys/{id}", tag = "mfa",
    description = "Removes one of the account's passkeys (the last factor takes the recovery \
        codes with it). Needs a sign-in within the last 10 minutes. (The dashboard's form \
        posts to `/mfa/passkeys/{id}/remove`.)",
    params(("id" = Uuid, Path, description = "The passkey's `id` in `GET /mfa`"), RemoveQuery),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`bad_request`: an unreadable query string", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such passkey", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub(in crate::http) async fn remove_passkey(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(session): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    query: Result<Query<RemoveQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let query = remove_query(query)?;
    mfa::remove_factor(
        &state,
        &session,
        FactorKind::Passkey,
        Some(id),
        query.revoke_other_sessions,
        &meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
