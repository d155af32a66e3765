//! Accounts and their verification links.

macro_rules! sql_users {
    ($store:ty) => {
        #[async_trait]
        impl UserStore for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            async fn register(&self, account: &NewAccount<'_>, token: &NewToken, mail: &NewMessage, meta: &RequestMeta, taken: Option<&TakenAddress<'_>>) -> Result<Registration, RegisterError> {
                // Each engine writes a sign-up its own way (`register_account`).
                self.register_account(account, token, mail, meta, taken).await
            }

            async fn invite(&self, account: &NewAccount<'_>, token: &NewToken, mail: &NewMessage, event: &AuditEvent) -> Result<Delivery, RegisterError> {
                let user = account.user;
                let mut tx = begin(self.writer()).await.map_err(StoreError::from)?;
                // Unlike a sign-up, an invitation replaces nothing: the
                // operator hears that the address is taken, whatever its state.
                let inserted = sqlx::query(
                    "INSERT INTO users (id, name, email, email_key, password_hash, status, created_at, updated_at, invited_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) ON CONFLICT (email_key) DO NOTHING",
                )
                .bind(user.id.as_uuid())
                .bind(user.name.as_str())
                .bind(user.email.as_str())
                .bind(user.email.unique_key())
                .bind(account.password_hash.as_str())
                .bind(user.status.as_str())
                .bind(user.created_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?
                .rows_affected();
                if inserted == 0 {
                    return Err(RegisterError::EmailTaken);
                }
                sqlx::query("INSERT INTO password_reset_tokens (id, user_id, digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(token.id)
                    .bind(user.id.as_uuid())
                    .bind(token.digest.as_bytes())
                    .bind(token.created_at)
                    .bind(token.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                let delivery = insert_message_with(&mut tx, mail, &event.meta, Some(event)).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(delivery)
            }

            async fn waits_for_invitation(&self, user_id: UserId) -> StoreResult<bool> {
                let invited: Option<bool> = sqlx::query_scalar("SELECT invited_at IS NOT NULL FROM users WHERE id = $1 AND status = 'pending'")
                    .bind(user_id.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                Ok(invited.unwrap_or(false))
            }

            async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email_key = $1");
                let row = sqlx::query(&sql).bind(email.unique_key()).fetch_optional(self.reader()).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
                let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_optional(self.reader()).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn credentials_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserCredentials>> {
                let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email_key = $1");
                let Some(row) = sqlx::query(&sql).bind(email.unique_key()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                Ok(Some(credentials_from_row(&row)?))
            }

            async fn login_record(
                &self,
                email: &EmailAddress,
                device: Option<&TokenDigest>,
                failure_keys: [Option<&[u8; 32]>; 2],
            ) -> StoreResult<LoginRead> {
                // One round trip instead of four: a sign-in is a hash and
                // little else, so every other read shows in its throughput.
                // A row whatever the address: the failures of one nobody
                // owns are counted like anyone's (one row per failure found).
                let sql = format!(
                    "SELECT {USER_COLUMNS}, u.password_hash, \
                     EXISTS (SELECT 1 FROM devices d WHERE d.digest = $2 AND d.user_id = u.id) AS known_device, \
                     EXISTS (SELECT 1 FROM mfa_factors m WHERE m.user_id = u.id AND m.confirmed_at IS NOT NULL) AS has_second_factor, \
                     f.key AS failure_key, f.failures, f.not_before \
                     FROM (SELECT 1 AS asked) AS one \
                     LEFT JOIN users u ON u.email_key = $1 \
                     LEFT JOIN login_failures f ON f.key IN ($3, $4)"
                );
                let [first_key, second_key] = failure_keys;
                let rows = sqlx::query(&sql)
                    .bind(email.unique_key())
                    .bind(device.map(TokenDigest::as_bytes))
                    .bind(first_key.map(|key| &key[..]))
                    .bind(second_key.map(|key| &key[..]))
                    .fetch_all(self.reader())
                    .await?;
                let account = match rows.first() {
                    Some(row) if row.try_get::<Option<Uuid>, _>("id")?.is_some() => Some(LoginRecord {
                        credentials: credentials_from_row(row)?,
                        known_device: row.try_get("known_device")?,
                        has_second_factor: row.try_get("has_second_factor")?,
                    }),
                    _ => None,
                };
                let mut failures = Vec::new();
                for row in &rows {
                    let Some(key) = row.try_get::<Option<Vec<u8>>, _>("failure_key")? else {
                        continue;
                    };
                    let key: [u8; 32] = key.try_into().map_err(|_| StoreError::Corrupt("failure key length"))?;
                    failures.push((key, LoginFailures { failures: row.try_get("failures")?, not_before: row.try_get("not_before")? }));
                }
                Ok(LoginRead { account, failures })
            }

            async fn users(&self, limit: i64) -> StoreResult<Vec<User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.created_at DESC, u.id DESC LIMIT $1");
                let rows = sqlx::query(&sql).bind(limit).fetch_all(self.reader()).await?;
                rows.iter().map(user_from_row).collect()
            }

            async fn user_summaries(&self, filter: &UserFilter<'_>) -> StoreResult<Vec<UserSummary>> {
                // The page of accounts first, then their factors: a LIMIT over
                // the join would count factors, not accounts.
                let sql = format!(
                    "SELECT {USER_COLUMNS}, f.kind AS factor FROM \
                     (SELECT id, name, email, status, created_at, verified_at, disabled_at FROM users \
                      WHERE ($1 IS NULL OR (CASE WHEN disabled_at IS NULL THEN status ELSE 'disabled' END) = $1) \
                      AND ($2 IS NULL OR id < $2) AND ($4 IS NULL OR email_key = $4) \
                      ORDER BY id DESC LIMIT $3) u \
                     LEFT JOIN mfa_factors f ON f.user_id = u.id AND f.confirmed_at IS NOT NULL \
                     ORDER BY u.id DESC, f.kind"
                );
                let rows = sqlx::query(&sql)
                    .bind(filter.status.map(|status| status.as_str()))
                    .bind(filter.after.map(|id| id.as_uuid()))
                    .bind(filter.limit)
                    .bind(filter.email.map(EmailAddress::unique_key))
                    .fetch_all(self.reader())
                    .await?;
                let mut summaries: Vec<UserSummary> = Vec::new();
                for row in &rows {
                    let user = user_from_row(row)?;
                    let factor = row
                        .try_get::<Option<String>, _>("factor")?
                        .map(|kind| FactorKind::parse(&kind).ok_or(StoreError::Corrupt("unknown factor kind")))
                        .transpose()?;
                    match summaries.last_mut() {
                        Some(last) if last.user.id == user.id => last.factors.extend(factor),
                        _ => summaries.push(UserSummary { user, factors: factor.into_iter().collect() }),
                    }
                }
                Ok(summaries)
            }

            async fn token_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
                // A link dated before its account's `created_at` was sent for
                // an earlier sign-up that a later one replaced: superseded
                // then, whether or not the replacing write saw it to revoke.
                let sql = format!(
                    "SELECT t.id AS token_id, t.expires_at, t.used_at, \
                     CASE WHEN t.revoked_at IS NULL AND t.used_at IS NULL AND t.created_at < u.created_at \
                          THEN u.created_at ELSE t.revoked_at END AS revoked_at, {USER_COLUMNS} \
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

            async fn activate(&self, token_id: Uuid, user_id: UserId, session: Option<&NewSession>, notice: &NewMessage, meta: &RequestMeta) -> StoreResult<Activation> {
                let now = notice.created_at;
                let mut tx = begin(self.writer()).await?;
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
                // Only the sign-up the link was sent for: one that replaced it
                // meanwhile (`register`) dated the account after the link. On
                // PostgreSQL the condition is checked again on the row as that
                // sign-up left it, once its lock is released.
                let became_active = sqlx::query(
                    "UPDATE users SET status = 'active', verified_at = $1, updated_at = $1 \
                     WHERE id = $2 AND status = 'pending' \
                     AND created_at <= (SELECT created_at FROM verification_tokens WHERE id = $3)",
                )
                .bind(now)
                .bind(user_id.as_uuid())
                .bind(token_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                if !became_active {
                    let pending: bool = sqlx::query_scalar("SELECT status = 'pending' FROM users WHERE id = $1")
                        .bind(user_id.as_uuid())
                        .fetch_one(&mut *tx)
                        .await?;
                    if pending {
                        tx.rollback().await?;
                        return Ok(Activation::Revoked);
                    }
                }
                let event = AuditEvent::new(now, AuditKind::VerificationSucceeded, Outcome::Success, Some(user_id), meta);
                // The first click signs the person in and queues "your account is
                // active": one commit for all of it, so a lost race sends nothing
                // and an account is announced active once, whatever link did it.
                match session {
                    Some(session) => insert_session(&mut tx, session, meta, Some(&event)).await?,
                    None => insert_audit(&mut tx, &event).await?,
                }
                if became_active {
                    insert_message(&mut tx, notice, meta).await?;
                }
                tx.commit().await?;
                Ok(Activation::Activated)
            }

            async fn replace_verification(&self, user_id: UserId, token: &NewToken, mail: &NewMessage, event: &AuditEvent) -> StoreResult<Delivery> {
                let now = token.created_at;
                let mut tx = begin(self.writer()).await?;
                // Counted first: a link its recipient's quota holds back
                // leaves the one already sent working (a flood of resends
                // must not leave the owner with none), and is not stored.
                let allowed = recipient_allows(&mut tx, mail).await?;
                if allowed {
                    // An unsent email of an old link would only deliver a dead link.
                    revoke_unused_links(&mut tx, "verification_tokens", crate::store::VERIFICATION_MAIL, user_id, now).await?;
                    insert_token(&mut tx, user_id, token).await?;
                }
                let delivery = write_message(&mut tx, mail, &event.meta, Some(event), allowed).await?;
                tx.commit().await?;
                Ok(delivery)
            }

            async fn delete_account(&self, user_id: UserId, notice: &NewMessage, event: &AuditEvent) -> StoreResult<bool> {
                let mut tx = begin(self.writer()).await?;
                // Takes the account's row first, so that nothing below is
                // written for an account that is not there (or no longer).
                let found = sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
                    .bind(event.at)
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if found == 0 {
                    return Ok(false);
                }
                // Unsent links and codes would reach an account that is gone.
                cancel_unsent_mail(&mut tx, user_id).await?;
                // Queued while the account still exists (the message's row
                // then loses its `user_id` with it; the trail keeps it).
                insert_message(&mut tx, notice, &event.meta).await?;
                // Sessions, links, factors, codes and devices cascade.
                sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                insert_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_disabled(&self, user_id: UserId, disabled: bool, event: &AuditEvent) -> StoreResult<Option<User>> {
                let now = event.at;
                let mut tx = begin(self.writer()).await?;
                // Disabling twice keeps the first time.
                let row = sqlx::query(
                    "UPDATE users SET disabled_at = CASE WHEN $1 THEN COALESCE(disabled_at, $2) END, updated_at = $2 \
                     WHERE id = $3 RETURNING id, name, email, status, created_at, verified_at, disabled_at",
                )
                .bind(disabled)
                .bind(now)
                .bind(user_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                if disabled {
                    // Nothing the account holds works any more: its sessions
                    // and waiting logins, its unused links, its unsent mail.
                    end_sign_ins(&mut tx, user_id, now).await?;
                    for statement in [
                        "UPDATE verification_tokens SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
                        "UPDATE password_reset_tokens SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
                        "UPDATE email_changes SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
                    ] {
                        sqlx::query(statement).bind(now).bind(user_id.as_uuid()).execute(&mut *tx).await?;
                    }
                    cancel_unsent_mail(&mut tx, user_id).await?;
                }
                insert_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(Some(user_from_row(&row)?))
            }

            async fn rename(&self, user_id: UserId, name: &DisplayName, event: &AuditEvent) -> StoreResult<Option<User>> {
                let mut tx = begin(self.writer()).await?;
                let row = sqlx::query(
                    "UPDATE users SET name = $1, updated_at = $2 WHERE id = $3 \
                     RETURNING id, name, email, status, created_at, verified_at, disabled_at",
                )
                .bind(name.as_str())
                .bind(event.at)
                .bind(user_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                insert_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(Some(user_from_row(&row)?))
            }

        }
    };
}

pub(crate) use sql_users;
