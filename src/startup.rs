//! Building and running the service. Production (`latchkey serve`) and the
//! tests start the very same `App`; tests bind port 0 and may inject a clock.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::Sealer;
use crate::domain::{AllowedDomains, Blocklist, FactorKind};
use crate::flows::SessionPolicy;
use crate::hashing::Hasher;
use crate::limits::Limiter;
use crate::mail::{Composer, OutboxWorker, SmsTransport, Transport, WorkerSettings};
use crate::metrics::Metrics;
use crate::retention::{self, Housekeeping, KeepFor};
use crate::state::{AppState, MfaSettings};
use crate::store;
use crate::tokens::{self, AccessTokens};

/// Resends being processed after their answer, at most.
const BACKGROUND_TASKS: usize = 64;

#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    state: AppState,
    worker: OutboxWorker,
    housekeeping: Housekeeping,
    timeouts: Timeouts,
}

#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header_read: Duration,
    request: Duration,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Opens (and migrates) the database, prepares mail, and binds the port.
    /// Once this returns the service can answer: `/healthz` is 200 at once.
    pub async fn build_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // A configuration error is reported before anything is opened.
        let admin_key = config.admin_key()?;
        let metrics_key = config.metrics_key()?;
        let metrics = Metrics::new();
        let store = store::connect_with(&config.database_url, config.database_max_connections)
            .await
            .context("cannot open the database")?;
        let transport = Transport::from_config(config.smtp_url.as_deref(), config.mail_dir())?;
        let sms = SmsTransport::from_config(
            config.sms_url.as_deref(),
            config.sms_account.as_deref(),
            config.sms_token.as_deref(),
            config.sms_from.as_deref(),
            config.mail_dir(),
        )?;
        let from: Mailbox = config
            .mail_from
            .parse()
            .context("LATCHKEY_MAIL_FROM is not a valid mailbox")?;
        let policy = config
            .password_policy(from.name.as_deref())
            .with_blocklist(read_blocklist(config.password_blocklist.clone()).await?);
        let workers = config
            .hash_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let hasher = Hasher::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            workers,
            config.hash_queue,
        )?;
        let sealer = Sealer::load(config.secret_key.as_deref(), &config.secret_key_file())?;
        let mfa = MfaSettings {
            policy: config.mfa,
            methods: config.mfa_methods().map_err(anyhow::Error::msg)?,
        };
        let passkeys = crate::flows::mfa::Passkeys::for_site(&config.public_url);
        if passkeys.is_none() && mfa.allows(FactorKind::Passkey) {
            // The default public URL is an IP address: say why the method
            // is missing, and how to try it on this machine.
            tracing::info!(
                public_url = %config.public_url,
                "passkeys are not offered: browsers offer them to domain names only \
                 (LATCHKEY_PUBLIC_URL=http://localhost:8080 to try them here)"
            );
        }
        let dummy_hash = hasher.decoy()?;
        anyhow::ensure!(
            (tokens::MIN_TTL..=tokens::MAX_TTL).contains(&config.access_token_ttl),
            "LATCHKEY_ACCESS_TOKEN_TTL must be between 10s and 24h"
        );
        anyhow::ensure!(
            !config.jwt_audience.is_empty(),
            "LATCHKEY_JWT_AUDIENCE must not be empty"
        );
        let tokens = AccessTokens::load(
            store.clone(),
            sealer.clone(),
            clock.clone(),
            config.jwt_issuer(),
            config.jwt_audience.clone(),
        )
        .await
        .context("cannot load the access token signing keys")?
        .with_ttl(config.access_token_ttl);
        config.limits.validate().map_err(anyhow::Error::msg)?;
        // NIST SP 800-63B 5.1.1.2: at least 8, and room for at least 64.
        anyhow::ensure!(
            config.password_min_length >= 8
                && config.password_max_length >= 64
                && config.password_min_length <= config.password_max_length,
            "LATCHKEY_PASSWORD_MIN_LENGTH must be at least 8 and LATCHKEY_PASSWORD_MAX_LENGTH \
             at least 64 (NIST SP 800-63B), the minimum not above the maximum"
        );
        // A reset link is a password sent by email: short-lived, but long
        // enough for the email to arrive.
        anyhow::ensure!(
            (Duration::from_secs(60)..=Duration::from_secs(24 * 3600))
                .contains(&config.password_reset_ttl),
            "LATCHKEY_PASSWORD_RESET_TTL must be between 1 minute and 24 hours"
        );
        // Days, for a person who may not read the email at once; not
        // forever, for a link that sets a password.
        anyhow::ensure!(
            (Duration::from_secs(3600)..=Duration::from_secs(30 * 24 * 3600))
                .contains(&config.invitation_ttl),
            "LATCHKEY_INVITATION_TTL must be between 1 hour and 30 days"
        );
        let signup_domains = AllowedDomains::parse(&config.registration_domains)
            .map_err(|error| anyhow::anyhow!("LATCHKEY_REGISTRATION_DOMAINS: {error}"))?;
        let limits = Limiter::new(store.clone(), clock.clone(), &config.limits);
        let housekeeping = housekeeping(config, store.clone(), clock.clone(), limits.clone())?;
        let trusted_proxies = config.trusted_proxies().map_err(anyhow::Error::msg)?;
        let mail_wake = Arc::new(Notify::new());
        let log_links = transport.is_file();
        let state = AppState {
            store: store.clone(),
            hasher,
            sealer,
            composer: Composer::new(config.public_url.clone())
                .with_recipient_quota(limits.recipient_quota()),
            clock: clock.clone(),
            policy,
            verify_ttl: config.verify_ttl,
            password_reset_ttl: config.password_reset_ttl,
            invitation_ttl: config.invitation_ttl,
            registration: config.registration,
            signup_domains,
            sessions: SessionPolicy {
                idle: config.session_idle_timeout,
                absolute: config.session_absolute_timeout,
            },
            secure_cookies: config.secure_cookies(),
            mail_wake: mail_wake.clone(),
            log_links,
            mfa,
            dummy_hash,
            tokens,
            limits,
            trusted_proxies: trusted_proxies.into(),
            admin_key,
            metrics: metrics.clone(),
            metrics_key,
            passkeys,
            enumeration_protection: config.enumeration_protection,
            background: Arc::new(tokio::sync::Semaphore::new(BACKGROUND_TASKS)),
        };
        let settings = WorkerSettings {
            retry_for: config.mail_retry_for,
            ..WorkerSettings::default()
        };
        let worker = OutboxWorker {
            store,
            transport,
            sms,
            from,
            clock,
            settings,
            wake: mail_wake,
            metrics,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        anyhow::ensure!(
            !config.header_read_timeout.is_zero() && !config.request_timeout.is_zero(),
            "LATCHKEY_HEADER_READ_TIMEOUT and LATCHKEY_REQUEST_TIMEOUT must be more than zero"
        );
        Ok(Self {
            listener,
            state,
            worker,
            housekeeping,
            timeouts: Timeouts {
                header_read: config.header_read_timeout,
                request: config.request_timeout,
            },
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What deletes the records the retention policy no longer keeps.
    pub fn housekeeping(&self) -> &Housekeeping {
        &self.housekeeping
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let worker = tokio::spawn(self.worker.run());
        let housekeeping = tokio::spawn(self.housekeeping.run());
        let router = crate::http::router(self.state, self.timeouts.request);
        crate::http::server::serve(self.listener, router, self.timeouts.header_read, shutdown)
            .await;
        // A message being sent when the worker stops keeps its lease; another
        // worker retries it when the lease ends.
        worker.abort();
        housekeeping.abort();
        Ok(())
    }
}

/// The retention policy of `config`, checked.
pub fn housekeeping(
    config: &Config,
    store: Arc<dyn store::Store>,
    clock: Arc<dyn Clock>,
    limits: Limiter,
) -> anyhow::Result<Housekeeping> {
    if let KeepFor::Period(period) = config.audit_retention {
        anyhow::ensure!(
            period >= retention::MIN_RETENTION,
            "LATCHKEY_AUDIT_RETENTION must be at least 1 day, or `forever`"
        );
    }
    // An account whose link still works is not deleted from under it.
    if let KeepFor::Period(period) = config.unverified_account_retention {
        anyhow::ensure!(
            period >= retention::MIN_RETENTION && period >= config.verify_ttl,
            "LATCHKEY_UNVERIFIED_ACCOUNT_RETENTION must be at least 1 day and at least \
             LATCHKEY_VERIFY_TTL, or `forever`"
        );
    }
    let policy = retention::Policy {
        audit: config.audit_retention,
        unverified_accounts: config.unverified_account_retention,
    };
    Ok(Housekeeping::new(store, clock, limits, policy))
}

/// The operator's password blocklist (`LATCHKEY_PASSWORD_BLOCKLIST`), read
/// off the runtime's threads: a list of millions of lines takes a moment.
async fn read_blocklist(path: Option<PathBuf>) -> anyhow::Result<Blocklist> {
    let Some(path) = path else {
        return Ok(Blocklist::default());
    };
    let shown = path.display().to_string();
    let read = tokio::task::spawn_blocking(move || {
        Blocklist::read(std::io::BufReader::new(std::fs::File::open(path)?))
    });
    let list = read
        .await?
        .with_context(|| format!("cannot read LATCHKEY_PASSWORD_BLOCKLIST ({shown})"))?;
    tracing::info!(entries = list.len(), path = %shown, "password blocklist read");
    Ok(list)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
