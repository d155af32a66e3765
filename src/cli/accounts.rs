//! `latchkey users disable|enable|change-email|invite|reset-password|reset-mfa`: the
//! admin API's actions on an account, from the command line. Links are
//! queued for a running instance to send, and never printed.

use std::io::Write;

use anyhow::Context;

use super::{composer, explain, open_store};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::EmailAddress;
use crate::flows::{self, Access, FlowError};

/// `users disable|enable`: the account of `email`, by the same flow as the
/// admin API.
pub(super) async fn set_access(
    config: &Config,
    email: &str,
    access: Access,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("not an email address")?;
    let store = open_store(config).await?;
    let user = store
        .user_by_email(&email)
        .await?
        .context("no account has this email address")?;
    let meta = crate::audit::RequestMeta::internal();
    let user = flows::set_access(&*store, SystemClock.now(), user.id, access, &meta).await?;
    writeln!(
        out,
        "{} ({}) is {}",
        user.email,
        user.id,
        user.status.as_str()
    )?;
    Ok(())
}

/// `users change-email`: the admin API's change of address, its link and
/// notice queued for a running instance to send.
pub(super) async fn change_email(
    config: &Config,
    email: &str,
    new_email: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("not an email address")?;
    let store = open_store(config).await?;
    let composer = composer(config, &store);
    let sender = link_sender(&*store, &composer, config.verify_ttl);
    let (user, open) = flows::request_email_change_from_cli(&sender, &email, new_email)
        .await
        .map_err(explain)?;
    writeln!(
        out,
        "{} ({}) moves to {} once the link sent there is used, until {}; a running instance sends it",
        user.email,
        user.id,
        open.email,
        open.until
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )?;
    Ok(())
}

/// `users invite`: the admin API's invitation, queued for a running
/// instance to send; the link's token is never printed.
pub(super) async fn invite(
    config: &Config,
    email: &str,
    name: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let composer = composer(config, &store);
    let sender = link_sender(&*store, &composer, config.invitation_ttl);
    let decoy = unusable_hash(config)?;
    let meta = crate::audit::RequestMeta::internal();
    let (invitation, _token) = flows::invite(&sender, decoy, Some(email), name, &meta)
        .await
        .map_err(|error| match error {
            FlowError::EmailTaken => anyhow::anyhow!("an account already has this email address"),
            other => explain(other),
        })?;
    writeln!(
        out,
        "invited {} ({}); the link to choose a password works until {}; a running instance sends it",
        invitation.user.email,
        invitation.user.id,
        invitation
            .until
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )?;
    Ok(())
}

/// `users reset-password`: the admin API's forced reset, its link queued
/// for a running instance to send and never printed.
pub(super) async fn reset_password(
    config: &Config,
    email: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("not an email address")?;
    let store = open_store(config).await?;
    let composer = composer(config, &store);
    let sender = link_sender(&*store, &composer, config.password_reset_ttl);
    let unusable = unusable_hash(config)?;
    let reset = flows::force_password_reset_from_cli(&sender, unusable, &email)
        .await
        .map_err(|error| match error {
            FlowError::AccountDisabled => {
                anyhow::anyhow!("the account is disabled: enable it first")
            }
            other => explain(other),
        })?;
    writeln!(
        out,
        "the password of {} ({}) no longer works; {} sessions ended; the link to choose a new one works until {}; a running instance sends it",
        reset.user.email,
        reset.user.id,
        reset.sessions_ended,
        reset
            .until
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )?;
    Ok(())
}

/// `users reset-mfa`: the second factors of the account of `email`
/// removed, by the same flow as the admin API.
pub(super) async fn reset_mfa(
    config: &Config,
    email: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("not an email address")?;
    let store = open_store(config).await?;
    let composer = composer(config, &store);
    let reset = flows::mfa::reset_factors_from_cli(&*store, &composer, SystemClock.now(), &email)
        .await
        .map_err(explain)?;
    if reset.removed.is_empty() {
        writeln!(
            out,
            "{} ({}) has no second factor; nothing changed",
            reset.user.email, reset.user.id
        )?;
    } else {
        let removed: Vec<&str> = reset.removed.iter().map(|kind| kind.as_str()).collect();
        writeln!(
            out,
            "removed {} and the recovery codes of {} ({}); {} sessions ended; a running instance emails the owner",
            removed.join(", "),
            reset.user.email,
            reset.user.id,
            reset.sessions_ended
        )?;
    }
    Ok(())
}

/// What a command queues a link with: the instances' composer, the time
/// now, and how long the link works.
fn link_sender<'a>(
    store: &'a dyn crate::store::Store,
    composer: &'a crate::mail::Composer,
    ttl: std::time::Duration,
) -> flows::LinkSender<'a> {
    flows::LinkSender {
        store,
        composer,
        now: SystemClock.now(),
        ttl,
    }
}

/// A hash of the configured parameters that no password matches: an
/// invited account's, or a voided password's.
fn unusable_hash(config: &Config) -> anyhow::Result<crate::domain::PasswordHash> {
    Ok(crate::hashing::decoy(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
    )?)
}
