//! POST /login: the password step. It ends in a session, or in a challenge
//! for the second factor (or for enrolling one when the server requires it).

use super::device::Device;
use super::mfa::{self, Challenge};
use super::session::start_session_on;
use super::{FlowError, StartedSession, unlock};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{
    EmailAddress, MfaPolicy, Password, PasswordHash, SignedInWith, User, UserStatus,
};
use crate::hashing::Upgrade;
use crate::limits::{FailureKey, Rule, Subject};
use crate::state::AppState;
use crate::store::LoginRead;

#[derive(Debug)]
pub enum LoginOutcome {
    Authenticated { user: User, session: StartedSession },
    MfaRequired(Challenge),
    EnrollmentRequired(Challenge),
}

#[tracing::instrument(name = "login", skip_all, fields(user.id))]
pub async fn login(
    state: &AppState,
    email: Option<&str>,
    password: Option<&str>,
    meta: &RequestMeta,
) -> Result<LoginOutcome, FlowError> {
    // First, so that a login refused for overload reads nothing and spends
    // none of the client's quotas (a client that retries as told must not
    // be locked out by our being busy).
    let admission = state.hasher.admit().await?;
    let password = Password::new(password.unwrap_or_default());
    let now = state.clock.now();
    let email = EmailAddress::parse(email.unwrap_or_default()).ok();
    let read = match &email {
        Some(email) => {
            state
                .limits
                .check_both(
                    (Rule::LoginPerIp, Subject::Ip(meta)),
                    (Rule::LoginPerAccount, Subject::Email(email)),
                )
                .await?;
            // Which key's failures count depends on the account, read in
            // the same round trip: both candidates' come with it.
            let by_address = FailureKey::account(email);
            let by_device = meta.device.as_ref().map(FailureKey::device);
            let keys = [
                Some(by_address.as_bytes()),
                by_device.as_ref().map(FailureKey::as_bytes),
            ];
            state
                .store
                .login_record(email, meta.device.as_ref(), keys)
                .await?
        }
        None => {
            state
                .limits
                .check(Rule::LoginPerIp, Subject::Ip(meta))
                .await?;
            LoginRead::default()
        }
    };
    // Looked up once, with the credentials: it picks the failure count here
    // and spares the session a second lookup below.
    let known_device = read
        .account
        .as_ref()
        .is_some_and(|found| found.known_device);
    let has_second_factor = read
        .account
        .as_ref()
        .is_some_and(|found| found.has_second_factor);
    let throttled = match failure_key(email.as_ref(), known_device, meta) {
        Some(key) => {
            let on_record = read.failures_of(key.as_bytes());
            let attempt = state.limits.login_attempt_on(key, on_record).await;
            if let (Err(FlowError::LoginLocked), Some(found)) = (&attempt, &read.account) {
                // However long ago the lock engaged, its owner can get a live link.
                unlock::remind(state, &found.credentials.user, meta).await?;
            }
            Some(attempt?)
        }
        None => None,
    };
    let credentials = read.account.map(|found| found.credentials);
    // Unknown addresses pay for a hash too, so status, body and timing are
    // the same as for a wrong password (no account enumeration).
    let (hash, user) = match &credentials {
        Some(found) => (&found.password_hash, Some(&found.user)),
        None => (&state.dummy_hash, None),
    };
    // The place in the pool is kept until the login's writes are done (it
    // goes when this returns): what the pool admits, it also bounds at the
    // database. On SQLite, whose one writer commits a flush at a time, the
    // writer could otherwise fall behind the hashes under a storm, and every
    // admitted login wait in its queue (BENCHMARKS.md, runs 39-41).
    let verdict = admission.verify_and_upgrade(&password, hash).await?;
    let Some(user) = user.filter(|_| verdict.is_right()).cloned() else {
        if let Some(attempt) = throttled {
            let locked = state.limits.login_failed(attempt.key()).await?;
            if let (true, Some(user)) = (locked, user) {
                unlock::announce_lock(state, user, meta).await?;
            }
        }
        let event = AuditEvent::new(
            now,
            AuditKind::LoginFailed,
            Outcome::Failure,
            user.map(|u| u.id),
            meta,
        )
        .with_detail(if user.is_some() {
            "wrong password"
        } else {
            "unknown email"
        });
        state.store.audit(&event).await?;
        return Err(FlowError::InvalidCredentials);
    };
    tracing::Span::current().record("user.id", tracing::field::display(user.id));
    if let Some(upgrade) = verdict.into_upgrade() {
        store_upgrade(state, &user, hash, upgrade, meta).await?;
    }
    if let Some(attempt) = throttled {
        state.limits.login_succeeded(attempt).await?;
    }
    // Only the right password learns that the account is pending, or
    // disabled.
    if let Some((reason, error)) = status_refusal(user.status) {
        let event = AuditEvent::new(
            now,
            AuditKind::LoginFailed,
            Outcome::Failure,
            Some(user.id),
            meta,
        )
        .with_detail(reason);
        state.store.audit(&event).await?;
        return Err(error);
    }

    if state.mfa.policy != MfaPolicy::Off {
        let methods = if has_second_factor {
            mfa::login_methods(state, &user).await?
        } else {
            Vec::new()
        };
        if !methods.is_empty() {
            let challenge =
                mfa::open_challenge(state, &user, crate::store::ChallengePurpose::Login, methods)
                    .await?;
            audit_password_step(state, &user, meta, "second factor required").await?;
            return Ok(LoginOutcome::MfaRequired(challenge));
        }
        if state.mfa.policy == MfaPolicy::Required {
            // What can be set up here: passkeys need a public URL on a domain.
            let methods = state
                .mfa
                .methods
                .iter()
                .filter(|kind| mfa::available(state, **kind))
                .map(|kind| kind.as_str())
                .collect();
            let challenge = mfa::open_challenge(
                state,
                &user,
                crate::store::ChallengePurpose::Enroll,
                methods,
            )
            .await?;
            audit_password_step(state, &user, meta, "second factor enrolment required").await?;
            return Ok(LoginOutcome::EnrollmentRequired(challenge));
        }
    }
    let event = AuditEvent::new(
        now,
        AuditKind::LoginSucceeded,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail("password");
    let device = match meta.device {
        Some(digest) if known_device => Device::known(digest),
        _ => Device::fresh(),
    };
    let with = SignedInWith::Password;
    let session = start_session_on(state, &user, meta, device, with, Some(&event)).await?;
    Ok(LoginOutcome::Authenticated { user, session })
}

/// Whose consecutive failures this attempt counts against: the browser's own
/// count when it is a known device of the account (an attacker elsewhere
/// cannot lock it), else the address's, known or not.
fn failure_key(
    email: Option<&EmailAddress>,
    known_device: bool,
    meta: &RequestMeta,
) -> Option<FailureKey> {
    match &meta.device {
        Some(device) if known_device => Some(FailureKey::device(device)),
        _ => email.map(FailureKey::account),
    }
}

/// Whatever the account's state: the hash is the password's, and a
/// pending or disabled account's owner proved it as well as anyone.
async fn store_upgrade(
    state: &AppState,
    user: &User,
    old: &PasswordHash,
    upgrade: Upgrade,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let event = AuditEvent::new(
        state.clock.now(),
        AuditKind::PasswordRehashed,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(format!("from {} to {}", upgrade.from, upgrade.to));
    state
        .store
        .upgrade_password_hash(user.id, old, &upgrade.hash, &event)
        .await?;
    Ok(())
}

/// Why an account that proved who it is may still not sign in (the
/// trail's words, and the answer): its address is not verified, or an
/// operator disabled it. Whatever the way in, password or passkey.
pub(super) fn status_refusal(status: UserStatus) -> Option<(&'static str, FlowError)> {
    match status {
        UserStatus::Active => None,
        UserStatus::Pending => Some(("email not verified", FlowError::EmailNotVerified)),
        UserStatus::Disabled => Some(("account disabled", FlowError::AccountDisabled)),
    }
}

async fn audit_password_step(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
    detail: &str,
) -> Result<(), FlowError> {
    let event = AuditEvent::new(
        state.clock.now(),
        AuditKind::LoginSucceeded,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail(format!("password; {detail}"));
    Ok(state.store.audit(&event).await?)
}
