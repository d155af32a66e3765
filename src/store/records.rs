//! The rows that cross the storage boundary.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{PasswordHash, TokenDigest, User, UserId};

#[derive(Debug)]
pub struct NewAccount<'a> {
    pub user: &'a User,
    pub password_hash: &'a PasswordHash,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: Uuid,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A rendered email waiting in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Uuid,
    /// The `Message-ID` header, fixed when queued so retries are recognisable
    /// as the same message.
    pub message_id: String,
    pub kind: &'static str,
    pub user_id: Option<UserId>,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub message_id: String,
    pub user_id: Option<UserId>,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// What `latchkey outbox list` shows: state, never bodies.
#[derive(Debug, Clone)]
pub struct OutboxSummary {
    pub id: Uuid,
    pub message_id: String,
    pub kind: String,
    pub recipient: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: Uuid,
    pub user: User,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: UserId,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user: User,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A signing key to store; its private half is already sealed.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub kid: String,
    pub algorithm: &'static str,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A stored signing key. The private half stays sealed until the token
/// module opens it.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}
