//! The job queue, kept in the database (`jobs` table) so that any number of worker processes on
//! any number of hosts can share it.
//!
//! * **Claim** with a lease: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` inside a
//!   transaction (concurrent workers never block on, or double-claim, the same row); on SQLite
//!   the `BEGIN IMMEDIATE` write transaction makes the claim the only writer.
//! * **Heartbeat**: the lease owner extends `lease_expires_at` while it works; a job whose lease
//!   expired (its worker died or lost the database) is claimable again and counted by the
//!   reaper.
//! * **Wake-ups**: an in-process [`tokio::sync::Notify`] for composes submitted by the same
//!   process, and PostgreSQL `LISTEN/NOTIFY` across processes (the `jobs_queued` row
//!   trigger's `pg_notify`, delivered at the inserting transaction's commit). Polling every
//!   `engine.poll_interval_ms` stays as the safety net.
//! * **Queues**: a job's queue is the compose's source type name (`tag`, `build`, `repo`, …), or
//!   `arch-<arch>` for composes of an arch listed in `composes.arch_queues`; `cleanup` for the
//!   scheduled cleanup rounds. A worker claims from the queues it is given (all when none).

use std::sync::LazyLock;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{Job, NewJob};
use crate::db::schema::jobs;
use crate::db::{AnyConnection, DbError, DbPool, write_tx};

/// Job kinds.
pub const KIND_GENERATE: &str = "generate";
pub const KIND_CLEANUP: &str = "cleanup";
/// Job states.
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";
/// The queue of the scheduled cleanup rounds.
pub const CLEANUP_QUEUE: &str = "cleanup";
/// The PostgreSQL notification channel of new jobs.
pub const CHANNEL: &str = "composed_jobs";

static WAKE: LazyLock<tokio::sync::Notify> = LazyLock::new(tokio::sync::Notify::new);

/// Wakes an idle worker of this process (a job was just queued).
pub fn wake_local() {
    WAKE.notify_one();
}

/// Waits for a wake-up or `timeout`, whichever comes first.
pub async fn wait_for_work(timeout: Duration) {
    let _ = tokio::time::timeout(timeout, WAKE.notified()).await;
}

/// The queue a compose's generate job goes to.
pub fn queue_for(source_type: i32, arches: &str, arch_queues: &[String]) -> String {
    if let Some(a) = arches
        .split_whitespace()
        .find(|a| arch_queues.iter().any(|q| q == a))
    {
        return format!("arch-{a}");
    }
    crate::domain::SourceType::from_code(source_type)
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| "default".into())
}

/// Inserts a queued job. On PostgreSQL the insert itself wakes the listening workers: the
/// `jobs_queued` row trigger sends `NOTIFY composed_jobs, '<queue>'`, delivered at commit.
pub fn enqueue(conn: &mut AnyConnection, job: &NewJob) -> QueryResult<()> {
    diesel::insert_into(jobs::table).values(job).execute(conn)?;
    Ok(())
}

fn notify(conn: &mut AnyConnection, queue: &str) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(CHANNEL)
            .bind::<diesel::sql_types::Text, _>(queue)
            .execute(pg)?;
    }
    Ok(())
}

/// Enqueues a job unless one with the same `dedup_key` exists (scheduled work that several
/// processes enqueue for the same slot). Returns whether this call inserted it.
pub fn enqueue_unique(conn: &mut AnyConnection, job: &NewJob) -> QueryResult<bool> {
    let n = match conn {
        AnyConnection::Postgresql(c) => diesel::insert_into(jobs::table)
            .values(job)
            .on_conflict_do_nothing()
            .execute(c)?,
        AnyConnection::Sqlite(c) => diesel::insert_or_ignore_into(jobs::table)
            .values(job)
            .execute(c)?,
    };
    // An inserted row has notified through its trigger (see [`enqueue`]).
    Ok(n == 1)
}

/// The job rows a job of `kind` is made of, queued now.
pub fn new_job(
    kind: &str,
    compose_id: Option<i64>,
    queue: &str,
    dedup_key: Option<String>,
    at: NaiveDateTime,
) -> NewJob {
    NewJob {
        kind: kind.into(),
        compose_id,
        queue: queue.into(),
        state: QUEUED.into(),
        attempts: 0,
        max_attempts: 5,
        run_after: at,
        created_at: at,
        updated_at: at,
        dedup_key,
    }
}

/// Claims one runnable job of the given `queues` (all when empty) for `owner`, or `None`.
/// Runnable: queued and due, or running with an expired lease (its worker is gone).
pub fn claim(
    pool: &DbPool,
    owner: &str,
    lease_secs: i64,
    queues: &[String],
    now: NaiveDateTime,
) -> Result<Option<Job>, DbError> {
    let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
    let lease_until = now + chrono::Duration::seconds(lease_secs);
    // Runnable: queued and due, or running with an expired lease; of the worker's queues.
    macro_rules! runnable {
        () => {{
            let mut q = jobs::table
                .filter(
                    jobs::state
                        .eq(QUEUED)
                        .and(jobs::run_after.le(now))
                        .or(jobs::state.eq(RUNNING).and(jobs::lease_expires_at.lt(now))),
                )
                .into_boxed::<diesel::sqlite::Sqlite>();
            if !queues.is_empty() {
                q = q.filter(jobs::queue.eq_any(queues.to_vec()));
            }
            q.order(jobs::id.asc()).limit(1)
        }};
    }
    let take = |job: Job| {
        (
            diesel::update(jobs::table.find(job.id)).set((
                jobs::state.eq(RUNNING),
                jobs::lease_owner.eq(owner.to_string()),
                jobs::lease_expires_at.eq(lease_until),
                jobs::attempts.eq(job.attempts + 1),
                jobs::updated_at.eq(now),
            )),
            Job {
                state: RUNNING.into(),
                attempts: job.attempts + 1,
                lease_owner: Some(owner.into()),
                lease_expires_at: Some(lease_until),
                ..job
            },
        )
    };
    if let AnyConnection::Postgresql(pg) = &mut *conn {
        // One statement: lock the first runnable row no other worker holds, take it.
        #[derive(QueryableByName)]
        struct Claimed {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        use diesel::sql_types::{Array, Bool, Text, Timestamp};
        let claimed: Option<Claimed> = diesel::sql_query(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, \
                    attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                         WHERE ((state = 'queued' AND run_after <= $3) \
                                OR (state = 'running' AND lease_expires_at < $3)) \
                           AND ($4 OR queue = ANY($5)) \
                         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind::<Text, _>(owner)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<Bool, _>(queues.is_empty())
        .bind::<Array<Text>, _>(queues)
        .get_result(pg)
        .optional()?;
        let Some(Claimed { id }) = claimed else {
            return Ok(None);
        };
        return Ok(Some(
            jobs::table.find(id).select(Job::as_select()).first(pg)?,
        ));
    }
    write_tx(&mut conn, |c| -> Result<Option<Job>, DbError> {
        let AnyConnection::Sqlite(c) = c else {
            unreachable!("sqlite")
        };
        let Some(job) = runnable!().select(Job::as_select()).first(c).optional()? else {
            return Ok(None);
        };
        let (update, claimed) = take(job);
        update.execute(c)?;
        Ok(Some(claimed))
    })
}

/// Extends the lease of a running job; `false` when `owner` no longer holds it.
pub fn heartbeat(
    conn: &mut AnyConnection,
    job_id: i64,
    owner: &str,
    lease_secs: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::state.eq(RUNNING))
            .filter(jobs::lease_owner.eq(owner)),
    )
    .set((
        jobs::lease_expires_at.eq(now + chrono::Duration::seconds(lease_secs)),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whether `owner` still holds the lease of the job (call inside the transaction that records
/// the job's result, so a worker that lost its lease never records anything).
pub fn still_owned(conn: &mut AnyConnection, job_id: i64, owner: &str) -> QueryResult<bool> {
    let n: i64 = jobs::table
        .find(job_id)
        .filter(jobs::state.eq(RUNNING))
        .filter(jobs::lease_owner.eq(owner))
        .count()
        .get_result(conn)?;
    Ok(n == 1)
}

/// Ends a job.
pub fn finish(
    conn: &mut AnyConnection,
    job_id: i64,
    state: &str,
    error: Option<String>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(jobs::table.find(job_id))
        .set((
            jobs::state.eq(state),
            jobs::last_error.eq(error),
            jobs::updated_at.eq(now),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Puts a job back in the queue, runnable after `backoff`.
pub fn retry_later(
    conn: &mut AnyConnection,
    job_id: i64,
    error: &str,
    backoff: chrono::Duration,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(jobs::table.find(job_id))
        .set((
            jobs::state.eq(QUEUED),
            jobs::last_error.eq(error),
            jobs::run_after.eq(now + backoff),
            jobs::updated_at.eq(now),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The reaper: running jobs whose lease expired go back to the queue. Returns their ids.
pub fn reap_expired_leases(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let ids: Vec<i64> = jobs::table
        .filter(jobs::state.eq(RUNNING))
        .filter(jobs::lease_expires_at.lt(now))
        .select(jobs::id)
        .load(conn)?;
    if !ids.is_empty() {
        diesel::update(
            jobs::table
                .filter(jobs::id.eq_any(&ids))
                .filter(jobs::state.eq(RUNNING))
                .filter(jobs::lease_expires_at.lt(now)),
        )
        .set((
            jobs::state.eq(QUEUED),
            jobs::lease_owner.eq(None::<String>),
            jobs::last_error.eq("lease expired: the worker stopped heartbeating"),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
        notify(conn, "")?;
    }
    Ok(ids)
}

/// Marks the queued or running jobs of a compose cancelled (its compose was canceled).
pub fn cancel_for_compose(
    conn: &mut AnyConnection,
    compose_id: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        jobs::table
            .filter(jobs::compose_id.eq(compose_id))
            .filter(jobs::state.eq_any([QUEUED, RUNNING])),
    )
    .set((
        jobs::state.eq(CANCELLED),
        jobs::lease_owner.eq(None::<String>),
        jobs::updated_at.eq(at),
    ))
    .execute(conn)
}

/// Counts of jobs per (queue, state), for the metrics.
pub fn counts(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String, i64)>> {
    jobs::table
        .group_by((jobs::queue, jobs::state))
        .select((jobs::queue, jobs::state, diesel::dsl::count_star()))
        .load(conn)
}

/// On PostgreSQL, a thread that `LISTEN`s on [`CHANNEL`] with its own connection and wakes
/// this process's worker on every notification; it reconnects with backoff when the
/// connection is lost (PostgreSQL restart). Notifications are hints: polling stays on.
pub fn spawn_pg_listener(url: String) {
    std::thread::Builder::new()
        .name("pg-listen".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(200);
            loop {
                match listen_once(&url) {
                    Ok(()) => backoff = Duration::from_millis(200),
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        // A wake-up after reconnecting catches what was notified meanwhile.
                        wake_local();
                    }
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        })
        .expect("spawn the LISTEN thread");
}

fn listen_once(url: &str) -> Result<(), String> {
    let mut conn = crate::db::pg_listen(url, CHANNEL)?;
    tracing::debug!("listening for queued jobs (LISTEN {CHANNEL})");
    let mut quiet_since = std::time::Instant::now();
    loop {
        if !crate::db::pg_notified(&mut conn, &mut quiet_since, Duration::from_secs(15))?.is_empty()
        {
            wake_local();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
