//! Rate limits, failed-login counts and known devices.

/// A request's quotas in one transaction of steps, the second counted only
/// when the first allows (SQLite: one savepoint in the writer's batch).
/// PostgreSQL writes one or two in one statement (`postgres/limits.rs`).
macro_rules! sql_take_quotas_in_steps {
    ($store:ty) => {
        impl $store {
            async fn take_quotas_in_one_write(
                &self,
                now_ms: i64,
                first: &QuotaTake,
                then: Option<&QuotaTake>,
            ) -> StoreResult<Option<QuotaRefusal>> {
                let mut tx = begin(self.writer()).await?;
                let mut refused =
                    take_quota_in(&mut tx, now_ms, first)
                        .await?
                        .map(|wait_ms| QuotaRefusal {
                            second: false,
                            wait_ms,
                        });
                if let (None, Some(then)) = (&refused, then) {
                    refused =
                        take_quota_in(&mut tx, now_ms, then)
                            .await?
                            .map(|wait_ms| QuotaRefusal {
                                second: true,
                                wait_ms,
                            });
                }
                tx.commit().await?;
                Ok(refused)
            }
        }
    };
}

macro_rules! sql_limits {
    ($store:ty) => {
        #[async_trait]
        impl LimitStore for $store {
            async fn take_quotas(&self, now_ms: i64, first: &QuotaTake, then: Option<&QuotaTake>) -> StoreResult<Option<QuotaRefusal>> {
                // Each engine writes them its own way (`take_quotas_in_one_write`).
                self.take_quotas_in_one_write(now_ms, first, then).await
            }

            async fn login_failures(&self, key: &[u8; 32]) -> StoreResult<Option<LoginFailures>> {
                let mut conn = autocommit(self.writer()).await?;
                let row = sqlx::query("SELECT failures, not_before FROM login_failures WHERE key = $1")
                    .bind(&key[..])
                    .fetch_optional(&mut *conn)
                    .await?;
                conn.commit().await?;
                row.map(|row| Ok(LoginFailures { failures: row.try_get("failures")?, not_before: row.try_get("not_before")? }))
                    .transpose()
            }

            async fn reserve_login_attempt(&self, key: &[u8; 32], failures: i64, now_ms: i64, not_before_ms: i64) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let reserved = sqlx::query("UPDATE login_failures SET not_before = $1 WHERE key = $2 AND failures = $3 AND not_before <= $4")
                    .bind(not_before_ms)
                    .bind(&key[..])
                    .bind(failures)
                    .bind(now_ms)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(reserved.rows_affected() > 0)
            }

            async fn record_login_failure(&self, key: &[u8; 32], now_ms: i64) -> StoreResult<i64> {
                let mut conn = autocommit(self.writer()).await?;
                let failures = sqlx::query_scalar(
                    "INSERT INTO login_failures (key, failures, not_before, updated_at) VALUES ($1, 1, $2, $2) \
                     ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1, updated_at = $2 \
                     RETURNING failures",
                )
                .bind(&key[..])
                .bind(now_ms)
                .fetch_one(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(failures)
            }

            async fn hold_login_attempts(&self, key: &[u8; 32], not_before_ms: i64) -> StoreResult<()> {
                let mut conn = autocommit(self.writer()).await?;
                sqlx::query("UPDATE login_failures SET not_before = $1 WHERE key = $2")
                    .bind(not_before_ms)
                    .bind(&key[..])
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(())
            }

            async fn clear_login_failures(&self, key: &[u8; 32]) -> StoreResult<()> {
                let mut conn = autocommit(self.writer()).await?;
                sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(&key[..]).execute(&mut *conn).await?;
                conn.commit().await?;
                Ok(())
            }

            async fn prune_limits(&self, now_ms: i64, forget_before_ms: i64) -> StoreResult<u64> {
                let mut conn = autocommit(self.writer()).await?;
                let quotas = sqlx::query("DELETE FROM rate_limits WHERE tat < $1").bind(now_ms).execute(&mut *conn).await?;
                let failures = sqlx::query("DELETE FROM login_failures WHERE updated_at < $1")
                    .bind(forget_before_ms)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(quotas.rows_affected() + failures.rows_affected())
            }

            async fn create_unlock(
                &self,
                digest: &TokenDigest,
                user_id: UserId,
                now: DateTime<Utc>,
                expires_at: DateTime<Utc>,
                mail: &NewMessage,
                meta: &RequestMeta,
            ) -> StoreResult<Delivery> {
                let mut tx = begin(self.writer()).await?;
                sqlx::query("INSERT INTO unlock_tokens (digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(digest.as_bytes())
                    .bind(user_id.as_uuid())
                    .bind(now)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await?;
                let delivery = insert_message(&mut tx, mail, meta).await?;
                tx.commit().await?;
                Ok(delivery)
            }

            async fn live_unlock_exists(&self, user_id: UserId, now: DateTime<Utc>) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let live: Option<i32> =
                    sqlx::query_scalar("SELECT 1 FROM unlock_tokens WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2 LIMIT 1")
                        .bind(user_id.as_uuid())
                        .bind(now)
                        .fetch_optional(&mut *conn)
                        .await?;
                conn.commit().await?;
                Ok(live.is_some())
            }

            async fn use_unlock(&self, digest: &TokenDigest, now: DateTime<Utc>) -> StoreResult<Option<UserId>> {
                let mut conn = autocommit(self.writer()).await?;
                let owner: Option<Uuid> = sqlx::query_scalar(
                    "UPDATE unlock_tokens SET used_at = $1 WHERE digest = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
                )
                .bind(now)
                .bind(digest.as_bytes())
                .fetch_optional(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(owner.map(UserId::from_uuid))
            }

            async fn prune_devices(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64> {
                let mut conn = autocommit(self.writer()).await?;
                let devices = sqlx::query("DELETE FROM devices WHERE last_seen_at < $1").bind(before).execute(&mut *conn).await?;
                let links = sqlx::query("DELETE FROM unlock_tokens WHERE expires_at < $1").bind(now).execute(&mut *conn).await?;
                conn.commit().await?;
                Ok(devices.rows_affected() + links.rows_affected())
            }

            async fn device_owner(&self, digest: &TokenDigest) -> StoreResult<Option<UserId>> {
                let owner: Option<Uuid> = sqlx::query_scalar("SELECT user_id FROM devices WHERE digest = $1")
                    .bind(digest.as_bytes())
                    .fetch_optional(self.reader())
                    .await?;
                Ok(owner.map(UserId::from_uuid))
            }
        }
    };
}

pub(crate) use {sql_limits, sql_take_quotas_in_steps};
