//! Test support: the real server on port 0, on SQLite or on PostgreSQL (a fresh database per
//! test), with helpers to seed state the public API cannot create.

use composed::app::{Application, Roles};
use composed::config::Settings;
use composed::db::models::Compose;
use composed::db::{AnyConnection, DbPool, composes as q, write_tx};
use composed::domain::State;
use diesel::Connection;
use diesel::RunQueryDsl;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: DbPool,
    pub settings: Settings,
    /// Keeps the temporary directory (database, composes) alive.
    pub _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

/// PostgreSQL admin URL for tests, or `None` (with a loud message) when it is not configured
/// outside CI. In CI (`CI=true`) a missing PostgreSQL is a failure.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("TEST_DATABASE_URL is not set in CI: PostgreSQL tests must run");
            }
            eprintln!(
                "\n!!! SKIPPING PostgreSQL variant: TEST_DATABASE_URL is not set \
                 (e.g. postgres://postgres@127.0.0.1:5432/test) !!!\n"
            );
            None
        }
    }
}

pub fn create_pg_database(admin: &str) -> (String, String) {
    let name = format!(
        "composed_t_{}",
        &composed::db::composes::new_message_id().replace('-', "")[..16]
    );
    let mut conn = diesel::PgConnection::establish(admin).expect("connect to TEST_DATABASE_URL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    let mut url = url::Url::parse(admin).expect("admin url");
    url.set_path(&format!("/{name}"));
    (name, url.to_string())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((name, _)) = &self.pg_database
            && let Ok(admin) = std::env::var("TEST_DATABASE_URL")
            && let Ok(mut conn) = diesel::PgConnection::establish(&admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

/// Starts composed (API only; tests drive background work explicitly).
pub async fn spawn_app(db: Db, configure: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    spawn_app_full(db, configure, false).await
}

/// Starts composed, with the worker and cleanup loops when `background`.
pub async fn spawn_app_full(
    db: Db,
    configure: impl FnOnce(&mut Settings),
    background: bool,
) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = 2;
    settings.database.pool_size = 4;
    settings.composes.target_dir = dir.path().join("composes");
    settings.composes.target_dir_url = "http://localhost/odcs".into();
    settings.engine.poll_interval_ms = 50;
    // Repo sources anywhere, for the tests that are not about their confinement (those set
    // their own `repo_dirs`).
    settings.composes.repo_dirs = vec!["/".into()];
    let mut pg_database = None;
    settings.database.url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("composed.sqlite").display()),
        Db::Postgres => {
            let admin = postgres_admin_url()?;
            let (name, url) = create_pg_database(&admin);
            pg_database = Some((name, url.clone()));
            url
        }
    };
    if !background {
        // No worker runs, so nothing contacts it; POSTs of tag, build and module sources need
        // a hub configured (issue 19's first-run check). Tests with a worker set a real one.
        settings.koji.hub_url = "http://127.0.0.1:9/kojihub".into();
        settings.mbs.url = "http://127.0.0.1:9/module-build-service".into();
    }
    configure(&mut settings);
    let app = Application::build(settings.clone(), Roles::API).expect("build app");
    let (port, pool) = if background {
        app.spawn_with_background()
    } else {
        app.spawn()
    };
    Some(TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        pool,
        settings,
        _dir: dir,
        pg_database,
    })
}

/// Runs the test body against SQLite and PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        both_backends!($name, |_s| {}, |$app| $body);
    };
    ($name:ident, |$s:ident| $configure:block, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run(db: $crate::support::Db) {
                let Some($app) =
                    $crate::support::spawn_app(db, |$s: &mut composed::config::Settings| {
                        $configure
                    })
                    .await
                else {
                    return;
                };
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::support::Db::Postgres).await
            }
        }
    };
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// Asserts an error envelope with this status and returns its message.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.text);
        let j = self.json();
        assert_eq!(j["status"], status, "{j}");
        assert!(j["error"].is_string(), "{j}");
        assert_eq!(
            j.as_object().unwrap().len(),
            3,
            "envelope has exactly 3 keys: {j}"
        );
        j["message"].as_str().unwrap().to_string()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let r = rb.send().await.expect("request");
        Resp {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            text: r.text().await.unwrap(),
        }
    }

    /// The test's own PostgreSQL database, if it runs on PostgreSQL.
    pub fn pg_database_name(&self) -> Option<&str> {
        self.pg_database.as_ref().map(|(name, _)| name.as_str())
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(reqwest::Method::GET, path, None).await
    }

    /// GET with request headers (a reverse proxy's, for example).
    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self.client.get(self.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let r = rb.send().await.expect("request");
        Resp {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            text: r.text().await.unwrap(),
        }
    }
    pub async fn post(&self, body: &Value) -> Resp {
        self.request(
            reqwest::Method::POST,
            "/api/1/composes/",
            Some(body.to_string().into_bytes()),
        )
        .await
    }
    pub async fn post_raw(&self, body: &[u8]) -> Resp {
        self.request(
            reqwest::Method::POST,
            "/api/1/composes/",
            Some(body.to_vec()),
        )
        .await
    }
    pub async fn patch(&self, id: i64, body: Option<&Value>) -> Resp {
        self.request(
            reqwest::Method::PATCH,
            &format!("/api/1/composes/{id}"),
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }
    pub async fn delete(&self, id: i64) -> Resp {
        self.request(
            reqwest::Method::DELETE,
            &format!("/api/1/composes/{id}"),
            None,
        )
        .await
    }

    /// POSTs and asserts 200; returns the compose JSON.
    pub async fn create(&self, body: &Value) -> Value {
        let r = self.post(body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }

    pub async fn tag_compose(&self, tag: &str) -> i64 {
        self.create(&serde_json::json!({"source": {"type": "tag", "source": tag}}))
            .await["id"]
            .as_i64()
            .unwrap()
    }

    /// Runs `f` on a pooled connection in a blocking thread.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> T + Send + 'static,
    ) -> T {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || f(&mut pool.get().unwrap()))
            .await
            .unwrap()
    }

    pub async fn compose(&self, id: i64) -> Compose {
        self.with_db(move |c| q::get(c, id).unwrap().expect("compose exists"))
            .await
    }

    /// Moves a compose to `state` through the real transition code.
    pub async fn set_state(&self, id: i64, state: State, reason: Option<&str>) -> Compose {
        let settings = self.settings.composes.clone();
        let reason = reason.map(str::to_string);
        self.with_db(move |c| {
            write_tx(c, |c| {
                let compose = q::get(c, id)?.unwrap();
                q::transition(c, &compose, state, reason, composed::db::now(), &settings)
            })
            .unwrap()
        })
        .await
    }

    /// Edits a stored compose directly (seeding).
    pub async fn edit(&self, id: i64, f: impl FnOnce(&mut Compose) + Send + 'static) -> Compose {
        self.with_db(move |c| {
            let mut compose = q::get(c, id).unwrap().unwrap();
            f(&mut compose);
            q::save(c, &compose).unwrap();
            compose
        })
        .await
    }

    pub async fn count_composes(&self) -> i64 {
        self.with_db(|c| {
            use composed::db::schema::composes::dsl::*;
            use diesel::QueryDsl;
            composes.count().get_result::<i64>(c).unwrap()
        })
        .await
    }

    pub async fn outbox_states(&self) -> Vec<(i64, String)> {
        self.with_db(|c| {
            q::pending_messages(c, 10_000)
                .unwrap()
                .into_iter()
                .map(|m| {
                    let v: Value = serde_json::from_str(&m.body).unwrap();
                    (
                        v["compose"]["id"].as_i64().unwrap(),
                        v["compose"]["state_name"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .await
    }
}

/// Parses a compose timestamp.
pub fn ts(v: &Value) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(v.as_str().unwrap(), "%Y-%m-%dT%H:%M:%SZ").unwrap()
}

/// The venv's bin directory, or `None` (loudly) outside CI when it is missing.
pub fn venv_bin() -> Option<std::path::PathBuf> {
    let venv = std::env::var("COMPOSED_TEST_VENV")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv").into());
    let bin = std::path::PathBuf::from(venv).join("bin");
    if bin.join("odcs").exists() {
        return Some(bin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "odcs client venv missing at {}: .ci/run must install it",
            bin.display()
        );
    }
    eprintln!(
        "\n!!! SKIPPING real odcs client test: no venv with odcs at {} (run .ci/run once) !!!\n",
        bin.display()
    );
    None
}
