//! Email address changes: the request with its link, and its use.

macro_rules! sql_email_changes {
    ($store:ty) => {
        async fn revoke_email_changes(tx: &mut Tx<'_>, user_id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
            revoke_unused_links(tx, "email_changes", crate::store::EMAIL_CHANGE_MAIL, user_id, now).await
        }

        #[async_trait]
        impl EmailChangeStore for $store {
            async fn replace_email_change(&self, user_id: UserId, new_email: &EmailAddress, token: &NewToken, link: &NewMessage, notice: &NewMessage, event: &AuditEvent) -> StoreResult<Delivery> {
                let mut tx = begin(self.writer()).await?;
                revoke_email_changes(&mut tx, user_id, token.created_at).await?;
                sqlx::query("INSERT INTO email_changes (id, user_id, new_email, digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(token.id)
                    .bind(user_id.as_uuid())
                    .bind(new_email.as_str())
                    .bind(token.digest.as_bytes())
                    .bind(token.created_at)
                    .bind(token.expires_at)
                    .execute(&mut *tx)
                    .await?;
                let delivery = insert_message_with(&mut tx, link, &event.meta, Some(event)).await?;
                insert_message(&mut tx, notice, &event.meta).await?;
                tx.commit().await?;
                Ok(delivery)
            }

            async fn email_change_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<EmailChangeRecord>> {
                let sql = format!(
                    "SELECT c.id AS change_id, c.new_email, c.expires_at, c.used_at, c.revoked_at, {USER_COLUMNS} \
                     FROM email_changes c JOIN users u ON u.id = c.user_id WHERE c.digest = $1"
                );
                let Some(row) = sqlx::query(&sql).bind(digest.as_bytes()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                Ok(Some(EmailChangeRecord {
                    id: row.try_get("change_id")?,
                    user: user_from_row(&row)?,
                    new_email: EmailAddress::from_stored(row.try_get("new_email")?),
                    expires_at: row.try_get("expires_at")?,
                    used_at: row.try_get("used_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                }))
            }

            async fn change_email(&self, change: &EmailChangeRecord, notice: &NewMessage, event: &AuditEvent) -> StoreResult<EmailChange> {
                let now = event.at;
                let user_id = change.user.id;
                let mut tx = begin(self.writer()).await?;
                // The conditional update decides concurrent uses of one link:
                // only one of them changes a row.
                let used = sqlx::query(
                    "UPDATE email_changes SET used_at = $1 \
                     WHERE id = $2 AND user_id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
                )
                .bind(now)
                .bind(change.id)
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(EmailChange::LinkSpent);
                }
                // The unique index on the folded address is the judge, as at
                // sign-up: of an account and a change racing for one address,
                // exactly one has it.
                let moved = sqlx::query("UPDATE users SET email = $1, email_key = $2, updated_at = $3 WHERE id = $4")
                    .bind(change.new_email.as_str())
                    .bind(change.new_email.unique_key())
                    .bind(now)
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await;
                match moved {
                    Ok(_) => {}
                    Err(error) if is_unique_violation(&error) => {
                        tx.rollback().await?;
                        return Ok(EmailChange::AddressTaken);
                    }
                    Err(error) => return Err(error.into()),
                }
                revoke_email_changes(&mut tx, user_id, now).await?;
                insert_message_with(&mut tx, notice, &event.meta, Some(event)).await?;
                tx.commit().await?;
                Ok(EmailChange::Changed)
            }
        }
    };
}

pub(crate) use sql_email_changes;
