//! The keys that sign access tokens.

macro_rules! sql_keys {
    ($store:ty) => {
        use crate::store::{KeyStore, NewSigningKey, SigningKeyRecord};

        fn signing_key_from_row(row: &DbRow) -> StoreResult<SigningKeyRecord> {
            Ok(SigningKeyRecord {
                kid: row.try_get("kid")?,
                algorithm: row.try_get("algorithm")?,
                public_key: row.try_get("public_key")?,
                sealed_private_key: row.try_get("private_key")?,
                created_at: row.try_get("created_at")?,
                retired_at: row.try_get("retired_at")?,
            })
        }

        // `ON CONFLICT DO NOTHING` with no target covers the partial unique
        // index `signing_keys_current`: of two instances inserting a first
        // key at once, one inserts and the other learns it lost.
        const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys (kid, algorithm, public_key, private_key, created_at) \
                                          VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";

        #[async_trait]
        impl KeyStore for $store {
            async fn signing_keys(&self, algorithm: &str, retired_after: DateTime<Utc>) -> StoreResult<Vec<SigningKeyRecord>> {
                let rows = sqlx::query(
                    "SELECT kid, algorithm, public_key, private_key, created_at, retired_at FROM signing_keys \
                     WHERE algorithm = $1 AND (retired_at IS NULL OR retired_at > $2) \
                     ORDER BY retired_at IS NOT NULL, retired_at DESC, created_at DESC, kid",
                )
                .bind(algorithm)
                .bind(retired_after)
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(signing_key_from_row).collect()
            }

            async fn insert_first_signing_key(&self, key: &NewSigningKey) -> StoreResult<bool> {
                let mut conn = autocommit(self.writer()).await?;
                let inserted = sqlx::query(INSERT_SIGNING_KEY)
                    .bind(&key.kid)
                    .bind(key.algorithm)
                    .bind(&key.public_key)
                    .bind(&key.sealed_private_key)
                    .bind(key.created_at)
                    .execute(&mut *conn)
                    .await?;
                conn.commit().await?;
                Ok(inserted.rows_affected() == 1)
            }

            async fn rotate_signing_key(&self, key: &NewSigningKey) -> StoreResult<bool> {
                let mut tx = begin(self.writer()).await?;
                sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE algorithm = $2 AND retired_at IS NULL")
                    .bind(key.created_at)
                    .bind(key.algorithm)
                    .execute(&mut *tx)
                    .await?;
                // On PostgreSQL a rotation that committed meanwhile made its own
                // key current after our UPDATE's snapshot: the insert then
                // conflicts, and rolling back leaves the winner alone.
                let inserted = sqlx::query(INSERT_SIGNING_KEY)
                    .bind(&key.kid)
                    .bind(key.algorithm)
                    .bind(&key.public_key)
                    .bind(&key.sealed_private_key)
                    .bind(key.created_at)
                    .execute(&mut *tx)
                    .await?;
                if inserted.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

pub(crate) use sql_keys;
