//! Devices that completed a sign-in (OWASP "device cookies"): a known device
//! keeps its own failed-login count, so an attacker guessing an account's
//! password cannot lock its owner out of a browser they used before, and a
//! sign-in from an unknown device is announced to the owner.

use super::FlowError;
use crate::audit::RequestMeta;
use crate::domain::{DeviceToken, User, UserId};
use crate::state::AppState;

/// Whether the request's device cookie belongs to `user_id`.
pub async fn is_known_device(
    state: &AppState,
    user_id: UserId,
    meta: &RequestMeta,
) -> Result<bool, FlowError> {
    let Some(device) = &meta.device else {
        return Ok(false);
    };
    Ok(state.store.device_owner(device).await? == Some(user_id))
}

/// After a completed sign-in: refreshes a known device, or makes a new one
/// and returns its cookie's token. With `announce`, a new device is also
/// emailed to the owner (not right after sign-up, when every device is new).
pub async fn remember_device(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
    announce: bool,
) -> Result<Option<DeviceToken>, FlowError> {
    let now = state.clock.now();
    if let Some(device) = &meta.device
        && is_known_device(state, user.id, meta).await?
    {
        state.store.remember_device(device, user.id, now).await?;
        return Ok(None);
    }
    let token = DeviceToken::generate();
    state
        .store
        .remember_device(&token.digest(), user.id, now)
        .await?;
    if announce {
        let notice = state.composer.new_device_email(
            user,
            meta.ip.as_deref(),
            meta.user_agent.as_deref(),
            now,
        )?;
        // A notice: when the recipient cap holds it back, the audit trail says so.
        state.store.enqueue(&notice, meta).await?;
        state.mail_wake.notify_one();
    }
    Ok(Some(token))
}
