//! An operator adds an account for someone (the admin API's `POST
//! /admin/users`, `latchkey users invite`): the way in when public sign-up
//! is closed (`LATCHKEY_REGISTRATION=invitation`), and a welcome when it is
//! not. The account waits, pending, with a hash no password matches, and
//! its owner chooses the first password with an emailed reset link that
//! lasts `LATCHKEY_INVITATION_TTL`. Using it proves the address, so it
//! activates the account, as a reset link does for any account waiting for
//! verification (`flows::password_reset`); if it expires, "Forgot your
//! password?" sends another. Nobody, the operator included, ever knows a
//! password of the account but its owner.

use chrono::{DateTime, Utc};

use super::link::{LinkSender, stored_token};
use super::{FieldErrors, FlowError};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::{
    DisplayName, EmailAddress, PasswordHash, ResetToken, User, UserId, UserStatus,
};
use crate::state::AppState;
use crate::store::NewAccount;

/// An account an operator made, and until when its link works.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub user: User,
    pub until: DateTime<Utc>,
}

/// `invite` for the admin API: the service's parts, and the outbox woken.
#[tracing::instrument(name = "invite", skip_all, fields(user.id))]
pub async fn invite_by_admin(
    state: &AppState,
    raw_email: Option<&str>,
    raw_name: Option<&str>,
    meta: &RequestMeta,
) -> Result<Invitation, FlowError> {
    let sender = LinkSender {
        ttl: state.invitation_ttl,
        ..LinkSender::of(state)
    };
    let (invitation, _token) =
        invite(&sender, state.hasher.decoy()?, raw_email, raw_name, meta).await?;
    tracing::Span::current().record("user.id", tracing::field::display(invitation.user.id));
    state.mail_wake.notify_one();
    tracing::info!("account made by an operator, invitation queued");
    Ok(invitation)
}

/// Makes the pending account of `raw_email` (named `raw_name`, or by the
/// address's local part), its link and the invitation, together. `decoy`
/// is a hash in the configured format that no password matches, so a
/// sign-in to the account costs what any costs and fails. `EmailTaken`
/// when any account has the address. The link's token stays with the
/// caller, which never shows it: only the invitation carries it.
pub async fn invite(
    sender: &LinkSender<'_>,
    decoy: PasswordHash,
    raw_email: Option<&str>,
    raw_name: Option<&str>,
    meta: &RequestMeta,
) -> Result<(Invitation, ResetToken), FlowError> {
    let mut errors = FieldErrors::default();
    let email = EmailAddress::parse(raw_email.unwrap_or_default())
        .map_err(|error| errors.add("email", error.code(), error.to_string()))
        .ok();
    let name = match (raw_name.filter(|name| !name.trim().is_empty()), &email) {
        (Some(raw), _) => DisplayName::parse(raw)
            .map_err(|error| errors.add("name", error.code(), error.to_string()))
            .ok(),
        (None, Some(email)) => DisplayName::parse(email.local_part())
            .map_err(|error| errors.add("name", error.code(), error.to_string()))
            .ok(),
        (None, None) => None,
    };
    let (Some(email), Some(name), true) = (email, name, errors.is_empty()) else {
        return Err(FlowError::Validation(errors));
    };
    let now = sender.now;
    let user = User {
        id: UserId::generate(),
        name,
        email,
        status: UserStatus::Pending,
        created_at: now,
        verified_at: None,
    };
    let token = ResetToken::generate();
    let stored = stored_token(token.digest(), now, sender.ttl);
    let mail = sender
        .composer
        .invitation_email(&user, &token, sender.ttl, now)?;
    let event = AuditEvent::new(
        now,
        AuditKind::UserInvited,
        Outcome::Success,
        Some(user.id),
        meta,
    )
    .with_detail("by an operator");
    let account = NewAccount {
        user: &user,
        password_hash: &decoy,
    };
    sender
        .store
        .invite(&account, &stored, &mail, &event)
        .await?;
    let until = stored.expires_at;
    Ok((Invitation { user, until }, token))
}

/// Someone asked for an invited account's verification link again (`POST
/// /verify/resend`): a verification link would activate the account
/// without a password of its owner's, so the invitation goes again instead,
/// with a fresh link (older ones stop working; held back, like any link,
/// when the recipient's quota is spent).
pub(super) async fn invite_again(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    let ttl = state.invitation_ttl;
    let token = ResetToken::generate();
    let stored = stored_token(token.digest(), now, ttl);
    let mail = state.composer.invitation_email(user, &token, ttl, now)?;
    state
        .store
        .replace_password_reset(user.id, &stored, &mail, meta)
        .await?;
    state.mail_wake.notify_one();
    tracing::info!("resend for an invited account: the invitation went again");
    Ok(())
}
