//! PostgreSQL, for several instances on one database. Concurrency is the
//! database's job: unique indexes for duplicates, `SKIP LOCKED` so outbox
//! workers on different instances never take the same message.

mod limits;
mod register;
mod session;

use std::num::NonZeroU32;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
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

type Tx = sqlx::Transaction<'static, Postgres>;
type Writer = PgPool;

/// Begins a transaction on `pool`, finishing the `BEGIN` round trip even if
/// the caller is dropped meanwhile (its client hung up, or the request timed
/// out). sqlx 0.8 forgets a PostgreSQL transaction whose `BEGIN` was on the
/// wire when its future was dropped, and the pool then hands that
/// connection, still inside the transaction, to the next request (sqlx
/// issue 4393): its writes would wait there for someone else's COMMIT, or
/// vanish with a ROLLBACK. In a task of its own the `BEGIN` completes, and a
/// transaction nobody awaits any more is dropped, which rolls it back.
async fn begin(pool: &PgPool) -> Result<Tx, sqlx::Error> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin().await }).await {
        Ok(begun) => begun,
        // The task panicked, or the runtime is shutting down.
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}

/// A connection for one statement, which commits by itself: the same round
/// trips as running it on the pool. (SQLite's counterpart is a transaction,
/// committed with its group.)
async fn autocommit(pool: &PgPool) -> Result<Autocommit, sqlx::Error> {
    Ok(Autocommit(pool.acquire().await?))
}

#[derive(Debug)]
struct Autocommit(PoolConnection<Postgres>);

impl Autocommit {
    /// Nothing left to do: each statement committed when it ran.
    async fn commit(self) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl Deref for Autocommit {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.0
    }
}

impl DerefMut for Autocommit {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

super::sql::sql_store!(PgStore, Postgres, skip_locked = "FOR UPDATE SKIP LOCKED");
