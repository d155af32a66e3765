//! The HTTP edge: thin handlers that decode a request, call a flow and
//! render its answer. One error type (`ApiError`) shapes every failure.

mod activity;
mod admin;
mod bearer;
mod cross_site;
mod device;
mod email_change;
mod error;
mod export;
mod health;
mod json;
mod jwks;
mod login;
mod me;
mod meta;
mod metrics;
mod mfa;
mod openapi;
mod pages;
mod passkey_login;
mod password;
mod password_change;
mod password_reset;
mod path;
mod register;
mod resend;
pub mod server;
mod session;
mod sessions;
mod token;
mod unlock;
mod verify;
mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::routing::{get, post};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::ApiError;

use crate::state::AppState;

/// Bodies are small JSON documents; anything larger is refused unread.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route. `request_timeout` bounds a request from its head onwards:
/// reading the body (a client that trickles it is cut off), the work, the
/// answer.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    use pages::{enrol, form_or_json, page_or_json};
    // Paths the API shares with the pages: an HTML form (a page without
    // JavaScript) goes to the page's handler, JSON to the API's, unchanged.
    Router::new()
        .route("/register", form_or_json(pages::signup::submit, register::post))
        .route("/verify", get(verify::get))
        .route("/verify/resend", form_or_json(pages::resend::submit, resend::post))
        .route("/me", get(me::get).patch(me::patch).delete(me::delete))
        .route("/me/activity", get(activity::get))
        .route("/me/export", get(export::get))
        .route("/logout", form_or_json(pages::dashboard::logout, me::logout))
        .route("/token", post(token::post))
        .route("/login", form_or_json(pages::login::submit, login::post))
        .route("/login/unlock", get(unlock::get))
        .route("/login/passkey/options", post(passkey_login::options))
        .route("/login/passkey", post(passkey_login::sign_in))
        .route("/mfa", page_or_json(pages::mfa::get, mfa::list))
        .route("/mfa/challenge", form_or_json(pages::mfa::send_code, mfa::challenge))
        .route("/mfa/verify", form_or_json(pages::mfa::verify, mfa::verify))
        .route("/mfa/totp/enroll", form_or_json(enrol::start_totp, mfa::totp_enroll))
        .route("/mfa/totp/confirm", form_or_json(enrol::confirm_totp, mfa::totp_confirm))
        .route("/mfa/passkey/enroll", axum::routing::post(mfa::passkey_enroll))
        .route("/mfa/passkey/confirm", axum::routing::post(mfa::passkey_confirm))
        .route("/mfa/passkey/options", axum::routing::post(mfa::passkey_options))
        .route("/mfa/passkeys/{id}", axum::routing::patch(mfa::rename_passkey).delete(mfa::remove_passkey))
        .route("/mfa/{method}/enroll", form_or_json(enrol::start_delivered, mfa::delivered_enroll))
        .route("/mfa/{method}/confirm", form_or_json(enrol::confirm_delivered, mfa::delivered_confirm))
        .route("/mfa/recovery-codes", form_or_json(pages::recovery_codes::renew, mfa::recovery_codes))
        .route("/mfa/{method}", axum::routing::delete(mfa::remove))
        .route("/sessions", get(sessions::list).delete(sessions::revoke_others))
        .route("/sessions/{id}", axum::routing::delete(sessions::revoke))
        .route("/healthz", get(health::get))
        .route("/.well-known/jwks.json", get(jwks::get))
        .route("/password/check", post(password::check))
        .route("/password/reset", form_or_json(pages::password_reset::request, password_reset::request).get(pages::password_reset::get))
        .route("/password/reset/confirm", form_or_json(pages::password_reset::confirm, password_reset::confirm))
        .route("/password/change", form_or_json(pages::password_change::submit, password_change::post))
        .route("/email/change", form_or_json(pages::email_change::submit, email_change::post).get(email_change::pending).delete(email_change::cancel))
        .route("/email/confirm", form_or_json(pages::email_change::confirm, email_change::confirm).get(pages::email_change::get))
        .route("/email/revert", form_or_json(pages::email_revert::revert, email_change::revert).get(pages::email_revert::get))
        .route("/openapi.json", get(openapi::get))
        .merge(pages::routes())
        // Empty without a configured key: the admin paths do not exist at all.
        .merge(admin::routes(&state))
        // Likewise without a metrics token.
        .merge(metrics::routes(&state))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), cross_site::guard))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(move |request, next| error::timeout(request_timeout, request, next)))
        .layer(axum::middleware::map_response(pages::security_headers))
        .layer(
            TraceLayer::new_for_http()
                // The path only: query strings carry tokens.
                .make_span_with(|request: &Request<_>| tracing::info_span!("request", method = %request.method(), path = %request.uri().path()))
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // A 503 under overload is expected, not an error worth a line each;
                // real failures are logged where they happen, with their cause.
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        // Outermost: every answer is counted, the layers' own (408, 413,
        // a cross-site 403) included.
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .with_state(state)
}
