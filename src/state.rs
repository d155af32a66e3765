//! Everything a flow needs, passed explicitly: no globals.

use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::{Notify, Semaphore};

use crate::clock::Clock;
use crate::crypto::Sealer;
use crate::domain::{
    AdminKey, AllowedDomains, FactorKind, MfaPolicy, PasswordHash, PasswordPolicy, RegistrationMode,
};
use crate::flows::SessionPolicy;
use crate::hashing::Hasher;
use crate::limits::Limiter;
use crate::mail::Composer;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::tokens::AccessTokens;

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hasher: Hasher,
    /// Seals secrets at rest and keys the digests of one-time codes.
    pub sealer: Sealer,
    pub composer: Composer,
    pub clock: Arc<dyn Clock>,
    pub policy: PasswordPolicy,
    pub verify_ttl: Duration,
    /// How long a password reset link works.
    pub password_reset_ttl: Duration,
    /// How long an operator's invitation link works.
    pub invitation_ttl: Duration,
    /// Whether anyone may sign up, or only the people operators invite.
    pub registration: RegistrationMode,
    /// The domains whose addresses may sign up, or move an account to them.
    pub signup_domains: AllowedDomains,
    pub sessions: SessionPolicy,
    /// The public URL is https: cookies are `Secure` and `__Host-` prefixed.
    pub secure_cookies: bool,
    /// Rings the outbox worker after a message is committed.
    pub mail_wake: Arc<Notify>,
    /// With no SMTP server configured, verification links are also logged so
    /// a newcomer can click them from the console. Never with real SMTP.
    pub log_links: bool,
    pub mfa: MfaSettings,
    /// A hash nobody's password matches, in the configured parameters:
    /// unknown emails are checked against it so they cost what a real login costs.
    pub dummy_hash: PasswordHash,
    /// Issues and verifies JWT access tokens; publishes the JWKS.
    pub tokens: AccessTokens,
    /// Rate limits and the failed-login throttle, kept in the database.
    pub limits: Limiter,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[IpNet]>,
    /// The admin API's key; `None`: there is no admin API.
    pub admin_key: Option<AdminKey>,
    /// What `GET /metrics` shows, counted by the HTTP layer and the outbox.
    pub metrics: Metrics,
    /// The metrics scrape token; `None`: there is no `GET /metrics`.
    pub metrics_key: Option<AdminKey>,
    /// This site as a WebAuthn relying party; `None` when the public URL's
    /// host is an IP address, where browsers offer no passkeys.
    pub passkeys: Option<crate::flows::mfa::Passkeys>,
    /// A taken address at sign-up answers like a new one; its owner gets an
    /// email instead (`LATCHKEY_ENUMERATION_PROTECTION`).
    pub enumeration_protection: bool,
    /// Work a request starts but does not wait for (a resend's link):
    /// bounded, so a flood of requests waits for permits instead of piling
    /// up tasks.
    pub background: Arc<Semaphore>,
}

#[derive(Debug, Clone)]
pub struct MfaSettings {
    pub policy: MfaPolicy,
    pub methods: Vec<FactorKind>,
}

impl MfaSettings {
    pub fn allows(&self, kind: FactorKind) -> bool {
        self.policy != MfaPolicy::Off && self.methods.contains(&kind)
    }
}
