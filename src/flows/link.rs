//! Emailed links: a verification link (made by sign-up and by resend
//! alike), what the others are queued with (`LinkSender`), and what every
//! single-use link's record says about its use.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::FlowError;
use crate::domain::{TokenDigest, User, VerificationToken};
use crate::mail::Composer;
use crate::state::AppState;
use crate::store::{NewMessage, NewToken, Store};

/// What an emailed link is queued with (a change of address, an
/// invitation, an operator's reset): the service's parts, or the command
/// line's (it has no outbox worker: a running instance sends).
#[derive(Debug)]
pub struct LinkSender<'a> {
    pub store: &'a dyn Store,
    pub composer: &'a Composer,
    pub now: DateTime<Utc>,
    /// How long the link works.
    pub ttl: Duration,
}

impl<'a> LinkSender<'a> {
    pub fn of(state: &'a AppState) -> Self {
        Self {
            store: &*state.store,
            composer: &state.composer,
            now: state.clock.now(),
            ttl: state.verify_ttl,
        }
    }
}

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
    let stored = stored_token(token.digest(), now, state.verify_ttl);
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

/// The stored form of a link's token (its digest) made at `now` to last
/// `ttl`.
pub(super) fn stored_token(digest: TokenDigest, now: DateTime<Utc>, ttl: Duration) -> NewToken {
    NewToken {
        id: Uuid::now_v7(),
        digest,
        created_at: now,
        expires_at: later(now, ttl),
    }
}

/// When a link made at `now` to last `ttl` stops working (the end of time
/// for a lifetime too long to add).
pub(super) fn later(now: DateTime<Utc>, ttl: std::time::Duration) -> DateTime<Utc> {
    now.checked_add_signed(TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Why a single-use emailed link (a reset, a change of address) no longer
/// works, by the marks on its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spent {
    Used,
    /// A newer link, or a change that made it moot, revoked it.
    Superseded,
    Expired,
}

impl Spent {
    /// `None` while the link still works at `now`.
    pub(super) fn judge(
        used_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        if used_at.is_some() {
            Some(Self::Used)
        } else if revoked_at.is_some() {
            Some(Self::Superseded)
        } else if now >= expires_at {
            Some(Self::Expired)
        } else {
            None
        }
    }

    /// For the audit trail.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Self::Used => "used link",
            Self::Superseded => "superseded link",
            Self::Expired => "expired link",
        }
    }
}

/// A link that cannot be used: why (for the audit trail), whose it was,
/// and the answer.
pub(super) struct Refusal {
    pub(super) reason: &'static str,
    pub(super) user: Option<User>,
    pub(super) error: FlowError,
}
