//! Devices that completed a sign-in (OWASP "device cookies"): a known device
//! keeps its own failed-login count, so an attacker guessing an account's
//! password cannot lock its owner out of a browser they used before, and a
//! sign-in from an unknown device is announced to the owner.

use super::FlowError;
use crate::audit::RequestMeta;
use crate::domain::{DeviceToken, TokenDigest, User};
use crate::state::AppState;

/// The device a sign-in happens on: stored with the session (in its
/// transaction), so the next sign-in recognises it.
#[derive(Debug)]
pub struct Device {
    pub digest: TokenDigest,
    /// A browser new to the account: the cookie to give it.
    pub new_token: Option<DeviceToken>,
}

/// The request's device if it is one of `user`'s, else a new one.
pub async fn recognise(
    state: &AppState,
    user: &User,
    meta: &RequestMeta,
) -> Result<Device, FlowError> {
    let Some(digest) = meta.device else {
        return Ok(Device::fresh());
    };
    Ok(
        if state.store.device_owner(&digest).await? == Some(user.id) {
            Device::known(digest)
        } else {
            Device::fresh()
        },
    )
}

impl Device {
    /// One of the account's devices, seen again.
    pub fn known(digest: TokenDigest) -> Self {
        Self {
            digest,
            new_token: None,
        }
    }

    /// A device never seen before (the browser that signs up is the
    /// account's first, and nobody is emailed about it).
    pub fn fresh() -> Self {
        let token = DeviceToken::generate();
        Self {
            digest: token.digest(),
            new_token: Some(token),
        }
    }
}

/// Emails the owner about a sign-in from a new device (OWASP ASVS 5.0
/// 6.3.5); when the recipient cap holds it back, the audit trail says so.
pub async fn announce(state: &AppState, user: &User, meta: &RequestMeta) -> Result<(), FlowError> {
    let notice = state.composer.new_device_email(
        user,
        meta.ip.as_deref(),
        meta.user_agent.as_deref(),
        state.clock.now(),
    )?;
    state.store.enqueue(&notice, meta).await?;
    state.mail_wake.notify_one();
    Ok(())
}
