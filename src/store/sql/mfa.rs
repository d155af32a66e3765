//! Second factors, recovery codes and login challenges.

macro_rules! sql_mfa {
    ($store:ty) => {
        fn factor_from_row(row: &DbRow) -> StoreResult<FactorRecord> {
            let kind: String = row.try_get("kind")?;
            let user_id: Uuid = row.try_get("user_id")?;
            Ok(FactorRecord {
                id: row.try_get("id")?,
                user_id: UserId::from_uuid(user_id),
                kind: FactorKind::parse(&kind).ok_or(StoreError::Corrupt("unknown factor kind"))?,
                secret: row.try_get("secret")?,
                phone: row.try_get("phone")?,
                last_step: row.try_get("last_step")?,
                code_digest: row.try_get("code_digest")?,
                code_expires_at: row.try_get("code_expires_at")?,
                code_attempts: row.try_get("code_attempts")?,
                created_at: row.try_get("created_at")?,
                confirmed_at: row.try_get("confirmed_at")?,
                name: row.try_get("name")?,
                last_used_at: row.try_get("last_used_at")?,
                credential_id: row.try_get("credential_id")?,
            })
        }

        #[async_trait]
        impl MfaStore for $store {
            async fn factors_of(&self, user_id: UserId) -> StoreResult<Vec<FactorRecord>> {
                let rows = sqlx::query(
                    "SELECT id, user_id, kind, secret, phone, last_step, code_digest, code_expires_at, code_attempts, created_at, confirmed_at, \
                     name, last_used_at, credential_id FROM mfa_factors WHERE user_id = $1 ORDER BY created_at",
                )
                .bind(user_id.as_uuid())
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(factor_from_row).collect()
            }

            async fn begin_enrolment(&self, factor: &PendingFactor) -> Result<(), EnrolError> {
                let mut tx = begin(self.writer()).await.map_err(StoreError::from)?;
                sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1 AND kind = $2 AND confirmed_at IS NULL")
                    .bind(factor.user_id.as_uuid())
                    .bind(factor.kind.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                let inserted = sqlx::query(
                    "INSERT INTO mfa_factors (id, user_id, kind, secret, phone, code_digest, code_expires_at, code_attempts, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
                )
                .bind(factor.id)
                .bind(factor.user_id.as_uuid())
                .bind(factor.kind.as_str())
                .bind(factor.secret.as_deref())
                .bind(factor.phone.as_deref())
                .bind(factor.code_digest.as_ref().map(|d| d.as_slice()))
                .bind(factor.code_expires_at)
                .bind(factor.created_at)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    // The unique (user, kind) index: a confirmed factor of this kind exists.
                    Err(error) if is_unique_violation(&error) => return Err(EnrolError::AlreadyEnrolled),
                    Err(error) => return Err(StoreError::from(error).into()),
                }
                tx.commit().await.map_err(StoreError::from)?;
                Ok(())
            }

            async fn count_enrolment_attempt(&self, user_id: UserId, kind: FactorKind) -> StoreResult<i32> {
                let mut conn = autocommit(self.writer()).await?;
                let attempts: Option<i32> = sqlx::query_scalar(
                    "UPDATE mfa_factors SET code_attempts = code_attempts + 1 WHERE user_id = $1 AND kind = $2 AND confirmed_at IS NULL \
                     RETURNING code_attempts",
                )
                .bind(user_id.as_uuid())
                .bind(kind.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(attempts.unwrap_or(i32::MAX))
            }

            async fn confirm_factor(&self, user_id: UserId, kind: FactorKind, last_step: Option<i64>, now: DateTime<Utc>) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let confirmed = sqlx::query(
                    "UPDATE mfa_factors SET confirmed_at = $1, last_step = $2, code_digest = NULL, code_expires_at = NULL \
                     WHERE user_id = $3 AND kind = $4 AND confirmed_at IS NULL",
                )
                .bind(now)
                .bind(last_step)
                .bind(user_id.as_uuid())
                .bind(kind.as_str())
                .execute(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(confirmed.rows_affected() == 1)
            }

            async fn confirm_passkey(&self, user_id: UserId, passkey: &NewPasskey<'_>, now: DateTime<Utc>) -> Result<bool, EnrolError> {
                let mut conn = autocommit(self.writer()).await.map_err(StoreError::from)?;
                let confirmed = sqlx::query(
                    "UPDATE mfa_factors SET confirmed_at = $1, code_expires_at = NULL, secret = $2, credential_id = $3, name = $4 \
                     WHERE user_id = $5 AND kind = 'passkey' AND confirmed_at IS NULL",
                )
                .bind(now)
                .bind(passkey.sealed)
                .bind(passkey.credential_id)
                .bind(passkey.name)
                .bind(user_id.as_uuid())
                .execute(&mut *conn)
                .await;
                let confirmed = match confirmed {
                    Ok(done) => done,
                    // The unique credential index: this credential is already someone's.
                    Err(error) if is_unique_violation(&error) => return Err(EnrolError::AlreadyEnrolled),
                    Err(error) => return Err(StoreError::from(error).into()),
                };
                conn.commit().await.map_err(StoreError::from)?;
                Ok(confirmed.rows_affected() == 1)
            }

            async fn passkey_used(&self, factor_id: Uuid, sealed: Option<&[u8]>, credential_id: &[u8], now: DateTime<Utc>) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let updated = sqlx::query(
                    "UPDATE mfa_factors SET secret = COALESCE($1, secret), credential_id = $2, last_used_at = $3 \
                     WHERE id = $4 AND kind = 'passkey' AND confirmed_at IS NOT NULL",
                )
                .bind(sealed)
                .bind(credential_id)
                .bind(now)
                .bind(factor_id)
                .execute(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(updated.rows_affected() == 1)
            }

            async fn claim_passkey_sign_in(&self, digest: &[u8; 32], expires_at: DateTime<Utc>) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let claimed = sqlx::query(
                    "INSERT INTO passkey_sign_ins (digest, expires_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
                )
                .bind(digest.as_slice())
                .bind(expires_at)
                .execute(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(claimed.rows_affected() == 1)
            }

            async fn rename_passkey(&self, user_id: UserId, id: Uuid, name: &str) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let renamed = sqlx::query(
                    "UPDATE mfa_factors SET name = $1 WHERE id = $2 AND user_id = $3 AND kind = 'passkey' AND confirmed_at IS NOT NULL",
                )
                .bind(name)
                .bind(id)
                .bind(user_id.as_uuid())
                .execute(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(renamed.rows_affected() == 1)
            }

            async fn set_challenge_passkey(&self, id: Uuid, state: &[u8]) -> StoreResult<()> {
                let mut conn = autocommit(self.writer()).await?;
                sqlx::query("UPDATE mfa_challenges SET passkey_state = $1 WHERE id = $2")
                    .bind(state)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(())
            }

            async fn advance_totp_step(&self, user_id: UserId, step: i64) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let advanced = sqlx::query(
                    "UPDATE mfa_factors SET last_step = $1 WHERE user_id = $2 AND kind = 'totp' AND confirmed_at IS NOT NULL \
                     AND (last_step IS NULL OR last_step < $1)",
                )
                .bind(step)
                .bind(user_id.as_uuid())
                .execute(&mut *conn)
                .await?;
                conn.commit().await?;
                Ok(advanced.rows_affected() == 1)
            }

            async fn delete_factor(&self, user_id: UserId, kind: FactorKind, id: Option<Uuid>) -> StoreResult<bool> {
                let mut tx = begin(self.writer()).await?;
                let deleted = sqlx::query(
                    "DELETE FROM mfa_factors WHERE user_id = $1 AND kind = $2 AND confirmed_at IS NOT NULL \
                     AND ($3 IS NULL OR id = $3)",
                )
                .bind(user_id.as_uuid())
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                drop_orphan_recovery_codes(&mut tx, user_id).await?;
                tx.commit().await?;
                Ok(deleted.rows_affected() > 0)
            }

            async fn reset_factors(&self, user_id: UserId, notice: &NewMessage, meta: &RequestMeta) -> StoreResult<Option<(Vec<FactorKind>, u64)>> {
                let now = notice.created_at;
                let mut tx = begin(self.writer()).await?;
                let kinds: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT kind FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL ORDER BY kind",
                )
                .bind(user_id.as_uuid())
                .fetch_all(&mut *tx)
                .await?;
                if kinds.is_empty() {
                    return Ok(None);
                }
                let kinds = kinds
                    .iter()
                    .map(|kind| FactorKind::parse(kind).ok_or(StoreError::Corrupt("unknown factor kind")))
                    .collect::<StoreResult<Vec<_>>>()?;
                for statement in ["DELETE FROM mfa_factors WHERE user_id = $1", "DELETE FROM recovery_codes WHERE user_id = $1"] {
                    sqlx::query(statement).bind(user_id.as_uuid()).execute(&mut *tx).await?;
                }
                let ended = end_sign_ins(&mut tx, user_id, now).await?;
                let names: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
                let event = AuditEvent::new(now, AuditKind::FactorsReset, Outcome::Success, Some(user_id), meta)
                    .with_detail(format!("by an operator; removed {}; {ended} sessions ended", names.join(", ")));
                let allowed = recipient_allows(&mut tx, notice).await?;
                write_message(&mut tx, notice, meta, Some(&event), allowed).await?;
                tx.commit().await?;
                Ok(Some((kinds, ended)))
            }

            async fn replace_recovery_codes(&self, user_id: UserId, digests: &[[u8; 32]], now: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = begin(self.writer()).await?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id.as_uuid()).execute(&mut *tx).await?;
                for digest in digests {
                    sqlx::query("INSERT INTO recovery_codes (id, user_id, digest, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(Uuid::now_v7())
                        .bind(user_id.as_uuid())
                        .bind(digest.as_slice())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn use_recovery_code(&self, user_id: UserId, digest: &[u8; 32], now: DateTime<Utc>) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let used = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND digest = $3 AND used_at IS NULL")
                    .bind(now)
                    .bind(user_id.as_uuid())
                    .bind(digest.as_slice())
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(used.rows_affected() >= 1)
            }

            async fn recovery_codes_left(&self, user_id: UserId) -> StoreResult<i64> {
                let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                    .bind(user_id.as_uuid())
                    .fetch_one(self.reader())
                    .await?;
                Ok(left)
            }

            async fn create_challenge(&self, challenge: &NewChallenge) -> StoreResult<()> {
                let mut conn = autocommit(self.writer()).await?;
                sqlx::query("INSERT INTO mfa_challenges (id, user_id, digest, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(challenge.id)
                    .bind(challenge.user_id.as_uuid())
                    .bind(challenge.digest.as_bytes())
                    .bind(challenge.purpose.as_str())
                    .bind(challenge.created_at)
                    .bind(challenge.expires_at)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(())
            }

            async fn challenge_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<ChallengeRecord>> {
                let sql = format!(
                    "SELECT c.id AS challenge_id, c.purpose, c.expires_at, c.attempts, c.code_method, c.code_digest, c.code_expires_at, \
                     c.completed_at, c.passkey_state, {USER_COLUMNS} FROM mfa_challenges c JOIN users u ON u.id = c.user_id WHERE c.digest = $1"
                );
                let Some(row) = sqlx::query(&sql).bind(digest.as_bytes()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                let purpose: String = row.try_get("purpose")?;
                let code_method: Option<String> = row.try_get("code_method")?;
                Ok(Some(ChallengeRecord {
                    id: row.try_get("challenge_id")?,
                    user: user_from_row(&row)?,
                    purpose: match purpose.as_str() {
                        "login" => ChallengePurpose::Login,
                        "enroll" => ChallengePurpose::Enroll,
                        _ => return Err(StoreError::Corrupt("unknown challenge purpose")),
                    },
                    expires_at: row.try_get("expires_at")?,
                    attempts: row.try_get("attempts")?,
                    code_method: code_method.as_deref().and_then(FactorKind::parse),
                    code_digest: row.try_get("code_digest")?,
                    code_expires_at: row.try_get("code_expires_at")?,
                    completed_at: row.try_get("completed_at")?,
                    passkey_state: row.try_get("passkey_state")?,
                }))
            }

            async fn set_challenge_code(&self, id: Uuid, method: FactorKind, digest: &[u8; 32], expires_at: DateTime<Utc>) -> StoreResult<()> {
                let mut conn = autocommit(self.writer()).await?;
                sqlx::query("UPDATE mfa_challenges SET code_method = $1, code_digest = $2, code_expires_at = $3 WHERE id = $4")
                    .bind(method.as_str())
                    .bind(digest.as_slice())
                    .bind(expires_at)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(())
            }

            async fn count_challenge_attempt(&self, id: Uuid) -> StoreResult<i32> {
                let mut conn = autocommit(self.writer()).await?;
                let attempts: Option<i32> = sqlx::query_scalar("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(attempts.unwrap_or(i32::MAX))
            }

            async fn complete_challenge(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let completed = sqlx::query("UPDATE mfa_challenges SET completed_at = $1 WHERE id = $2 AND completed_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(completed.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use sql_mfa;
