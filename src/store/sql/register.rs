//! A sign-up as a transaction of several statements, for SQLite, which
//! cannot write from a `WITH` clause. PostgreSQL writes one in a single
//! statement instead (`store/postgres/register.rs`).

macro_rules! sql_register_in_steps {
    ($store:ty) => {
        impl $store {
            async fn register_account(&self, account: &NewAccount<'_>, token: &NewToken, mail: &NewMessage, meta: &RequestMeta, taken: Option<&TakenAddress<'_>>) -> Result<Registration, RegisterError> {
                let user = account.user;
                let mut tx = begin(self.writer()).await.map_err(StoreError::from)?;
                // The unique index is the judge: of two racing sign-ups, exactly one
                // inserts. DO NOTHING rather than an error: the transaction goes on.
                let inserted: Option<Uuid> = sqlx::query_scalar(
                    "INSERT INTO users (id, name, email, email_key, password_hash, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (email_key) DO NOTHING RETURNING id",
                )
                .bind(user.id.as_uuid())
                .bind(user.name.as_str())
                .bind(user.email.as_str())
                .bind(user.email.unique_key())
                .bind(account.password_hash.as_str())
                .bind(user.status.as_str())
                .bind(user.created_at)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                if inserted.is_none() {
                    let Some(taken) = taken else {
                        return Err(RegisterError::EmailTaken);
                    };
                    // As many statements as a new account's (a lookup for the
                    // token), so the answer takes as long.
                    let (owner, email, status): (Uuid, String, String) =
                        sqlx::query_as("SELECT id, email, status FROM users WHERE email_key = $1")
                            .bind(user.email.unique_key())
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(StoreError::from)?;
                    let owner = UserId::from_uuid(owner);
                    let notice = if status == UserStatus::Pending.as_str() { taken.pending } else { taken.active };
                    let notice = NewMessage { user_id: Some(owner), recipient: email, ..notice.clone() };
                    let event = AuditEvent { user_id: Some(owner), ..taken.event.clone() };
                    insert_message_with(&mut tx, &notice, &event.meta, Some(&event)).await?;
                    tx.commit().await.map_err(StoreError::from)?;
                    return Ok(Registration::OwnerNotified(owner));
                }
                let registered = AuditEvent::new(user.created_at, AuditKind::UserRegistered, Outcome::Success, Some(user.id), meta);
                insert_token(&mut tx, user.id, token).await?;
                insert_message_with(&mut tx, mail, meta, Some(&registered)).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(Registration::Created)
            }
        }
    };
}

pub(crate) use sql_register_in_steps;
