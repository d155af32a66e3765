//! The queries, written once. `sql_store!` implements `Store` for a concrete
//! sqlx engine; both engines accept `$n` placeholders and the same types
//! (UUIDs, UTC timestamps, bytes), so the only dialect difference left is how
//! the outbox claim locks rows, passed in as `skip_locked`.
//!
//! A macro rather than generic code: sqlx's generic bounds over `Database`
//! would have to be restated on every function, and the result is the same
//! concrete code for each engine.

macro_rules! sql_store {
    ($store:ty, $db:ty, skip_locked = $skip_locked:literal) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::Row as _;
        use uuid::Uuid;

        use crate::audit::{AuditEvent, AuditKind, AuditRecord, Outcome, RequestMeta};
        use crate::domain::{DisplayName, EmailAddress, PasswordHash, TokenDigest, User, UserId, UserStatus};
        use crate::store::{
            Activation, NewAccount, NewMessage, NewToken, OutboxMessage, OutboxSummary, RegisterError, Store, StoreError, StoreResult,
            TokenRecord, UserCredentials,
        };

        type DbRow = <$db as sqlx::Database>::Row;
        type Tx<'c> = sqlx::Transaction<'c, $db>;

        const USER_COLUMNS: &str = "u.id, u.name, u.email, u.status, u.created_at, u.verified_at";

        fn user_from_row(row: &DbRow) -> StoreResult<User> {
            let status: String = row.try_get("status")?;
            Ok(User {
                id: UserId::from_uuid(row.try_get("id")?),
                name: DisplayName::from_stored(row.try_get("name")?),
                email: EmailAddress::from_stored(row.try_get("email")?),
                status: UserStatus::parse(&status).ok_or(StoreError::Corrupt("unknown user status"))?,
                created_at: row.try_get("created_at")?,
                verified_at: row.try_get("verified_at")?,
            })
        }

        async fn insert_audit(tx: &mut Tx<'_>, event: &AuditEvent) -> StoreResult<()> {
            sqlx::query("INSERT INTO audit_log (at, event, outcome, user_id, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(event.at)
                .bind(event.kind.as_str())
                .bind(event.outcome.as_str())
                .bind(event.user_id.map(|id| id.as_uuid()))
                .bind(event.meta.ip.as_deref())
                .bind(event.meta.user_agent.as_deref())
                .bind(event.detail.as_deref())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_token(tx: &mut Tx<'_>, user_id: UserId, token: &NewToken) -> StoreResult<()> {
            sqlx::query("INSERT INTO verification_tokens (id, user_id, digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token.id)
                .bind(user_id.as_uuid())
                .bind(token.digest.as_bytes())
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_message(tx: &mut Tx<'_>, mail: &NewMessage, meta: &RequestMeta) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO outbox (id, message_id, kind, user_id, recipient, subject, text_body, html_body, status, attempts, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9)",
            )
            .bind(mail.id)
            .bind(&mail.message_id)
            .bind(mail.kind)
            .bind(mail.user_id.map(|id| id.as_uuid()))
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.text_body)
            .bind(&mail.html_body)
            .bind(mail.created_at)
            .execute(&mut **tx)
            .await?;
            let event = AuditEvent::new(mail.created_at, AuditKind::EmailQueued, Outcome::Success, mail.user_id, meta)
                .with_detail(format!("{} {}", mail.kind, mail.id));
            insert_audit(tx, &event).await
        }

        fn is_unique_violation(error: &sqlx::Error) -> bool {
            error.as_database_error().is_some_and(|db| db.is_unique_violation())
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            async fn register(&self, account: &NewAccount<'_>, token: &NewToken, mail: &NewMessage, meta: &RequestMeta) -> Result<(), RegisterError> {
                let user = account.user;
                let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
                let inserted = sqlx::query(
                    "INSERT INTO users (id, name, email, email_key, password_hash, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(user.id.as_uuid())
                .bind(user.name.as_str())
                .bind(user.email.as_str())
                .bind(user.email.unique_key())
                .bind(account.password_hash.as_str())
                .bind(user.status.as_str())
                .bind(user.created_at)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    // The unique index is the judge: of two racing sign-ups, exactly one wins.
                    Err(error) if is_unique_violation(&error) => return Err(RegisterError::EmailTaken),
                    Err(error) => return Err(StoreError::from(error).into()),
                }
                let registered = AuditEvent::new(user.created_at, AuditKind::UserRegistered, Outcome::Success, Some(user.id), meta);
                insert_audit(&mut tx, &registered).await?;
                insert_token(&mut tx, user.id, token).await?;
                insert_message(&mut tx, mail, meta).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(())
            }

            async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email_key = $1");
                let row = sqlx::query(&sql).bind(email.unique_key()).fetch_optional(self.reader()).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn credentials_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserCredentials>> {
                let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email_key = $1");
                let Some(row) = sqlx::query(&sql).bind(email.unique_key()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                Ok(Some(UserCredentials { user: user_from_row(&row)?, password_hash: PasswordHash::from_phc(row.try_get("password_hash")?) }))
            }

            async fn users(&self, limit: i64) -> StoreResult<Vec<User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.created_at DESC, u.id DESC LIMIT $1");
                let rows = sqlx::query(&sql).bind(limit).fetch_all(self.reader()).await?;
                rows.iter().map(user_from_row).collect()
            }

            async fn token_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
                let sql = format!(
                    "SELECT t.id AS token_id, t.expires_at, t.used_at, t.revoked_at, {USER_COLUMNS} \
                     FROM verification_tokens t JOIN users u ON u.id = t.user_id WHERE t.digest = $1"
                );
                let Some(row) = sqlx::query(&sql).bind(digest.as_bytes()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                Ok(Some(TokenRecord {
                    id: row.try_get("token_id")?,
                    user: user_from_row(&row)?,
                    expires_at: row.try_get("expires_at")?,
                    used_at: row.try_get("used_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                }))
            }

            async fn activate(&self, token_id: Uuid, user_id: UserId, now: DateTime<Utc>, meta: &RequestMeta) -> StoreResult<Activation> {
                let mut tx = self.writer().begin().await?;
                // The conditional update is what makes two simultaneous clicks safe:
                // only one of them changes a row.
                let used = sqlx::query("UPDATE verification_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL")
                    .bind(now)
                    .bind(token_id)
                    .execute(&mut *tx)
                    .await?;
                if used.rows_affected() == 0 {
                    let revoked: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT revoked_at FROM verification_tokens WHERE id = $1")
                        .bind(token_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.rollback().await?;
                    return Ok(if revoked.is_some() { Activation::Revoked } else { Activation::AlreadyUsed });
                }
                sqlx::query("UPDATE users SET status = 'active', verified_at = $1, updated_at = $1 WHERE id = $2 AND status = 'pending'")
                    .bind(now)
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                let event = AuditEvent::new(now, AuditKind::VerificationSucceeded, Outcome::Success, Some(user_id), meta);
                insert_audit(&mut tx, &event).await?;
                tx.commit().await?;
                Ok(Activation::Activated)
            }

            async fn replace_verification(&self, user_id: UserId, token: &NewToken, mail: &NewMessage, meta: &RequestMeta) -> StoreResult<()> {
                let now = token.created_at;
                let mut tx = self.writer().begin().await?;
                sqlx::query("UPDATE verification_tokens SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL")
                    .bind(now)
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                // An unsent email of an old link would only deliver a dead link.
                sqlx::query(
                    "UPDATE outbox SET status = 'cancelled', text_body = NULL, html_body = NULL \
                     WHERE user_id = $1 AND kind = $2 AND status = 'pending'",
                )
                .bind(user_id.as_uuid())
                .bind(mail.kind)
                .execute(&mut *tx)
                .await?;
                insert_token(&mut tx, user_id, token).await?;
                let resent = AuditEvent::new(now, AuditKind::VerificationResent, Outcome::Success, Some(user_id), meta);
                insert_audit(&mut tx, &resent).await?;
                insert_message(&mut tx, mail, meta).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                insert_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_trail(&self, user_id: Option<UserId>, limit: i64) -> StoreResult<Vec<AuditRecord>> {
                let rows = sqlx::query(
                    "SELECT at, event, outcome, user_id, ip, user_agent, detail FROM audit_log \
                     WHERE ($1 IS NULL OR user_id = $1) ORDER BY id LIMIT $2",
                )
                .bind(user_id.map(|id| id.as_uuid()))
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(AuditRecord {
                            at: row.try_get("at")?,
                            event: row.try_get("event")?,
                            outcome: row.try_get("outcome")?,
                            user_id: row.try_get("user_id")?,
                            ip: row.try_get("ip")?,
                            user_agent: row.try_get("user_agent")?,
                            detail: row.try_get("detail")?,
                        })
                    })
                    .collect()
            }

            async fn claim_messages(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
                let rows = sqlx::query(concat!(
                    "UPDATE outbox SET locked_until = $1 WHERE id IN (",
                    "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 ",
                    "AND (locked_until IS NULL OR locked_until <= $2) ORDER BY next_attempt_at LIMIT $3 ",
                    $skip_locked,
                    ") RETURNING id, message_id, user_id, recipient, subject, text_body, html_body, attempts, created_at"
                ))
                .bind(lease_until)
                .bind(now)
                .bind(limit)
                .fetch_all(self.writer())
                .await?;
                rows.iter()
                    .map(|row| {
                        let user_id: Option<Uuid> = row.try_get("user_id")?;
                        let text_body: Option<String> = row.try_get("text_body")?;
                        let html_body: Option<String> = row.try_get("html_body")?;
                        Ok(OutboxMessage {
                            id: row.try_get("id")?,
                            message_id: row.try_get("message_id")?,
                            user_id: user_id.map(UserId::from_uuid),
                            recipient: row.try_get("recipient")?,
                            subject: row.try_get("subject")?,
                            text_body: text_body.ok_or(StoreError::Corrupt("pending message without a body"))?,
                            html_body: html_body.ok_or(StoreError::Corrupt("pending message without a body"))?,
                            attempts: row.try_get("attempts")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn message_sent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                // A message cancelled while in flight was still delivered: say so.
                let user_id: Option<Option<Uuid>> = sqlx::query_scalar(
                    "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, locked_until = NULL, last_error = NULL, \
                     text_body = NULL, html_body = NULL WHERE id = $2 RETURNING user_id",
                )
                .bind(now)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(user_id) = user_id {
                    let event = AuditEvent::new(now, AuditKind::EmailSent, Outcome::Success, user_id.map(UserId::from_uuid), &RequestMeta::internal())
                        .with_detail(id.to_string());
                    insert_audit(&mut tx, &event).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn message_failed(&self, id: Uuid, error: &str, retry_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                let updated: Option<(Option<Uuid>, i32)> = match retry_at {
                    Some(retry_at) => {
                        sqlx::query_as(
                            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, locked_until = NULL, next_attempt_at = $2 \
                             WHERE id = $3 AND status = 'pending' RETURNING user_id, attempts",
                        )
                        .bind(error)
                        .bind(retry_at)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                    }
                    None => {
                        sqlx::query_as(
                            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $1, locked_until = NULL, \
                             text_body = NULL, html_body = NULL WHERE id = $2 AND status = 'pending' RETURNING user_id, attempts",
                        )
                        .bind(error)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                    }
                };
                // The outbox row counts every attempt; the trail records the first
                // failure and the final one, not one row a minute for a day.
                if let Some((user_id, attempts)) = updated {
                    let kind = match retry_at {
                        None => Some(AuditKind::EmailFailed),
                        Some(_) if attempts == 1 => Some(AuditKind::EmailDeferred),
                        Some(_) => None,
                    };
                    if let Some(kind) = kind {
                        let event = AuditEvent::new(now, kind, Outcome::Failure, user_id.map(UserId::from_uuid), &RequestMeta::internal())
                            .with_detail(format!("{id} attempt {attempts}"));
                        insert_audit(&mut tx, &event).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn messages(&self, limit: i64) -> StoreResult<Vec<OutboxSummary>> {
                let rows = sqlx::query(
                    "SELECT id, message_id, kind, recipient, status, attempts, last_error, created_at, next_attempt_at, sent_at \
                     FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(OutboxSummary {
                            id: row.try_get("id")?,
                            message_id: row.try_get("message_id")?,
                            kind: row.try_get("kind")?,
                            recipient: row.try_get("recipient")?,
                            status: row.try_get("status")?,
                            attempts: row.try_get("attempts")?,
                            last_error: row.try_get("last_error")?,
                            created_at: row.try_get("created_at")?,
                            next_attempt_at: row.try_get("next_attempt_at")?,
                            sent_at: row.try_get("sent_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(super) use sql_store;
