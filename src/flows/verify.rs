//! GET /verify?token=: prove the address and activate the account.

use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{MfaPolicy, SignedInWith, User, UserStatus, VerificationToken};
use crate::limits::{Rule, Subject};
use crate::state::AppState;
use crate::store::Activation;

use super::session::new_session;
use super::{FlowError, StartedSession};

#[derive(Debug, Clone)]
pub struct Verified {
    pub user: User,
    /// The link had already done its work (a mail scanner may have opened it
    /// first); the person is told their account is active, not that it failed.
    pub already_verified: bool,
    /// The first use of a link signs the person in. A used link does not:
    /// it would be a password valid for a day, in an email.
    pub session: Option<StartedSession>,
}

#[tracing::instrument(name = "verify", skip_all, fields(user.id))]
pub async fn verify_email(
    state: &AppState,
    raw_token: Option<&str>,
    meta: &RequestMeta,
) -> Result<Verified, FlowError> {
    state
        .limits
        .check(Rule::VerifyPerIp, Subject::Ip(meta))
        .await?;
    let now = state.clock.now();
    let failed = |reason: &'static str, user: Option<&User>| {
        AuditEvent::new(
            now,
            AuditKind::VerificationFailed,
            Outcome::Failure,
            user.map(|u| u.id),
            meta,
        )
        .with_detail(reason)
    };
    let Ok(token) = VerificationToken::parse(raw_token.unwrap_or_default()) else {
        state.store.audit(&failed("malformed token", None)).await?;
        return Err(FlowError::InvalidToken);
    };
    let Some(record) = state.store.token_by_digest(&token.digest()).await? else {
        state.store.audit(&failed("unknown token", None)).await?;
        return Err(FlowError::InvalidToken);
    };
    tracing::Span::current().record("user.id", tracing::field::display(record.user.id));
    if record.revoked_at.is_some() {
        state
            .store
            .audit(&failed("superseded token", Some(&record.user)))
            .await?;
        return Err(FlowError::InvalidToken);
    }
    if now >= record.expires_at {
        state
            .store
            .audit(&failed("expired token", Some(&record.user)))
            .await?;
        // Whoever holds the link received it at this address; offering to
        // resend there helps only while the account still waits.
        let email = (record.user.status == UserStatus::Pending).then(|| record.user.email.clone());
        return Err(FlowError::TokenExpired { email });
    }
    let user = record.user;
    if record.used_at.is_some() {
        return Ok(Verified {
            user,
            already_verified: true,
            session: None,
        });
    }
    // The link proves the address, not a second factor: where every
    // account must have one, it activates and the person then logs in (and
    // enrols), instead of getting a session that skipped the factor.
    let (started, session) = match state.mfa.policy {
        MfaPolicy::Required => (None, None),
        MfaPolicy::Off | MfaPolicy::Optional => {
            // The browser that signed up becomes the account's first known
            // device, in the activation's transaction (no email about it).
            let (mut started, mut session) =
                new_session(state, &user, now, SignedInWith::EmailLink);
            let device = super::device::Device::fresh();
            session.device = Some(device.digest);
            started.device = device.new_token;
            (Some(started), Some(session))
        }
    };
    let notice = state.composer.account_active_email(&user, now)?;
    match state
        .store
        .activate(record.id, user.id, session.as_ref(), &notice, meta)
        .await?
    {
        Activation::Activated => {
            state.mail_wake.notify_one();
            tracing::info!("email verified, account active");
            Ok(Verified {
                user: activated(user, now),
                already_verified: false,
                session: started,
            })
        }
        // Lost a race with another click of the same link.
        Activation::AlreadyUsed => Ok(Verified {
            user: activated(user, now),
            already_verified: true,
            session: None,
        }),
        Activation::Revoked => {
            state
                .store
                .audit(&failed("superseded token", Some(&user)))
                .await?;
            Err(FlowError::InvalidToken)
        }
    }
}

/// The account as the activation left it (the row read before it was pending).
fn activated(mut user: User, now: chrono::DateTime<chrono::Utc>) -> User {
    if user.status == UserStatus::Pending {
        user.status = UserStatus::Active;
        user.verified_at.get_or_insert(now);
    }
    user
}
