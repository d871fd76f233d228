//! Database access: one diesel codebase for SQLite (embedded default) and PostgreSQL
//! (production) through `MultiConnection`, an r2d2 pool, embedded per-backend migrations.

pub mod backend;
pub mod changes;
pub mod composes;
pub mod group_commit;
pub mod listen;
pub mod models;
pub mod new_row;
mod pg_post;
pub mod phases;
pub mod schema;
pub mod users;

pub use backend::Backend;
pub use listen::{pg_listen, pg_notified};

use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::{Connection, SimpleConnection, TransactionManager};
use diesel::r2d2::{CustomizeConnection, Pool, PooledConnection};
use diesel::result::Error as DieselError;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<Manager>;
pub type DbConn = PooledConnection<Manager>;

/// The pool's connection manager: connects with the backend the URL names, so a failed
/// connection reports the backend's own error (diesel's `MultiConnection` would try every
/// backend and report only "Invalid connection url for multiconnection").
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    url: String,
    /// Keeps the SQLite checkpointer running while the pool lives ([`start_checkpointer`]).
    _checkpointer: Option<std::sync::Arc<()>>,
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url).map(|mut c| {
                c.set_instrumentation(Health::default());
                AnyConnection::Postgresql(c)
            }),
            Backend::Sqlite => {
                diesel::SqliteConnection::establish(&self.url).map(AnyConnection::Sqlite)
            }
        }
        .map_err(diesel::r2d2::Error::ConnectionError)
    }

    /// Called on every checkout. A PostgreSQL connection whose last query succeeded less than
    /// [`Health::TRUSTED_FOR`] ago is lent without a round trip; otherwise it is pinged. (A
    /// connection that dies within that window fails its next query, which marks it broken,
    /// and the pool drops it.)
    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        if let AnyConnection::Postgresql(c) = conn
            && c.instrumentation()
                .downcast_ref::<Health>()
                .is_some_and(Health::trusted)
        {
            return Ok(());
        }
        diesel::r2d2::R2D2Connection::ping(conn).map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        if let AnyConnection::Postgresql(c) = conn
            && c.instrumentation()
                .downcast_ref::<Health>()
                .is_some_and(|h| h.broken)
        {
            return true;
        }
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// What a PostgreSQL connection's own queries say about it (a diesel instrumentation): when
/// its last query succeeded, and whether one failed at the connection level (closed, or the
/// command could not be sent), after which the pool drops it.
#[derive(Debug)]
struct Health {
    last_ok: std::time::Instant,
    broken: bool,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            last_ok: std::time::Instant::now(),
            broken: false,
        }
    }
}

impl Health {
    /// How long after a successful query a connection is lent without a validity check.
    const TRUSTED_FOR: Duration = Duration::from_secs(1);

    fn trusted(&self) -> bool {
        !self.broken && self.last_ok.elapsed() < Self::TRUSTED_FOR
    }
}

impl diesel::connection::Instrumentation for Health {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::result::{DatabaseErrorKind, Error};
        if let diesel::connection::InstrumentationEvent::FinishQuery { error, .. } = event {
            match error {
                None => self.last_ok = std::time::Instant::now(),
                Some(
                    Error::DatabaseError(
                        DatabaseErrorKind::ClosedConnection
                        | DatabaseErrorKind::UnableToSendCommand,
                        _,
                    )
                    | Error::BrokenTransactionManager,
                ) => self.broken = true,
                Some(_) => {}
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database pool: {0}")]
    Pool(String),
    #[error("database: {0}")]
    Query(#[from] DieselError),
    #[error("migrations: {0}")]
    Migration(String),
    #[error("invalid database url {0:?}: expected sqlite://<path> or postgres://…")]
    Url(String),
}

/// Normalises a database URL: `sqlite://path`, `sqlite:path` → path for diesel's SQLite.
pub fn backend_url(url: &str) -> Result<(Backend, String), DbError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if rest.is_empty() {
            return Err(DbError::Url(url.into()));
        }
        return Ok((Backend::Sqlite, rest.to_string()));
    }
    Err(DbError::Url(url.into()))
}

#[derive(Debug)]
struct Customizer {
    backend: Backend,
}

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for Customizer {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        if self.backend == Backend::Sqlite {
            // WAL is set once by `connect` (it is a property of the file): the pool opens its
            // first connections concurrently, and two switches to WAL on a fresh file failed
            // with "database is locked" whatever the busy timeout.
            conn.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0; \
                 PRAGMA journal_size_limit = 67108864;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Turns off SQLite's memory statistics and its per-connection mutexes, once, before its first
/// connection. The statistics take a process-wide mutex on every allocation, and the HTTP
/// workers' reads contended on it (futex waits in `dbMallocRawFinish` were the top of a `perf`
/// profile of GET by id). When SQLite is already initialised the calls are refused
/// (SQLITE_MISUSE) and nothing changes.
fn configure_sqlite_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` with SQLITE_CONFIG_MEMSTATUS takes one int argument; it is
        // only honoured before `sqlite3_initialize` and is otherwise a no-op returning MISUSE.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            )
        };
        // Multi-thread mode: no mutex around each call on a connection. A pooled connection is
        // used by one thread at a time (diesel's connection is `Send`, not `Sync`).
        // SAFETY: SQLITE_CONFIG_MULTITHREAD takes no argument; same rule as above.
        let rc_mt =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD) };
        tracing::debug!(rc, rc_mt, "SQLite memory statistics off, multi-thread mode");
    });
}

/// Puts a SQLite database file in WAL mode, on one connection before the pool opens any.
fn use_wal(conn_url: &str) -> Result<(), DbError> {
    if conn_url == ":memory:" {
        return Ok(());
    }
    let mut conn = diesel::SqliteConnection::establish(conn_url)
        .map_err(|e| DbError::Pool(format!("cannot open {conn_url}: {e}")))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
    Ok(())
}

/// How often the SQLite checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// Checkpoints a SQLite database's WAL on a thread of its own, every [`CHECKPOINT_EVERY`],
/// until the returned token's last clone is dropped (with the pool's manager).
///
/// Why: SQLite's automatic checkpoint runs inside the `COMMIT` that crosses 1,000 WAL pages and
/// `fsync`s the WAL and the database there, so the group commit stalled about 6 ms each time
/// and the POSTs queued behind it. A probe POSTing every 10 ms during the issue-19 mix saw p90s
/// of 6.2–8.5 ms. The pool's connections turn the automatic checkpoint off
/// (`wal_autocheckpoint = 0`), and this thread runs `PRAGMA wal_checkpoint(PASSIVE)`, which never
/// blocks readers or writers, so the `fsync`s leave the write path. Durability is unchanged: a
/// commit is in the WAL before it is answered either way. `journal_size_limit` truncates the
/// WAL when it restarts, so a burst does not leave a large file behind.
fn start_checkpointer(conn_url: &str) -> Result<std::sync::Arc<()>, DbError> {
    let token = std::sync::Arc::new(());
    let alive = std::sync::Arc::downgrade(&token);
    let mut conn = diesel::SqliteConnection::establish(conn_url)
        .map_err(|e| DbError::Pool(format!("cannot open {conn_url}: {e}")))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")?;
    std::thread::Builder::new()
        .name("composed-sqlite-checkpoint".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| DbError::Pool(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(token)
}

/// Opens the pool for `url`, `size` connections. An in-memory SQLite database is kept to one
/// connection (each connection would see its own database otherwise).
pub fn connect(url: &str, size: u32, timeout: Duration) -> Result<(DbPool, Backend), DbError> {
    let (backend, conn_url) = backend_url(url)?;
    if backend == Backend::Sqlite {
        configure_sqlite_once();
        use_wal(&conn_url)?;
    }
    let size = if backend == Backend::Sqlite && conn_url == ":memory:" {
        1
    } else {
        size.max(1)
    };
    let checkpointer = (backend == Backend::Sqlite && conn_url != ":memory:")
        .then(|| start_checkpointer(&conn_url))
        .transpose()?;
    let manager = Manager {
        backend,
        url: conn_url,
        _checkpointer: checkpointer,
    };
    // A checkout is tested only on PostgreSQL, where a connection can break (server restart,
    // network), and there only when the connection has not just proven itself (see
    // `Manager::is_valid`). An embedded SQLite connection cannot break, and the test was a
    // parsed statement on every API read.
    let pool = Pool::builder()
        .max_size(size)
        .min_idle(Some(size.min(2)))
        .test_on_check_out(backend == Backend::Postgres)
        .connection_timeout(timeout)
        .connection_customizer(Box::new(Customizer { backend }))
        .build(manager)
        .map_err(|e| DbError::Pool(e.to_string()))?;
    Ok((pool, backend))
}

/// Applies the pending migrations of the pool's backend. On PostgreSQL a session advisory lock
/// serialises processes that start together (one API and several workers on a fresh database).
pub fn migrate(pool: &DbPool) -> Result<Vec<String>, DbError> {
    let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
    const LOCK: i64 = 0x636f_6d70_6f73_6564; // "composed"
    let applied = match &mut *conn {
        AnyConnection::Postgresql(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({LOCK})")).execute(c)?;
            let r = c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({LOCK})")).execute(c)?;
            r
        }
        AnyConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied)
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (the one writer waits for the
/// lock up front instead of failing on upgrade), a plain transaction on PostgreSQL.
pub fn write_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    // Ends the change tracking of the transaction even if `f` panics.
    struct Tracked;
    impl Drop for Tracked {
        fn drop(&mut self) {
            changes::tx_end();
        }
    }
    changes::tx_begin();
    let _tracked = Tracked;
    write_tx_inner(conn, f)
}

fn write_tx_inner<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    use diesel::connection::AnsiTransactionManager;
    match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(c) => {
            <diesel::PgConnection as Connection>::TransactionManager::begin_transaction(c)?
        }
    }
    match f(conn) {
        Ok(v) => {
            <AnyConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(v)
        }
        Err(e) => {
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// The current time as stored: UTC, microsecond precision (what PostgreSQL keeps).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool opens its first connections at once; on a fresh file both set up WAL. Each
    /// must wait for the other rather than fail with "database is locked".
    #[test]
    fn concurrent_first_connections_to_a_fresh_file_do_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40 {
            let path = dir.path().join(format!("fresh-{i}.sqlite"));
            let url = path.to_str().unwrap().to_string();
            use_wal(&url).unwrap();
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (url, barrier) = (url.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let mut conn = AnyConnection::Sqlite(
                            diesel::SqliteConnection::establish(&url).unwrap(),
                        );
                        barrier.wait();
                        Customizer {
                            backend: Backend::Sqlite,
                        }
                        .on_acquire(&mut conn)
                        .map_err(|e| e.to_string())
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap().unwrap();
            }
        }
    }

    /// The pool's connections leave checkpoints to the checkpoint thread, which copies the WAL
    /// into the database file while the pool lives.
    #[test]
    fn the_checkpoint_thread_moves_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let url = format!("sqlite://{}", path.display());
        let (pool, _) = connect(&url, 2, Duration::from_secs(5)).unwrap();
        let mut c = pool.get().unwrap();
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            wal_autocheckpoint: i32,
        }
        let n: N = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n.wal_autocheckpoint, 0);
        c.batch_execute("CREATE TABLE t (v BLOB)").unwrap();
        for _ in 0..200 {
            c.batch_execute("INSERT INTO t VALUES (randomblob(8000))")
                .unwrap();
        }
        // 1.6 MB written; the database file holds it once the thread has checkpointed.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&path).unwrap().len() < 1_600_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL was not checkpointed: database file {} bytes",
                std::fs::metadata(&path).unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
