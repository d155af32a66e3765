//! Enrolling a second factor: an authenticator app (TOTP), SMS or email
//! codes. Done from a recent session, or, when the server requires a second
//! factor, from the enrolment challenge handed out by the password step.

use uuid::Uuid;

use super::{
    MAX_ATTEMPTS, REAUTH_WINDOW, RECOVERY_CODES, code_digest, enrolment_scope, load_challenge,
    recovery_digest, ten_minutes_from,
};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{
    EnteredCode, FactorKind, OneTimeCode, PhoneNumber, RecoveryCode, SecondStep, SignedInWith,
    TotpSecret, User,
};
use crate::flows::{CurrentSession, FieldErrors, FlowError, StartedSession, start_session};
use crate::state::AppState;
use crate::store::{ChallengePurpose, ChallengeRecord, FactorRecord, PendingFactor};

/// Who is enrolling, and on what authority.
#[derive(Debug, Clone)]
pub enum Enroller {
    /// A signed-in person who proved who they are within the last 10 minutes.
    Session(CurrentSession),
    /// A person between password and first factor, under `LATCHKEY_MFA=required`.
    Challenge(ChallengeRecord),
}

impl Enroller {
    pub fn user(&self) -> &User {
        match self {
            Self::Session(session) => &session.user,
            Self::Challenge(challenge) => &challenge.user,
        }
    }
}

/// The enrolment authority of a request: an enrolment `mfa_token` if one is
/// given, else a recent session.
pub async fn enroller(
    state: &AppState,
    session: Option<CurrentSession>,
    mfa_token: Option<&str>,
) -> Result<Enroller, FlowError> {
    if let Some(token) = mfa_token {
        return Ok(Enroller::Challenge(
            load_challenge(state, Some(token), ChallengePurpose::Enroll).await?,
        ));
    }
    let session = session.ok_or(FlowError::Unauthenticated)?;
    if state.clock.now() - session.authenticated_at > REAUTH_WINDOW {
        return Err(FlowError::ReauthenticationRequired);
    }
    Ok(Enroller::Session(session))
}

/// What an authenticator app needs; shown once.
#[derive(Debug, Clone)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// The outcome of a confirmed enrolment.
#[derive(Debug)]
pub struct Enrolled {
    /// A fresh set when the account had none left; shown once.
    pub recovery_codes: Vec<RecoveryCode>,
    /// The session that finishes a login that was waiting for enrolment.
    pub session: Option<(User, StartedSession)>,
}

pub async fn enroll_totp(
    state: &AppState,
    enroller: &Enroller,
) -> Result<TotpEnrollment, FlowError> {
    if !state.mfa.allows(FactorKind::Totp) {
        return Err(FlowError::MethodUnavailable);
    }
    let user = enroller.user();
    let secret = TotpSecret::generate();
    let sealed = state
        .sealer
        .seal(secret.as_bytes(), user.id.to_string().as_bytes());
    let pending = PendingFactor {
        id: Uuid::now_v7(),
        user_id: user.id,
        kind: FactorKind::Totp,
        secret: Some(sealed),
        phone: None,
        code_digest: None,
        code_expires_at: None,
        created_at: state.clock.now(),
    };
    state.store.begin_enrolment(&pending).await?;
    totp_enrollment(&secret, user)
}

/// The secret as an authenticator app takes it: base32, URI and QR code.
pub(super) fn totp_enrollment(
    secret: &TotpSecret,
    user: &User,
) -> Result<TotpEnrollment, FlowError> {
    let otpauth_uri = secret
        .otpauth_uri("latchkey", user.email.as_str())
        .ok_or(FlowError::MethodUnavailable)?;
    let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .map_err(|error| FlowError::Internal(Box::new(error)))?;
    Ok(TotpEnrollment {
        secret: secret.base32(),
        otpauth_uri,
        qr_svg,
    })
}

pub async fn confirm_totp(
    state: &AppState,
    enroller: &Enroller,
    code: Option<&str>,
    revoke_others: bool,
    meta: &RequestMeta,
) -> Result<Enrolled, FlowError> {
    let user = enroller.user();
    let factors = state.store.factors_of(user.id).await?;
    let pending = pending(&factors, FactorKind::Totp)?;
    let secret = TotpSecret::from_bytes(state.sealer.open(
        pending.secret.as_deref().unwrap_or_default(),
        user.id.to_string().as_bytes(),
    )?);
    let step = match EnteredCode::parse(code.unwrap_or_default()) {
        Some(EnteredCode::Digits(digits)) => secret.matching_step(&digits, state.clock.now(), None),
        _ => None,
    };
    let Some(step) = step else {
        return Err(wrong_code(state, user, FactorKind::Totp).await?);
    };
    if !state
        .store
        .confirm_factor(
            user.id,
            FactorKind::Totp,
            Some(i64::try_from(step).unwrap_or(i64::MAX)),
            state.clock.now(),
        )
        .await?
    {
        return Err(FlowError::NotFound);
    }
    finish(state, enroller, FactorKind::Totp, revoke_others, meta).await
}

/// Starts an SMS (with `phone`) or email enrolment by sending a code.
pub async fn enroll_delivered(
    state: &AppState,
    enroller: &Enroller,
    kind: FactorKind,
    phone: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    if !kind.is_delivered() || !state.mfa.allows(kind) {
        return Err(FlowError::MethodUnavailable);
    }
    let user = enroller.user();
    let phone = match kind {
        FactorKind::Sms => Some(PhoneNumber::parse(phone.unwrap_or_default()).map_err(
            |error| {
                let mut errors = FieldErrors::default();
                errors.add("phone", "invalid_phone", error.to_string());
                FlowError::Validation(errors)
            },
        )?),
        _ => None,
    };
    let now = state.clock.now();
    let code = OneTimeCode::generate();
    let pending = PendingFactor {
        id: Uuid::now_v7(),
        user_id: user.id,
        kind,
        secret: None,
        phone: phone.as_ref().map(|p| p.as_str().to_owned()),
        code_digest: Some(code_digest(
            state,
            &enrolment_scope(user, kind),
            code.as_str(),
        )),
        code_expires_at: Some(ten_minutes_from(now)),
        created_at: now,
    };
    state.store.begin_enrolment(&pending).await?;
    let message = match &phone {
        Some(phone) => state.composer.code_sms(user, phone, &code, now)?,
        None => state.composer.code_email(user, &code, now)?,
    };
    state
        .limits
        .delivered(state.store.enqueue(&message, meta).await?)?;
    state.mail_wake.notify_one();
    let event = AuditEvent::new(
        now,
        AuditKind::MfaCodeSent,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(format!("enrolment {kind}"));
    state.store.audit(&event).await?;
    Ok(())
}

pub async fn confirm_delivered(
    state: &AppState,
    enroller: &Enroller,
    kind: FactorKind,
    code: Option<&str>,
    revoke_others: bool,
    meta: &RequestMeta,
) -> Result<Enrolled, FlowError> {
    let user = enroller.user();
    let now = state.clock.now();
    let factors = state.store.factors_of(user.id).await?;
    let pending = pending(&factors, kind)?;
    if pending.code_expires_at.is_none_or(|at| now >= at) {
        return Err(FlowError::MfaExpired);
    }
    let matches = match EnteredCode::parse(code.unwrap_or_default()) {
        Some(EnteredCode::Digits(digits)) => {
            let expected = code_digest(state, &enrolment_scope(user, kind), &digits);
            pending.code_digest.as_deref().is_some_and(|stored| {
                bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_slice(), stored))
            })
        }
        _ => false,
    };
    if !matches {
        return Err(wrong_code(state, user, kind).await?);
    }
    if !state.store.confirm_factor(user.id, kind, None, now).await? {
        return Err(FlowError::NotFound);
    }
    finish(state, enroller, kind, revoke_others, meta).await
}

/// The enrolment of `kind` waiting for its confirmation, unless it had
/// too many wrong answers.
pub(super) fn pending(
    factors: &[FactorRecord],
    kind: FactorKind,
) -> Result<&FactorRecord, FlowError> {
    let pending = factors
        .iter()
        .find(|f| f.kind == kind && f.confirmed_at.is_none())
        .ok_or(FlowError::NotFound)?;
    if pending.code_attempts >= MAX_ATTEMPTS {
        return Err(FlowError::TooManyAttempts);
    }
    Ok(pending)
}

/// Counts a wrong answer to an enrolment: a wrong code, or a passkey's
/// answer that did not verify.
pub(super) async fn wrong_code(
    state: &AppState,
    user: &User,
    kind: FactorKind,
) -> Result<FlowError, FlowError> {
    let attempts = state.store.count_enrolment_attempt(user.id, kind).await?;
    Ok(if attempts >= MAX_ATTEMPTS {
        FlowError::TooManyAttempts
    } else if kind == FactorKind::Passkey {
        FlowError::InvalidPasskey
    } else {
        FlowError::InvalidCode
    })
}

/// After any confirmed enrolment: recovery codes if none are left, the
/// notification email, the audit entry, and the session a waiting login gets.
pub(super) async fn finish(
    state: &AppState,
    enroller: &Enroller,
    kind: FactorKind,
    revoke_others: bool,
    meta: &RequestMeta,
) -> Result<Enrolled, FlowError> {
    let user = enroller.user();
    let now = state.clock.now();
    let recovery_codes = if state.store.recovery_codes_left(user.id).await? == 0 {
        issue_recovery_codes(state, user, meta).await?
    } else {
        Vec::new()
    };
    let notice = state.composer.factor_changed_email(user, kind, true, now)?;
    state.store.enqueue(&notice, meta).await?;
    state.mail_wake.notify_one();
    let event = AuditEvent::new(
        now,
        AuditKind::FactorAdded,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(kind.as_str());
    state.store.audit(&event).await?;
    let session = match enroller {
        Enroller::Session(session) => {
            if revoke_others {
                state
                    .store
                    .revoke_sessions(user.id, Some(session.id), now)
                    .await?;
            }
            None
        }
        Enroller::Challenge(challenge) => {
            if !state.store.complete_challenge(challenge.id, now).await? {
                return Err(FlowError::MfaExpired);
            }
            let with = SignedInWith::PasswordAnd(SecondStep::Factor(kind));
            Some((
                user.clone(),
                start_session(state, user, meta, with, None).await?,
            ))
        }
    };
    Ok(Enrolled {
        recovery_codes,
        session,
    })
}

/// Ten fresh recovery codes replace any old ones; only digests are kept.
pub(super) async fn issue_recovery_codes(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
) -> Result<Vec<RecoveryCode>, FlowError> {
    let codes: Vec<RecoveryCode> = (0..RECOVERY_CODES)
        .map(|_| RecoveryCode::generate())
        .collect();
    let digests: Vec<[u8; 32]> = codes
        .iter()
        .map(|code| recovery_digest(state, user, &code.canonical()))
        .collect();
    state
        .store
        .replace_recovery_codes(user.id, &digests, state.clock.now())
        .await?;
    let event = AuditEvent::new(
        state.clock.now(),
        AuditKind::RecoveryCodesIssued,
        Outcome::Success,
        Some(user.id),
        meta,
    );
    state.store.audit(&event).await?;
    Ok(codes)
}
