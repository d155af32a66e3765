//! The MFA endpoints: the login's second step, and enrolment.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::json::ApiJson;
use super::login::{authenticated, mfa_token};
use super::meta::Meta;
use super::session::{MaybeSignedIn, SignedIn};
use crate::domain::FactorKind;
use crate::flows::mfa::{self, Enrolled};
use crate::flows::{CurrentSession, FlowError};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub(super) struct MfaBody {
    mfa_token: Option<String>,
    method: Option<String>,
    code: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    revoke_other_sessions: bool,
}

fn accepted(message: &str) -> (StatusCode, Json<Value>) {
    (StatusCode::ACCEPTED, Json(json!({ "message": message })))
}

/// POST /mfa/challenge: send a code by SMS or email.
pub(super) async fn challenge(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = mfa_token(&state, &jar, body.mfa_token);
    mfa::send_login_code(&state, token.as_deref(), body.method.as_deref(), &meta).await?;
    Ok(accepted("A code is on its way."))
}

/// POST /mfa/verify: finish the login with a code.
pub(super) async fn verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<(CookieJar, Json<Value>), ApiError> {
    let token = mfa_token(&state, &jar, body.mfa_token);
    let (user, session) =
        mfa::verify_login_code(&state, token.as_deref(), body.code.as_deref(), &meta).await?;
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
) -> Result<(CookieJar, Json<Value>), ApiError> {
    let codes: Vec<&str> = enrolled
        .recovery_codes
        .iter()
        .map(|code| code.as_str())
        .collect();
    Ok(match enrolled.session {
        Some((user, session)) => {
            let (jar, Json(mut body)) = authenticated(state, jar, &user, &session).await?;
            body["recovery_codes"] = json!(codes);
            (jar, Json(body))
        }
        None => (jar, Json(json!({ "recovery_codes": codes }))),
    })
}

pub(super) async fn totp_enroll(
    State(state): State<AppState>,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<Json<Value>, ApiError> {
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    let enrollment = mfa::enroll_totp(&state, &enroller).await?;
    Ok(Json(
        json!({ "secret": enrollment.secret, "otpauth_uri": enrollment.otpauth_uri, "qr_svg": enrollment.qr_svg }),
    ))
}

pub(super) async fn totp_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<(CookieJar, Json<Value>), ApiError> {
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    let done = mfa::confirm_totp(
        &state,
        &enroller,
        body.code.as_deref(),
        body.revoke_other_sessions,
        &meta,
    )
    .await?;
    enrolled(&state, jar, done).await
}

fn delivered_kind(method: &str) -> Result<FactorKind, ApiError> {
    FactorKind::parse(method)
        .filter(|kind| kind.is_delivered())
        .ok_or_else(|| FlowError::NotFound.into())
}

/// POST /mfa/{sms|email}/enroll: send the confirming code.
pub(super) async fn delivered_enroll(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    Path(method): Path<String>,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let kind = delivered_kind(&method)?;
    let enroller = enroller(&state, session, &jar, body.mfa_token).await?;
    mfa::enroll_delivered(&state, &enroller, kind, body.phone.as_deref(), &meta).await?;
    Ok(accepted("A code is on its way."))
}

/// POST /mfa/{sms|email}/confirm.
pub(super) async fn delivered_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeSignedIn(session): MaybeSignedIn,
    jar: CookieJar,
    Path(method): Path<String>,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<(CookieJar, Json<Value>), ApiError> {
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
    enrolled(&state, jar, done).await
}

#[derive(Deserialize)]
pub(super) struct RemoveQuery {
    #[serde(default)]
    revoke_other_sessions: bool,
}

/// DELETE /mfa/{method}.
pub(super) async fn remove(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(session): SignedIn,
    Path(method): Path<String>,
    Query(query): Query<RemoveQuery>,
) -> Result<StatusCode, ApiError> {
    let kind = FactorKind::parse(&method).ok_or(FlowError::NotFound)?;
    mfa::remove_factor(&state, &session, kind, query.revoke_other_sessions, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /mfa/recovery-codes: a new set; the old one stops working.
pub(super) async fn recovery_codes(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Json<Value>, ApiError> {
    let codes = mfa::new_recovery_codes(&state, &session).await?;
    let codes: Vec<&str> = codes.iter().map(|code| code.as_str()).collect();
    Ok(Json(json!({ "recovery_codes": codes })))
}

/// GET /mfa: the enrolled factors.
pub(super) async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Json<Value>, ApiError> {
    let (factors, left) = mfa::factors(&state, &session.user).await?;
    let factors: Vec<Value> = factors
        .iter()
        .map(|factor| json!({ "method": factor.kind.as_str(), "phone": factor.phone, "confirmed_at": factor.confirmed_at }))
        .collect();
    Ok(Json(
        json!({ "factors": factors, "recovery_codes_left": left }),
    ))
}
