//! The embedded default: one SQLite file in WAL mode. SQLite allows one
//! writer at a time, so writes go through a single connection (queued for
//! it instead of failing with SQLITE_BUSY), committed in groups
//! (`group_commit.rs`), while reads use several.

mod group_commit;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection as _, Sqlite};

use group_commit::{GroupWriter, WriteTx};

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub(super) struct SqliteStore {
    writer: GroupWriter,
    reader: SqlitePool,
}

impl SqliteStore {
    pub(super) async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed sign-up survives a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Every request's write is a savepoint in a batch transaction
            // (`group_commit.rs`), so SQLite keeps the pages it changes in a
            // sub-journal. On a temporary file that journal spills to disk
            // past 64 KiB, which a sign-up (account, link, email, trail)
            // reaches: 70 µs more per write, and a sign-up of a new address
            // 200 µs slower than one of a taken address, which the timing
            // tests caught. In memory it never spills.
            .pragma("temp_store", "memory")
            .busy_timeout(BUSY_TIMEOUT);
        let mut conn = open_writer(&options).await?;
        // Instances starting together on a fresh file would each find no
        // migration applied and each run the first (sqlx locks only on
        // PostgreSQL): the whole run holds SQLite's write lock from its
        // first read, so the others wait for it and then find nothing to do.
        // Each migration becomes a savepoint inside this transaction.
        let mut migration = conn.begin_with("BEGIN IMMEDIATE").await?;
        // `run` takes any `Acquire`, which makes the caller's future not
        // provably `Send`; sqlx offers `run_direct` for a connection in hand.
        MIGRATOR.run_direct(&mut *migration).await?;
        migration.commit().await?;
        let writer = GroupWriter::start(conn);
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    fn writer(&self) -> &GroupWriter {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

/// A request's transaction: a savepoint in the writer's current batch.
type Tx = WriteTx;
type Writer = GroupWriter;

/// The writer for a transaction of several statements.
async fn begin(writer: &GroupWriter) -> Result<Tx, sqlx::Error> {
    writer.begin().await
}

/// The writer for one statement, which on SQLite is a transaction like any
/// other, committed with its batch.
async fn autocommit(writer: &GroupWriter) -> Result<Tx, sqlx::Error> {
    writer.begin().await
}

/// The single writing connection. Opening a new file while another instance
/// turns on its write-ahead log can be refused at once with `SQLITE_BUSY`
/// (SQLite does not consult the busy timeout there): startup tries again
/// for as long as that timeout would have waited.
async fn open_writer(options: &SqliteConnectOptions) -> Result<SqliteConnection, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let opened = SqliteConnection::connect_with(options).await;
        match opened {
            Err(error) if is_busy(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            opened => return opened,
        }
    }
}

/// `SQLITE_BUSY` (another connection holds the lock past the busy timeout)
/// or `SQLITE_LOCKED`, or one of their extended codes. Only a SQLite error:
/// PostgreSQL's codes are SQLSTATEs, some of which read as numbers too.
pub(super) fn is_busy(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.try_downcast_ref::<sqlx::sqlite::SqliteError>())
        .and_then(sqlx::error::DatabaseError::code)
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

super::sql::sql_store!(SqliteStore, Sqlite, skip_locked = "");
super::sql::sql_register_in_steps!(SqliteStore);
super::sql::sql_start_session_in_steps!(SqliteStore);
super::sql::sql_take_quotas_in_steps!(SqliteStore);
