//! What the pages show of a login waiting for its second factor, and of an
//! enrolment in progress. Reads only: nothing here changes a challenge or a
//! factor.

use super::enroll::totp_enrollment;
use super::{Enroller, MAX_ATTEMPTS, TotpEnrollment, load_challenge, login_methods};
use crate::domain::{FactorKind, PhoneNumber, TotpSecret, User};
use crate::flows::FlowError;
use crate::state::AppState;
use crate::store::{ChallengePurpose, FactorRecord};

/// The second step of a login, as the page that asks for the code sees it.
#[derive(Debug, Clone)]
pub struct LoginChallenge {
    /// The methods the account can finish with, as `POST /login` names them
    /// (`totp`, `sms`, `email`, `recovery_code`).
    pub methods: Vec<&'static str>,
    /// The code sent for this challenge, while it still works.
    pub sent: Option<SentCode>,
}

/// Where a code went: the kind, and the address or masked number.
#[derive(Debug, Clone)]
pub struct SentCode {
    pub kind: FactorKind,
    pub to: String,
}

/// The live login challenge `raw_token` names (errors as `verify_second_step`
/// gives them: expired, spent, or an enrolment challenge).
pub async fn describe_challenge(
    state: &AppState,
    raw_token: Option<&str>,
) -> Result<LoginChallenge, FlowError> {
    let challenge = load_challenge(state, raw_token, ChallengePurpose::Login).await?;
    let methods = login_methods(state, &challenge.user).await?;
    let now = state.clock.now();
    let sent = match (challenge.code_method, challenge.code_expires_at) {
        (Some(kind), Some(until)) if now < until => {
            let factors = state.store.factors_of(challenge.user.id).await?;
            Some(SentCode {
                kind,
                to: destination(&challenge.user, kind, &factors),
            })
        }
        _ => None,
    };
    Ok(LoginChallenge { methods, sent })
}

/// An enrolment started and not yet confirmed.
#[derive(Debug, Clone)]
pub enum PendingEnrolment {
    /// The authenticator app's secret, to show again until it is confirmed.
    Totp(TotpEnrollment),
    /// A code was sent to `to` and still works.
    Delivered { to: String },
}

/// The enrolment of `kind` that `enroller` started and can still confirm:
/// `None` when there is none, its code expired, or it had too many wrong
/// codes (starting again is the way on).
pub async fn pending_enrolment(
    state: &AppState,
    enroller: &Enroller,
    kind: FactorKind,
) -> Result<Option<PendingEnrolment>, FlowError> {
    let user = enroller.user();
    let factors = state.store.factors_of(user.id).await?;
    let Some(pending) = factors
        .iter()
        .find(|factor| factor.kind == kind && factor.confirmed_at.is_none())
    else {
        return Ok(None);
    };
    // A passkey's ceremony runs in one go on the page: nothing to resume.
    if pending.code_attempts >= MAX_ATTEMPTS || kind == FactorKind::Passkey {
        return Ok(None);
    }
    if kind == FactorKind::Totp {
        let secret = TotpSecret::from_bytes(state.sealer.open(
            pending.secret.as_deref().unwrap_or_default(),
            user.id.to_string().as_bytes(),
        )?);
        return Ok(Some(PendingEnrolment::Totp(totp_enrollment(
            &secret, user,
        )?)));
    }
    let now = state.clock.now();
    if pending.code_expires_at.is_none_or(|until| now >= until) {
        return Ok(None);
    }
    Ok(Some(PendingEnrolment::Delivered {
        to: destination(user, kind, &factors),
    }))
}

/// Where codes of `kind` go: the masked phone number of the (pending or
/// confirmed) SMS factor, or the account's address.
fn destination(user: &User, kind: FactorKind, factors: &[FactorRecord]) -> String {
    match kind {
        FactorKind::Sms => factors
            .iter()
            .filter(|factor| factor.kind == FactorKind::Sms)
            .find_map(|factor| factor.phone.clone())
            .map(|phone| PhoneNumber::from_stored(phone).masked())
            .unwrap_or_default(),
        _ => user.email.as_str().to_owned(),
    }
}
