//! Password reset links and password changes.

macro_rules! sql_passwords {
    ($store:ty) => {
        async fn revoke_reset_links(tx: &mut Tx, user_id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
            revoke_unused_links(tx, "password_reset_tokens", crate::store::PASSWORD_RESET_MAIL, user_id, now).await
        }

        /// The account's one working reset link from now on: `token`.
        async fn replace_reset_link(tx: &mut Tx, user_id: UserId, token: &NewToken) -> StoreResult<()> {
            revoke_reset_links(tx, user_id, token.created_at).await?;
            sqlx::query("INSERT INTO password_reset_tokens (id, user_id, digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token.id)
                .bind(user_id.as_uuid())
                .bind(token.digest.as_bytes())
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// After a password changed, whatever still rests on the old one
        /// stops working: reset links, changes of address, and logins
        /// waiting for a second factor (their password step used the old
        /// password).
        async fn retire_password_proofs(tx: &mut Tx, user_id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
            revoke_reset_links(tx, user_id, now).await?;
            // A change of address asked for with the old password: a reset
            // is what the notice to the old address says cancels it.
            revoke_email_changes(tx, user_id, now).await?;
            expire_waiting_logins(tx, user_id, now).await
        }

        /// A reset link reached the account's address: a pending account is
        /// verified by it (with the password just set, not the one it signed
        /// up with), and its verification links, which would sign in, stop
        /// working.
        async fn confirm_if_pending(tx: &mut Tx, user_id: UserId, meta: &RequestMeta, now: DateTime<Utc>) -> StoreResult<()> {
            let confirmed = sqlx::query("UPDATE users SET status = 'active', verified_at = $1 WHERE id = $2 AND status = 'pending'")
                .bind(now)
                .bind(user_id.as_uuid())
                .execute(&mut **tx)
                .await?
                .rows_affected()
                > 0;
            if confirmed {
                revoke_unused_links(tx, "verification_tokens", crate::store::VERIFICATION_MAIL, user_id, now).await?;
                let event = AuditEvent::new(now, AuditKind::VerificationSucceeded, Outcome::Success, Some(user_id), meta)
                    .with_detail("by a password reset link");
                insert_audit(tx, &event).await?;
            }
            Ok(())
        }

        async fn set_password_hash(tx: &mut Tx, user_id: UserId, hash: &PasswordHash, now: DateTime<Utc>) -> StoreResult<()> {
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash.as_str())
                .bind(now)
                .bind(user_id.as_uuid())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        #[async_trait]
        impl PasswordStore for $store {
            async fn replace_password_reset(&self, user_id: UserId, token: &NewToken, mail: &NewMessage, meta: &RequestMeta) -> StoreResult<Delivery> {
                let now = token.created_at;
                let mut tx = begin(self.writer()).await?;
                // Counted first: a link its recipient's quota holds back
                // leaves the one already sent working (a stranger's flood of
                // requests must not revoke the owner's link), and is not stored.
                let allowed = recipient_allows(&mut tx, mail).await?;
                if allowed {
                    replace_reset_link(&mut tx, user_id, token).await?;
                }
                let requested = AuditEvent::new(now, AuditKind::PasswordResetRequested, Outcome::Success, Some(user_id), meta);
                let delivery = write_message(&mut tx, mail, meta, Some(&requested), allowed).await?;
                tx.commit().await?;
                Ok(delivery)
            }

            async fn reset_token_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
                let sql = format!(
                    "SELECT t.id AS token_id, t.expires_at, t.used_at, t.revoked_at, {USER_COLUMNS} \
                     FROM password_reset_tokens t JOIN users u ON u.id = t.user_id WHERE t.digest = $1"
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

            async fn reset_password(&self, token_id: Uuid, user_id: UserId, hash: &PasswordHash, notice: &NewMessage, meta: &RequestMeta) -> StoreResult<bool> {
                let now = notice.created_at;
                let mut tx = begin(self.writer()).await?;
                // The conditional update decides concurrent uses of one link:
                // only one of them changes a row.
                let used = sqlx::query(
                    "UPDATE password_reset_tokens SET used_at = $1 \
                     WHERE id = $2 AND user_id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
                )
                .bind(now)
                .bind(token_id)
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                set_password_hash(&mut tx, user_id, hash, now).await?;
                retire_password_proofs(&mut tx, user_id, now).await?;
                confirm_if_pending(&mut tx, user_id, meta, now).await?;
                let ended = end_sessions(&mut tx, user_id, now).await?;
                let event = AuditEvent::new(now, AuditKind::PasswordReset, Outcome::Success, Some(user_id), meta)
                    .with_detail(format!("{ended} sessions ended"));
                insert_audit(&mut tx, &event).await?;
                insert_message(&mut tx, notice, meta).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn force_password_reset(&self, user_id: UserId, unusable: &PasswordHash, token: &NewToken, mail: &NewMessage, meta: &RequestMeta) -> StoreResult<u64> {
                let now = token.created_at;
                let mut tx = begin(self.writer()).await?;
                set_password_hash(&mut tx, user_id, unusable, now).await?;
                retire_password_proofs(&mut tx, user_id, now).await?;
                let ended = end_sessions(&mut tx, user_id, now).await?;
                // Held back by the recipient's quota, the link is not stored:
                // the owner asks for one with "Forgot your password?".
                let allowed = recipient_allows(&mut tx, mail).await?;
                if allowed {
                    replace_reset_link(&mut tx, user_id, token).await?;
                }
                let event = AuditEvent::new(now, AuditKind::PasswordResetForced, Outcome::Success, Some(user_id), meta)
                    .with_detail(format!("by an operator; {ended} sessions ended"));
                write_message(&mut tx, mail, meta, Some(&event), allowed).await?;
                tx.commit().await?;
                Ok(ended)
            }

            async fn upgrade_password_hash(&self, user_id: UserId, old: &PasswordHash, new: &PasswordHash, event: &AuditEvent) -> StoreResult<bool> {
                let mut tx = begin(self.writer()).await?;
                let replaced = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                    .bind(new.as_str())
                    .bind(user_id.as_uuid())
                    .bind(old.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                if replaced {
                    insert_audit(&mut tx, event).await?;
                }
                tx.commit().await?;
                Ok(replaced)
            }

            async fn change_password(&self, user_id: UserId, hash: &PasswordHash, keep: Option<Uuid>, notice: &NewMessage, meta: &RequestMeta) -> StoreResult<()> {
                let now = notice.created_at;
                let mut tx = begin(self.writer()).await?;
                set_password_hash(&mut tx, user_id, hash, now).await?;
                retire_password_proofs(&mut tx, user_id, now).await?;
                let ended = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR id <> $3)")
                    .bind(now)
                    .bind(user_id.as_uuid())
                    .bind(keep)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let event = AuditEvent::new(now, AuditKind::PasswordChanged, Outcome::Success, Some(user_id), meta)
                    .with_detail(format!("{ended} other sessions ended"));
                insert_audit(&mut tx, &event).await?;
                insert_message(&mut tx, notice, meta).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use sql_passwords;
