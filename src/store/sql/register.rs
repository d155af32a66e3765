//! A sign-up as a transaction of several statements, for SQLite, which
//! cannot write from a `WITH` clause. PostgreSQL writes one in a single
//! statement instead (`store/postgres/register.rs`).

macro_rules! sql_register_in_steps {
    ($store:ty) => {
        /// A new account, or the one that holds the address while nobody has
        /// proven it (pending, not disabled) made over to this sign-up; the
        /// account's id either way, none when the address is otherwise taken.
        /// The unique index is the judge: of two racing sign-ups, one inserts
        /// and the other replaces, and neither fails.
        const INSERT_OR_REPLACE: &str = "\
            INSERT INTO users (id, name, email, email_key, password_hash, status, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
            ON CONFLICT (email_key) DO UPDATE SET name = excluded.name, email = excluded.email, \
                password_hash = excluded.password_hash, created_at = excluded.created_at, updated_at = excluded.updated_at, invited_at = NULL \
            WHERE users.status = 'pending' AND users.disabled_at IS NULL \
            RETURNING id";

        impl $store {
            async fn register_account(&self, account: &NewAccount<'_>, token: &NewToken, mail: &NewMessage, meta: &RequestMeta, taken: Option<&TakenAddress<'_>>) -> Result<Registration, RegisterError> {
                let user = account.user;
                let mut tx = begin(self.writer()).await.map_err(StoreError::from)?;
                let id: Option<Uuid> = sqlx::query_scalar(INSERT_OR_REPLACE)
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
                let Some(id) = id.map(UserId::from_uuid) else {
                    let Some(taken) = taken else {
                        return Err(RegisterError::EmailTaken);
                    };
                    // As many statements as a new account's (a lookup for the
                    // token), so the answer takes as long.
                    let (owner, email): (Uuid, String) = sqlx::query_as("SELECT id, email FROM users WHERE email_key = $1")
                        .bind(user.email.unique_key())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                    let owner = UserId::from_uuid(owner);
                    let notice = NewMessage { user_id: Some(owner), recipient: email, ..taken.notice.clone() };
                    let event = AuditEvent { user_id: Some(owner), ..taken.event.clone() };
                    insert_message_with(&mut tx, &notice, &event.meta, Some(&event)).await?;
                    tx.commit().await.map_err(StoreError::from)?;
                    return Ok(Registration::OwnerNotified(owner));
                };
                // A replaced account's older links and their unsent emails
                // went in the same statement, by trigger (the SQLite
                // migration `replaced_sign_up` says why), so a replaced
                // sign-up runs as many statements as a new one.
                let replaced = id != user.id;
                let mut registered = AuditEvent::new(user.created_at, AuditKind::UserRegistered, Outcome::Success, Some(id), meta);
                if replaced {
                    registered = registered.with_detail(crate::store::REPLACED_SIGN_UP);
                }
                // The email names the account it went to: a replaced one's id.
                let replaced_mail;
                let mail = if replaced {
                    replaced_mail = NewMessage { user_id: Some(id), ..mail.clone() };
                    &replaced_mail
                } else {
                    mail
                };
                insert_token(&mut tx, id, token).await?;
                insert_message_with(&mut tx, mail, meta, Some(&registered)).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(if replaced { Registration::Replaced(id) } else { Registration::Created })
            }
        }
    };
}

pub(crate) use sql_register_in_steps;
