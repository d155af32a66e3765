//! The integration suite: one binary (one link step), every test against the
//! real app on port 0 with a fresh database, on SQLite and on PostgreSQL,
//! delivering mail to a real SMTP server on loopback.

#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod browser;
mod helpers;

mod activity;
mod admin;
mod assurance;
mod audit;
mod cancellation;
mod cli;
mod cross_site;
mod csrf;
mod dashboard_pages;
mod delete_account;
mod disable;
mod email_change;
mod email_revert;
mod enumeration;
mod export;
mod forced_reset;
mod hardening;
mod invite;
mod limits;
mod login;
mod login_pages;
mod login_throttle;
mod logs;
mod metrics;
mod mfa;
mod mfa_pages;
mod mfa_reset;
mod naughty;
mod openapi;
mod outbox;
mod overload;
mod pages;
mod passkey;
mod passkey_sign_in;
mod passkeys;
mod password_change;
mod password_check;
mod password_lists;
mod password_reset;
mod properties;
mod register;
mod rehash;
mod rename;
mod resend;
mod retention;
mod scale_out;
mod session;
mod signing_keys;
mod signup_domains;
mod timing;
mod token_renewal;
mod tokens;
mod verify;
