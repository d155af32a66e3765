//! The device cookie: set when a sign-in completes, presented with later
//! logins so the throttle and the new-device email can tell a browser the
//! owner used before (OWASP "device cookies").

use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::domain::DeviceToken;
use crate::state::AppState;

/// A year: the point is to be recognised next time (rows unseen for as
/// long are pruned).
const MAX_AGE_DAYS: i64 = crate::limits::DEVICE_DAYS;

pub(crate) fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-latchkey_device"
    } else {
        "latchkey_device"
    }
}

/// `HttpOnly`, `SameSite=Lax`: no script and no cross-site request sees it.
pub(crate) fn device_cookie(state: &AppState, token: &DeviceToken) -> Cookie<'static> {
    Cookie::build((cookie_name(state), token.encode()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .max_age(time::Duration::days(MAX_AGE_DAYS))
        .build()
}
