//! The audit trail.

macro_rules! sql_audit {
    ($store:ty) => {
        #[async_trait]
        impl AuditStore for $store {
            async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
                // One statement: on PostgreSQL no BEGIN and COMMIT round trips.
                if let Some(mut insert) = audits_insert(std::slice::from_ref(event)) {
                    let mut conn = autocommit(self.writer()).await?;
                    insert.build().execute(&mut *conn).await?;
                    conn.commit().await?;
                }
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
                rows.iter().map(audit_record).collect()
            }

            async fn account_activity(
                &self,
                user_id: UserId,
                events: &[&'static str],
                before: Option<i64>,
                limit: i64,
            ) -> StoreResult<Vec<(i64, AuditRecord)>> {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                // `audit_log_user` (user_id, at) finds the account's rows in
                // time order; `id` orders what happened in the same instant.
                let mut query = sqlx::QueryBuilder::<Db>::new(
                    "SELECT id, at, event, outcome, user_id, ip, user_agent, detail FROM audit_log \
                     WHERE user_id = ",
                );
                query.push_bind(user_id.as_uuid()).push(" AND event IN (");
                let mut list = query.separated(", ");
                for event in events {
                    list.push_bind(*event);
                }
                list.push_unseparated(")");
                if let Some(before) = before {
                    // After the page's last entry in the same order; an id
                    // of another account's entry finds nothing to page from.
                    query
                        .push(" AND (at, id) < (SELECT at, id FROM audit_log WHERE id = ")
                        .push_bind(before)
                        .push(" AND user_id = ")
                        .push_bind(user_id.as_uuid())
                        .push(")");
                }
                query.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(limit);
                let rows = query.build().fetch_all(self.reader()).await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("id")?, audit_record(row)?)))
                    .collect()
            }

            async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
                // Newest first to apply the limit, then turned around: the
                // last `limit` events, read top to bottom like a log.
                let rows = sqlx::query(
                    "SELECT a.id, a.at, a.event, a.outcome, a.user_id, u.email, a.ip, a.user_agent, a.detail \
                     FROM audit_log a LEFT JOIN users u ON u.id = a.user_id \
                     WHERE ($1 IS NULL OR a.user_id = $1) AND ($2 IS NULL OR a.at >= $2) \
                     ORDER BY a.id DESC LIMIT $3",
                )
                .bind(filter.user_id.map(|id| id.as_uuid()))
                .bind(filter.since)
                .bind(filter.limit)
                .fetch_all(self.reader())
                .await?;
                let mut entries = rows
                    .iter()
                    .map(|row| {
                        Ok(AuditEntry {
                            id: row.try_get("id")?,
                            at: row.try_get("at")?,
                            event: row.try_get("event")?,
                            outcome: row.try_get("outcome")?,
                            user_id: row.try_get("user_id")?,
                            email: row.try_get("email")?,
                            ip: row.try_get("ip")?,
                            user_agent: row.try_get("user_agent")?,
                            detail: row.try_get("detail")?,
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                entries.reverse();
                Ok(entries)
            }
        }

        fn audit_record(row: &<Db as sqlx::Database>::Row) -> StoreResult<AuditRecord> {
            Ok(AuditRecord {
                at: row.try_get("at")?,
                event: row.try_get("event")?,
                outcome: row.try_get("outcome")?,
                user_id: row.try_get("user_id")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
                detail: row.try_get("detail")?,
            })
        }
    };
}

pub(crate) use sql_audit;
