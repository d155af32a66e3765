//! POST /mfa/verify: the second step of a login.

use subtle::ConstantTimeEq;
use webauthn_rs::prelude::PublicKeyCredential;

use super::passkey::check_passkey;
use super::{MAX_ATTEMPTS, code_digest, load_challenge, recovery_digest};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{EnteredCode, FactorKind, SecondStep, SignedInWith, TotpSecret, User};
use crate::flows::{FlowError, StartedSession, start_session};
use crate::limits::{Rule, Subject};
use crate::state::AppState;
use crate::store::{ChallengePurpose, ChallengeRecord};

/// What the second step was answered with.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// A TOTP code, the code sent for this challenge, or a recovery code,
    /// as typed (`None` when nothing was).
    Code(Option<&'a str>),
    /// The browser's signature of the challenge's passkey options
    /// (`POST /mfa/passkey/options`).
    Passkey(&'a PublicKeyCredential),
}

/// Accepts a TOTP code, the code sent for this challenge, a recovery code
/// or the account's passkey; starts the session. Five wrong answers spend
/// the challenge.
#[tracing::instrument(name = "mfa_verify", skip_all, fields(user.id))]
pub async fn verify_second_step(
    state: &AppState,
    raw_token: Option<&str>,
    answer: Answer<'_>,
    meta: &RequestMeta,
) -> Result<(User, StartedSession), FlowError> {
    state
        .limits
        .check(Rule::MfaVerifyPerIp, Subject::Ip(meta))
        .await?;
    let challenge = load_challenge(state, raw_token, ChallengePurpose::Login).await?;
    tracing::Span::current().record("user.id", tracing::field::display(challenge.user.id));
    state
        .limits
        .check(Rule::MfaVerifyPerAccount, Subject::User(challenge.user.id))
        .await?;
    let now = state.clock.now();
    let method = match answer {
        Answer::Code(code) => match EnteredCode::parse(code.unwrap_or_default()) {
            Some(entered) => check(state, &challenge, &entered).await?,
            None => None,
        },
        Answer::Passkey(signed) => check_passkey(state, &challenge, signed)
            .await?
            .then_some(SecondStep::Factor(FactorKind::Passkey)),
    };
    let user = challenge.user.clone();
    let Some(method) = method else {
        let attempts = state.store.count_challenge_attempt(challenge.id).await?;
        let event = AuditEvent::new(
            now,
            AuditKind::MfaFailed,
            Outcome::Failure,
            Some(user.id),
            meta,
        )
        .with_detail(format!("attempt {attempts}"));
        state.store.audit(&event).await?;
        return Err(if attempts >= MAX_ATTEMPTS {
            FlowError::TooManyAttempts
        } else if matches!(answer, Answer::Passkey(_)) {
            FlowError::InvalidPasskey
        } else {
            FlowError::InvalidCode
        });
    };
    // Two requests with one good code: only one completes the challenge.
    if !state.store.complete_challenge(challenge.id, now).await? {
        return Err(FlowError::MfaExpired);
    }
    let event = AuditEvent::new(
        now,
        AuditKind::MfaSucceeded,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(method.as_str());
    let with = SignedInWith::PasswordAnd(method);
    let session = start_session(state, &user, meta, with, Some(&event)).await?;
    if method == SecondStep::RecoveryCode {
        tell_of_recovery_code(state, &user, meta).await?;
    }
    Ok((user, session))
}

/// The owner hears of every sign-in by recovery code, with how many are
/// left: one used by someone else means the password is known too.
async fn tell_of_recovery_code(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let left = state.store.recovery_codes_left(user.id).await?;
    let notice = state.composer.recovery_code_used_email(
        user,
        left,
        meta.ip.as_deref(),
        meta.user_agent.as_deref(),
        state.clock.now(),
    )?;
    state.store.enqueue(&notice, meta).await?;
    state.mail_wake.notify_one();
    Ok(())
}

/// Which method the code satisfied, if any.
async fn check(
    state: &AppState,
    challenge: &ChallengeRecord,
    entered: &EnteredCode,
) -> Result<Option<SecondStep>, FlowError> {
    let now = state.clock.now();
    let user = &challenge.user;
    match entered {
        EnteredCode::Recovery(canonical) => {
            let digest = recovery_digest(state, user, canonical);
            Ok(state
                .store
                .use_recovery_code(user.id, &digest, now)
                .await?
                .then_some(SecondStep::RecoveryCode))
        }
        EnteredCode::Digits(digits) => {
            if let (Some(method), Some(stored), Some(expires_at)) = (
                challenge.code_method,
                &challenge.code_digest,
                challenge.code_expires_at,
            ) {
                let expected = code_digest(state, &challenge.id.to_string(), digits);
                if now < expires_at
                    && state.mfa.allows(method)
                    && bool::from(expected.as_slice().ct_eq(stored))
                {
                    return Ok(Some(SecondStep::Factor(method)));
                }
            }
            if !state.mfa.allows(FactorKind::Totp) {
                return Ok(None);
            }
            let factors = state.store.factors_of(user.id).await?;
            let Some(totp) = factors
                .iter()
                .find(|f| f.kind == FactorKind::Totp && f.confirmed_at.is_some())
            else {
                return Ok(None);
            };
            let sealed = totp.secret.as_deref().unwrap_or_default();
            let secret =
                TotpSecret::from_bytes(state.sealer.open(sealed, user.id.to_string().as_bytes())?);
            let last = totp.last_step.and_then(|step| u64::try_from(step).ok());
            let Some(step) = secret.matching_step(digits, now, last) else {
                return Ok(None);
            };
            // The database has the last word on replay: the step only moves forward.
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            Ok(state
                .store
                .advance_totp_step(user.id, step)
                .await?
                .then_some(SecondStep::Factor(FactorKind::Totp)))
        }
    }
}
