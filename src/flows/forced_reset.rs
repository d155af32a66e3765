//! An operator voids an account's password when there is evidence it
//! leaked (NIST SP 800-63B 3.1.1.2: "force a change of password"): the
//! admin API's `POST /admin/users/{id}/password/reset`, or `latchkey users
//! reset-password`. At once the old password stops working (a hash no
//! password matches takes its place), every session ends, and what rested
//! on the password stops too (reset and change-of-address links, logins
//! waiting for a second factor); a reset link goes to the account's
//! address, with which its owner chooses a new one. Factors stay: the
//! evidence is against the password. For a pending account (an invitation
//! not yet taken up) it sends a fresh link the same way.

use chrono::{DateTime, Utc};

use super::FlowError;
use super::link::{LinkSender, stored_token};
use crate::audit::RequestMeta;
use crate::domain::{EmailAddress, PasswordHash, ResetToken, User, UserId, UserStatus};
use crate::state::AppState;

/// What an operator's reset did.
#[derive(Debug, Clone)]
pub struct ForcedReset {
    pub user: User,
    /// Sessions that ended.
    pub sessions_ended: u64,
    /// When the emailed link stops working.
    pub until: DateTime<Utc>,
}

/// The admin API's: `NotFound` for an unknown id.
#[tracing::instrument(name = "force_password_reset", skip_all, fields(user.id = %id))]
pub async fn force_password_reset_by_admin(
    state: &AppState,
    id: UserId,
    meta: &RequestMeta,
) -> Result<ForcedReset, FlowError> {
    let user = state
        .store
        .user_by_id(id)
        .await?
        .ok_or(FlowError::NotFound)?;
    let sender = LinkSender {
        ttl: state.password_reset_ttl,
        ..LinkSender::of(state)
    };
    let (reset, _token) = force_password_reset(&sender, state.hasher.decoy()?, user, meta).await?;
    state.mail_wake.notify_one();
    tracing::info!(
        sessions_ended = reset.sessions_ended,
        "password voided by an operator, reset link queued"
    );
    Ok(reset)
}

/// The command line's, for the account of `email`: the link is queued for a
/// running instance to send.
pub async fn force_password_reset_from_cli(
    sender: &LinkSender<'_>,
    unusable: PasswordHash,
    email: &EmailAddress,
) -> Result<ForcedReset, FlowError> {
    let user = sender
        .store
        .user_by_email(email)
        .await?
        .ok_or(FlowError::NotFound)?;
    let meta = RequestMeta::internal();
    // The token stays here: only whoever reads the account's inbox uses it.
    let (reset, _token) = force_password_reset(sender, unusable, user, &meta).await?;
    Ok(reset)
}

/// `unusable` is a hash in the configured format that no password matches,
/// so a sign-in with the old password costs what any costs and fails. A
/// disabled account is refused (`AccountDisabled`): enable it first.
async fn force_password_reset(
    sender: &LinkSender<'_>,
    unusable: PasswordHash,
    user: User,
    meta: &RequestMeta,
) -> Result<(ForcedReset, ResetToken), FlowError> {
    if user.status == UserStatus::Disabled {
        return Err(FlowError::AccountDisabled);
    }
    let now = sender.now;
    let token = ResetToken::generate();
    let stored = stored_token(token.digest(), now, sender.ttl);
    let mail = sender
        .composer
        .forced_reset_email(&user, &token, sender.ttl, now)?;
    let sessions_ended = sender
        .store
        .force_password_reset(user.id, &unusable, &stored, &mail, meta)
        .await?;
    let reset = ForcedReset {
        user,
        sessions_ended,
        until: stored.expires_at,
    };
    Ok((reset, token))
}
