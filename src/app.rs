//! Application assembly, shared by `main` and the tests: settings (loaded, then checked) →
//! pool → migrations → HTTP server bound to the configured address (port 0 picks a free one) →
//! background tasks.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::config::{ConfigError, FlagOverrides, Settings};
use crate::db::{self, Backend, DbPool};
use crate::web::state::AppState;

/// The settings of a command: the layers merged (`config`), then every check of them.
pub fn load_settings(file: Option<&Path>, flags: &FlagOverrides) -> Result<Settings, ConfigError> {
    let settings = Settings::load(file, flags)?;
    validate_settings(&settings)?;
    Ok(settings)
}

/// The checks of the settings at start-up, in a fixed order (the first failure is reported):
/// `[auth]` (`auth::validate`), lifetimes, page size, repodata compression, the cleanup
/// schedule (`schedule::validate`), the log format, `[triggers]` (`bus::settings::validate`,
/// whose rules go through the POST validation).
pub fn validate_settings(s: &Settings) -> Result<(), ConfigError> {
    crate::auth::validate(&s.auth).map_err(ConfigError::Invalid)?;
    if s.composes.seconds_to_live <= 0 || s.composes.max_seconds_to_live <= 0 {
        return Err(ConfigError::Invalid(
            "composes.seconds_to_live and composes.max_seconds_to_live must be positive".into(),
        ));
    }
    if s.server.max_per_page < 1 {
        return Err(ConfigError::Invalid(
            "server.max_per_page must be at least 1".into(),
        ));
    }
    if !["gzip", "zstd"].contains(&s.engine.repodata_compression.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "engine.repodata_compression: {:?} is neither \"gzip\" nor \"zstd\"",
            s.engine.repodata_compression
        )));
    }
    if crate::engine::iso::Writer::parse(&s.engine.iso_writer).is_none() {
        return Err(ConfigError::Invalid(format!(
            "engine.iso_writer: {:?} is neither \"native\" nor \"xorriso\"",
            s.engine.iso_writer
        )));
    }
    crate::schedule::validate(&s.worker.cleanup_schedule)
        .map_err(|e| ConfigError::Invalid(format!("worker.cleanup_schedule: {e}")))?;
    if !["text", "json"].contains(&s.server.log_format.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "server.log_format: {:?} is neither \"text\" nor \"json\"",
            s.server.log_format
        )));
    }
    crate::bus::settings::validate(s).map_err(ConfigError::Invalid)?;
    crate::notify::validate_settings(&s.notifications).map_err(ConfigError::Invalid)
}

/// Which parts of the service a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub background: bool,
}

impl Roles {
    pub const ALL_IN_ONE: Roles = Roles {
        api: true,
        background: true,
    };
    pub const API: Roles = Roles {
        api: true,
        background: false,
    };
    pub const WORKER: Roles = Roles {
        api: false,
        background: true,
    };
}

pub struct Application {
    pub port: u16,
    pub pool: DbPool,
    pub backend: Backend,
    pub settings: Arc<Settings>,
    server: Option<Server>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// Connects to the database and applies the pending migrations.
pub fn open_database(settings: &Settings) -> anyhow::Result<(DbPool, Backend)> {
    let (pool, backend) = db::connect(
        &settings.database.url,
        settings.database.pool_size,
        Duration::from_secs(settings.database.connect_timeout_secs),
    )?;
    let applied = db::migrate(&pool)?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrations applied");
    }
    Ok((pool, backend))
}

/// The longest a process takes to stop after SIGTERM (in-flight HTTP requests finish within).
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves at the first SIGTERM or SIGINT, with its name.
async fn terminate_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install the SIGTERM/SIGINT handlers");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

impl Application {
    pub fn build(settings: Settings, roles: Roles) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let (pool, backend) = open_database(&settings)?;
        if roles.background || settings.server.serve_composes {
            std::fs::create_dir_all(&settings.composes.target_dir).map_err(|e| {
                anyhow::anyhow!(
                    "cannot create composes.target_dir {}: {e}",
                    settings.composes.target_dir.display()
                )
            })?;
        }
        let mut port = 0;
        let server = if roles.api {
            let listener = TcpListener::bind(&settings.server.bind)
                .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", settings.server.bind))?;
            port = listener.local_addr()?.port();
            let state = web::Data::new(AppState {
                pool: pool.clone(),
                settings: settings.clone(),
                backend,
                cache: response_cache(&settings)?,
                db_permits: Arc::new(tokio::sync::Semaphore::new(
                    settings.database.pool_size.max(1) as usize,
                )),
                writer: crate::db::group_commit::GroupCommit::for_backend(pool.clone(), backend)?,
            });
            let auth = web::Data::new(crate::auth::Authenticator::from_settings(&settings.auth)?);
            let login =
                crate::auth::login::OidcLogin::from_settings(&settings.auth)?.map(web::Data::new);
            let serve = settings.server.serve_composes.then(|| {
                (
                    settings
                        .server
                        .composes_path
                        .trim_end_matches('/')
                        .to_string(),
                    settings.composes.target_dir.clone(),
                )
            });
            let workers = match settings.server.workers {
                0 => std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
                n => n,
            };
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(auth.clone())
                    .configure(|cfg| {
                        if let Some(l) = &login {
                            cfg.app_data(l.clone());
                        }
                    })
                    .wrap(crate::web::error::envelope_errors())
                    .wrap(tracing_actix())
                    .wrap_fn(|mut req, srv| {
                        crate::web::request::strip_script_name(&mut req);
                        actix_web::dev::Service::call(srv, req)
                    })
                    .configure(crate::ui::configure)
                    .configure(|cfg| crate::api::configure(cfg, serve.clone()))
            })
            .workers(workers)
            // Signals are handled by `run`, which bounds the whole stop (see there).
            .disable_signals()
            .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
            .listen(listener)?
            .run();
            Some(server)
        } else {
            None
        };
        Ok(Self {
            port,
            pool,
            backend,
            settings,
            server,
            background: vec![],
        })
    }

    /// Starts the background work of the `serve` and `worker` roles: the scheduler (it only
    /// enqueues), the worker loop, the outbox relay.
    pub fn start_background(&mut self) {
        let pool = self.pool.clone();
        let settings = self.settings.clone();
        self.background.push(tokio::spawn(async move {
            match crate::schedule::start(pool, settings).await {
                // The scheduler runs on its own tasks; keep its handle alive.
                Ok(sched) => {
                    std::future::pending::<()>().await;
                    drop(sched);
                }
                Err(e) => tracing::error!(error = %e, "cannot start the scheduler"),
            }
        }));
        let (pool, settings) = (self.pool.clone(), self.settings.clone());
        self.background.push(tokio::spawn(async move {
            crate::worker::run_forever(pool, settings).await;
        }));
        let (pool, settings) = (self.pool.clone(), self.settings.clone());
        self.background.push(tokio::spawn(async move {
            // One relay publishes at a time across processes (PostgreSQL advisory lock).
            if settings.messaging.fedmsg_publish_endpoint.is_empty() {
                return;
            }
            let s = settings.clone();
            crate::leader::run_as_leader(&s, crate::leader::FEDMSG_RELAY, "fedmsg relay", || {
                crate::bus::run_forever(pool.clone(), settings.clone())
            })
            .await;
        }));
        let (pool, settings) = (self.pool.clone(), self.settings.clone());
        self.background.push(tokio::spawn(async move {
            // One relay at a time across processes; it also marks the state messages of
            // composes nobody is to be told about.
            let s = settings.clone();
            crate::leader::run_as_leader(
                &s,
                crate::leader::NOTIFY_RELAY,
                "notifications relay",
                || crate::notify::run_forever(pool.clone(), settings.clone()),
            )
            .await;
        }));
        // fedora-messaging relay, bus listeners, trigger rules (each off unless configured).
        let events = crate::bus::spawn_events(self.pool.clone(), self.settings.clone());
        self.background.extend(events);
    }

    /// Runs until SIGTERM or SIGINT (or until the server stops). On a signal the HTTP server
    /// stops accepting, finishes its in-flight requests for at most [`SHUTDOWN_GRACE`], and
    /// `run` returns; the caller then exits the process without waiting for the engine's
    /// blocking threads. A job in flight is abandoned with its lease, and another worker (or
    /// this one, restarted) takes it over when the lease expires, as after a crash.
    pub async fn run(self) -> anyhow::Result<()> {
        let handle = self.server.as_ref().map(|s| s.handle());
        let main = async move {
            match self.server {
                Some(server) => server.await?,
                None => {
                    for h in self.background {
                        h.await?;
                    }
                }
            }
            anyhow::Ok(())
        };
        tokio::pin!(main);
        tokio::select! {
            r = &mut main => return r,
            signal = terminate_signal() => {
                tracing::info!(signal, grace_secs = SHUTDOWN_GRACE.as_secs(), "stopping: no new requests or jobs; a job in flight is left to its lease");
            }
        }
        if let Some(handle) = handle {
            let stop = handle.stop(true);
            // The server future runs the stop; drive both, bounded.
            let stopped = tokio::time::timeout(SHUTDOWN_GRACE, async {
                let ((), r) = tokio::join!(stop, &mut main);
                r
            })
            .await;
            match stopped {
                Ok(Err(e)) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
                Err(_) => tracing::warn!("in-flight requests did not finish within the grace"),
                Ok(Ok(())) => {}
            }
        }
        Ok(())
    }

    /// Spawns the server on the current runtime (tests); background work too when asked.
    pub fn spawn_with_background(mut self) -> (u16, DbPool) {
        self.start_background();
        std::mem::take(&mut self.background)
            .into_iter()
            .for_each(drop);
        self.spawn()
    }

    /// Spawns the server on the current runtime (tests).
    pub fn spawn(mut self) -> (u16, DbPool) {
        let port = self.port;
        let pool = self.pool.clone();
        if let Some(server) = self.server.take() {
            tokio::spawn(server);
        }
        (port, pool)
    }
}

/// The response cache and the thread that watches the database for other processes' changes
/// (it stops when the cache is dropped).
fn response_cache(
    settings: &Settings,
) -> anyhow::Result<Option<Arc<crate::web::cache::ResponseCache>>> {
    let max = settings.server.response_cache_bytes;
    if max == 0 {
        return Ok(None);
    }
    let (backend, url) = db::backend_url(&settings.database.url)?;
    let watch = Arc::new(db::changes::Watch::default());
    db::changes::spawn_watcher(backend, url, &watch);
    Ok(Some(Arc::new(crate::web::cache::ResponseCache::new(
        max, watch,
    ))))
}

/// Request logging: method, path, status and duration at debug level.
fn tracing_actix() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new("%{request}xi %s %Dms")
        .custom_request_replace("request", |req| {
            redacted_request_line(req.method().as_str(), req.uri(), req.version())
        })
        .log_target("composed::http")
}

/// The request line for the access log, with the value of every query parameter that may carry
/// a credential (`access_token`, `token`, `*secret*`, `*password*`, `*key*`, `code`) replaced
/// by `REDACTED`: a token sent in the query string is refused, and never logged.
fn redacted_request_line(
    method: &str,
    uri: &actix_web::http::Uri,
    version: actix_web::http::Version,
) -> String {
    let path = uri.path();
    let query = match uri.query() {
        None => String::new(),
        Some(q) => {
            let parts: Vec<String> = q
                .split('&')
                .map(|pair| {
                    let (name, _) = pair.split_once('=').unwrap_or((pair, ""));
                    let lower = name.to_ascii_lowercase();
                    let secret = ["token", "secret", "password", "key"]
                        .iter()
                        .any(|w| lower.contains(w))
                        || lower == "code";
                    if secret {
                        format!("{name}=REDACTED")
                    } else {
                        pair.to_string()
                    }
                })
                .collect();
            format!("?{}", parts.join("&"))
        }
    };
    format!("{method} {path}{query} {version:?}")
}
