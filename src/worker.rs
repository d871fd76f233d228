//! The worker: claims jobs from the database queue ([`crate::queue`]) and runs them.
//!
//! A `generate` job moves its compose wait → generating → done | failed around the engine,
//! while a heartbeat task keeps the job's lease and watches for cancellation (the compose left
//! `generating`, e.g. DELETE) or a lost lease; either stops the engine. Results are recorded
//! only while this worker still holds the lease, and recording is retried while the database
//! is unreachable (a restart of PostgreSQL must neither lose a compose nor generate it twice).
//! A `cleanup` job runs one cleanup round ([`crate::cleanup`]).

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;

use crate::compose_log::ComposeLog;
use crate::config::Settings;
use crate::db::composes as q;
use crate::db::models::{Compose, Job};
use crate::db::schema::composes;
use crate::db::{DbError, DbPool, write_tx};
use crate::domain::State;
use crate::engine::{self, Cancel};
use crate::koji::KojiClient;
use crate::layout;
use crate::mbs::MbsClient;
use crate::queue;

/// Builds the Koji client from the settings, if a hub is configured.
pub fn koji_client(settings: &Settings) -> Option<KojiClient> {
    (!settings.koji.hub_url.is_empty()).then(|| {
        crate::koji::answers::set_capacity(settings.koji.answer_cache_rows);
        KojiClient::new(
            &settings.koji.hub_url,
            Duration::from_secs(settings.koji.timeout_secs.max(1)),
            settings.koji.retries,
            Duration::from_millis(500),
        )
        .expect("HTTP client")
    })
}

/// Builds the MBS client from the settings, if an MBS is configured.
pub fn mbs_client(settings: &Settings) -> Option<MbsClient> {
    (!settings.mbs.url.is_empty()).then(|| MbsClient::new(&settings.mbs).expect("HTTP client"))
}

/// This host's name (the lease owner and temporary directory names carry it).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// One worker: who it is and what it claims.
#[derive(Clone)]
pub struct Worker {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub owner: String,
    /// This host's name (temporary directories carry it).
    pub host: String,
    koji: Option<Arc<KojiClient>>,
    mbs: Option<Arc<MbsClient>>,
}

impl Worker {
    pub fn new(pool: DbPool, settings: Arc<Settings>) -> Self {
        let host = hostname();
        let owner = format!("{host}-{}", std::process::id());
        let koji = koji_client(&settings).map(Arc::new);
        let mbs = mbs_client(&settings).map(Arc::new);
        Self {
            pool,
            settings,
            owner,
            host,
            koji,
            mbs,
        }
    }

    fn lease_secs(&self) -> i64 {
        self.settings.engine.lease_secs.max(2)
    }

    /// Claims one job of this worker's queues.
    pub async fn claim(&self) -> Result<Option<Job>, DbError> {
        let (p, o, lease, queues) = (
            self.pool.clone(),
            self.owner.clone(),
            self.lease_secs(),
            self.settings.worker.queues.clone(),
        );
        tokio::task::spawn_blocking(move || queue::claim(&p, &o, lease, &queues, crate::db::now()))
            .await
            .map_err(|e| DbError::Pool(e.to_string()))?
    }

    /// Runs a claimed job to its end.
    pub async fn run(&self, job: Job) {
        let outcome = match job.kind.as_str() {
            queue::KIND_GENERATE => self.generate(&job).await,
            queue::KIND_CLEANUP => self.cleanup(&job).await,
            other => {
                let (p, id, kind) = (self.pool.clone(), job.id, other.to_string());
                retry_db("record an unknown job", move || {
                    let mut c = p.get().map_err(|e| DbError::Pool(e.to_string()))?;
                    Ok(queue::finish(
                        &mut c,
                        id,
                        queue::FAILED,
                        Some(format!("unknown job kind {kind:?}")),
                        crate::db::now(),
                    )?)
                })
                .await;
                Ok(())
            }
        };
        if let Err(e) = outcome {
            tracing::error!(job = job.id, error = %e, "job failed to record its result");
        }
    }

    async fn cleanup(&self, job: &Job) -> Result<(), DbError> {
        let (p, s) = (self.pool.clone(), self.settings.clone());
        let report =
            tokio::task::spawn_blocking(move || crate::cleanup::run_once(&p, &s, crate::db::now()))
                .await
                .map_err(|e| DbError::Pool(e.to_string()))?;
        let (state, error) = match &report {
            Ok(r) => {
                if !r.is_empty() {
                    tracing::info!(removed = ?r.removed, failed = ?r.failed_stuck, reaped = ?r.reaped_jobs, "cleanup round");
                }
                (queue::DONE, None)
            }
            Err(e) => (queue::FAILED, Some(e.to_string())),
        };
        let (p, id) = (self.pool.clone(), job.id);
        retry_db("record the cleanup job", move || {
            let mut c = p.get().map_err(|e| DbError::Pool(e.to_string()))?;
            Ok(queue::finish(
                &mut c,
                id,
                state,
                error.clone(),
                crate::db::now(),
            )?)
        })
        .await;
        report.map(|_| ())
    }

    /// wait → generating, then the engine (or reuse), then done | failed | retry.
    async fn generate(&self, job: &Job) -> Result<(), DbError> {
        let Some(compose_id) = job.compose_id else {
            return Ok(());
        };
        let Some(compose) = self.start(job, compose_id).await? else {
            return Ok(());
        };
        if job.attempts > 1 {
            // An earlier claim's worker died or lost its lease: its temporary tree is garbage.
            let base = layout::target_base(&compose, &self.settings);
            let n = layout::clean_leftovers(&base, Some(compose.id), &self.host);
            if n > 0 {
                tracing::info!(
                    compose = compose.id,
                    removed = n,
                    "cleaned a previous attempt's temporary directories"
                );
            }
        }
        tracing::info!(
            compose = compose.id,
            job = job.id,
            attempt = job.attempts,
            owner = %self.owner,
            "generating compose"
        );
        let base = layout::target_base(&compose, &self.settings);
        let log = match ComposeLog::open(&base, compose.id) {
            Ok(l) => Some(Arc::new(l)),
            Err(e) => {
                tracing::warn!(compose = compose.id, error = %e, "cannot open the compose's log; generating without it");
                None
            }
        };
        if let Some(l) = &log {
            l.info(
                "state",
                &format!(
                    "generating on {} (attempt {} of {})",
                    self.owner, job.attempts, job.max_attempts
                ),
            );
        }
        let cancel = Cancel::default();
        let heartbeat = tokio::spawn(heartbeat(
            self.pool.clone(),
            job.id,
            compose.id,
            self.owner.clone(),
            self.lease_secs(),
            cancel.clone(),
        ));
        let started = std::time::Instant::now();
        let mut compose = compose;
        let koji = self.koji.as_deref();
        // Modules are resolved before the reuse check, which compares the resolved source.
        let sources = engine::modules::Sources::new(koji, self.mbs.as_deref(), &self.settings);
        let progress: Arc<dyn engine::Progress> = match &log {
            Some(l) => l.clone(),
            None => Arc::new(engine::LogProgress),
        };
        let modules =
            match engine::resolve_pungi_compose(&mut compose, &self.settings, progress.as_ref())
                .await
            {
                Ok(()) => engine::resolve_modules(&compose, &sources, progress.as_ref()).await,
                Err(e) => Err(e),
            };
        let (modules, reused) = match modules {
            Err(e) => (Err(e), None),
            Ok(m) => {
                if let Some(m) = &m
                    && compose.source_type == crate::domain::SourceType::Module.code()
                {
                    compose.source = m.source();
                }
                let reused = match find_reusable(&self.pool, &mut compose, koji).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(compose = compose.id, error = %e, "reuse check failed; generating");
                        None
                    }
                };
                (Ok(m), reused)
            }
        };
        if let (Some(r), Some(l)) = (&reused, &log) {
            l.info(
                "reuse",
                &format!(
                    "reuses compose {} ({})",
                    r.id,
                    crate::domain::state_name(r.state)
                ),
            );
        }
        let result = match (&reused, modules) {
            (_, Err(e)) => Err(e),
            (Some(r), Ok(_)) => Ok(engine::Outcome {
                koji_event: compose.koji_event,
                pungi_compose_id: r.pungi_compose_id.clone().unwrap_or_default(),
                rpms: 0,
                source: Some(compose.source.clone()),
            }),
            (None, Ok(modules)) => {
                self.mark_generating(&compose).await;
                let ctx = engine::Context {
                    settings: &self.settings,
                    koji,
                    mbs: self.mbs.as_deref(),
                    modules,
                    host: &self.host,
                    cancel: cancel.clone(),
                    progress,
                };
                // The engine stops by itself once `cancel` is set (between files, and its
                // Koji calls are abandoned); awaiting it means no file work outlives the job.
                engine::generate(&compose, &ctx).await
            }
        };
        heartbeat.abort();
        let reused = reused.map(|r| (r.id, r.state));
        let generated_here = result.is_ok() && reused.is_none();
        let transient = matches!(&result, Err(e) if e.0.starts_with("Koji connection has failed") && (e.0.contains("unreachable") || e.0.contains("timed out") || e.0.contains("HTTP 5")));
        let dir = layout::compose_dir(&compose, &self.settings);
        let secs = started.elapsed().as_secs_f64();
        let log_url = crate::views::toplevel_url(&compose, &self.settings.composes)
            .map(|u| format!("{u}/{}", layout::LOG_NAME));
        // A generated compose's phase durations go into the metrics in the transaction that
        // makes it done: whoever sees `done` sees its phases too.
        let phases = match (&log, generated_here) {
            (Some(l), true) => l.phases(),
            _ => Vec::new(),
        };
        let data = Arc::new((
            self.pool.clone(),
            self.settings.clone(),
            self.owner.clone(),
            job.clone(),
            compose,
            result.clone(),
            phases,
        ));
        let recorded = retry_db("record the compose result", move || {
            let (p, s, owner, job, compose, result, phases) = &*data;
            record(
                p,
                s,
                owner,
                job,
                compose,
                reused,
                result,
                transient,
                secs,
                log_url.as_deref(),
                phases,
            )
        })
        .await;
        if let Some(l) = &log {
            match (&recorded, &result) {
                (Recorded::Yes, Ok(out)) if reused.is_none() => {
                    l.info("state", &format!("done: {} RPMs in {secs:.3} s", out.rpms));
                    l.published(&dir);
                }
                (Recorded::Yes, Ok(_)) => l.info("state", "done (reused)"),
                (Recorded::Yes, Err(e)) if transient && job.attempts < job.max_attempts => {
                    l.warning("state", &format!("transient failure, to be retried: {e}"))
                }
                (Recorded::Yes, Err(e)) => l.error("state", &format!("failed: {e}")),
                _ => l.warning(
                    "state",
                    "result discarded: the compose left generating or the job's lease was lost",
                ),
            }
        }
        if recorded == Recorded::Discarded && generated_here {
            // Canceled meanwhile: the tree this attempt renamed into place is not a compose.
            tracing::info!(
                compose = compose_id,
                "compose left generating meanwhile; its data is removed"
            );
            if !self.compose_is_live(compose_id).await {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        Ok(())
    }

    /// Records that the engine runs (reason `Compose is generating`, no state change and no
    /// message) with the resolved Koji event, which makes the compose a reuse candidate.
    async fn mark_generating(&self, compose: &Compose) {
        let (p, id, event) = (self.pool.clone(), compose.id, compose.koji_event);
        let source = compose.source.clone();
        // What the resolution may have rewritten (a pungi_compose's inputs).
        let inputs = (
            compose.arches.clone(),
            compose.builds.clone(),
            compose.packages.clone(),
            compose.sigkeys.clone(),
        );
        let r = tokio::task::spawn_blocking(move || -> Result<usize, DbError> {
            let mut c = p.get().map_err(|e| DbError::Pool(e.to_string()))?;
            let n = diesel::update(
                composes::table
                    .find(id)
                    .filter(composes::state.eq(State::Generating.code())),
            )
            .set((
                composes::state_reason.eq(crate::reuse::GENERATING_REASON),
                composes::koji_event.eq(event),
                composes::source.eq(source),
                composes::arches.eq(inputs.0),
                composes::builds.eq(inputs.1),
                composes::packages.eq(inputs.2),
                composes::sigkeys.eq(inputs.3),
            ))
            .execute(&mut *c)?;
            crate::db::changes::touched_compose(id);
            Ok(n)
        })
        .await;
        if !matches!(r, Ok(Ok(_))) {
            tracing::warn!(compose = id, "cannot record that the compose is generating");
        }
    }

    async fn compose_is_live(&self, id: i64) -> bool {
        let p = self.pool.clone();
        tokio::task::spawn_blocking(move || -> Option<bool> {
            let mut c = p.get().ok()?;
            let compose = q::get(&mut c, id).ok()??;
            Some(compose.state == State::Done.code())
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(true)
    }

    /// Moves the compose to generating; `None` when there is nothing to do.
    async fn start(&self, job: &Job, compose_id: i64) -> Result<Option<Compose>, DbError> {
        let (p, s, jb) = (
            self.pool.clone(),
            self.settings.composes.clone(),
            job.clone(),
        );
        tokio::task::spawn_blocking(move || -> Result<Option<Compose>, DbError> {
            let mut conn = p.get().map_err(|e| DbError::Pool(e.to_string()))?;
            write_tx(&mut conn, |c| -> Result<Option<Compose>, DbError> {
                let now = crate::db::now();
                let Some(compose) = q::get_for_update(c, compose_id)? else {
                    queue::finish(
                        c,
                        jb.id,
                        queue::FAILED,
                        Some("compose vanished".into()),
                        now,
                    )?;
                    return Ok(None);
                };
                match State::from_code(compose.state) {
                    Some(State::Wait) => Ok(Some(q::transition(
                        c,
                        &compose,
                        State::Generating,
                        Some("Compose thread started".into()),
                        now,
                        &s,
                    )?)),
                    Some(State::Generating) => Ok(Some(compose)),
                    _ => {
                        let why = format!(
                            "compose already {}",
                            crate::domain::state_name(compose.state)
                        );
                        queue::finish(c, jb.id, queue::DONE, Some(why), now)?;
                        Ok(None)
                    }
                }
            })
        })
        .await
        .map_err(|e| DbError::Pool(e.to_string()))?
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Recorded {
    Yes,
    #[default]
    /// The lease was lost or the compose left generating: nothing recorded.
    Discarded,
}

/// Records the outcome of a generate job in one transaction, if `owner` still holds its lease.
#[allow(clippy::too_many_arguments)]
fn record(
    pool: &DbPool,
    settings: &Settings,
    owner: &str,
    job: &Job,
    compose: &Compose,
    reused: Option<(i64, i32)>,
    result: &Result<engine::Outcome, engine::EngineError>,
    transient: bool,
    secs: f64,
    log_url: Option<&str>,
    phases: &[(&'static str, Duration)],
) -> Result<Recorded, DbError> {
    let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
    let s = &settings.composes;
    write_tx(&mut conn, |c| -> Result<Recorded, DbError> {
        let now = crate::db::now();
        // Compose row first, then the job (the lock order of `q::get_for_update`).
        let current = q::get_for_update(c, compose.id)?;
        if !queue::still_owned(c, job.id, owner)? {
            tracing::warn!(
                compose = compose.id,
                job = job.id,
                "the job's lease was lost or the job was cancelled; result discarded"
            );
            return Ok(Recorded::Discarded);
        }
        let Some(current) = current else {
            queue::finish(
                c,
                job.id,
                queue::FAILED,
                Some("compose vanished".into()),
                now,
            )?;
            return Ok(Recorded::Discarded);
        };
        if current.state != State::Generating.code() {
            queue::finish(
                c,
                job.id,
                queue::DONE,
                Some("compose left generating meanwhile".into()),
                now,
            )?;
            return Ok(Recorded::Discarded);
        }
        match result {
            Ok(out) => {
                diesel::update(composes::table.find(compose.id))
                    .set((
                        composes::koji_event.eq(out.koji_event),
                        composes::pungi_compose_id.eq(&out.pungi_compose_id),
                        composes::source.eq(out.source.as_deref().unwrap_or(&compose.source)),
                        composes::arches.eq(&compose.arches),
                        composes::builds.eq(&compose.builds),
                        composes::packages.eq(&compose.packages),
                        composes::sigkeys.eq(&compose.sigkeys),
                        composes::reused_id.eq(reused.map(|r| r.0)),
                    ))
                    .execute(c)?;
                crate::db::changes::touched_compose(compose.id);
                if let Some((rid, _)) = reused
                    && let Some(old) = q::get(c, rid)?
                {
                    // Both live as long as the longer of the two (§2.3).
                    let until = old.time_to_expire.max(current.time_to_expire);
                    for id in [rid, compose.id] {
                        diesel::update(composes::table.find(id))
                            .set(composes::time_to_expire.eq(until))
                            .execute(c)?;
                        crate::db::changes::touched_compose(id);
                    }
                }
                let fresh = q::get(c, compose.id)?.expect("compose");
                // Reusing: follow the reused compose's *current* state (it may have finished
                // since it was chosen; the cascade in `transition` covers the later changes).
                let reused_now = match reused {
                    Some((rid, _)) => q::get(c, rid)?.map(|r| (r.state, r.state_reason)),
                    None => None,
                };
                match reused_now {
                    Some((st, _)) if st == State::Generating.code() => {
                        queue::finish(
                            c,
                            job.id,
                            queue::DONE,
                            Some("reuses a generating compose".into()),
                            now,
                        )?;
                        tracing::info!(compose = compose.id, reuses = ?reused, "compose reuses a generating compose");
                        return Ok(Recorded::Yes);
                    }
                    Some((st, reason)) if st != State::Done.code() => {
                        let to = State::from_code(st).unwrap_or(State::Failed);
                        q::transition(c, &fresh, to, reason, now, s)?;
                        queue::finish(c, job.id, queue::DONE, None, now)?;
                        return Ok(Recorded::Yes);
                    }
                    _ => {}
                }
                crate::db::phases::record(c, phases)?;
                q::transition(
                    c,
                    &fresh,
                    State::Done,
                    Some("Compose is generated successfully".into()),
                    now,
                    s,
                )?;
                queue::finish(c, job.id, queue::DONE, None, now)?;
                tracing::info!(
                    compose = compose.id,
                    job = job.id,
                    rpms = out.rpms,
                    reused = ?reused.map(|r| r.0),
                    secs,
                    "compose done"
                );
            }
            Err(e) if transient && job.attempts < job.max_attempts => {
                let backoff = chrono::Duration::seconds(2i64.pow(job.attempts.min(8) as u32));
                queue::retry_later(c, job.id, &e.0, backoff, now)?;
                tracing::warn!(compose = compose.id, error = %e, "transient failure; retrying in {backoff}");
            }
            Err(e) => {
                q::transition(
                    c,
                    &current,
                    State::Failed,
                    Some(match log_url {
                        Some(url) => format!("Error while generating compose: {e}\nLog: {url}"),
                        None => format!("Error while generating compose: {e}"),
                    }),
                    now,
                    s,
                )?;
                queue::finish(c, job.id, queue::FAILED, Some(e.0.clone()), now)?;
                tracing::warn!(compose = compose.id, error = %e, "compose failed");
            }
        }
        Ok(Recorded::Yes)
    })
}

/// Runs a blocking database step until it succeeds: while the database is unreachable (a
/// restart) the step is retried with backoff, for up to ten minutes.
async fn retry_db<T: Send + Default + 'static>(
    what: &'static str,
    step: impl Fn() -> Result<T, DbError> + Send + Sync + Clone + 'static,
) -> T {
    let mut backoff = Duration::from_millis(100);
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    loop {
        let f = step.clone();
        match tokio::task::spawn_blocking(f).await {
            Ok(Ok(v)) => return v,
            Ok(Err(e)) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "cannot {what}; retrying in {backoff:?}");
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot {what}; giving up (the job's lease will expire and another attempt will run)");
                return T::default();
            }
            Err(e) => {
                tracing::error!(error = %e, "{what}: task panicked");
                return T::default();
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Keeps the lease of a running job every `lease/3` seconds (at most every second, so a
/// cancellation is noticed quickly) and cancels the engine when the
/// compose left generating (DELETE) or the lease is gone. Database errors are tolerated (the
/// lease has slack); the engine is stopped if the lease could not be renewed before it expired.
async fn heartbeat(
    pool: DbPool,
    job_id: i64,
    compose_id: i64,
    owner: String,
    lease_secs: i64,
    cancel: Cancel,
) {
    let every = Duration::from_millis((lease_secs as u64 * 1000 / 3).clamp(300, 1000));
    let mut last_ok = std::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let (p, o) = (pool.clone(), owner.clone());
        let beat = tokio::task::spawn_blocking(move || -> Result<(bool, bool), DbError> {
            let mut c = p.get().map_err(|e| DbError::Pool(e.to_string()))?;
            let owned = queue::heartbeat(&mut c, job_id, &o, lease_secs, crate::db::now())?;
            let generating =
                q::get(&mut c, compose_id)?.is_some_and(|c| c.state == State::Generating.code());
            Ok((owned, generating))
        })
        .await;
        match beat {
            Ok(Ok((true, true))) => last_ok = std::time::Instant::now(),
            Ok(Ok((owned, _))) => {
                tracing::info!(
                    compose = compose_id,
                    lease_lost = !owned,
                    "stopping the generation: the compose was canceled or the lease lost"
                );
                cancel.cancel();
                return;
            }
            Ok(Err(e)) => {
                tracing::warn!(compose = compose_id, error = %e, "heartbeat failed");
                if last_ok.elapsed() > Duration::from_secs(lease_secs as u64) {
                    tracing::warn!(
                        compose = compose_id,
                        "lease expired without a heartbeat; stopping"
                    );
                    cancel.cancel();
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// The worker loop: claim, run, repeat. When idle it waits for a wake-up (a compose submitted
/// in this process, or a PostgreSQL notification) or `engine.poll_interval_ms`.
pub async fn run_forever(pool: DbPool, settings: Arc<Settings>) {
    let worker = Worker::new(pool, settings.clone());
    let removed = layout::clean_leftovers(&settings.composes.target_dir, None, &worker.host);
    if removed > 0 {
        tracing::info!(removed, "removed temporary directories of dead processes");
    }
    if settings.worker.pg_listen && settings.database.url.starts_with("postgres") {
        queue::spawn_pg_listener(settings.database.url.clone());
    }
    tracing::info!(owner = %worker.owner, queues = ?settings.worker.queues, "worker started");
    let poll = Duration::from_millis(settings.engine.poll_interval_ms.max(10));
    let mut backoff = poll;
    loop {
        match worker.claim().await {
            Ok(Some(job)) => {
                worker.run(job).await;
                backoff = poll;
                continue;
            }
            Ok(None) => backoff = poll,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim jobs; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        }
        queue::wait_for_work(poll).await;
    }
}

/// Resolves the Koji event of a tag compose (stored on `compose`) and finds a compose it can
/// reuse (§2.4): a done one, or one still generating.
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
