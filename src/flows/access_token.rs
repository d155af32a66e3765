//! Requests authenticated by a JWT access token instead of the session cookie.
//!
//! A valid signature is not enough here: the account must still exist and be
//! active, and a token issued for a session (`sid`) stops working as soon as
//! that session is revoked (logout) or expires. That costs one indexed read,
//! the same as a cookie. Other services that check our tokens offline against
//! the JWKS cannot see revocation; for them a token works until `exp`, at
//! most `LATCHKEY_ACCESS_TOKEN_TTL` (15 minutes by default).

use super::FlowError;
use crate::domain::{User, UserStatus};
use crate::state::AppState;
use crate::tokens::{AccessClaims, TokenError};

/// The account a valid access token speaks for.
#[derive(Debug, Clone)]
pub struct AccessIdentity {
    pub user: User,
    pub claims: AccessClaims,
}

/// The identity behind `raw`, or `None` when the token is invalid or
/// expired, its session ended, or its account is gone or not active.
pub async fn authenticate_access_token(
    state: &AppState,
    raw: &str,
) -> Result<Option<AccessIdentity>, FlowError> {
    let claims = match state.tokens.verify(raw).await {
        Ok(claims) => claims,
        Err(TokenError::Invalid(reason)) => {
            tracing::debug!(reason, "access token refused");
            return Ok(None);
        }
        Err(TokenError::Expired) => return Ok(None),
        Err(error) => return Err(FlowError::Internal(Box::new(error))),
    };
    let user = match claims.sid {
        Some(sid) => {
            let Some(session) = state.store.session_by_id(sid).await? else {
                return Ok(None);
            };
            let now = state.clock.now();
            if session.user.id != claims.sub
                || session.revoked_at.is_some()
                || now >= session.expires_at
            {
                return Ok(None);
            }
            session.user
        }
        None => match state.store.user_by_id(claims.sub).await? {
            Some(user) => user,
            None => return Ok(None),
        },
    };
    if user.status != UserStatus::Active {
        return Ok(None);
    }
    Ok(Some(AccessIdentity { user, claims }))
}
