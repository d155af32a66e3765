//! The audit trail.

macro_rules! sql_audit {
    ($store:ty) => {
        #[async_trait]
        impl AuditStore for $store {
            async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                insert_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_trail(
                &self,
                user_id: Option<UserId>,
                limit: i64,
            ) -> StoreResult<Vec<AuditRecord>> {
                let rows = sqlx::query(
                    "SELECT at, event, outcome, user_id, ip, user_agent, detail FROM audit_log \
                     WHERE ($1 IS NULL OR user_id = $1) ORDER BY id LIMIT $2",
                )
                .bind(user_id.map(|id| id.as_uuid()))
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(AuditRecord {
                            at: row.try_get("at")?,
                            event: row.try_get("event")?,
                            outcome: row.try_get("outcome")?,
                            user_id: row.try_get("user_id")?,
                            ip: row.try_get("ip")?,
                            user_agent: row.try_get("user_agent")?,
                            detail: row.try_get("detail")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use sql_audit;
