//! Scheduled work. tokio-cron-scheduler only **enqueues**: at each tick of a schedule it inserts
//! a job keyed by the schedule slot (`<kind>@<UTC second>`), so when several processes run the
//! scheduler one insert wins and one worker runs the job. The jobs do the work.

use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::config::Settings;
use crate::db::DbPool;
use crate::queue;

/// Checks a 6-field cron expression (seconds first, UTC).
pub fn validate(expr: &str) -> Result<(), String> {
    Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| format!("invalid cron schedule {expr:?}: {e}"))
}

/// Enqueues one `cleanup` job for the slot `at` (a no-op if another process did).
pub fn enqueue_cleanup(pool: &DbPool, at: chrono::NaiveDateTime) -> Result<bool, String> {
    let mut c = pool.get().map_err(|e| e.to_string())?;
    let key = format!("{}@{}", queue::KIND_CLEANUP, at.format("%Y-%m-%dT%H:%M:%S"));
    let job = queue::new_job(
        queue::KIND_CLEANUP,
        None,
        queue::CLEANUP_QUEUE,
        Some(key),
        at,
    );
    queue::enqueue_unique(&mut c, &job).map_err(|e| e.to_string())
}

/// Starts the scheduler with the configured schedules; the returned handle keeps it running.
pub async fn start(pool: DbPool, settings: Arc<Settings>) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    let expr = settings.worker.cleanup_schedule.clone();
    let job = Job::new_async(expr.as_str(), move |_, _| {
        let pool = pool.clone();
        Box::pin(async move {
            let at = crate::db::now()
                .with_nanosecond(0)
                .expect("zero nanoseconds is valid");
            match tokio::task::spawn_blocking(move || enqueue_cleanup(&pool, at)).await {
                Ok(Ok(true)) => {
                    queue::wake_local();
                    tracing::debug!(%at, "cleanup round enqueued");
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot enqueue the cleanup round"),
                Err(e) => tracing::error!(error = %e, "scheduler task panicked"),
            }
        })
    })?;
    sched.add(job).await?;
    sched.start().await?;
    tracing::info!(cleanup = %expr, "scheduler started");
    Ok(sched)
}

use chrono::Timelike;
