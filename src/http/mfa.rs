//! The MFA endpoints: the login's second step, and enrolment.

mod bodies;
pub(super) mod passkeys;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;

use super::ApiError;
use super::json::ApiJson;
use super::login::{AuthenticatedBody, authenticated, mfa_token};
use super::meta::Meta;
use super::openapi::{BadJson, ErrorBody, NotJson, TooLarge, Unauthenticated};
use super::path::ApiPath;
use super::session::{MaybeSignedIn, SignedIn};
use super::views::Accepted;
use crate::domain::FactorKind;
use crate::flows::mfa::{self, Enrolled};
use crate::flows::{CurrentSession, FlowError};
use crate::state::AppState;
pub(super) use bodies::{
    ChallengeRequest, CodeRequest, ConfirmRequest, Confirmed, EnrollRequest, Factor, Factors,
    PasskeyConfirmRequest, PasskeyOptionsRequest, PasskeyRenameRequest, RecoveryCodes, RemoveQuery,
    TotpEnrollment,
};
pub(super) use passkeys::{
    passkey_confirm, passkey_enroll, passkey_options, remove_passkey, rename_passkey,
};

fn accepted() -> (StatusCode, Json<Accepted>) {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "A code is on its way.",
        }),
    )
}

/// POST /mfa/challenge: send a code by SMS or email.
#[utoipa::path(
    post, path = "/mfa/challenge", tag = "login",
    description = "Sends a 6-digit code for the login's second step, by SMS or email. A resend \
        replaces the code, not the attempt count. (A form body is the second-step page's form.)",
    request_body = ChallengeRequest,
    responses(
        (status = 202, description = "A code is on its way", body = Accepted),
        (status = 400, description = "`malformed_json`, `bad_request`, or `method_unavailable`", body = ErrorBody),
        (status = 403, description = "`mfa_enrollment_required`: the token is an enrolment's", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: unknown, expired or used `mfa_token`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, description = "`rate_limited` (with `Retry-After`) or `too_many_attempts`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)"))),
    ),
    security(("mfa_challenge" = []), ()),
)]
pub(super) async fn challenge(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<ChallengeRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let token = mfa_token(&state, &jar, body.mfa_token);
    mfa::send_login_code(&state, token.as_deref(), body.method.as_deref(), &meta).await?;
    Ok(accepted())
}

/// POST /mfa/verify: finish the login with a code.
#[utoipa::path(
    post, path = "/mfa/verify", tag = "login",
    description = "Finishes the login with a TOTP code, the code sent, a recovery code, or \
        (`passkey`) the passkey's answer to `POST /mfa/passkey/options`: the same answer as an \
        authenticated `POST /login`, and the session cookie. (A form body is the second-step \
        page's form.)",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Authenticated", body = AuthenticatedBody),
        (status = 400, response = BadJson),
        (status = 401, description = "`invalid_code`, or `invalid_passkey`", body = ErrorBody),
        (status = 403, description = "`mfa_enrollment_required`: the token is an enrolment's", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: unknown, expired or used `mfa_token`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, description = "`too_many_attempts` (from the 5th wrong answer on), or `rate_limited` with `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)"))),
    ),
    security(("mfa_challenge" = []), ()),
)]
pub(super) async fn verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<(CookieJar, Json<AuthenticatedBody>), ApiError> {
    let token = mfa_token(&state, &jar, body.mfa_token);
    let answer = match &body.passkey {
        Some(signed) => mfa::Answer::Passkey(signed),
        None => mfa::Answer::Code(body.code.as_deref()),
    };
    let (user, session) = mfa::verify_second_step(&state, token.as_deref(), answer, &meta).await?;
    super::session::end_replaced(&state, &jar, &meta).await?;
    authenticated(&state, jar, &user, &session).await
}

/// Who may enrol: a recent session, else the enrolment `mfa_token` (body or
/// cookie). The pages' enrolment forms ask the same way.
pub(super) async fn enroller(
    state: &AppState,
    session: Option<CurrentSession>,
    jar: &CookieJar,
    from_body: Option<String>,
) -> Result<mfa::Enroller, FlowError> {
    // A session comes first: a signed-in person may still hold an old mfa cookie.
    let token = if session.is_some() {
        from_body
    } else {
        mfa_token(state, jar, from_body)
    };
    mfa::enroller(state, session, token.as_deref()).await
}

/// The answer to a confirmed enrolment: recovery codes (shown once), and a
/// session when the enrolment finished a login.
async fn enrolled(
    state: &AppState,
    jar: CookieJar,
    enrolled: Enrolled,
    meta: &crate::audit::RequestMeta,
) -> Result<(CookieJar, Json<Confirmed>), ApiError> {
    let codes: Vec<String> = enrolled
        .recovery_codes
        .iter()
        .map(|code| code.as_str().to_owned())
        .collect();
    Ok(match enrolled.session {
        Some((user, session)) => {
            super::session::end_replaced(state, &jar, meta).await?;
            let (jar, Json(mut body)) = authenticated(state, jar, &user, &session).await?;
            body.recovery_codes = Some(codes);
            (jar, Json(Confirmed::Authenticated(body)))
        }
        None => (
            jar,
            Json(Confirmed::Codes(RecoveryCodes {
                recovery_codes: codes,
            })),
        ),
    })
}

#[utoipa::path(
    post, path = "/mfa/totp/enroll", tag = "mfa",
    description = "Starts setting up an authenticator app. Needs a sign-in within the last 10 \
        minutes, or (under `LATCHKEY_MFA=required`) the enrolment `mfa_token`.",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "The new secret", body = TotpEnrollment),
        (status = 400, description = "`malformed_json`, `bad_request`, or `method_unavailable`", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 409, description = "`already_enrolled`", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: the enrolment `mfa_token` is over", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
    ),
    security(("session" = []), ("mfa_challenge" = []), ()),
)]
pub(super) async fn totp_enroll(
    State(state): State<AppState>,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiJson(body): ApiJson<EnrollRequest>,
) -> Result<Json<TotpEnrollment>, ApiError> {
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    let enrollment = mfa::enroll_totp(&state, &enroller).await?;
    Ok(Json(TotpEnrollment {
        secret: enrollment.secret,
        otpauth_uri: enrollment.otpauth_uri,
        qr_svg: enrollment.qr_svg,
    }))
}

#[utoipa::path(
    post, path = "/mfa/totp/confirm", tag = "mfa",
    description = "Confirms the authenticator app with its first code.",
    request_body = ConfirmRequest,
    responses(
        (status = 200, description = "Confirmed: recovery codes (empty unless the account had none left), \
            and an authenticated answer when it finished a login", body = Confirmed),
        (status = 400, response = BadJson),
        (status = 401, description = "`unauthenticated` or `invalid_code`", body = ErrorBody),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no set-up in progress", body = ErrorBody),
        (status = 410, description = "`mfa_expired`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    ),
    security(("session" = []), ("mfa_challenge" = []), ()),
)]
pub(super) async fn totp_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> Result<(CookieJar, Json<Confirmed>), ApiError> {
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    let done = mfa::confirm_totp(
        &state,
        &enroller,
        body.code.as_deref(),
        body.revoke_other_sessions,
        &meta,
    )
    .await?;
    enrolled(&state, jar, done, &meta).await
}

fn delivered_kind(method: &str) -> Result<FactorKind, ApiError> {
    FactorKind::parse(method)
        .filter(|kind| kind.is_delivered())
        .ok_or_else(|| FlowError::NotFound.into())
}

/// POST /mfa/{sms|email}/enroll: send the confirming code.
#[utoipa::path(
    post, path = "/mfa/{method}/enroll", tag = "mfa",
    description = "Starts setting up SMS (with `phone`) or email codes: a code is sent to confirm.",
    params(("method" = String, Path, description = "`sms` or `email`", pattern = "^(sms|email)$")),
    request_body = EnrollRequest,
    responses(
        (status = 202, description = "A code is on its way", body = Accepted),
        (status = 400, description = "`malformed_json`, `bad_request`, or `method_unavailable`", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such method", body = ErrorBody),
        (status = 409, description = "`already_enrolled`", body = ErrorBody),
        (status = 410, description = "`mfa_expired`", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`: the phone number", body = ErrorBody),
        (status = 429, description = "`rate_limited`: the recipient had their quota of messages", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(("session" = []), ("mfa_challenge" = []), ()),
)]
pub(super) async fn delivered_enroll(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiPath(method): ApiPath<String>,
    ApiJson(body): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let kind = delivered_kind(&method)?;
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    mfa::enroll_delivered(&state, &enroller, kind, body.phone.as_deref(), &meta).await?;
    Ok(accepted())
}

/// POST /mfa/{sms|email}/confirm.
#[utoipa::path(
    post, path = "/mfa/{method}/confirm", tag = "mfa",
    description = "Confirms SMS or email codes with the code sent.",
    params(("method" = String, Path, description = "`sms` or `email`", pattern = "^(sms|email)$")),
    request_body = ConfirmRequest,
    responses(
        (status = 200, description = "Confirmed (see `POST /mfa/totp/confirm`)", body = Confirmed),
        (status = 400, response = BadJson),
        (status = 401, description = "`unauthenticated` or `invalid_code`", body = ErrorBody),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such method, or no set-up in progress", body = ErrorBody),
        (status = 410, description = "`mfa_expired`: the code or the enrolment `mfa_token` expired", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    ),
    security(("session" = []), ("mfa_challenge" = []), ()),
)]
pub(super) async fn delivered_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiPath(method): ApiPath<String>,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> Result<(CookieJar, Json<Confirmed>), ApiError> {
    let kind = delivered_kind(&method)?;
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    let done = mfa::confirm_delivered(
        &state,
        &enroller,
        kind,
        body.code.as_deref(),
        body.revoke_other_sessions,
        &meta,
    )
    .await?;
    enrolled(&state, jar, done, &meta).await
}

/// DELETE /mfa/{method}.
#[utoipa::path(
    delete, path = "/mfa/{method}", tag = "mfa",
    description = "Removes a factor (the last one takes the recovery codes with it); `passkey` \
        removes every passkey (`DELETE /mfa/passkeys/{id}` removes one). Needs a sign-in within \
        the last 10 minutes. (The dashboard's form posts to `/mfa/{method}/remove`.)",
    params(
        ("method" = String, Path, description = "`totp`, `sms`, `email` or `passkey`", pattern = "^(totp|sms|email|passkey)$"),
        RemoveQuery,
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`bad_request`: an unreadable query string", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such factor", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(session): SignedIn,
    ApiPath(method): ApiPath<String>,
    query: Result<Query<RemoveQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let query = remove_query(query)?;
    let kind = FactorKind::parse(&method).ok_or(FlowError::NotFound)?;
    mfa::remove_factor(
        &state,
        &session,
        kind,
        None,
        query.revoke_other_sessions,
        &meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of a `DELETE`: axum's own rejection is plain text; answer in
/// our error format.
fn remove_query(
    query: Result<Query<RemoveQuery>, QueryRejection>,
) -> Result<RemoveQuery, ApiError> {
    query.map(|Query(query)| query).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The query string could not be read: `revoke_other_sessions` is `true` or `false`.",
        )
    })
}

/// POST /mfa/recovery-codes: a new set; the old one stops working.
#[utoipa::path(
    post, path = "/mfa/recovery-codes", tag = "mfa",
    description = "A new set of recovery codes; the old set stops working. (A form body is \
        the dashboard's form.)",
    responses(
        (status = 200, description = "The new codes, shown once", body = RecoveryCodes),
        (status = 400, description = "`method_unavailable`: no factor is set up", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 415, response = NotJson),
    ),
    security(("session" = [])),
)]
pub(super) async fn recovery_codes(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(session): SignedIn,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let codes = mfa::new_recovery_codes(&state, &session, &meta).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes.iter().map(|code| code.as_str().to_owned()).collect(),
    }))
}

/// GET /mfa: the enrolled factors.
#[utoipa::path(
    get, path = "/mfa", tag = "mfa",
    description = "The confirmed factors and how many recovery codes are left. A browser \
        (`Accept` naming `text/html`) gets the second-step page instead.",
    responses(
        (status = 200, description = "The factors", content(
            (Factors = "application/json"), (String = "text/html"))),
        (status = 401, response = Unauthenticated),
    ),
    security(("session" = [])),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Json<Factors>, ApiError> {
    let (factors, left) = mfa::factors(&state, &session.user).await?;
    let factors = factors
        .iter()
        .map(|factor| Factor {
            id: factor.id,
            method: factor.kind.as_str(),
            phone: factor.phone.clone(),
            name: factor.name.clone(),
            confirmed_at: factor.confirmed_at,
            last_used_at: factor.last_used_at,
        })
        .collect();
    Ok(Json(Factors {
        factors,
        recovery_codes_left: left,
    }))
}
