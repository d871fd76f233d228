//! Real `composed` processes (`api`, `worker`, `migrate`) sharing one PostgreSQL database and
//! one compose directory, as in production; and a private PostgreSQL server that a test may
//! restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub db_url: String,
    pub port: u16,
    pub base: String,
    pub client: reqwest::Client,
    pub extra_env: Vec<(String, String)>,
    procs: BTreeMap<String, Child>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, c) in self.procs.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    pub fn new(db_url: String, extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("composes")).unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let port = free_port();
        Self {
            dir,
            db_url,
            port,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            extra_env: extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            procs: BTreeMap::new(),
        }
    }

    pub fn target_dir(&self) -> PathBuf {
        self.dir.path().join("composes")
    }

    fn command(&self, args: &[&str], log: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_composed"));
        cmd.args(args)
            .env("COMPOSED__DATABASE__URL", &self.db_url)
            .env("COMPOSED__DATABASE__POOL_SIZE", "4")
            .env(
                "COMPOSED__COMPOSES__TARGET_DIR",
                self.target_dir().to_string_lossy().as_ref(),
            )
            .env(
                "COMPOSED__COMPOSES__TARGET_DIR_URL",
                "http://localhost/odcs",
            )
            .env("COMPOSED__SERVER__BIND", format!("127.0.0.1:{}", self.port))
            .env("COMPOSED__SERVER__WORKERS", "2")
            .env("COMPOSED__SERVER__LOG_FORMAT", "json")
            .env("COMPOSED__ENGINE__POLL_INTERVAL_MS", "500")
            // The tests' repositories are temporary directories anywhere.
            .env("COMPOSED__COMPOSES__REPO_DIRS", r#"["/"]"#)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("logs").join(format!("{name}.log"))
    }

    /// `composed migrate`, to completion.
    pub fn migrate(&self) {
        let status = self
            .command(&["migrate"], &self.log_path("migrate"))
            .status()
            .unwrap();
        assert!(
            status.success(),
            "composed migrate failed: {}",
            self.log("migrate")
        );
    }

    /// Starts a process named `name` running `composed <args>`.
    pub fn start(&mut self, name: &str, args: &[&str]) {
        let child = self.command(args, &self.log_path(name)).spawn().unwrap();
        self.procs.insert(name.to_string(), child);
    }

    /// SIGKILL.
    pub fn kill(&mut self, name: &str) {
        let mut c = self.procs.remove(name).expect("process");
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// SIGTERM, then waits up to `within` for the process to end: its exit status and how
    /// long it took (`None` if it still ran; it is then killed).
    pub fn terminate(
        &mut self,
        name: &str,
        within: Duration,
    ) -> Option<(std::process::ExitStatus, Duration)> {
        let mut c = self.procs.remove(name).expect("process");
        let started = std::time::Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM {name}");
        while started.elapsed() < within {
            if let Some(status) = c.try_wait().unwrap() {
                return Some((status, started.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// Whether the process still runs.
    pub fn alive(&mut self, name: &str) -> bool {
        self.procs
            .get_mut(name)
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// The JSON log records of process `name` whose message is `message`.
    pub fn records(&self, name: &str, message: &str) -> Vec<Value> {
        self.log(name)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == message)
            .collect()
    }

    /// Waits for the API to answer.
    pub async fn wait_ready(&self) {
        for _ in 0..300 {
            if let Ok(r) = self
                .client
                .get(format!("{}/api/1/about/", self.base))
                .send()
                .await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("composed api did not come up: {}", self.log("api"));
    }

    pub async fn post(&self, body: &Value) -> Result<Value, (u16, String)> {
        let r = self
            .client
            .post(format!("{}/api/1/composes/", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| (0, e.to_string()))?;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        if status == 200 {
            Ok(serde_json::from_str(&text).unwrap())
        } else {
            Err((status, text))
        }
    }

    pub async fn get(&self, id: i64) -> Value {
        self.client
            .get(format!("{}/api/1/composes/{id}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits (bounded) until every compose of `ids` is in a final state; returns the states.
    pub async fn wait_final(&self, ids: &[i64], within: Duration) -> BTreeMap<i64, String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let mut states = BTreeMap::new();
            for id in ids {
                let c = self.get(*id).await;
                states.insert(*id, c["state_name"].as_str().unwrap_or("?").to_string());
            }
            if states
                .values()
                .all(|s| s != "wait" && s != "generating" && s != "?")
                || std::time::Instant::now() > deadline
            {
                return states;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A private PostgreSQL server (initdb in a temporary directory, its own port) that a test can
/// restart. Runs as the `postgres` user when the test runs as root.
pub struct PrivatePg {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
}

impl PrivatePg {
    /// Starts one, or `None` (loudly) outside CI when PostgreSQL's binaries are missing.
    pub fn start() -> Option<Self> {
        let Some(bin) = pg_bin() else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are missing in CI");
            }
            eprintln!("\n!!! SKIPPING: PostgreSQL server binaries are not installed !!!\n");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sock")).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown the private PostgreSQL directory");
        }
        let pg = Self {
            port: free_port(),
            dir,
            bin,
        };
        pg.run(&[
            "initdb",
            "-D",
            &pg.data(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.port,
            pg.dir.path().join("sock").display()
        );
        let log = pg.dir.path().join("server.log");
        pg.run(&[
            "pg_ctl",
            "-D",
            &pg.data(),
            "-o",
            &opts,
            "-l",
            &log.to_string_lossy(),
            "-w",
            "start",
        ]);
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn run(&self, args: &[&str]) {
        let exe = self.bin.join(args[0]);
        let out = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(&args[1..])
                .output()
        } else {
            Command::new(&exe).args(&args[1..]).output()
        }
        .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// `pg_ctl restart -m fast`: every client connection is terminated. (`-l` again: without
    /// it the new server would write to, and hold open, this process's output pipes.)
    pub fn restart(&self) {
        let log = self.dir.path().join("server.log");
        self.run(&[
            "pg_ctl",
            "-D",
            &self.data(),
            "-l",
            &log.to_string_lossy(),
            "-m",
            "fast",
            "-w",
            "restart",
        ]);
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        };
    }
}
