//! The compose worker: claims queued `generate` jobs with a lease, moves the compose
//! wait → generating → done | failed, and runs the engine. A claim is an optimistic
//! `UPDATE … WHERE state = 'queued'` (or an expired lease) that must touch exactly one row, so
//! it works the same on SQLite and PostgreSQL and with many workers.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::config::Settings;
use crate::db::composes::{self as q, JOB_QUEUED};
use crate::db::models::{Compose, Job};
use crate::db::schema::{composes, jobs};
use crate::db::{DbError, DbPool, write_tx};
use crate::domain::State;
use crate::engine;
use crate::koji::KojiClient;

pub const JOB_RUNNING: &str = "running";
pub const JOB_DONE: &str = "done";
pub const JOB_FAILED: &str = "failed";

/// Claims one runnable job, or `None`.
pub fn claim(
    pool: &DbPool,
    owner: &str,
    lease_secs: i64,
    now: NaiveDateTime,
) -> Result<Option<Job>, DbError> {
    let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
    let candidates: Vec<Job> = jobs::table
        .filter(jobs::kind.eq(q::JOB_GENERATE))
        .filter(
            jobs::state
                .eq(JOB_QUEUED)
                .and(jobs::run_after.le(now))
                .or(jobs::state
                    .eq(JOB_RUNNING)
                    .and(jobs::lease_expires_at.lt(now))),
        )
        .order(jobs::id.asc())
        .limit(8)
        .select(Job::as_select())
        .load(&mut *conn)?;
    for job in candidates {
        let taken = diesel::update(
            jobs::table
                .find(job.id)
                .filter(jobs::state.eq(&job.state))
                .filter(jobs::attempts.eq(job.attempts)),
        )
        .set((
            jobs::state.eq(JOB_RUNNING),
            jobs::lease_owner.eq(owner),
            jobs::lease_expires_at.eq(now + chrono::Duration::seconds(lease_secs)),
            jobs::attempts.eq(job.attempts + 1),
            jobs::updated_at.eq(now),
        ))
        .execute(&mut *conn)?;
        if taken == 1 {
            return Ok(Some(Job {
                state: JOB_RUNNING.into(),
                attempts: job.attempts + 1,
                lease_owner: Some(owner.into()),
                ..job
            }));
        }
    }
    Ok(None)
}

fn finish_job(
    conn: &mut crate::db::AnyConnection,
    job: &Job,
    state: &str,
    error: Option<String>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(jobs::table.find(job.id))
        .set((
            jobs::state.eq(state),
            jobs::last_error.eq(error),
            jobs::updated_at.eq(now),
            jobs::lease_owner.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Runs one claimed job to its end.
pub async fn run_job(
    pool: &DbPool,
    settings: &Settings,
    koji: Option<&KojiClient>,
    job: Job,
) -> Result<(), DbError> {
    let Some(compose_id) = job.compose_id else {
        return Ok(());
    };
    let p = pool.clone();
    let s = settings.composes.clone();
    let jb = job.clone();
    // wait → generating (a retried job may find the compose generating already).
    let compose: Option<Compose> =
        tokio::task::spawn_blocking(move || -> Result<Option<Compose>, DbError> {
            let mut conn = p.get().map_err(|e| DbError::Pool(e.to_string()))?;
            write_tx(&mut conn, |c| -> Result<Option<Compose>, DbError> {
                let Some(compose) = q::get(c, compose_id)? else {
                    finish_job(
                        c,
                        &jb,
                        JOB_FAILED,
                        Some("compose vanished".into()),
                        crate::db::now(),
                    )?;
                    return Ok(None);
                };
                match State::from_code(compose.state) {
                    Some(State::Wait) => Ok(Some(q::transition(
                        c,
                        &compose,
                        State::Generating,
                        Some("Compose thread started".into()),
                        crate::db::now(),
                        &s,
                    )?)),
                    Some(State::Generating) => Ok(Some(compose)),
                    _ => {
                        finish_job(
                            c,
                            &jb,
                            JOB_DONE,
                            Some(format!(
                                "compose already {}",
                                crate::domain::state_name(compose.state)
                            )),
                            crate::db::now(),
                        )?;
                        Ok(None)
                    }
                }
            })
        })
        .await
        .map_err(|e| DbError::Pool(e.to_string()))??;
    let Some(compose) = compose else {
        return Ok(());
    };
    tracing::info!(
        compose = compose.id,
        attempt = job.attempts,
        "generating compose"
    );
    let ctx = engine::Context { settings, koji };
    let started = std::time::Instant::now();
    let mut compose = compose;
    let reused = match find_reusable(pool, &mut compose, koji).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(compose = compose.id, error = %e, "reuse check failed; generating");
            None
        }
    };
    let result = match &reused {
        Some(r) => Ok(engine::Outcome {
            koji_event: compose.koji_event,
            pungi_compose_id: r.pungi_compose_id.clone().unwrap_or_default(),
            rpms: 0,
        }),
        None => engine::generate(&compose, &ctx).await,
    };
    let reused_id = reused.as_ref().map(|r| r.id);
    let transient = matches!(&result, Err(e) if e.0.starts_with("Koji connection has failed") && (e.0.contains("unreachable") || e.0.contains("timed out") || e.0.contains("HTTP 5")));
    let p = pool.clone();
    let s = settings.composes.clone();
    tokio::task::spawn_blocking(move || -> Result<(), DbError> {
        let mut conn = p.get().map_err(|e| DbError::Pool(e.to_string()))?;
        write_tx(&mut conn, |c| -> Result<(), DbError> {
            let now = crate::db::now();
            let Some(current) = q::get(c, compose.id)? else { return Ok(()) };
            if current.state != State::Generating.code() {
                // Canceled meanwhile.
                return Ok(finish_job(c, &job, JOB_DONE, Some("compose left generating meanwhile".into()), now)?);
            }
            match result {
                Ok(out) => {
                    diesel::update(composes::table.find(compose.id))
                        .set((
                            composes::koji_event.eq(out.koji_event),
                            composes::pungi_compose_id.eq(&out.pungi_compose_id),
                            composes::reused_id.eq(reused_id),
                        ))
                        .execute(c)?;
                    if let Some(rid) = reused_id
                        && let Some(old) = q::get(c, rid)?
                    {
                        // Both live as long as the longer of the two (§2.3).
                        let mine = q::get(c, compose.id)?.expect("compose");
                        let until = old.time_to_expire.max(mine.time_to_expire);
                        for id in [rid, compose.id] {
                            diesel::update(composes::table.find(id)).set(composes::time_to_expire.eq(until)).execute(c)?;
                        }
                    }

                    let fresh = q::get(c, compose.id)?.expect("compose");
                    q::transition(c, &fresh, State::Done, Some("Compose is generated successfully".into()), now, &s)?;
                    finish_job(c, &job, JOB_DONE, None, now)?;
                    tracing::info!(compose = compose.id, rpms = out.rpms, secs = started.elapsed().as_secs_f64(), "compose done");
                }
                Err(e) if transient && job.attempts < job.max_attempts => {
                    let backoff = 2i64.pow(job.attempts.min(8) as u32);
                    diesel::update(jobs::table.find(job.id))
                        .set((jobs::state.eq(JOB_QUEUED), jobs::last_error.eq(&e.0), jobs::run_after.eq(now + chrono::Duration::seconds(backoff)), jobs::updated_at.eq(now)))
                        .execute(c)?;
                    tracing::warn!(compose = compose.id, error = %e, "transient failure; retrying in {backoff} s");
                }
                Err(e) => {
                    q::transition(c, &current, State::Failed, Some(format!("Error while generating compose: {e}")), now, &s)?;
                    finish_job(c, &job, JOB_FAILED, Some(e.0.clone()), now)?;
                    tracing::warn!(compose = compose.id, error = %e, "compose failed");
                }
            }
            Ok(())
        })
    })
    .await
    .map_err(|e| DbError::Pool(e.to_string()))?
}

/// Builds the Koji client from the settings, if a hub is configured.
pub fn koji_client(settings: &Settings) -> Option<KojiClient> {
    (!settings.koji.hub_url.is_empty()).then(|| {
        KojiClient::new(
            &settings.koji.hub_url,
            Duration::from_secs(settings.koji.timeout_secs.max(1)),
            settings.koji.retries,
            Duration::from_millis(500),
        )
        .expect("HTTP client")
    })
}

/// The worker loop: claim, run, repeat; sleeps `engine.poll_interval_ms` when idle.
pub async fn run_forever(pool: DbPool, settings: Arc<Settings>) {
    let owner = format!("{}-{}", hostname(), std::process::id());
    let koji = koji_client(&settings);
    engine::clean_leftovers(&settings.composes.target_dir);
    loop {
        let (p, o, lease) = (pool.clone(), owner.clone(), settings.engine.lease_secs);
        match tokio::task::spawn_blocking(move || claim(&p, &o, lease, crate::db::now())).await {
            Ok(Ok(Some(job))) => {
                if let Err(e) = run_job(&pool, &settings, koji.as_ref(), job).await {
                    tracing::error!(error = %e, "compose job failed to record its result");
                }
                continue;
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot claim jobs"),
            Err(e) => tracing::error!(error = %e, "claim task panicked"),
        }
        tokio::time::sleep(Duration::from_millis(
            settings.engine.poll_interval_ms.max(10),
        ))
        .await;
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Resolves the Koji event of a tag compose (stored on `compose`) and finds a done compose it
/// can reuse (§2.4).
async fn find_reusable(
    pool: &DbPool,
    compose: &mut Compose,
    koji: Option<&KojiClient>,
) -> Result<Option<Compose>, String> {
    if compose.source_type == crate::domain::SourceType::Tag.code()
        && compose.koji_event.is_none()
        && let Some(k) = koji
    {
        compose.koji_event = Some(k.get_last_event().await.map_err(|e| e.to_string())?.id);
    }
    let (p, c) = (pool.clone(), compose.clone());
    let cands = tokio::task::spawn_blocking(move || -> Result<Vec<Compose>, String> {
        let mut conn = p.get().map_err(|e| e.to_string())?;
        crate::reuse::candidates(&mut conn, &c).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    crate::reuse::choose(compose, compose.koji_event, cands, koji)
        .await
        .map_err(|e| e.to_string())
}
