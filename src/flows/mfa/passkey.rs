//! Passkeys (WebAuthn) as a second factor. Enrolment: the browser makes a
//! key pair for this site and we keep its public half. The login's second
//! step: the browser signs our challenge with it. webauthn-rs checks both
//! ceremonies (origin, challenge, signature, user verification, signature
//! counter); their state waits, sealed, in the database between the options
//! handed out and the browser's answer, so any instance can finish what
//! another began, and an answer can be used once.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::enroll::{finish, pending, wrong_code};
use super::{CODE_TTL, Enrolled, Enroller, load_challenge, ten_minutes_from};
use crate::audit::RequestMeta;
use crate::domain::{FactorKind, NameError, PasskeyName, User};
use crate::flows::{FieldErrors, FlowError};
use crate::limits::{Rule, Subject};
use crate::state::AppState;
use crate::store::{ChallengePurpose, ChallengeRecord, NewPasskey, PendingFactor};

/// The most passkeys an account keeps: one for each device and a spare key
/// or two, few enough that a sign-in's options stay small.
pub const MAX_PASSKEYS: usize = 10;

/// This site as a WebAuthn relying party: its id is the public URL's
/// domain, and only the public URL's origin may answer.
#[derive(Debug, Clone)]
pub struct Passkeys {
    webauthn: Arc<Webauthn>,
}

impl Passkeys {
    /// `None` when the public URL's host is an IP address: browsers offer
    /// passkeys to domain names only (`localhost` included).
    pub fn for_site(public_url: &Url) -> Option<Self> {
        let domain = public_url.domain()?;
        let webauthn = WebauthnBuilder::new(domain, public_url)
            .ok()?
            .rp_name("latchkey")
            .timeout(CODE_TTL.to_std().unwrap_or_default())
            .build()
            .ok()?;
        Some(Self {
            webauthn: Arc::new(webauthn),
        })
    }
}

/// The relying party, when passkeys may be used at all.
pub(super) fn relying_party(state: &AppState) -> Result<&Webauthn, FlowError> {
    match &state.passkeys {
        Some(passkeys) if state.mfa.allows(FactorKind::Passkey) => Ok(&passkeys.webauthn),
        _ => Err(FlowError::MethodUnavailable),
    }
}

/// Whether `kind` may be set up here: allowed, and for passkeys, a public
/// URL that browsers offer them on.
pub fn available(state: &AppState, kind: FactorKind) -> bool {
    match kind {
        FactorKind::Passkey => relying_party(state).is_ok(),
        _ => state.mfa.allows(kind),
    }
}

/// State and credentials are sealed to their account and their use: one
/// cannot stand in for another.
fn seal(
    state: &AppState,
    user: &User,
    what: &str,
    value: &impl Serialize,
) -> Result<Vec<u8>, FlowError> {
    let json = serde_json::to_vec(value).map_err(|error| FlowError::Internal(Box::new(error)))?;
    Ok(state.sealer.seal(&json, context(user, what).as_bytes()))
}

fn open<T: DeserializeOwned>(
    state: &AppState,
    user: &User,
    what: &str,
    sealed: &[u8],
) -> Result<T, FlowError> {
    let json = state.sealer.open(sealed, context(user, what).as_bytes())?;
    serde_json::from_slice(&json).map_err(|error| FlowError::Internal(Box::new(error)))
}

fn context(user: &User, what: &str) -> String {
    format!("passkey-{what}:{}", user.id)
}

const REGISTRATION: &str = "registration";
const CREDENTIAL: &str = "credential";
const AUTHENTICATION: &str = "authentication";

/// POST /mfa/passkey/enroll: the options for `navigator.credentials.create`.
pub async fn enroll_passkey(
    state: &AppState,
    enroller: &Enroller,
) -> Result<CreationChallengeResponse, FlowError> {
    let webauthn = relying_party(state)?;
    let user = enroller.user();
    let kept = passkeys_of(state, user).await?;
    if kept.len() >= MAX_PASSKEYS {
        return Err(FlowError::TooManyPasskeys);
    }
    // The browser refuses to make a second passkey on a device that holds
    // one of the account's already.
    let exclude = kept
        .iter()
        .map(|kept| kept.passkey.cred_id().clone())
        .collect();
    let (mut options, registration) = webauthn
        .start_passkey_registration(
            user.id.as_uuid(),
            user.email.as_str(),
            user.name.as_str(),
            Some(exclude),
        )
        .map_err(|error| FlowError::Internal(Box::new(error)))?;
    // A passkey the device can find by itself (a discoverable credential)
    // signs in without the address or the password (`passkey_sign_in.rs`).
    // Preferred, not required: a security key that is full still makes one
    // for the second step. The registration's check does not depend on it.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Preferred);
    }
    let now = state.clock.now();
    let pending = PendingFactor {
        id: Uuid::now_v7(),
        user_id: user.id,
        kind: FactorKind::Passkey,
        secret: Some(seal(state, user, REGISTRATION, &registration)?),
        phone: None,
        code_digest: None,
        code_expires_at: Some(ten_minutes_from(now)),
        created_at: now,
    };
    state.store.begin_enrolment(&pending).await?;
    Ok(options)
}

/// POST /mfa/passkey/confirm: the browser's new credential, and what the
/// owner calls it ("Passkey 2" when they gave no name).
pub async fn confirm_passkey(
    state: &AppState,
    enroller: &Enroller,
    credential: &RegisterPublicKeyCredential,
    name: Option<&str>,
    revoke_others: bool,
    meta: &RequestMeta,
) -> Result<Enrolled, FlowError> {
    let webauthn = relying_party(state)?;
    let user = enroller.user();
    let now = state.clock.now();
    let factors = state.store.factors_of(user.id).await?;
    let name = match name {
        Some(raw) => passkey_name(raw)?,
        None => PasskeyName::numbered(
            factors
                .iter()
                .filter(|f| f.kind == FactorKind::Passkey && f.confirmed_at.is_some())
                .count()
                + 1,
        ),
    };
    let pending = pending(&factors, FactorKind::Passkey)?;
    if pending.code_expires_at.is_none_or(|at| now >= at) {
        return Err(FlowError::MfaExpired);
    }
    let registration: PasskeyRegistration = open(
        state,
        user,
        REGISTRATION,
        pending.secret.as_deref().unwrap_or_default(),
    )?;
    let Ok(passkey) = webauthn.finish_passkey_registration(credential, &registration) else {
        return Err(wrong_code(state, user, FactorKind::Passkey).await?);
    };
    let sealed = seal(state, user, CREDENTIAL, &passkey)?;
    let new = NewPasskey {
        sealed: &sealed,
        credential_id: passkey.cred_id(),
        name: name.as_str(),
    };
    if !state.store.confirm_passkey(user.id, &new, now).await? {
        return Err(FlowError::NotFound);
    }
    finish(state, enroller, FactorKind::Passkey, revoke_others, meta).await
}

/// PATCH /mfa/passkeys/{id}: a new name for one of the account's passkeys.
pub async fn rename_passkey(
    state: &AppState,
    user: &User,
    id: Uuid,
    raw_name: &str,
) -> Result<(), FlowError> {
    let name = passkey_name(raw_name)?;
    if !state
        .store
        .rename_passkey(user.id, id, name.as_str())
        .await?
    {
        return Err(FlowError::NotFound);
    }
    Ok(())
}

fn passkey_name(raw: &str) -> Result<PasskeyName, FlowError> {
    PasskeyName::parse(raw).map_err(|error| {
        let message = match error {
            NameError::Empty => "Enter a name for this passkey.",
            NameError::TooLong => "Use at most 64 characters.",
            NameError::ControlCharacter => "The name contains characters that are not allowed.",
        };
        let mut errors = FieldErrors::default();
        errors.add("name", error.code(), message);
        FlowError::Validation(errors)
    })
}

/// POST /mfa/passkey/options: the options for `navigator.credentials.get`,
/// for the login waiting on `raw_token`. Asked again, they replace the last.
pub async fn passkey_options(
    state: &AppState,
    raw_token: Option<&str>,
    meta: &RequestMeta,
) -> Result<RequestChallengeResponse, FlowError> {
    // Per IP only: options send nothing (the account-wide rule spares a
    // phone a flood of texts), and a person may dismiss the browser's
    // prompt and ask again. Five wrong answers still spend the challenge.
    state
        .limits
        .check(Rule::MfaChallengePerIp, Subject::Ip(meta))
        .await?;
    let webauthn = relying_party(state)?;
    let challenge = load_challenge(state, raw_token, ChallengePurpose::Login).await?;
    let user = &challenge.user;
    let passkeys: Vec<Passkey> = passkeys_of(state, user)
        .await?
        .into_iter()
        .map(|kept| kept.passkey)
        .collect();
    if passkeys.is_empty() {
        return Err(FlowError::MethodUnavailable);
    }
    let (options, authentication) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|error| FlowError::Internal(Box::new(error)))?;
    let sealed = seal(state, user, AUTHENTICATION, &authentication)?;
    state
        .store
        .set_challenge_passkey(challenge.id, &sealed)
        .await?;
    Ok(options)
}

/// One of the account's confirmed passkeys, opened.
pub(super) struct KeptPasskey {
    factor_id: Uuid,
    pub(super) passkey: Passkey,
}

/// The account's confirmed passkeys, oldest first.
pub(super) async fn passkeys_of(
    state: &AppState,
    user: &User,
) -> Result<Vec<KeptPasskey>, FlowError> {
    let factors = state.store.factors_of(user.id).await?;
    factors
        .iter()
        .filter(|f| f.kind == FactorKind::Passkey && f.confirmed_at.is_some())
        .map(|factor| {
            Ok(KeptPasskey {
                factor_id: factor.id,
                passkey: open(
                    state,
                    user,
                    CREDENTIAL,
                    factor.secret.as_deref().unwrap_or_default(),
                )?,
            })
        })
        .collect()
}

/// Whether `answer` is one of the account's passkeys signing this
/// challenge's options. The passkey's sign-in is recorded, with the
/// signature counter it carries for the next time.
pub(super) async fn check_passkey(
    state: &AppState,
    challenge: &ChallengeRecord,
    answer: &PublicKeyCredential,
) -> Result<bool, FlowError> {
    let Ok(webauthn) = relying_party(state) else {
        return Ok(false);
    };
    let Some(sealed) = &challenge.passkey_state else {
        return Ok(false);
    };
    let user = &challenge.user;
    let authentication: PasskeyAuthentication = open(state, user, AUTHENTICATION, sealed)?;
    let Ok(result) = webauthn.finish_passkey_authentication(answer, &authentication) else {
        return Ok(false);
    };
    // webauthn-rs checked the answer against these very passkeys; one that
    // went since (removed from another tab) no longer signs in.
    let Some(kept) = passkeys_of(state, user)
        .await?
        .into_iter()
        .find(|kept| kept.passkey.cred_id() == result.cred_id())
    else {
        return Ok(false);
    };
    record_use(state, user, kept, &result).await
}

/// Records `kept`'s sign-in: when, and the signature counter it carried.
/// False when the passkey went meanwhile (removed from another tab).
pub(super) async fn record_use(
    state: &AppState,
    user: &User,
    mut kept: KeptPasskey,
    result: &AuthenticationResult,
) -> Result<bool, FlowError> {
    let sealed = match kept.passkey.update_credential(result) {
        Some(true) => Some(seal(state, user, CREDENTIAL, &kept.passkey)?),
        _ => None,
    };
    Ok(state
        .store
        .passkey_used(
            kept.factor_id,
            sealed.as_deref(),
            result.cred_id(),
            state.clock.now(),
        )
        .await?)
}
