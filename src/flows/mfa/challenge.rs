//! Challenges: the `mfa_token` handed out by the password step, and the
//! codes sent for it by SMS or email.

use uuid::Uuid;

use super::{CODE_TTL, MAX_ATTEMPTS, code_digest, ten_minutes_from};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{ChallengeToken, FactorKind, OneTimeCode, PhoneNumber, User};
use crate::flows::FlowError;
use crate::limits::{Rule, Subject};
use crate::state::AppState;
use crate::store::{ChallengePurpose, ChallengeRecord, NewChallenge};

/// A challenge just opened: the token to hand out and what it allows.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub token: ChallengeToken,
    pub methods: Vec<&'static str>,
    pub expires_in: i64,
}

pub async fn open_challenge(
    state: &AppState,
    user: &User,
    purpose: ChallengePurpose,
    methods: Vec<&'static str>,
) -> Result<Challenge, FlowError> {
    let now = state.clock.now();
    let token = ChallengeToken::generate();
    let challenge = NewChallenge {
        id: Uuid::now_v7(),
        user_id: user.id,
        digest: token.digest(),
        purpose,
        created_at: now,
        expires_at: ten_minutes_from(now),
    };
    state.store.create_challenge(&challenge).await?;
    Ok(Challenge {
        token,
        methods,
        expires_in: CODE_TTL.num_seconds(),
    })
}

/// The live challenge `raw_token` names, of the given purpose.
pub async fn load_challenge(
    state: &AppState,
    raw_token: Option<&str>,
    purpose: ChallengePurpose,
) -> Result<ChallengeRecord, FlowError> {
    let token =
        ChallengeToken::parse(raw_token.unwrap_or_default()).map_err(|_| FlowError::MfaExpired)?;
    let challenge = state
        .store
        .challenge_by_digest(&token.digest())
        .await?
        .ok_or(FlowError::MfaExpired)?;
    if challenge.completed_at.is_some() || state.clock.now() >= challenge.expires_at {
        return Err(FlowError::MfaExpired);
    }
    if challenge.purpose != purpose {
        return Err(match challenge.purpose {
            ChallengePurpose::Enroll => FlowError::MfaEnrollmentRequired,
            ChallengePurpose::Login => FlowError::MfaExpired,
        });
    }
    if challenge.attempts >= MAX_ATTEMPTS {
        return Err(FlowError::TooManyAttempts);
    }
    Ok(challenge)
}

/// POST /mfa/challenge: sends a fresh code by SMS or email. A resend
/// replaces the code but keeps the attempt count.
pub async fn send_login_code(
    state: &AppState,
    raw_token: Option<&str>,
    method: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    state
        .limits
        .check(Rule::MfaChallengePerIp, Subject::Ip(meta))
        .await?;
    let challenge = load_challenge(state, raw_token, ChallengePurpose::Login).await?;
    state
        .limits
        .check(
            Rule::MfaChallengePerAccount,
            Subject::User(challenge.user.id),
        )
        .await?;
    let kind = method
        .and_then(FactorKind::parse)
        .filter(|kind| kind.is_delivered() && state.mfa.allows(*kind))
        .ok_or(FlowError::MethodUnavailable)?;
    let factors = state.store.factors_of(challenge.user.id).await?;
    let factor = factors
        .iter()
        .find(|f| f.kind == kind && f.confirmed_at.is_some())
        .ok_or(FlowError::MethodUnavailable)?;
    let now = state.clock.now();
    let code = OneTimeCode::generate();
    let digest = code_digest(state, &challenge.id.to_string(), code.as_str());
    state
        .store
        .set_challenge_code(challenge.id, kind, &digest, ten_minutes_from(now))
        .await?;
    let message = match kind {
        FactorKind::Sms => {
            let phone = PhoneNumber::from_stored(factor.phone.clone().unwrap_or_default());
            state
                .composer
                .code_sms(&challenge.user, &phone, &code, now)?
        }
        _ => state.composer.code_email(&challenge.user, &code, now)?,
    };
    state
        .limits
        .delivered(state.store.enqueue(&message, meta).await?)?;
    state.mail_wake.notify_one();
    let event = AuditEvent::new(
        now,
        AuditKind::MfaCodeSent,
        Outcome::Success,
        Some(challenge.user.id),
        meta,
    )
    .with_detail(kind.as_str());
    state.store.audit(&event).await?;
    Ok(())
}
