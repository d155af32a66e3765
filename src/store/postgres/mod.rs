//! PostgreSQL, for several instances on one database. Concurrency is the
//! database's job: unique indexes for duplicates, `SKIP LOCKED` so outbox
//! workers on different instances never take the same message.

mod limits;
mod register;
mod session;

use std::num::NonZeroU32;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres};

/// How long a pooled connection may sit unused before it is pinged on
/// acquire.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub(super) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub(super) async fn connect(
        url: &str,
        max_connections: NonZeroU32,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.get())
            .acquire_timeout(Duration::from_secs(5))
            // sqlx pings on every acquire by default: one more round trip to
            // the server each time (a sign-up's transaction is six). A busy
            // connection has just proven itself; only one idle for a while (a
            // restarted server, a dropped link) is checked first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        // sqlx takes an advisory lock, so instances starting together migrate once.
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }
}

super::sql::sql_store!(PgStore, Postgres, skip_locked = "FOR UPDATE SKIP LOCKED");
