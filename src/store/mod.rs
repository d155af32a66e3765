//! Storage: one contract (`Store`, made of one trait per concern, in
//! `contract/`), two engines. The embedded SQLite default and PostgreSQL
//! share every query (`sql/`); only the migrations and the outbox's row
//! locking differ.

mod contract;
mod error;
mod postgres;
mod records;
mod sql;
mod sqlite;

use std::num::NonZeroU32;
use std::sync::Arc;

pub use contract::*;
pub use records::{
    AuditFilter, Backlog, ChallengePurpose, ChallengeRecord, Channel, Delivery, EmailChangeRecord,
    EmailRevertRecord, FactorRecord, LoginRead, LoginRecord, NewAccount, NewChallenge, NewMessage,
    NewPasskey, NewSession, NewToken, OutboxMessage, OutboxSummary, PendingFactor, Pruned,
    RecipientLimit, SessionRecord, TokenRecord, UserCredentials, UserFilter, UserSummary,
};
pub use records::{NewSigningKey, SigningKeyRecord};

pub use error::{EnrolError, RegisterError, StoreError};

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything latchkey keeps, on one engine.
pub trait Store:
    UserStore
    + PasswordStore
    + EmailChangeStore
    + SessionStore
    + AuditStore
    + RetentionStore
    + OutboxStore
    + MfaStore
    + KeyStore
    + LimitStore
    + std::fmt::Debug
    + 'static
{
}

impl<T> Store for T where
    T: UserStore
        + PasswordStore
        + EmailChangeStore
        + SessionStore
        + AuditStore
        + RetentionStore
        + OutboxStore
        + MfaStore
        + KeyStore
        + LimitStore
        + std::fmt::Debug
        + 'static
{
}

/// The connections kept to PostgreSQL at most, unless configured.
#[allow(clippy::unwrap_used, reason = "a constant, checked when compiled")]
pub const DEFAULT_MAX_CONNECTIONS: NonZeroU32 = NonZeroU32::new(16).unwrap();

/// Opens the database named by `url`, creating it (SQLite) and applying
/// migrations as needed.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    connect_with(url, DEFAULT_MAX_CONNECTIONS).await
}

/// As `connect`, keeping at most `max_connections` to PostgreSQL. SQLite
/// has one writer and its readers whatever this says.
pub async fn connect_with(url: &str, max_connections: NonZeroU32) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(
            postgres::PgStore::connect(url, max_connections).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Applies pending migrations without serving (`latchkey migrate`).
pub async fn migrate(url: &str) -> StoreResult<()> {
    connect(url).await.map(drop)
}
