//! Server-side sessions.

/// A session started as a transaction of several statements, for SQLite,
/// whose round trips stay inside the process. PostgreSQL starts one in a
/// single statement instead (`store/postgres/session.rs`).
macro_rules! sql_start_session_in_steps {
    ($store:ty) => {
        impl $store {
            async fn start_session(
                &self,
                session: &NewSession,
                meta: &RequestMeta,
                proof: Option<&AuditEvent>,
            ) -> StoreResult<()> {
                let mut tx = begin(self.writer()).await?;
                insert_session(&mut tx, session, meta, proof).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

macro_rules! sql_sessions {
    ($store:ty) => {
        fn session_from_row(row: &DbRow) -> StoreResult<SessionRecord> {
            Ok(SessionRecord {
                id: row.try_get("session_id")?,
                user: user_from_row(row)?,
                created_at: row.try_get("session_created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
                authenticated_at: row.try_get("authenticated_at")?,
                expires_at: row.try_get("expires_at")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
                revoked_at: row.try_get("revoked_at")?,
                signed_in_with: row
                    .try_get::<Option<String>, _>("signed_in_with")?
                    .as_deref()
                    .and_then(SignedInWith::parse),
            })
        }

        const SESSION_COLUMNS: &str = "s.id AS session_id, s.created_at AS session_created_at, s.last_seen_at, s.authenticated_at, \
                                       s.expires_at, s.ip, s.user_agent, s.revoked_at, s.signed_in_with";

        #[async_trait]
        impl SessionStore for $store {
            async fn create_session(&self, session: &NewSession, meta: &RequestMeta, proof: Option<&AuditEvent>) -> StoreResult<()> {
                // Each engine writes it its own way (`start_session`).
                self.start_session(session, meta, proof).await
            }

            async fn session_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<SessionRecord>> {
                let sql = format!("SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = $1");
                let row = sqlx::query(&sql).bind(digest.as_bytes()).fetch_optional(self.reader()).await?;
                row.as_ref().map(session_from_row).transpose()
            }

            async fn touch_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                let mut conn = autocommit(self.writer()).await?;
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(())
            }

            async fn revoke_session(&self, user_id: UserId, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .bind(user_id.as_uuid())
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(revoked.rows_affected() > 0)
            }

            async fn revoke_sessions(&self, user_id: UserId, keep: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<u64> {
                let mut conn = autocommit(self.writer()).await?;
                let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR id <> $3)")
                    .bind(now)
                    .bind(user_id.as_uuid())
                    .bind(keep)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(revoked.rows_affected())
            }

            async fn revoke_all_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                let mut conn = autocommit(self.writer()).await?;
                let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL")
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(revoked.rows_affected())
            }

            async fn sessions_of(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>> {
                let sql = format!(
                    "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.user_id = $1 AND s.revoked_at IS NULL ORDER BY s.created_at DESC"
                );
                let rows = sqlx::query(&sql).bind(user_id.as_uuid()).fetch_all(self.reader()).await?;
                rows.iter().map(session_from_row).collect()
            }

            async fn session_by_id(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
                let sql = format!("SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(self.reader()).await?;
                row.as_ref().map(session_from_row).transpose()
            }
        }
    };
}

pub(crate) use {sql_sessions, sql_start_session_in_steps};
