//! Signing in with a passkey alone: no address, no password. The device
//! finds a passkey it holds for this site (a discoverable credential) and
//! answers with it and the account it belongs to (the user handle). A
//! passkey that needs the device's fingerprint, face or PIN is two factors
//! in one (NIST SP 800-63B's multi-factor cryptographic authenticator), so
//! no second step follows.
//!
//! Nothing is stored for options asked for: the ceremony's state goes to the
//! client sealed (with when it expires) and comes back with the answer. The
//! first answer claims the ceremony in the database, so it is answered
//! once, right or wrong.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PublicKeyCredential, RequestChallengeResponse,
};

use super::CODE_TTL;
use super::passkey::{passkeys_of, record_use, relying_party};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{SignedInWith, User, UserId};
use crate::flows::login::status_refusal;
use crate::flows::{FlowError, StartedSession, start_session};
use crate::limits::{Rule, Subject};
use crate::state::AppState;

/// What the sealed ceremony is bound to: nothing else opens it.
const CONTEXT: &[u8] = b"passkey-sign-in";

/// A sign-in ceremony, as it travels sealed with the client.
#[derive(Serialize, Deserialize)]
struct Ceremony {
    state: DiscoverableAuthentication,
    expires_at: DateTime<Utc>,
}

/// The options for `navigator.credentials.get`, and the ceremony to send
/// back with the answer.
#[derive(Debug)]
pub struct SignInOptions {
    pub options: RequestChallengeResponse,
    /// The sealed ceremony, in base64url: not a secret (it proves nothing
    /// without a passkey's signature), but only good once and for 10 minutes.
    pub ceremony: String,
}

/// POST /login/passkey/options.
pub fn passkey_sign_in_options(state: &AppState) -> Result<SignInOptions, FlowError> {
    let webauthn = relying_party(state)?;
    let (options, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|error| FlowError::Internal(Box::new(error)))?;
    let ceremony = Ceremony {
        state: authentication,
        expires_at: state.clock.now() + CODE_TTL,
    };
    let json =
        serde_json::to_vec(&ceremony).map_err(|error| FlowError::Internal(Box::new(error)))?;
    Ok(SignInOptions {
        options,
        ceremony: URL_SAFE_NO_PAD.encode(state.sealer.seal(&json, CONTEXT)),
    })
}

/// POST /login/passkey: the device's answer to the options of `ceremony`.
/// Starts the session of the account whose passkey signed.
#[tracing::instrument(name = "passkey_sign_in", skip_all, fields(user.id))]
pub async fn sign_in_with_passkey(
    state: &AppState,
    ceremony: Option<&str>,
    answer: &PublicKeyCredential,
    meta: &RequestMeta,
) -> Result<(User, StartedSession), FlowError> {
    state
        .limits
        .check(Rule::LoginPerIp, Subject::Ip(meta))
        .await?;
    let webauthn = relying_party(state)?;
    let sealed = ceremony
        .and_then(|raw| URL_SAFE_NO_PAD.decode(raw).ok())
        .ok_or(FlowError::MfaExpired)?;
    let Some(ceremony) = state
        .sealer
        .open(&sealed, CONTEXT)
        .ok()
        .and_then(|json| serde_json::from_slice::<Ceremony>(&json).ok())
    else {
        return Err(FlowError::MfaExpired);
    };
    let now = state.clock.now();
    if now >= ceremony.expires_at {
        return Err(FlowError::MfaExpired);
    }

    // Once, right or wrong: an answer sent again finds its ceremony spent
    // (a synced passkey's signature counter stays at 0 and would not tell).
    let digest = state.sealer.digest("passkey-sign-in", &sealed);
    if !state
        .store
        .claim_passkey_sign_in(&digest, ceremony.expires_at)
        .await?
    {
        return Err(FlowError::MfaExpired);
    }

    // The user handle names the account; the passkey must be one of its
    // own. (The handle is not signed: a passkey of one account answering
    // with another's handle finds no passkey of that id there.)
    let Ok((user_id, credential_id)) = webauthn.identify_discoverable_authentication(answer) else {
        return Err(FlowError::InvalidPasskey);
    };
    let Some(user) = state.store.user_by_id(UserId::from_uuid(user_id)).await? else {
        return Err(FlowError::InvalidPasskey);
    };
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    let Some(kept) = passkeys_of(state, &user)
        .await?
        .into_iter()
        .find(|kept| kept.passkey.cred_id().as_slice() == credential_id)
    else {
        return Err(FlowError::InvalidPasskey);
    };
    let Ok(result) =
        webauthn.finish_discoverable_authentication_v2(answer, ceremony.state, &kept.passkey)
    else {
        refuse(state, &user, meta, "passkey not verified").await?;
        return Err(FlowError::InvalidPasskey);
    };

    if let Some((reason, error)) = status_refusal(user.status) {
        refuse(state, &user, meta, reason).await?;
        return Err(error);
    }
    if !record_use(state, &user, kept, &result).await? {
        return Err(FlowError::InvalidPasskey);
    }
    let event = AuditEvent::new(
        now,
        AuditKind::LoginSucceeded,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail("passkey");
    let session = start_session(state, &user, meta, SignedInWith::Passkey, Some(&event)).await?;
    Ok((user, session))
}

/// Records a refused passkey sign-in on the account it named.
async fn refuse(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
    reason: &str,
) -> Result<(), FlowError> {
    let event = AuditEvent::new(
        state.clock.now(),
        AuditKind::LoginFailed,
        Outcome::Failure,
        Some(user.id),
        meta,
    )
    .with_detail(reason);
    state.store.audit(&event).await?;
    Ok(())
}
