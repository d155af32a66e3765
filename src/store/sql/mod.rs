//! The queries, written once. `sql_store!` implements the storage traits for
//! a concrete sqlx engine; both engines accept `$n` placeholders and the same
//! types (UUIDs, UTC timestamps, bytes), so the only dialect difference left
//! is how the outbox claim locks rows, passed in as `skip_locked`.
//!
//! Macros rather than generic code: sqlx's generic bounds over `Database`
//! would have to be restated on every function, and the result is the same
//! concrete code for each engine. One file per concern, like the traits.

mod audit;
mod email_changes;
mod keys;
mod limits;
mod mfa;
mod outbox;
mod passwords;
mod register;
mod retention;
mod sessions;
mod users;

/// Helpers shared by the per-concern query macros, expanded once per engine.
macro_rules! sql_common {
    ($db:ty) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::Row as _;
        use uuid::Uuid;

        use crate::audit::{AuditEntry, AuditEvent, AuditKind, AuditRecord, Outcome, RequestMeta};
        use crate::domain::{DisplayName, EmailAddress, FactorKind, PasswordHash, SignedInWith, TokenDigest, User, UserId, UserStatus};
        use crate::store::{
            Activation, AuditFilter, Backlog, Delivery, EmailChange, EmailChangeRecord, EmailChangeStore, EmailRevertRecord, LimitStore, LoginFailures, LoginRead, LoginRecord, AuditStore, ChallengePurpose, ChallengeRecord, Channel, EnrolError, FactorRecord, MfaStore, NewAccount,
            NewChallenge, NewMessage, NewPasskey, NewSession, NewToken, OutboxMessage, OutboxStore, OutboxSummary, PasswordStore, PendingFactor, Pruned, QuotaRefusal,
            QuotaTake, RegisterError, Registration, RetentionStore, SessionRecord, SessionStore, StoreError, StoreResult, TakenAddress, TokenRecord, UserCredentials, UserFilter, UserStore, UserSummary,
        };

        type Db = $db;
        type DbRow = <$db as sqlx::Database>::Row;

        const USER_COLUMNS: &str = "u.id, u.name, u.email, u.status, u.created_at, u.verified_at, u.disabled_at";

        /// A row of `USER_COLUMNS` and `u.password_hash`.
        fn credentials_from_row(row: &DbRow) -> StoreResult<UserCredentials> {
            Ok(UserCredentials { user: user_from_row(row)?, password_hash: PasswordHash::from_phc(row.try_get("password_hash")?) })
        }

        fn user_from_row(row: &DbRow) -> StoreResult<User> {
            let status: String = row.try_get("status")?;
            // The column keeps whether the address was proven; disabling
            // sets `disabled_at` beside it, and overrides it while set.
            let disabled: Option<DateTime<Utc>> = row.try_get("disabled_at")?;
            let status = match disabled {
                Some(_) => UserStatus::Disabled,
                None => UserStatus::parse(&status).ok_or(StoreError::Corrupt("unknown user status"))?,
            };
            Ok(User {
                id: UserId::from_uuid(row.try_get("id")?),
                name: DisplayName::from_stored(row.try_get("name")?),
                email: EmailAddress::from_stored(row.try_get("email")?),
                status,
                created_at: row.try_get("created_at")?,
                verified_at: row.try_get("verified_at")?,
            })
        }

        async fn insert_audit(tx: &mut Tx, event: &AuditEvent) -> StoreResult<()> {
            insert_audits(tx, std::slice::from_ref(event)).await
        }

        /// Several events in one statement: one round trip however many.
        async fn insert_audits(tx: &mut Tx, events: &[AuditEvent]) -> StoreResult<()> {
            if let Some(mut insert) = audits_insert(events) {
                insert.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// The one INSERT for `events`; `None` when there are none.
        fn audits_insert(events: &[AuditEvent]) -> Option<sqlx::QueryBuilder<'_, Db>> {
            if events.is_empty() {
                return None;
            }
            let mut insert = sqlx::QueryBuilder::<Db>::new("INSERT INTO audit_log (at, event, outcome, user_id, ip, user_agent, detail) ");
            insert.push_values(events, |mut row, event| {
                row.push_bind(event.at)
                    .push_bind(event.kind.as_str())
                    .push_bind(event.outcome.as_str())
                    .push_bind(event.user_id.map(|id| id.as_uuid()))
                    .push_bind(event.meta.ip.as_deref())
                    .push_bind(event.meta.user_agent.as_deref())
                    .push_bind(event.detail.as_deref());
            });
            Some(insert)
        }

        /// A link is dated no earlier than its account's `created_at`: one
        /// dated before it belongs to a sign-up since replaced and never
        /// activates, and a link sent after the clock stepped back (an NTP
        /// correction) would otherwise be born dead. The caller's
        /// transaction has written or found the account (its email's row
        /// names it too, under the same foreign key).
        async fn insert_token(tx: &mut Tx, user_id: UserId, token: &NewToken) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO verification_tokens (id, user_id, digest, created_at, expires_at) \
                 SELECT $1, id, $3, CASE WHEN created_at > $4 THEN created_at ELSE $4 END, $5 FROM users WHERE id = $2",
            )
                .bind(token.id)
                .bind(user_id.as_uuid())
                .bind(token.digest.as_bytes())
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Queues `mail` in the caller's transaction, unless its recipient has
        /// had their quota of messages: then only an audit entry says so.
        async fn insert_message(tx: &mut Tx, mail: &NewMessage, meta: &RequestMeta) -> StoreResult<Delivery> {
            insert_message_with(tx, mail, meta, None).await
        }

        /// `insert_message`, writing the caller's own audit event `also` in
        /// the same statement as the message's: one round trip fewer.
        async fn insert_message_with(tx: &mut Tx, mail: &NewMessage, meta: &RequestMeta, also: Option<&AuditEvent>) -> StoreResult<Delivery> {
            let allowed = recipient_allows(tx, mail).await?;
            write_message(tx, mail, meta, also, allowed).await
        }

        /// Whether `mail`'s recipient may have one more message now; if so,
        /// it is counted. For a write that first asks, then decides what
        /// else to do (`write_message`): a new link its recipient's quota
        /// holds back must not revoke the one they already have.
        async fn recipient_allows(tx: &mut Tx, mail: &NewMessage) -> StoreResult<bool> {
            match &mail.recipient_limit {
                Some(limit) => {
                    let now = mail.created_at.timestamp_millis();
                    Ok(take_quota_in(&mut **tx, now, &limit.take()).await?.is_none())
                }
                None => Ok(true),
            }
        }

        /// `mail` queued when `allowed` (by `recipient_allows`), its trail
        /// entry either way, and `also` in the same statement.
        async fn write_message(tx: &mut Tx, mail: &NewMessage, meta: &RequestMeta, also: Option<&AuditEvent>, allowed: bool) -> StoreResult<Delivery> {
            let suppressed = !allowed;
            if !suppressed {
                sqlx::query(
                    "INSERT INTO outbox (id, message_id, kind, user_id, recipient, subject, text_body, html_body, status, attempts, created_at, next_attempt_at, channel) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9, $10)",
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
                .bind(mail.channel.as_str())
                .execute(&mut **tx)
                .await?;
            }
            let event = mail_event(mail, meta, !suppressed);
            let events: Vec<AuditEvent> = also.cloned().into_iter().chain([event]).collect();
            insert_audits(tx, &events).await?;
            Ok(if suppressed { Delivery::Suppressed } else { Delivery::Queued })
        }

        /// The trail's entry for `mail`: queued, or held back because its
        /// recipient had their quota of messages.
        fn mail_event(mail: &NewMessage, meta: &RequestMeta, queued: bool) -> AuditEvent {
            if queued {
                AuditEvent::new(mail.created_at, AuditKind::EmailQueued, Outcome::Success, mail.user_id, meta)
                    .with_detail(format!("{} {}", mail.kind, mail.id))
            } else {
                AuditEvent::new(mail.created_at, AuditKind::EmailSuppressed, Outcome::Failure, mail.user_id, meta)
                    .with_detail(format!("{} {}: recipient quota spent", mail.kind, mail.id))
            }
        }

        /// Requests are timed before they reach the database, so concurrent
        /// ones (or instances whose clocks differ a little) may arrive out of
        /// order: a second of slack keeps a burst of exactly the quota whole.
        const QUOTA_SLACK_MS: i64 = 1000;

        /// The generic cell rate algorithm in one conditional upsert: the
        /// row's time moves on only when the request fits, so concurrent
        /// requests on any instance are counted exactly. `None`: allowed.
        async fn take_quota_in(conn: &mut <$db as sqlx::Database>::Connection, now_ms: i64, take: &QuotaTake) -> StoreResult<Option<i64>> {
            let allowed = sqlx::query(
                "INSERT INTO rate_limits (key, tat) VALUES ($1, $2 + $3) \
                 ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 \
                 WHERE (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 - $2 <= $4 \
                 RETURNING tat",
            )
            .bind(&take.key[..])
            .bind(now_ms)
            .bind(take.interval_ms)
            .bind(take.period_ms + QUOTA_SLACK_MS)
            .fetch_optional(&mut *conn)
            .await?;
            if allowed.is_some() {
                return Ok(None);
            }
            Ok(Some(quota_wait(conn, now_ms, take).await?))
        }

        /// How long until a refused request would fit: once
        /// tat + interval - period <= now. Read afresh, after the refusal.
        async fn quota_wait(conn: &mut <$db as sqlx::Database>::Connection, now_ms: i64, take: &QuotaTake) -> StoreResult<i64> {
            let tat: Option<i64> = sqlx::query_scalar("SELECT tat FROM rate_limits WHERE key = $1")
                .bind(&take.key[..])
                .fetch_optional(&mut *conn)
                .await?;
            Ok(tat.map_or(take.interval_ms, |tat| tat + take.interval_ms - take.period_ms - QUOTA_SLACK_MS - now_ms).max(1))
        }

        /// The session, its device, and its `session.started` entry, after
        /// `proof` (the event that earned it) when there is one, in the
        /// caller's transaction.
        async fn insert_session(tx: &mut Tx, session: &NewSession, meta: &RequestMeta, proof: Option<&AuditEvent>) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO sessions (id, user_id, digest, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent, signed_in_with) \
                 VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)",
            )
            .bind(session.id)
            .bind(session.user_id.as_uuid())
            .bind(session.digest.as_bytes())
            .bind(session.created_at)
            .bind(session.authenticated_at)
            .bind(session.expires_at)
            .bind(meta.ip.as_deref())
            .bind(meta.user_agent.as_deref())
            .bind(session.signed_in_with.as_str())
            .execute(&mut **tx)
            .await?;
            if let Some(device) = &session.device {
                // A device of another account keeps its owner (the flow never
                // names one, but the row is not this session's to take).
                // A device seen within the day is left as it is.
                sqlx::query(
                    "INSERT INTO devices (digest, user_id, created_at, last_seen_at) SELECT $1, $2, $3, $3 \
                     WHERE NOT EXISTS (SELECT 1 FROM devices WHERE digest = $1 AND last_seen_at > $4) \
                     ON CONFLICT (digest) DO UPDATE SET last_seen_at = $3 WHERE devices.user_id = $2",
                )
                .bind(device.as_bytes())
                .bind(session.user_id.as_uuid())
                .bind(session.created_at)
                .bind(session.device_fresh_since())
                .execute(&mut **tx)
                .await?;
            }
            let started = AuditEvent::new(session.created_at, AuditKind::SessionStarted, Outcome::Success, Some(session.user_id), meta)
                .with_detail(session.started_detail());
            let events: Vec<AuditEvent> = proof.cloned().into_iter().chain([started]).collect();
            insert_audits(tx, &events).await
        }

        /// The account's unused links in `table` (a table of single-use
        /// links: `used_at`, `revoked_at`) stop working, and their unsent
        /// emails, of outbox kind `mail_kind`, are cancelled: they would only
        /// deliver a dead link.
        async fn revoke_unused_links(tx: &mut Tx, table: &'static str, mail_kind: &'static str, user_id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
            sqlx::query(&format!("UPDATE {table} SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL"))
                .bind(now)
                .bind(user_id.as_uuid())
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "UPDATE outbox SET status = 'cancelled', text_body = NULL, html_body = NULL \
                 WHERE user_id = $1 AND kind = $2 AND status = 'pending'",
            )
            .bind(user_id.as_uuid())
            .bind(mail_kind)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// None of the account's unsent messages goes out (their bodies,
        /// links and codes among them, erased): it is going, or must no
        /// longer be reached.
        async fn cancel_unsent_mail(tx: &mut Tx, user_id: UserId) -> StoreResult<()> {
            sqlx::query(
                "UPDATE outbox SET status = 'cancelled', text_body = NULL, html_body = NULL \
                 WHERE user_id = $1 AND status = 'pending'",
            )
            .bind(user_id.as_uuid())
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Nobody stays signed in to the account: its sessions (and so their
        /// access tokens) end, and logins waiting for its second factor
        /// expire. The sessions ended.
        async fn end_sign_ins(tx: &mut Tx, user_id: UserId, now: DateTime<Utc>) -> StoreResult<u64> {
            let ended = end_sessions(tx, user_id, now).await?;
            expire_waiting_logins(tx, user_id, now).await?;
            Ok(ended)
        }

        /// Every live session of the account ends (and so its access
        /// tokens); how many.
        async fn end_sessions(tx: &mut Tx, user_id: UserId, now: DateTime<Utc>) -> StoreResult<u64> {
            Ok(sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(user_id.as_uuid())
                .execute(&mut **tx)
                .await?
                .rows_affected())
        }

        /// Logins that passed the password step and wait for the account's
        /// second factor expire now.
        async fn expire_waiting_logins(tx: &mut Tx, user_id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
            sqlx::query("UPDATE mfa_challenges SET expires_at = $1 WHERE user_id = $2 AND completed_at IS NULL AND expires_at > $1")
                .bind(now)
                .bind(user_id.as_uuid())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Recovery codes stand in for factors; with no confirmed factor
        /// left they would be a second password, and go.
        async fn drop_orphan_recovery_codes(tx: &mut Tx, user_id: UserId) -> StoreResult<()> {
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL")
                .bind(user_id.as_uuid())
                .fetch_one(&mut **tx)
                .await?;
            if left == 0 {
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id.as_uuid()).execute(&mut **tx).await?;
            }
            Ok(())
        }

        fn is_unique_violation(error: &sqlx::Error) -> bool {
            error.as_database_error().is_some_and(|db| db.is_unique_violation())
        }

    };
}

/// Implements every storage trait for `$store` on engine `$db`.
macro_rules! sql_store {
    ($store:ty, $db:ty, skip_locked = $skip_locked:literal) => {
        $crate::store::sql::sql_common!($db);
        $crate::store::sql::sql_users!($store);
        $crate::store::sql::sql_passwords!($store);
        $crate::store::sql::sql_email_changes!($store);
        $crate::store::sql::sql_sessions!($store);
        $crate::store::sql::sql_audit!($store);
        $crate::store::sql::sql_retention!($store);
        $crate::store::sql::sql_outbox!($store, $skip_locked);
        $crate::store::sql::sql_mfa!($store);
        $crate::store::sql::sql_keys!($store);
        $crate::store::sql::sql_limits!($store);
    };
}

pub(crate) use audit::sql_audit;
pub(crate) use email_changes::sql_email_changes;
pub(crate) use keys::sql_keys;
pub(crate) use limits::{sql_limits, sql_take_quotas_in_steps};
pub(crate) use mfa::sql_mfa;
pub(crate) use outbox::sql_outbox;
pub(crate) use passwords::sql_passwords;
pub(crate) use register::sql_register_in_steps;
pub(crate) use retention::sql_retention;
pub(crate) use sessions::{sql_sessions, sql_start_session_in_steps};
pub(crate) use users::sql_users;
pub(crate) use {sql_common, sql_store};
