//! A verification link: made by sign-up and by resend alike.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::FlowError;
use crate::domain::{User, VerificationToken};
use crate::state::AppState;
use crate::store::{NewMessage, NewToken};

/// A fresh link for one account: the secret, its stored form, and the email
/// that carries it. Commit `stored` and `mail` together, then `announce`.
pub(super) struct NewLink {
    pub(super) token: VerificationToken,
    pub(super) stored: NewToken,
    pub(super) mail: NewMessage,
}

pub(super) fn new_link(
    state: &AppState,
    user: &User,
    now: DateTime<Utc>,
) -> Result<NewLink, FlowError> {
    let token = VerificationToken::generate();
    let expires_at = now
        .checked_add_signed(TimeDelta::from_std(state.verify_ttl).unwrap_or(TimeDelta::MAX))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let stored = NewToken {
        id: Uuid::now_v7(),
        digest: token.digest(),
        created_at: now,
        expires_at,
    };
    let mail = state
        .composer
        .verification_email(user, &token, state.verify_ttl, now)?;
    Ok(NewLink {
        token,
        stored,
        mail,
    })
}

impl NewLink {
    /// Once committed: ring the outbox worker, and with no SMTP server
    /// configured, log the link so a newcomer can open it from the console.
    pub(super) fn announce(&self, state: &AppState) {
        state.mail_wake.notify_one();
        if state.log_links {
            tracing::info!(
                link = %state.composer.verification_link(&self.token),
                "verification link (no SMTP configured: the email is in the mail folder)"
            );
        }
    }
}
