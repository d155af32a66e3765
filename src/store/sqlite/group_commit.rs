//! Group commit: SQLite's one writing connection, shared by every request
//! that writes.
//!
//! A commit waits for the disk to flush (`synchronous=FULL`), and while the
//! cores are busy hashing passwords that flush takes milliseconds on a
//! virtual disk, during which the one writer can do nothing else: a flush
//! per write caps the writes at one per flush, whatever the cores could do.
//! Here a request's transaction is a savepoint inside a batch transaction.
//! The requests that arrive while one batch is flushing write into the
//! next, and one flush makes all of them durable. Nobody waits on purpose:
//! alone, a request is its own batch, and under load the batches grow by
//! themselves until the flushes keep up.
//!
//! A request is answered only once its batch is committed, so nothing is
//! acknowledged before it is on disk; if the batch's commit fails, every
//! request in it gets the error and none of it was written. A request that
//! rolls back waits for its batch too: what it read, and answers from, may
//! be the batch's other writes. One that just drops its transaction (an
//! early return with a refusal) does not; in a batch whose commit then
//! fails (a full or failing disk), its refusal may have been read from a
//! write that did not last.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::SqliteConnection;
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, watch};

/// The writing connection and the task that commits its batches.
#[derive(Debug, Clone)]
pub(crate) struct GroupWriter {
    slot: Arc<Mutex<Slot>>,
    wake: mpsc::Sender<()>,
}

#[derive(Debug)]
struct Slot {
    conn: SqliteConnection,
    /// The batch transaction, while one is open.
    batch: Option<Batch>,
    /// A request's savepoint was neither released nor rolled back (its
    /// future was dropped, or a statement failed on the way): the next
    /// holder rolls it back before anything else.
    abandoned: bool,
}

/// An open batch transaction, and where its outcome is published to the
/// requests whose savepoints were released into it.
#[derive(Debug)]
struct Batch {
    outcome: watch::Sender<Option<Outcome>>,
}

type Outcome = Result<(), Arc<sqlx::Error>>;

/// Undoes a request's savepoint and ends it.
const UNDO: &[&str] = &["ROLLBACK TO request", "RELEASE request"];

/// One request's transaction: a savepoint in the current batch. It holds
/// the writer until it is committed (released into the batch) or rolled
/// back; dropped, it is rolled back by the writer's next holder.
#[derive(Debug)]
pub(crate) struct WriteTx {
    slot: OwnedMutexGuard<Slot>,
    wake: mpsc::Sender<()>,
    settled: bool,
}

/// Why a request's write was not committed: its batch's commit failed.
#[derive(Debug, thiserror::Error)]
#[error("the batch this write was part of failed to commit")]
struct BatchFailed(#[source] Arc<sqlx::Error>);

impl GroupWriter {
    /// Takes the writing connection, with no transaction open on it, and
    /// starts the task that commits its batches; the task ends when the
    /// last clone of the writer is dropped.
    pub(crate) fn start(conn: SqliteConnection) -> Self {
        let slot = Arc::new(Mutex::new(Slot {
            conn,
            batch: None,
            abandoned: false,
        }));
        // One pending wake-up is enough: the committer commits everything
        // released before it takes the connection.
        let (wake, woken) = mpsc::channel(1);
        tokio::spawn(commit_batches(Arc::clone(&slot), woken));
        Self { slot, wake }
    }

    /// Opens a savepoint in the current batch, opening a batch if none is.
    /// In a task of its own, so that a caller dropped meanwhile never leaves
    /// the connection in a state nobody knows: the `WriteTx` that the task
    /// returns to nobody is dropped, and rolled back.
    pub(crate) async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        let writer = self.clone();
        match tokio::spawn(writer.open()).await {
            Ok(opened) => opened,
            // The task panicked, or the runtime is shutting down.
            Err(_) => Err(sqlx::Error::PoolClosed),
        }
    }

    async fn open(self) -> Result<WriteTx, sqlx::Error> {
        let mut slot = Arc::clone(&self.slot).lock_owned().await;
        slot.settle().await;
        if slot.batch.is_none() {
            if let Err(error) = run(&mut slot.conn, "BEGIN IMMEDIATE").await {
                if super::is_busy(&error) {
                    return Err(error);
                }
                // A transaction still open after a failed batch whose own
                // ROLLBACK failed would refuse every BEGIN from now on: end
                // it, and try once more.
                let _ = run(&mut slot.conn, "ROLLBACK").await;
                run(&mut slot.conn, "BEGIN IMMEDIATE").await?;
            }
            let (outcome, _) = watch::channel(None);
            slot.batch = Some(Batch { outcome });
        }
        let mut tx = WriteTx {
            slot,
            wake: self.wake,
            // Until the savepoint exists there is nothing to roll back; a
            // failed SAVEPOINT still leaves the batch to its committer.
            settled: true,
        };
        run(&mut tx.slot.conn, "SAVEPOINT request").await?;
        tx.settled = false;
        Ok(tx)
    }
}

impl WriteTx {
    /// Releases the savepoint into its batch, hands the writer on, and
    /// returns once the batch is committed: then, and only then, the
    /// request's writes are durable.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        // In a task of its own: a RELEASE on its way runs whether anyone
        // waits for it or not, and a caller dropped meanwhile (its client
        // hung up, the request timed out) must not leave a released
        // savepoint looking abandoned, whose rollback would then fail and
        // take the whole batch with it.
        let outcome = finish(self, &["RELEASE request"]).await?;
        wait_for(outcome).await
    }

    /// Undoes the request's writes; the batch goes on without them. Returns
    /// once the batch is committed too, since what the request read (and
    /// answers from) may be other requests' writes in that batch.
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        let outcome = finish(self, UNDO).await?;
        wait_for(outcome).await
    }
}

/// Runs `statements` to end the savepoint and hands the writer on, in a
/// task that completes even if its caller is dropped; the batch's outcome
/// to wait for.
async fn finish(
    mut tx: WriteTx,
    statements: &'static [&'static str],
) -> Result<watch::Receiver<Option<Outcome>>, sqlx::Error> {
    let finished = tokio::spawn(async move {
        for statement in statements {
            run(&mut tx.slot.conn, statement).await?;
        }
        let Some(batch) = &tx.slot.batch else {
            // A savepoint is only ever opened inside a batch.
            return Err(sqlx::Error::Protocol("a savepoint outside a batch".into()));
        };
        let outcome = batch.outcome.subscribe();
        tx.settled = true;
        // Hands the writer on, and wakes the committer.
        drop(tx);
        Ok(outcome)
    });
    match finished.await {
        Ok(finished) => finished,
        // The task panicked, or the runtime is shutting down.
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}

/// Waits for the batch's outcome.
async fn wait_for(mut outcome: watch::Receiver<Option<Outcome>>) -> Result<(), sqlx::Error> {
    let Ok(outcome) = outcome.wait_for(Option::is_some).await else {
        // The committer is gone: the runtime is shutting down.
        return Err(sqlx::Error::PoolClosed);
    };
    match &*outcome {
        Some(Err(failed)) => Err(sqlx::Error::Io(std::io::Error::other(BatchFailed(
            Arc::clone(failed),
        )))),
        _ => Ok(()),
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.settled {
            self.slot.abandoned = true;
        }
        // Whatever happened, the batch is open and someone must end it.
        let _ = self.wake.try_send(());
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.slot.conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.slot.conn
    }
}

impl Slot {
    /// Rolls back an abandoned savepoint. If that fails, the savepoint is
    /// gone, and maybe the whole batch with it (after some errors, SQLite
    /// rolls the transaction back by itself): the batch then fails as a
    /// whole, rather than commit what may be half of it.
    async fn settle(&mut self) {
        if !std::mem::take(&mut self.abandoned) {
            return;
        }
        for statement in UNDO {
            if let Err(error) = run(&mut self.conn, statement).await {
                self.fail_batch(error).await;
                return;
            }
        }
    }

    async fn fail_batch(&mut self, error: sqlx::Error) {
        // Nothing to roll back when SQLite already did.
        let _ = run(&mut self.conn, "ROLLBACK").await;
        if let Some(batch) = self.batch.take() {
            batch.outcome.send_replace(Some(Err(Arc::new(error))));
        }
    }
}

/// The committer: woken when a request hands the writer on, it queues for
/// the connection behind the requests already waiting (tokio's mutex is
/// fair), so their savepoints join the batch, and then commits it.
async fn commit_batches(slot: Arc<Mutex<Slot>>, mut woken: mpsc::Receiver<()>) {
    while woken.recv().await.is_some() {
        let mut slot = slot.lock().await;
        slot.settle().await;
        let Some(batch) = slot.batch.take() else {
            continue;
        };
        match run(&mut slot.conn, "COMMIT").await {
            Ok(()) => {
                batch.outcome.send_replace(Some(Ok(())));
            }
            Err(error) => {
                slot.batch = Some(batch);
                slot.fail_batch(error).await;
            }
        }
    }
}

async fn run(conn: &mut SqliteConnection, statement: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(statement).execute(conn).await.map(drop)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{Connection as _, SqliteConnection};

    use tokio::task::JoinHandle;

    use super::{GroupWriter, WriteTx};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A writer on a fresh file with one table, and a second connection
    /// that sees only what is committed.
    async fn fixture(
        dir: &tempfile::TempDir,
    ) -> Result<(GroupWriter, SqliteConnection), sqlx::Error> {
        let options = SqliteConnectOptions::from_str("sqlite://group.db")?
            .filename(dir.path().join("group.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        sqlx::query("CREATE TABLE rows (id INTEGER PRIMARY KEY)")
            .execute(&mut conn)
            .await?;
        let reader = SqliteConnection::connect_with(&options).await?;
        Ok((GroupWriter::start(conn), reader))
    }

    async fn insert(tx: &mut WriteTx, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO rows (id) VALUES ($1)")
            .bind(id)
            .execute(&mut **tx)
            .await
            .map(drop)
    }

    /// Writes row `id` and commits it, in a task: a request of its own.
    fn write_in_task(writer: &GroupWriter, id: i64) -> JoinHandle<Result<(), sqlx::Error>> {
        let writer = writer.clone();
        tokio::spawn(async move {
            let mut tx = writer.begin().await?;
            insert(&mut tx, id).await?;
            tx.commit().await
        })
    }

    async fn ids(reader: &mut SqliteConnection) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM rows ORDER BY id")
            .fetch_all(reader)
            .await
    }

    /// Waits long enough for spawned tasks to queue for the writer, which
    /// they do at their first poll.
    async fn let_them_queue() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_is_committed_before_its_commit_returns() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (writer, mut reader) = fixture(&dir).await?;
        let tasks: Vec<_> = (0..40).map(|id| write_in_task(&writer, id)).collect();
        for task in tasks {
            task.await??;
        }
        // Every write was acknowledged, so every one is on disk for another
        // connection to read.
        assert_eq!(ids(&mut reader).await?, (0..40).collect::<Vec<_>>());
        let mut tx = writer.begin().await?;
        insert(&mut tx, 40).await?;
        tx.commit().await?;
        assert!(ids(&mut reader).await?.contains(&40));
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_queued_behind_an_open_one_commit_with_it() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (writer, mut reader) = fixture(&dir).await?;
        let mut first = writer.begin().await?;
        insert(&mut first, 0).await?;
        let queued: Vec<_> = (1..6).map(|id| write_in_task(&writer, id)).collect();
        let_them_queue().await;
        // Nothing is visible before the batch commits.
        assert_eq!(ids(&mut reader).await?, Vec::<i64>::new());
        first.commit().await?;
        // The first write's batch held the five queued behind it: one commit.
        assert_eq!(ids(&mut reader).await?, (0..6).collect::<Vec<_>>());
        for task in queued {
            task.await??;
        }
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_or_dropped_write_leaves_its_batch_whole() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (writer, mut reader) = fixture(&dir).await?;
        let mut first = writer.begin().await?;
        insert(&mut first, 1).await?;
        // In the same batch: one write fails half-way and is dropped, one is
        // abandoned with no error, one is rolled back, one succeeds.
        let failing = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = writer.begin().await?;
                insert(&mut tx, 2).await?;
                insert(&mut tx, 1).await
            }
        });
        let abandoned = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = writer.begin().await?;
                insert(&mut tx, 3).await
            }
        });
        let rolled_back = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = writer.begin().await?;
                insert(&mut tx, 4).await?;
                tx.rollback().await
            }
        });
        let last = write_in_task(&writer, 5);
        let_them_queue().await;
        first.commit().await?;
        assert!(failing.await?.is_err(), "a duplicate key is refused");
        abandoned.await??;
        rolled_back.await??;
        last.await??;
        assert_eq!(ids(&mut reader).await?, vec![1, 5]);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_given_up_half_way_still_lands_and_spares_its_batch() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (writer, mut reader) = fixture(&dir).await?;
        let mut first = writer.begin().await?;
        insert(&mut first, 1).await?;
        let impatient = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = writer.begin().await?;
                insert(&mut tx, 2).await?;
                // Polled exactly once, so its RELEASE is on its way, then
                // dropped: a request timing out just then. (A zero timeout
                // let a fast commit finish first now and then.)
                let given_up = tokio::select! {
                    biased;
                    _ = tx.commit() => false,
                    () = std::future::ready(()) => true,
                };
                Ok::<_, sqlx::Error>(given_up)
            }
        });
        let_them_queue().await;
        first.commit().await?;
        assert!(
            impatient.await??,
            "the commit was given up before it finished"
        );
        let mut tx = writer.begin().await?;
        insert(&mut tx, 3).await?;
        tx.commit().await?;
        assert_eq!(ids(&mut reader).await?, vec![1, 2, 3]);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_dropped_before_its_turn_changes_nothing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (writer, mut reader) = fixture(&dir).await?;
        let mut first = writer.begin().await?;
        insert(&mut first, 1).await?;
        let waiting = write_in_task(&writer, 2);
        let_them_queue().await;
        // Its client hangs up while it waits for the writer: the savepoint
        // opened for it is rolled back, and the batch goes on.
        waiting.abort();
        first.commit().await?;
        let mut tx = writer.begin().await?;
        insert(&mut tx, 3).await?;
        tx.commit().await?;
        assert_eq!(ids(&mut reader).await?, vec![1, 3]);
        Ok(())
    }
}
