//! Group commit: the small write transactions of concurrent requests (a POST's compose row, its
//! job and its state message) run one after another on a committing thread, as many as are
//! waiting together in **one** transaction, each in its own savepoint. SQLite has one
//! committing thread; PostgreSQL several, each taking the jobs waiting when it is free.
//!
//! Why: SQLite has one writer. With a transaction per request, concurrent POSTs queue on the
//! file lock inside SQLite's busy handler, which sleeps and polls (1, 2, 5, 10, … ms) instead of
//! being woken; under a mix of reads and 2% POSTs that sleeping was the p99 (45 ms). Here the
//! writers queue in a channel instead, in order, and one commit (one WAL append, one `fsync` on
//! PostgreSQL) acknowledges all of them.
//!
//! The contract of each job is that of its own transaction: it is answered only after the
//! commit that holds it (an acknowledged write is durable as far as the backend's commit is);
//! a job whose statements fail is rolled back to its savepoint alone and answered with its
//! error, the others commit; a failed commit answers every job of the batch with the error.

use std::sync::mpsc;

use diesel::connection::Connection;
use diesel::result::Error as DieselError;

use super::{AnyConnection, DbError, DbPool};

/// At most this many jobs share a transaction (a bound on how long one commit holds the lock).
pub const MAX_BATCH: usize = 256;

/// Committing threads on PostgreSQL, at most (see [`GroupCommit::for_backend`]). In the
/// issue-19 mix the p99 was 4.68–5.86 ms with two, 3.93–4.02 ms with four.
pub const POSTGRES_COMMITTERS: usize = 4;

/// One job: `run` inside the shared transaction, then `answer` once the outcome is known.
trait Job: Send {
    /// Runs the job's statements, inside a savepoint of its own when `savepoint`; keeps its
    /// output for [`Job::answer`]. Without a savepoint, a failure of the job's statements is
    /// [`BatchError::Retry`]: the batch is rolled back and run again with savepoints.
    fn run(&mut self, conn: &mut AnyConnection, savepoint: bool) -> Result<(), BatchError>;
    /// Answers the waiter: the job's own outcome when the batch committed, else `failure`.
    fn answer(self: Box<Self>, failure: Option<&DbError>);
}

/// Why a batch's transaction ends without its commit.
#[derive(Debug)]
enum BatchError {
    /// A job's statements failed in the batch run without savepoints.
    Retry,
    Db(DieselError),
}

impl From<DieselError> for BatchError {
    fn from(e: DieselError) -> Self {
        Self::Db(e)
    }
}

struct Typed<T, F> {
    work: F,
    out: Option<Result<T, DieselError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, DbError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: Fn(&mut AnyConnection) -> Result<T, DieselError> + Send,
{
    fn run(&mut self, conn: &mut AnyConnection, savepoint: bool) -> Result<(), BatchError> {
        let work = &self.work;
        // A nested transaction is a savepoint: a failing job takes back only its own writes.
        let out = if savepoint {
            conn.transaction(work)
        } else {
            work(conn)
        };
        let outcome = match &out {
            Ok(_) => Ok(()),
            Err(e) if is_job_error(e) => {
                if !savepoint {
                    return Err(BatchError::Retry);
                }
                Ok(())
            }
            // An error of the connection itself (not of the job's statements) ends the batch.
            Err(_) => Err(BatchError::Db(DieselError::BrokenTransactionManager)),
        };
        self.out = Some(out);
        outcome
    }

    fn answer(self: Box<Self>, failure: Option<&DbError>) {
        let result = match (failure, self.out) {
            // The job's own error stands even if the batch failed afterwards.
            (_, Some(Err(e))) => Err(DbError::from(e)),
            (None, Some(Ok(v))) => Ok(v),
            (Some(f), _) => Err(DbError::Pool(f.to_string())),
            (None, None) => Err(DbError::Pool("the write was not run".into())),
        };
        // The waiter may have gone (client disconnected): the write stands regardless.
        let _ = self.reply.send(result);
    }
}

/// Errors that belong to one job's statements (its savepoint rolled back cleanly), as opposed
/// to errors that leave the connection or transaction unusable.
fn is_job_error(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(..)
            | DieselError::NotFound
            | DieselError::RollbackTransaction
            | DieselError::SerializationError(_)
            | DieselError::DeserializationError(_)
            | DieselError::QueryBuilderError(_)
    )
}

/// The handle requests submit writes through; cheap to clone. The committing thread ends when
/// the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Starts the committing thread, which takes a connection from `pool` for each batch.
    pub fn start(pool: DbPool) -> std::io::Result<Self> {
        Self::start_threads(pool, 1)
    }

    /// The committing threads for `backend`: one on SQLite (it has one writer), and on
    /// PostgreSQL, where a batch's time is mostly round trips to the server and batches commit
    /// side by side, [`POSTGRES_COMMITTERS`] but at most half the pool (the reads keep the
    /// rest).
    pub fn for_backend(pool: DbPool, backend: super::Backend) -> std::io::Result<Self> {
        let n = match backend {
            super::Backend::Sqlite => 1,
            super::Backend::Postgres => POSTGRES_COMMITTERS.min(pool.max_size() as usize / 2),
        };
        Self::start_threads(pool, n)
    }

    /// Starts `n` (at least one) committing threads that take batches in turn from one queue.
    fn start_threads(pool: DbPool, n: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..n.max(1) {
            let (pool, rx) = (pool.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("composed-group-commit-{i}"))
                .spawn(move || commit_loop(&pool, &rx))?;
        }
        Ok(Self { jobs: tx })
    }

    /// Runs `work` in the next group transaction; answers after its commit. `work` is a
    /// transaction of its own in effect: on error only its writes are undone. It may run more
    /// than once (a batch rolled back for another job's failure runs again), so its effects
    /// outside the database must be harmless to repeat.
    pub async fn write<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: Fn(&mut AnyConnection) -> Result<T, DieselError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(Typed {
                work,
                out: None,
                reply,
            }))
            .map_err(|_| DbError::Pool("the group commit thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| DbError::Pool("the group commit thread dropped a write".into()))?
    }
}

fn commit_loop(pool: &DbPool, rx: &std::sync::Mutex<mpsc::Receiver<Box<dyn Job>>>) {
    loop {
        // One thread at a time takes the waiting jobs as its batch; the others wait for the
        // queue meanwhile, and take the jobs that arrive while this batch runs.
        let mut batch = {
            let Ok(rx) = rx.lock() else { return };
            let Ok(first) = rx.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let failure = match pool.get() {
            Ok(mut conn) => run_batch(&mut conn, &mut batch).err(),
            Err(e) => Some(DbError::Pool(e.to_string())),
        };
        if let Some(e) = &failure {
            tracing::error!(error = %e, jobs = batch.len(), "a group commit failed");
        }
        for job in batch {
            job.answer(failure.as_ref());
        }
    }
}

/// The batch in one transaction. First without savepoints (each is a statement, a round trip
/// on PostgreSQL, and jobs rarely fail); if a job's statements fail, the whole transaction is
/// rolled back and the batch runs again with a savepoint per job, so that only the failing
/// job's writes are undone. Jobs are therefore idempotent closures (`Fn`).
fn run_batch(conn: &mut AnyConnection, batch: &mut [Box<dyn Job>]) -> Result<(), DbError> {
    let attempt = |conn: &mut AnyConnection, batch: &mut [Box<dyn Job>], savepoint: bool| {
        super::write_tx(conn, |c| {
            for job in batch.iter_mut() {
                job.run(c, savepoint)?;
            }
            Ok::<_, BatchError>(())
        })
    };
    let outcome = match attempt(conn, batch, false) {
        Err(BatchError::Retry) => attempt(conn, batch, true),
        other => other,
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(BatchError::Db(e)) => Err(DbError::from(e)),
        Err(BatchError::Retry) => Err(DbError::Pool("a job failed outside its savepoint".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;

    fn pool() -> (tempfile::TempDir, DbPool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
        let (pool, _) = crate::db::connect(&url, 4, std::time::Duration::from_secs(5)).unwrap();
        let mut c = pool.get().unwrap();
        diesel::sql_query("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .execute(&mut *c)
            .unwrap();
        (dir, pool)
    }

    fn count(pool: &DbPool) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = pool.get().unwrap();
        diesel::sql_query("SELECT count(*) AS n FROM t")
            .get_result::<N>(&mut *c)
            .unwrap()
            .n
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_commit_and_a_failing_one_is_undone_alone() {
        let (_dir, pool) = pool();
        let gc = GroupCommit::start(pool.clone()).unwrap();
        // Batches run without savepoints first and, when a job fails, again with one
        // savepoint per job.
        two_hundred_writes(gc, &pool).await;
    }

    /// Another connection holds SQLite's write lock: the write waits for it (it does not fail
    /// busy) and lands once the lock is free.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_while_another_connection_writes_waits_for_it() {
        let (_dir, pool) = pool();
        let gc = GroupCommit::start(pool.clone()).unwrap();
        let mut other = pool.get().unwrap();
        other.batch_execute("BEGIN IMMEDIATE").unwrap();
        let t = std::time::Instant::now();
        let write = tokio::spawn({
            let gc = gc.clone();
            async move {
                gc.write(|c| diesel::sql_query("INSERT INTO t (v) VALUES (7)").execute(c))
                    .await
            }
        });
        // Neither failed busy nor landed: it waits.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!write.is_finished(), "the write did not wait for the lock");
        assert_eq!(count(&pool), 0);
        other.batch_execute("COMMIT").unwrap();
        assert_eq!(write.await.unwrap().unwrap(), 1);
        assert!(t.elapsed() >= std::time::Duration::from_millis(200));
        assert_eq!(count(&pool), 1);
    }

    async fn two_hundred_writes(gc: GroupCommit, pool: &DbPool) {
        let mut waits = Vec::new();
        for v in 0..200i64 {
            let gc = gc.clone();
            waits.push(tokio::spawn(async move {
                gc.write(move |c| {
                    diesel::sql_query(format!("INSERT INTO t (v) VALUES ({v})")).execute(c)?;
                    // Every tenth job writes, then fails on a duplicate key: only its own
                    // row is taken back.
                    if v % 10 == 0 {
                        diesel::sql_query(format!("INSERT INTO t (v) VALUES ({v})")).execute(c)?;
                    }
                    Ok(v)
                })
                .await
            }));
        }
        let mut ok = 0;
        let mut failed = 0;
        for (v, w) in waits.into_iter().enumerate() {
            match w.await.unwrap() {
                Ok(got) => {
                    assert_eq!(got, v as i64);
                    ok += 1
                }
                Err(e) => {
                    assert_eq!(v % 10, 0, "job {v} failed: {e}");
                    assert!(e.to_string().contains("UNIQUE"), "{e}");
                    failed += 1
                }
            }
        }
        assert_eq!((ok, failed), (180, 20));
        assert_eq!(count(pool), 180);
    }
}
