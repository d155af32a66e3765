//! The mail outbox: leasing, delivery outcomes, listing.

macro_rules! sql_outbox {
    ($store:ty, $skip_locked:literal) => {
        #[async_trait]
        impl OutboxStore for $store {
            async fn enqueue(&self, message: &NewMessage, meta: &RequestMeta) -> StoreResult<Delivery> {
                let mut tx = begin(self.writer()).await?;
                let delivery = insert_message(&mut tx, message, meta).await?;
                tx.commit().await?;
                Ok(delivery)
            }

            async fn claim_messages(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
                let mut conn = autocommit(self.writer()).await?;
                let rows = sqlx::query(concat!(
                    "UPDATE outbox SET locked_until = $1 WHERE id IN (",
                    "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 ",
                    "AND (locked_until IS NULL OR locked_until <= $2) ORDER BY next_attempt_at LIMIT $3 ",
                    $skip_locked,
                    ") RETURNING id, channel, message_id, user_id, recipient, subject, text_body, html_body, attempts, created_at"
                ))
                .bind(lease_until)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
                conn.commit().await?;
                rows.iter()
                    .map(|row| {
                        let user_id: Option<Uuid> = row.try_get("user_id")?;
                        let text_body: Option<String> = row.try_get("text_body")?;
                        let html_body: Option<String> = row.try_get("html_body")?;
                        let channel: String = row.try_get("channel")?;
                        Ok(OutboxMessage {
                            id: row.try_get("id")?,
                            channel: Channel::parse(&channel).ok_or(StoreError::Corrupt("unknown channel"))?,
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

            async fn messages_sent(&self, ids: &[Uuid], now: DateTime<Utc>) -> StoreResult<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut tx = begin(self.writer()).await?;
                // A message cancelled while in flight was still delivered: say so.
                let mut update = sqlx::QueryBuilder::<Db>::new("UPDATE outbox SET status = 'sent', sent_at = ");
                update.push_bind(now).push(
                    ", attempts = attempts + 1, locked_until = NULL, last_error = NULL, text_body = NULL, html_body = NULL WHERE id IN (",
                );
                let mut list = update.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                update.push(") RETURNING id, user_id");
                let rows = update.build().fetch_all(&mut *tx).await?;
                let events = rows
                    .iter()
                    .map(|row| {
                        let id: Uuid = row.try_get("id")?;
                        let user_id: Option<Uuid> = row.try_get("user_id")?;
                        Ok(AuditEvent::new(now, AuditKind::EmailSent, Outcome::Success, user_id.map(UserId::from_uuid), &RequestMeta::internal())
                            .with_detail(id.to_string()))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                insert_audits(&mut tx, &events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn message_failed(&self, id: Uuid, error: &str, retry_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = begin(self.writer()).await?;
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

            async fn backlog(&self) -> StoreResult<Vec<Backlog>> {
                // By `outbox_due` (status first): the history is not read.
                let rows = sqlx::query(
                    "SELECT channel, COUNT(*) AS queued, MIN(created_at) AS oldest \
                     FROM outbox WHERE status = 'pending' GROUP BY channel",
                )
                .fetch_all(self.reader())
                .await?;
                let mut backlog = Vec::with_capacity(rows.len());
                for row in &rows {
                    let channel: String = row.try_get("channel")?;
                    // Only `Channel::as_str` writes the column.
                    let Some(channel) = Channel::parse(&channel) else { continue };
                    backlog.push(Backlog {
                        channel,
                        queued: row.try_get("queued")?,
                        oldest: row.try_get("oldest")?,
                    });
                }
                Ok(backlog)
            }
        }
    };
}

pub(crate) use sql_outbox;
