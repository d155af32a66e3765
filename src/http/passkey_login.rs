//! `POST /login/passkey/options` and `POST /login/passkey`: signing in with
//! a passkey alone, no address or password (`flows::mfa::passkey_sign_in`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webauthn_rs::prelude::{PublicKeyCredential, RequestChallengeResponse};

use super::ApiError;
use super::json::ApiJson;
use super::login::{AuthenticatedBody, authenticated};
use super::meta::Meta;
use super::openapi::{ErrorBody, NotJson, TooLarge};
use crate::flows::mfa;
use crate::state::AppState;

/// The options for `navigator.credentials.get` (`publicKey`, and
/// `mediation`), with the ceremony to send back.
#[derive(Serialize, ToSchema)]
pub(super) struct PasskeySignInOptions {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    options: RequestChallengeResponse,
    /// Send it back with the answer; good once, for 10 minutes.
    ceremony: String,
}

/// `POST /login/passkey`.
#[derive(Deserialize, ToSchema)]
pub(super) struct PasskeySignInRequest {
    /// From `POST /login/passkey/options`.
    #[schema(required, nullable = false)]
    ceremony: Option<String>,
    /// What `navigator.credentials.get` returned for those options, as
    /// `PublicKeyCredential.toJSON()` gives it.
    #[schema(required, nullable = false, value_type = Object)]
    passkey: Option<PublicKeyCredential>,
}

#[utoipa::path(
    post, path = "/login/passkey/options", tag = "login",
    description = "Starts a sign-in with a passkey alone: the options for \
        `navigator.credentials.get` (`publicKey`, the form \
        `PublicKeyCredential.parseRequestOptionsFromJSON` takes; no `allowCredentials`, so the \
        device offers the passkeys it holds for this site) and `ceremony`, to send back with \
        the answer to `POST /login/passkey`. Nothing is stored until an answer comes.",
    responses(
        (status = 200, description = "The options", body = PasskeySignInOptions),
        (status = 400, description = "`method_unavailable`: passkeys are off, or the public URL is an IP address", body = ErrorBody),
    ),
    security(()),
)]
pub(super) async fn options(
    State(state): State<AppState>,
) -> Result<Json<PasskeySignInOptions>, ApiError> {
    let started = mfa::passkey_sign_in_options(&state)?;
    Ok(Json(PasskeySignInOptions {
        options: started.options,
        ceremony: started.ceremony,
    }))
}

#[utoipa::path(
    post, path = "/login/passkey", tag = "login",
    description = "Finishes a sign-in with a passkey alone: the account whose passkey answered \
        is signed in, with no password and no second step (the passkey needed the device's \
        fingerprint, face or PIN: two factors in one). The same answer as an authenticated \
        `POST /login`, and the session cookie.",
    request_body = PasskeySignInRequest,
    responses(
        (status = 200, description = "Authenticated", body = AuthenticatedBody),
        (status = 400, description = "`malformed_json`, `bad_request`, or `method_unavailable`", body = ErrorBody),
        (status = 401, description = "`invalid_passkey`: no account has this passkey, or its answer did not verify", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: the ceremony is unknown, over 10 minutes old, or was answered already", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, description = "`rate_limited` (the address's sign-in attempts)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(()),
)]
pub(super) async fn sign_in(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasskeySignInRequest>,
) -> Result<(CookieJar, Json<AuthenticatedBody>), ApiError> {
    let answer = body.passkey.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`passkey` is what the browser answered to the options of `POST /login/passkey/options`.",
        )
    })?;
    let (user, session) =
        mfa::sign_in_with_passkey(&state, body.ceremony.as_deref(), &answer, &meta).await?;
    super::session::end_replaced(&state, &jar, &meta).await?;
    authenticated(&state, jar, &user, &session).await
}
