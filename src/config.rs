//! Configuration: built-in defaults, then an optional `latchkey.toml`, then
//! `LATCHKEY_*` environment variables, each overriding the one before.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::{
    AdminKey, AdminKeyError, FactorKind, MfaPolicy, PasswordPolicy, RegistrationMode,
};
use crate::limits::LimitSettings;
use crate::retention::KeepFor;

/// `Debug` is written by hand: it hides the secrets (see below).
#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Base of every link in emails; never derived from the Host header,
    /// which an attacker controls.
    pub public_url: Url,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Connections this instance keeps to PostgreSQL at most. Every
    /// instance of a deployment keeps its own: their sum must stay under
    /// the server's `max_connections` (100 by default). SQLite ignores it.
    pub database_max_connections: NonZeroU32,
    /// Unset: emails are written as `.eml` files into `mail_dir`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Unset: SMS are written as text files into `mail_dir/sms/`. Set: the
    /// base URL of a provider with a Twilio-style Messages API.
    pub sms_url: Option<String>,
    pub sms_account: Option<String>,
    pub sms_token: Option<String>,
    /// The sender number or name.
    pub sms_from: Option<String>,
    pub mail_dir: Option<PathBuf>,
    /// How long a verification link works.
    #[serde(with = "humantime_serde")]
    pub verify_ttl: Duration,
    /// How long a password reset link works.
    #[serde(with = "humantime_serde")]
    pub password_reset_ttl: Duration,
    /// How long an operator's invitation link works.
    #[serde(with = "humantime_serde")]
    pub invitation_ttl: Duration,
    /// `open`: anyone may sign up; `invitation`: only the people an
    /// operator invites (`POST /register` answers 403).
    pub registration: RegistrationMode,
    /// The only domains whose addresses may sign up (or move an account to
    /// them), comma-separated; empty: every domain.
    pub registration_domains: String,
    /// How long the outbox keeps retrying a message before giving up.
    #[serde(with = "humantime_serde")]
    pub mail_retry_for: Duration,
    /// A session ends after this long without a request (OWASP ASVS 7.3.1).
    #[serde(with = "humantime_serde")]
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active (ASVS 7.3.2).
    #[serde(with = "humantime_serde")]
    pub session_absolute_timeout: Duration,
    pub password_min_length: usize,
    pub password_max_length: usize,
    pub password_min_score: u8,
    /// Words tied to the service that no password may contain,
    /// comma-separated, besides the display name of `mail_from` (the
    /// service's name as its emails show it): NIST's context-specific words.
    pub password_context_words: String,
    /// A file of barred passwords, one a line: as they are, or SHA-1
    /// digests as Have I Been Pwned publishes them. Unset: zxcvbn's list only.
    pub password_blocklist: Option<PathBuf>,
    /// argon2id memory cost in KiB (OWASP: 19456 with t=2, p=1).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// `off`, `optional` (a second factor when the account has one) or
    /// `required` (every account must enrol one).
    pub mfa: MfaPolicy,
    /// Which second factors may be used, comma-separated: `totp,sms,email`.
    pub mfa_methods: String,
    /// 32 bytes, base64: seals secrets at rest and keys code digests. Unset:
    /// a key file beside the database is created on first start. Every
    /// instance of one deployment must share it.
    pub secret_key: Option<String>,
    /// Threads hashing at once; defaults to the number of cores.
    pub hash_workers: Option<usize>,
    /// Requests whose hashing may wait for a free thread; past that a
    /// request waits a moment for a place, then gets 503 `overloaded`. It
    /// bounds how long an admitted sign-in waits: on two cores hashing
    /// 150 a second, 32 is about 0.2 s (0.4 s with the cores half taken by
    /// a flood, measured with 500 clients: admitted p50 0.6 s against 1.0 s
    /// with 64, and as many signed in).
    pub hash_queue: usize,
    /// The `aud` of access tokens: what the services accepting them expect.
    pub jwt_audience: String,
    /// How long an access token works; it cannot be revoked by services that
    /// check it offline against the JWKS, so keep it short.
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    /// Proxies whose `X-Forwarded-For` is believed, comma-separated
    /// addresses or networks (`10.0.0.0/8, ::1`). Empty: the client's address
    /// is the socket's, and the header is ignored.
    pub trusted_proxies: String,
    /// Rate limits, the recipient cap and the login throttle.
    #[serde(flatten)]
    pub limits: LimitSettings,
    /// Unset: there is no admin API (its paths answer 404). Set: the Bearer
    /// key of `/admin/*`, at least 32 printable ASCII characters.
    pub admin_api_key: Option<String>,
    /// Unset: there is no `GET /metrics` (it answers 404). Set: the Bearer
    /// token Prometheus scrapes it with, at least 32 printable ASCII
    /// characters; apart from the admin key, so a scraper holds no power
    /// over accounts.
    pub metrics_token: Option<String>,
    /// `POST /register` answers a taken address exactly as a new one (201)
    /// and emails its owner instead, so sign-up cannot tell who has an
    /// account. Off by default: the seed flow asks for `409 email_taken`.
    pub enumeration_protection: bool,
    /// A connection must deliver its request line and headers within this
    /// (and an idle kept-alive connection its next request), or it is
    /// closed: slow clients cannot hold connections forever.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A request, body included, must be read and answered within this, or
    /// it gets `408`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long the audit trail keeps an entry: a duration of at least a
    /// day (`365d`), or `forever`.
    pub audit_retention: KeepFor,
    /// How long an account nobody verified is kept after its sign-up: at
    /// least `verify_ttl` and a day (`30d`), or `forever` (the default).
    pub unverified_account_retention: KeepFor,
}

const REDACTED: &str = "[redacted]";

/// Every setting but the secrets: keys and tokens show only whether they
/// are set, and URLs lose their passwords, so a configuration can be
/// printed or logged without leaking them.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("database_url", &without_password(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("smtp_url", &self.smtp_url.as_deref().map(without_password))
            .field("mail_from", &self.mail_from)
            .field("sms_url", &self.sms_url.as_deref().map(without_password))
            .field("sms_account", &self.sms_account)
            .field("sms_token", &self.sms_token.as_ref().map(|_| REDACTED))
            .field("sms_from", &self.sms_from)
            .field("mail_dir", &self.mail_dir)
            .field("verify_ttl", &self.verify_ttl)
            .field("password_reset_ttl", &self.password_reset_ttl)
            .field("invitation_ttl", &self.invitation_ttl)
            .field("registration", &self.registration)
            .field("registration_domains", &self.registration_domains)
            .field("mail_retry_for", &self.mail_retry_for)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_absolute_timeout", &self.session_absolute_timeout)
            .field("password_min_length", &self.password_min_length)
            .field("password_max_length", &self.password_max_length)
            .field("password_min_score", &self.password_min_score)
            .field("password_context_words", &self.password_context_words)
            .field("password_blocklist", &self.password_blocklist)
            .field("argon2_memory_kib", &self.argon2_memory_kib)
            .field("argon2_iterations", &self.argon2_iterations)
            .field("argon2_parallelism", &self.argon2_parallelism)
            .field("mfa", &self.mfa)
            .field("mfa_methods", &self.mfa_methods)
            .field("secret_key", &self.secret_key.as_ref().map(|_| REDACTED))
            .field("hash_workers", &self.hash_workers)
            .field("hash_queue", &self.hash_queue)
            .field("jwt_audience", &self.jwt_audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("limits", &self.limits)
            .field(
                "admin_api_key",
                &self.admin_api_key.as_ref().map(|_| REDACTED),
            )
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| REDACTED),
            )
            .field("enumeration_protection", &self.enumeration_protection)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("audit_retention", &self.audit_retention)
            .field(
                "unverified_account_retention",
                &self.unverified_account_retention,
            )
            .finish()
    }
}

/// `url` with its password (if any) replaced; a string that does not parse
/// as a URL is hidden whole, since where its secret sits is unknown.
fn without_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(REDACTED));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => REDACTED.to_owned(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: Url::parse("http://127.0.0.1:8080")
                .unwrap_or_else(|_| unreachable!("constant URL")),
            database_url: "sqlite://latchkey.db".to_owned(),
            database_max_connections: crate::store::DEFAULT_MAX_CONNECTIONS,
            smtp_url: None,
            mail_from: "latchkey <no-reply@localhost>".to_owned(),
            sms_url: None,
            sms_account: None,
            sms_token: None,
            sms_from: None,
            mail_dir: None,
            verify_ttl: Duration::from_secs(24 * 3600),
            password_reset_ttl: Duration::from_secs(3600),
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            registration: RegistrationMode::Open,
            registration_domains: String::new(),
            mail_retry_for: Duration::from_secs(24 * 3600),
            session_idle_timeout: Duration::from_secs(3600),
            session_absolute_timeout: Duration::from_secs(24 * 3600),
            password_min_length: PasswordPolicy::default().min_length,
            password_max_length: PasswordPolicy::default().max_length,
            password_min_score: PasswordPolicy::default().min_score,
            password_context_words: String::new(),
            password_blocklist: None,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            mfa: MfaPolicy::Optional,
            mfa_methods: "totp,sms,email,passkey".to_owned(),
            secret_key: None,
            hash_workers: None,
            hash_queue: 32,
            jwt_audience: "latchkey".to_owned(),
            access_token_ttl: crate::tokens::DEFAULT_TTL,
            trusted_proxies: String::new(),
            limits: LimitSettings::default(),
            admin_api_key: None,
            metrics_token: None,
            enumeration_protection: false,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            audit_retention: crate::retention::DEFAULT_AUDIT_RETENTION,
            unverified_account_retention: KeepFor::Forever,
        }
    }
}

impl Config {
    /// Defaults < `file` (if it exists) < `LATCHKEY_*` variables.
    pub fn load(file: &Path) -> Result<Self, Box<figment::Error>> {
        Figment::from(Serialized::defaults(Self::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("LATCHKEY_").ignore(&["config"]))
            .extract()
            .map_err(Box::new)
    }

    /// The policy's lengths, score and context words; `sender` is the
    /// display name of `mail_from`. The blocklist is read by the caller.
    pub fn password_policy(&self, sender: Option<&str>) -> PasswordPolicy {
        let configured = self.password_context_words.split(',');
        PasswordPolicy {
            min_length: self.password_min_length,
            max_length: self.password_max_length,
            min_score: self.password_min_score,
            ..PasswordPolicy::default()
        }
        .with_context_words(sender.into_iter().chain(configured))
    }

    /// The enabled second factors; an unknown name is a configuration error.
    pub fn mfa_methods(&self) -> Result<Vec<FactorKind>, String> {
        let mut methods = Vec::new();
        for name in self
            .mfa_methods
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let kind = FactorKind::parse(name).ok_or_else(|| {
                format!(
                    "unknown method {name:?} in LATCHKEY_MFA_METHODS (expected totp, sms, email, passkey)"
                )
            })?;
            if !methods.contains(&kind) {
                methods.push(kind);
            }
        }
        Ok(methods)
    }

    /// The proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, String> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "LATCHKEY_TRUSTED_PROXIES: {entry:?} is not an address or a network"
                        )
                    })
            })
            .collect()
    }

    /// The admin API key, checked: `None` when unset, an error when too weak.
    pub fn admin_key(&self) -> Result<Option<AdminKey>, AdminKeyError> {
        self.admin_api_key
            .as_deref()
            .map(AdminKey::parse)
            .transpose()
    }

    /// The metrics scrape token, checked like the admin key.
    pub fn metrics_key(&self) -> Result<Option<AdminKey>, AdminKeyError> {
        self.metrics_token
            .as_deref()
            .map(|raw| AdminKey::parse_setting(raw, "LATCHKEY_METRICS_TOKEN"))
            .transpose()
    }

    /// Where the generated secret key lives when none is configured.
    pub fn secret_key_file(&self) -> PathBuf {
        self.data_dir().join("latchkey.key")
    }

    /// The folder of the SQLite database, or the working folder.
    fn data_dir(&self) -> PathBuf {
        self.database_url
            .strip_prefix("sqlite://")
            .map(|path| path.split('?').next().unwrap_or(path))
            .and_then(|path| Path::new(path).parent())
            .unwrap_or(Path::new(""))
            .to_path_buf()
    }

    /// Cookies get `Secure` and the `__Host-` prefix when served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// Where the file transport writes: the configured folder, else
    /// `latchkey-mail/` beside the SQLite database (or in the working folder).
    pub fn mail_dir(&self) -> PathBuf {
        if let Some(dir) = &self.mail_dir {
            return dir.clone();
        }
        self.data_dir().join("latchkey-mail")
    }

    /// The `iss` of access tokens: the public URL without a trailing slash
    /// (`Url` always adds one to a bare host).
    pub fn jwt_issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_every_secret() {
        let config = Config {
            database_url: "postgres://latchkey:db-pass-1@db.internal/latchkey".to_owned(),
            smtp_url: Some("smtps://mailer:smtp-pass-2@mail.internal".to_owned()),
            sms_url: Some("https://acct:sms-pass-3@sms.internal/api".to_owned()),
            sms_token: Some("sms-token-4".to_owned()),
            secret_key: Some("c2VjcmV0LWtleS01LXNlY3JldC1rZXktNS1zZWNyZXQ=".to_owned()),
            admin_api_key: Some("admin-key-6-admin-key-6-admin-key-6".to_owned()),
            ..Config::default()
        };
        let printed = format!("{config:?}");
        for secret in [
            "db-pass-1",
            "smtp-pass-2",
            "sms-pass-3",
            "sms-token-4",
            "c2VjcmV0LWtleS01",
            "admin-key-6",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        // What is not secret is still there to debug with.
        assert!(printed.contains("db.internal"), "{printed}");
        assert!(printed.contains("mailer"), "{printed}");
        assert!(
            printed.contains("admin_api_key: Some(\"[redacted]\")"),
            "{printed}"
        );
    }

    #[test]
    fn mail_dir_sits_beside_the_database() {
        let config = Config {
            database_url: "sqlite:///var/lib/latchkey/db.sqlite".to_owned(),
            ..Config::default()
        };
        assert_eq!(
            config.mail_dir(),
            PathBuf::from("/var/lib/latchkey/latchkey-mail")
        );
        assert_eq!(Config::default().mail_dir(), PathBuf::from("latchkey-mail"));
    }

    #[test]
    fn the_issuer_is_the_public_url_without_a_trailing_slash() {
        assert_eq!(Config::default().jwt_issuer(), "http://127.0.0.1:8080");
        let config = Config {
            public_url: Url::parse("https://example.com/auth/").unwrap(),
            ..Config::default()
        };
        assert_eq!(config.jwt_issuer(), "https://example.com/auth");
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment's test jail decides the error type"
    )]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "latchkey.toml",
                "verify_ttl = \"15m\"\nlisten = \"127.0.0.1:9000\"",
            )?;
            jail.set_env("LATCHKEY_LISTEN", "127.0.0.1:9100");
            let config = Config::load(Path::new("latchkey.toml")).map_err(|e| *e)?;
            assert_eq!(config.verify_ttl, Duration::from_secs(900));
            assert_eq!(config.listen.port(), 9100);
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment's test jail decides the error type"
    )]
    fn a_database_pool_of_no_connections_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LATCHKEY_DATABASE_MAX_CONNECTIONS", "4");
            let config = Config::load(Path::new("none.toml")).map_err(|e| *e)?;
            assert_eq!(config.database_max_connections.get(), 4);
            jail.set_env("LATCHKEY_DATABASE_MAX_CONNECTIONS", "0");
            let error = Config::load(Path::new("none.toml")).unwrap_err();
            assert!(
                error.to_string().contains("DATABASE_MAX_CONNECTIONS"),
                "{error}"
            );
            Ok(())
        });
    }
    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment's test jail decides the error type"
    )]
    fn the_audit_retention_is_a_duration_or_forever() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(Path::new("none.toml")).map_err(|e| *e)?;
            assert_eq!(
                config.audit_retention,
                crate::retention::DEFAULT_AUDIT_RETENTION
            );
            jail.set_env("LATCHKEY_AUDIT_RETENTION", "90d");
            let config = Config::load(Path::new("none.toml")).map_err(|e| *e)?;
            assert_eq!(
                config.audit_retention,
                KeepFor::Period(Duration::from_secs(90 * 86_400))
            );
            jail.set_env("LATCHKEY_AUDIT_RETENTION", "forever");
            let config = Config::load(Path::new("none.toml")).map_err(|e| *e)?;
            assert_eq!(config.audit_retention, KeepFor::Forever);
            jail.set_env("LATCHKEY_AUDIT_RETENTION", "a while");
            let error = Config::load(Path::new("none.toml")).unwrap_err();
            assert!(
                error.to_string().contains("AUDIT_RETENTION")
                    && error.to_string().contains("forever"),
                "{error}"
            );
            Ok(())
        });
    }
}
