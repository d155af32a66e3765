//! The command line: `serve` (the default), `migrate`, `users`, `audit`,
//! `outbox`, `keys`, `prune`. This file parses and dispatches;
//! `accounts.rs` acts on accounts as the admin API does, `audit.rs` prints
//! the trail, `keys.rs` the signing keys.

mod accounts;
mod audit;
mod keys;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::EmailAddress;
use crate::flows::admin::{self, AuditQuery, Since};
use crate::flows::{self, Access, FlowError};
use crate::limits::Limiter;
use crate::mail::Composer;
use crate::startup::{App, housekeeping};
use crate::store;

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Sign-up, email verification and two-factor login in one binary"
)]
struct Cli {
    /// Configuration file; LATCHKEY_* environment variables override it.
    #[arg(
        long,
        env = "LATCHKEY_CONFIG",
        default_value = "latchkey.toml",
        global = true
    )]
    config: PathBuf,
    /// The database, overriding LATCHKEY_DATABASE_URL and the file.
    #[arg(long, value_name = "URL", global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service and the outbox worker (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect and manage accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Print the audit trail: the newest events that match, oldest first
    /// (the newest is the last line).
    Audit {
        /// Only the events of the account with this email address.
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        /// Only events at or after this time: RFC 3339
        /// (2026-11-21T09:00:00Z) or a time ago (30m, 24h, 7d).
        #[arg(long, value_name = "WHEN")]
        since: Option<Since>,
        /// At most this many events (the newest ones).
        #[arg(long, default_value_t = admin::DEFAULT_LIMIT, value_parser = clap::value_parser!(i64).range(1..))]
        limit: i64,
        /// One JSON object per line instead of columns.
        #[arg(long)]
        json: bool,
    },
    /// Inspect outgoing email.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Manage the keys that sign access tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Delete now what the retention policy no longer keeps (`serve` does
    /// it every ten minutes): ended sessions, links and challenges a week
    /// on, finished messages, audit entries past LATCHKEY_AUDIT_RETENTION.
    Prune,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// The newest accounts.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One account and its audit trail.
    Show { email: String },
    /// Delete an account and everything on it (sessions, links, factors,
    /// devices); its unsent mail is cancelled and a notice goes to its
    /// address. The audit trail keeps its entries.
    Delete {
        email: String,
        /// Needed: nothing deleted can be brought back.
        #[arg(long)]
        yes: bool,
    },
    /// Disable an account: it cannot sign in, its sessions, access tokens
    /// and links stop working, its unsent mail is cancelled. `enable`
    /// gives it back.
    Disable { email: String },
    /// Give a disabled account back (its owner signs in again).
    Enable { email: String },
    /// Make an account for someone: a link to choose its password goes to
    /// the address (a running instance sends it) and activates the account
    /// once used. As the admin API's `POST /admin/users`.
    Invite {
        email: String,
        /// The display name (default: the address's local part).
        #[arg(long)]
        name: Option<String>,
    },
    /// Void an account's password (evidence it leaked): it stops working,
    /// every session ends, and a link to choose a new one goes to the
    /// account's address (a running instance sends it). As the admin API's
    /// `POST /admin/users/{id}/password/reset`.
    ResetPassword { email: String },
    /// Turn two-step verification off for an owner who lost every factor
    /// and the recovery codes (check who is asking first): they are
    /// removed, every session ends, and the owner is emailed (a running
    /// instance sends it). The password stays. As the admin API's `DELETE
    /// /admin/users/{id}/mfa`.
    ResetMfa { email: String },
    /// Start a change of address for an owner who lost the old mailbox:
    /// a link goes to the new address and a notice to the current one, and
    /// the account moves only once the link is used (a running instance
    /// sends both). As the admin API's: no password asked.
    ChangeEmail {
        /// The account's current address.
        email: String,
        /// The address it should move to.
        new_email: String,
    },
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// The newest messages and their delivery state.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a signing key and make it current; the previous key stays
    /// published until the tokens it signed have expired.
    Rotate,
    /// The current key and the retired ones.
    List,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(error = %error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "latchkey stopped");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(&cli.config).context("invalid configuration")?;
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    let mut out = std::io::stdout().lock();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = App::build(&config).await?;
            tracing::info!(address = %app.local_addr()?, public_url = %config.public_url, "latchkey is ready");
            app.run().await?;
        }
        Command::Migrate => {
            store::migrate(&config.database_url).await?;
            writeln!(out, "migrations applied")?;
        }
        Command::Users(UsersCommand::List { limit }) => {
            let store = open_store(&config).await?;
            writeln!(
                out,
                "{:<36}  {:<8}  {:<25}  {:<32}  NAME",
                "ID", "STATUS", "CREATED", "EMAIL"
            )?;
            for user in store.users(limit).await? {
                writeln!(
                    out,
                    "{:<36}  {:<8}  {:<25}  {:<32}  {}",
                    user.id,
                    user.status.as_str(),
                    user.created_at.to_rfc3339(),
                    user.email,
                    user.name
                )?;
            }
        }
        Command::Users(UsersCommand::Show { email }) => {
            let store = open_store(&config).await?;
            let email = EmailAddress::parse(&email).context("not an email address")?;
            let user = store
                .user_by_email(&email)
                .await?
                .context("no account has this email address")?;
            writeln!(out, "id:          {}", user.id)?;
            writeln!(out, "name:        {}", user.name)?;
            writeln!(out, "email:       {}", user.email)?;
            writeln!(out, "status:      {}", user.status.as_str())?;
            writeln!(out, "created_at:  {}", user.created_at.to_rfc3339())?;
            writeln!(
                out,
                "verified_at: {}",
                user.verified_at
                    .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339())
            )?;
            writeln!(out, "audit trail:")?;
            for record in store.audit_trail(Some(user.id), 1000).await? {
                writeln!(
                    out,
                    "  {}  {:<24} {:<8} ip={} {}",
                    record.at.to_rfc3339(),
                    record.event,
                    record.outcome,
                    record.ip.as_deref().unwrap_or("-"),
                    record.detail.as_deref().unwrap_or("")
                )?;
            }
        }
        Command::Users(UsersCommand::Delete { email, yes }) => {
            let email = EmailAddress::parse(&email).context("not an email address")?;
            anyhow::ensure!(
                yes,
                "this deletes the account of {email} and everything on it, for good; \
                 run again with --yes to do it"
            );
            let store = open_store(&config).await?;
            let composer = composer(&config, &store);
            let user =
                flows::delete_account_by_email(&*store, &composer, SystemClock.now(), &email)
                    .await
                    .map_err(explain)?;
            writeln!(
                out,
                "deleted {} ({}); a running instance sends the notice to its address",
                user.email, user.id
            )?;
        }
        Command::Users(UsersCommand::Disable { email }) => {
            accounts::set_access(&config, &email, Access::Disabled, &mut out).await?;
        }
        Command::Users(UsersCommand::Enable { email }) => {
            accounts::set_access(&config, &email, Access::Enabled, &mut out).await?;
        }
        Command::Users(UsersCommand::Invite { email, name }) => {
            accounts::invite(&config, &email, name.as_deref(), &mut out).await?;
        }
        Command::Users(UsersCommand::ResetPassword { email }) => {
            accounts::reset_password(&config, &email, &mut out).await?;
        }
        Command::Users(UsersCommand::ResetMfa { email }) => {
            accounts::reset_mfa(&config, &email, &mut out).await?;
        }
        Command::Users(UsersCommand::ChangeEmail { email, new_email }) => {
            accounts::change_email(&config, &email, &new_email, &mut out).await?;
        }
        Command::Audit {
            user,
            since,
            limit,
            json,
        } => {
            let user = user
                .as_deref()
                .map(EmailAddress::parse)
                .transpose()
                .context("--user is not an email address")?;
            let query = AuditQuery { user, since, limit };
            audit::print(&config, &query, json, &mut out).await?;
        }
        Command::Outbox(OutboxCommand::List { limit }) => {
            let store = open_store(&config).await?;
            writeln!(
                out,
                "{:<36}  {:<12}  {:<9}  {:>8}  {:<25}  {:<32}  LAST ERROR",
                "ID", "KIND", "STATUS", "ATTEMPTS", "CREATED", "RECIPIENT"
            )?;
            for message in store.messages(limit).await? {
                writeln!(
                    out,
                    "{:<36}  {:<12}  {:<9}  {:>8}  {:<25}  {:<32}  {}",
                    message.id,
                    message.kind,
                    message.status,
                    message.attempts,
                    message.created_at.to_rfc3339(),
                    message.recipient,
                    message.last_error.as_deref().unwrap_or("-")
                )?;
            }
        }
        Command::Keys(command) => keys::run(&config, command, &mut out).await?,
        Command::Prune => {
            let store = open_store(&config).await?;
            let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(SystemClock);
            let limits = Limiter::new(store.clone(), clock.clone(), &config.limits);
            let report = housekeeping(&config, store, clock, limits)?
                .run_once()
                .await?;
            writeln!(out, "deleted {report}")?;
        }
    }
    Ok(())
}

/// A flow's refusal as a command says it: an unknown account and invalid
/// input in words, anything else as it is (a command that meets other
/// refusals words them before this).
fn explain(error: FlowError) -> anyhow::Error {
    match error {
        FlowError::NotFound => anyhow::anyhow!("no account has this email address"),
        FlowError::Validation(fields) => anyhow::anyhow!("{fields}"),
        other => anyhow::Error::new(other),
    }
}

/// What writes the emails a command queues, each recipient capped as by
/// the instances.
fn composer(config: &Config, store: &std::sync::Arc<dyn store::Store>) -> Composer {
    let limits = Limiter::new(
        store.clone(),
        std::sync::Arc::new(SystemClock),
        &config.limits,
    );
    Composer::new(config.public_url.clone()).with_recipient_quota(limits.recipient_quota())
}

/// The configured database, with the instances' connection limit: the
/// commands run beside them, on the same server's connections.
async fn open_store(config: &Config) -> store::StoreResult<std::sync::Arc<dyn store::Store>> {
    store::connect_with(&config.database_url, config.database_max_connections).await
}
