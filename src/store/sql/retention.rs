//! Retention: deleting what ended a while ago, a batch at a time.

macro_rules! sql_retention {
    ($store:ty) => {
        /// One batch each: the oldest rows come first in every table's
        /// scan (ids are UUIDv7, SQLite's rowids grow), so a batch stops
        /// early while there is much to delete.
        const PRUNE_SESSIONS: &str = "DELETE FROM sessions WHERE id IN \
            (SELECT id FROM sessions WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2)";
        const PRUNE_VERIFICATION_LINKS: &str = "DELETE FROM verification_tokens WHERE id IN \
            (SELECT id FROM verification_tokens WHERE expires_at < $1 LIMIT $2)";
        const PRUNE_RESET_LINKS: &str = "DELETE FROM password_reset_tokens WHERE id IN \
            (SELECT id FROM password_reset_tokens WHERE expires_at < $1 LIMIT $2)";
        // A change made keeps its row while its undo link works.
        const PRUNE_EMAIL_CHANGE_LINKS: &str = "DELETE FROM email_changes WHERE id IN \
            (SELECT id FROM email_changes WHERE expires_at < $1 \
             AND (revert_expires_at IS NULL OR revert_expires_at < $1) LIMIT $2)";
        const PRUNE_CHALLENGES: &str = "DELETE FROM mfa_challenges WHERE id IN \
            (SELECT id FROM mfa_challenges WHERE expires_at < $1 LIMIT $2)";
        const PRUNE_PASSKEY_SIGN_INS: &str = "DELETE FROM passkey_sign_ins WHERE digest IN \
            (SELECT digest FROM passkey_sign_ins WHERE expires_at < $1 LIMIT $2)";
        // A pending message is never deleted, however old: it is still owed.
        const PRUNE_MESSAGES: &str = "DELETE FROM outbox WHERE id IN \
            (SELECT id FROM outbox WHERE status <> 'pending' AND created_at < $1 LIMIT $2)";
        const PRUNE_SIGNING_KEYS: &str = "DELETE FROM signing_keys WHERE kid IN \
            (SELECT kid FROM signing_keys WHERE retired_at < $1 LIMIT $2)";
        const PRUNE_AUDIT: &str = "DELETE FROM audit_log WHERE id IN \
            (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)";

        #[async_trait]
        impl RetentionStore for $store {
            async fn prune_ended(&self, before: DateTime<Utc>, batch: i64) -> StoreResult<Pruned> {
                let writer = self.writer();
                Ok(Pruned {
                    sessions: delete_in_batches(writer, PRUNE_SESSIONS, before, batch).await?,
                    links: delete_in_batches(writer, PRUNE_VERIFICATION_LINKS, before, batch).await?
                        + delete_in_batches(writer, PRUNE_RESET_LINKS, before, batch).await?
                        + delete_in_batches(writer, PRUNE_EMAIL_CHANGE_LINKS, before, batch).await?,
                    challenges: delete_in_batches(writer, PRUNE_CHALLENGES, before, batch).await?
                        + delete_in_batches(writer, PRUNE_PASSKEY_SIGN_INS, before, batch).await?,
                    messages: delete_in_batches(writer, PRUNE_MESSAGES, before, batch).await?,
                    signing_keys: delete_in_batches(writer, PRUNE_SIGNING_KEYS, before, batch).await?,
                })
            }

            async fn prune_audit(&self, before: DateTime<Utc>, batch: i64) -> StoreResult<u64> {
                delete_in_batches(self.writer(), PRUNE_AUDIT, before, batch).await
            }

            async fn prune_unverified(&self, before: DateTime<Utc>, event: &AuditEvent, batch: i64) -> StoreResult<u64> {
                let full = usize::try_from(batch).unwrap_or(0);
                let mut deleted = 0;
                loop {
                    let mut tx = begin(self.writer()).await?;
                    // Takes the rows first (on PostgreSQL, locks them): a click
                    // on a link that commits meanwhile waits, then finds no
                    // account; one that committed first made it active, and
                    // it is not taken.
                    // An account that holds a link still good (an
                    // invitation, a resent verification, a reset asked for)
                    // waits for it: its owner may be about to click.
                    let ids: Vec<Uuid> = sqlx::query_scalar(
                        "UPDATE users SET updated_at = updated_at WHERE id IN \
                         (SELECT u.id FROM users u WHERE u.status = 'pending' AND u.created_at < $1 \
                          AND NOT EXISTS (SELECT 1 FROM password_reset_tokens t WHERE t.user_id = u.id \
                              AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $3) \
                          AND NOT EXISTS (SELECT 1 FROM verification_tokens t WHERE t.user_id = u.id \
                              AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $3) \
                          ORDER BY u.id LIMIT $2) \
                         AND status = 'pending' RETURNING id",
                    )
                    .bind(before)
                    .bind(batch)
                    .bind(event.at)
                    .fetch_all(&mut *tx)
                    .await?;
                    if ids.is_empty() {
                        return Ok(deleted);
                    }
                    let in_list = |sql: &'static str| {
                        let mut query = sqlx::QueryBuilder::<Db>::new(sql);
                        let mut list = query.separated(", ");
                        for id in &ids {
                            list.push_bind(*id);
                        }
                        list.push_unseparated(")");
                        query
                    };
                    // Its link would reach an address nobody confirmed.
                    in_list("UPDATE outbox SET status = 'cancelled', text_body = NULL, html_body = NULL \
                             WHERE status = 'pending' AND user_id IN (")
                        .build()
                        .execute(&mut *tx)
                        .await?;
                    let events: Vec<AuditEvent> = ids
                        .iter()
                        .map(|id| AuditEvent { user_id: Some(UserId::from_uuid(*id)), ..event.clone() })
                        .collect();
                    insert_audits(&mut tx, &events).await?;
                    // Links, sessions and devices cascade.
                    in_list("DELETE FROM users WHERE id IN (").build().execute(&mut *tx).await?;
                    tx.commit().await?;
                    deleted += u64::try_from(ids.len()).unwrap_or(u64::MAX);
                    if ids.len() < full.max(1) {
                        return Ok(deleted);
                    }
                }
            }
        }

        /// Runs `delete` (bound to `before` and `batch`) until a batch comes
        /// back short. Each batch commits by itself, so other writers get
        /// their turn between them.
        async fn delete_in_batches(
            writer: &Writer,
            delete: &'static str,
            before: DateTime<Utc>,
            batch: i64,
        ) -> StoreResult<u64> {
            let full = u64::try_from(batch).unwrap_or(0);
            let mut deleted = 0;
            loop {
                let mut conn = autocommit(writer).await?;
                let done = sqlx::query(delete)
                    .bind(before)
                    .bind(batch)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                conn.commit().await?;
                deleted += done;
                if done < full.max(1) {
                    return Ok(deleted);
                }
            }
        }
    };
}

pub(crate) use sql_retention;
