//! The command line: `serve` (the default), `migrate`, `users`, `outbox`, `keys`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::Config;
use crate::crypto::Sealer;
use crate::domain::EmailAddress;
use crate::startup::App;
use crate::store;
use crate::tokens;

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
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service and the outbox worker (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Inspect outgoing email.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Manage the keys that sign access tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
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
    let config = Config::load(&cli.config).context("invalid configuration")?;
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
            let store = store::connect(&config.database_url).await?;
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
            let store = store::connect(&config.database_url).await?;
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
        Command::Outbox(OutboxCommand::List { limit }) => {
            let store = store::connect(&config.database_url).await?;
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
        Command::Keys(command) => keys(&config, command, &mut out).await?,
    }
    Ok(())
}

async fn keys(config: &Config, command: KeysCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let store = store::connect(&config.database_url).await?;
    match command {
        KeysCommand::Rotate => {
            // Sealer::load would create a key file when there is none; a key
            // the service does not share would make the new key useless to it.
            anyhow::ensure!(
                config.secret_key.is_some() || config.secret_key_file().exists(),
                "no secret key: set LATCHKEY_SECRET_KEY to the service's (or run beside its key file {})",
                config.secret_key_file().display()
            );
            let sealer = Sealer::load(config.secret_key.as_deref(), &config.secret_key_file())?;
            let kid = tokens::rotate(&*store, &sealer, &SystemClock).await?;
            writeln!(out, "new current key: {kid}")?;
            writeln!(
                out,
                "running instances publish it within a second and sign with it a minute from now; the previous key stays in the JWKS until its tokens expire"
            )?;
        }
        KeysCommand::List => {
            writeln!(out, "{:<43}  {:<25}  RETIRED", "KID", "CREATED")?;
            for key in store
                .signing_keys(tokens::ALGORITHM, chrono::DateTime::UNIX_EPOCH)
                .await?
            {
                writeln!(
                    out,
                    "{:<43}  {:<25}  {}",
                    key.kid,
                    key.created_at.to_rfc3339(),
                    key.retired_at
                        .map_or_else(|| "- (current)".to_owned(), |at| at.to_rfc3339())
                )?;
            }
        }
    }
    Ok(())
}
