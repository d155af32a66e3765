//! Email address changes: the request with its link, and its use.

macro_rules! sql_email_changes {
    ($store:ty) => {
        async fn revoke_email_changes(tx: &mut Tx, user_id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
            revoke_unused_links(tx, "email_changes", crate::store::EMAIL_CHANGE_MAIL, user_id, now).await
        }

        /// Gives the account `email`, which a link sent there just proved;
        /// false (and the transaction unusable on PostgreSQL: roll it back)
        /// when another account has it. An account nobody verified holds no
        /// address (as at sign-up, `register`): one at `email` is deleted
        /// first, its unsent mail cancelled. The unique index on the folded
        /// address is the judge, as at sign-up: of an account and a change
        /// racing for one address, exactly one has it.
        async fn move_address(tx: &mut Tx, user_id: UserId, email: &EmailAddress, meta: &RequestMeta, now: DateTime<Utc>) -> StoreResult<bool> {
            // Takes the row first (on PostgreSQL, locks it), as retention
            // does: a click on its link that commits meanwhile made it
            // active, and it is not taken.
            let unverified: Option<UserId> = sqlx::query_scalar::<_, Uuid>(
                "UPDATE users SET updated_at = updated_at \
                 WHERE email_key = $1 AND status = 'pending' AND disabled_at IS NULL AND id <> $2 RETURNING id",
            )
            .bind(email.unique_key())
            .bind(user_id.as_uuid())
            .fetch_optional(&mut **tx)
            .await?
            .map(UserId::from_uuid);
            if let Some(unverified) = unverified {
                cancel_unsent_mail(tx, unverified).await?;
                // Named in the detail too: the entry's `user_id` goes with the row.
                let event = AuditEvent::new(now, AuditKind::AccountDeleted, Outcome::Success, Some(unverified), meta)
                    .with_detail(format!("{unverified}, never verified: its address went to {user_id} by a change of address"));
                insert_audit(tx, &event).await?;
                // Links cascade.
                sqlx::query("DELETE FROM users WHERE id = $1").bind(unverified.as_uuid()).execute(&mut **tx).await?;
            }
            let moved = sqlx::query("UPDATE users SET email = $1, email_key = $2, updated_at = $3 WHERE id = $4")
                .bind(email.as_str())
                .bind(email.unique_key())
                .bind(now)
                .bind(user_id.as_uuid())
                .execute(&mut **tx)
                .await;
            match moved {
                Ok(_) => Ok(true),
                Err(error) if is_unique_violation(&error) => Ok(false),
                Err(error) => Err(error.into()),
            }
        }

        #[async_trait]
        impl EmailChangeStore for $store {
            async fn replace_email_change(&self, user_id: UserId, new_email: &EmailAddress, token: &NewToken, link: &NewMessage, notice: &NewMessage, event: &AuditEvent) -> StoreResult<Delivery> {
                let mut tx = begin(self.writer()).await?;
                // Counted first, as a resent verification link is: a link the
                // new address's cap holds back is not stored, and leaves the
                // change already waiting (its link sent) as it was.
                let allowed = recipient_allows(&mut tx, link).await?;
                if allowed {
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
                }
                let delivery = write_message(&mut tx, link, &event.meta, Some(event), allowed).await?;
                insert_message(&mut tx, notice, &event.meta).await?;
                tx.commit().await?;
                Ok(delivery)
            }

            async fn open_email_change(&self, user_id: UserId, now: DateTime<Utc>) -> StoreResult<Option<(EmailAddress, DateTime<Utc>)>> {
                let row: Option<(String, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT new_email, expires_at FROM email_changes \
                     WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                     ORDER BY created_at DESC LIMIT 1",
                )
                .bind(user_id.as_uuid())
                .bind(now)
                .fetch_optional(self.reader())
                .await?;
                Ok(row.map(|(email, until)| (EmailAddress::from_stored(email), until)))
            }

            async fn cancel_email_change(&self, user_id: UserId, event: &AuditEvent) -> StoreResult<bool> {
                let mut tx = begin(self.writer()).await?;
                let open = sqlx::query(
                    "UPDATE email_changes SET revoked_at = $1 \
                     WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
                )
                .bind(event.at)
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if open == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                // The rest (expired links) and the unsent emails.
                revoke_email_changes(&mut tx, user_id, event.at).await?;
                insert_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(true)
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

            async fn change_email(&self, change: &EmailChangeRecord, undo: &TokenDigest, undo_until: DateTime<Utc>, notice: &NewMessage, event: &AuditEvent) -> StoreResult<EmailChange> {
                let now = event.at;
                let user_id = change.user.id;
                let mut tx = begin(self.writer()).await?;
                // The conditional update decides concurrent uses of one link:
                // only one of them changes a row.
                let used = sqlx::query(
                    "UPDATE email_changes SET used_at = $1, old_email = $4, revert_digest = $5, revert_expires_at = $6 \
                     WHERE id = $2 AND user_id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
                )
                .bind(now)
                .bind(change.id)
                .bind(user_id.as_uuid())
                .bind(change.user.email.as_str())
                .bind(undo.as_bytes())
                .bind(undo_until)
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(EmailChange::LinkSpent);
                }
                if !move_address(&mut tx, user_id, &change.new_email, &event.meta, now).await? {
                    tx.rollback().await?;
                    return Ok(EmailChange::AddressTaken);
                }
                revoke_email_changes(&mut tx, user_id, now).await?;
                insert_message_with(&mut tx, notice, &event.meta, Some(event)).await?;
                tx.commit().await?;
                Ok(EmailChange::Changed)
            }

            async fn email_revert_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<EmailRevertRecord>> {
                let sql = format!(
                    "SELECT c.id AS change_id, c.old_email, c.created_at AS requested_at, c.revert_expires_at, c.reverted_at, {USER_COLUMNS} \
                     FROM email_changes c JOIN users u ON u.id = c.user_id WHERE c.revert_digest = $1"
                );
                let Some(row) = sqlx::query(&sql).bind(digest.as_bytes()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                let old_email: Option<String> = row.try_get("old_email")?;
                let expires_at: Option<DateTime<Utc>> = row.try_get("revert_expires_at")?;
                let (Some(old_email), Some(expires_at)) = (old_email, expires_at) else {
                    return Err(StoreError::Corrupt("an undo link without its address"));
                };
                Ok(Some(EmailRevertRecord {
                    id: row.try_get("change_id")?,
                    user: user_from_row(&row)?,
                    old_email: EmailAddress::from_stored(old_email),
                    requested_at: row.try_get("requested_at")?,
                    expires_at,
                    reverted_at: row.try_get("reverted_at")?,
                }))
            }

            async fn revert_email(&self, revert: &EmailRevertRecord, reset: &NewToken, reset_mail: &NewMessage, event: &AuditEvent) -> StoreResult<EmailChange> {
                let now = event.at;
                let user_id = revert.user.id;
                let mut tx = begin(self.writer()).await?;
                let used = sqlx::query(
                    "UPDATE email_changes SET reverted_at = $1 \
                     WHERE id = $2 AND user_id = $3 AND reverted_at IS NULL AND revert_expires_at > $1",
                )
                .bind(now)
                .bind(revert.id)
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(EmailChange::LinkSpent);
                }
                if !move_address(&mut tx, user_id, &revert.old_email, &event.meta, now).await? {
                    tx.rollback().await?;
                    return Ok(EmailChange::AddressTaken);
                }
                end_sign_ins(&mut tx, user_id, now).await?;
                revoke_email_changes(&mut tx, user_id, now).await?;
                // A factor set up since the change was asked for may be the
                // intruder's: with it left, the owner could not sign in.
                sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1 AND (confirmed_at IS NULL OR confirmed_at >= $2)")
                    .bind(user_id.as_uuid())
                    .bind(revert.requested_at)
                    .execute(&mut *tx)
                    .await?;
                drop_orphan_recovery_codes(&mut tx, user_id).await?;
                replace_reset_link(&mut tx, user_id, reset).await?;
                insert_message_with(&mut tx, reset_mail, &event.meta, Some(event)).await?;
                tx.commit().await?;
                Ok(EmailChange::Changed)
            }
        }
    };
}

pub(crate) use sql_email_changes;
