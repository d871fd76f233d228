//! Job-queue benchmark (not a test): composes per minute with 1, 2 and 4 `composed worker`
//! processes sharing PostgreSQL (one `composed api` process takes the POSTs), and the claim
//! latency of an idle worker (compose submitted → compose generating), with LISTEN/NOTIFY
//! wake-ups and with polling only. Prints markdown rows for docs/benchmarks.md.
//!
//! Run: `cargo bench --bench queue` (PostgreSQL from BENCH_DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
//! Env: BENCH_COMPOSES (default 300), BENCH_SAMPLES (claim latency samples, default 40).

#[path = "../tests/common/rpms.rs"]
#[allow(dead_code)]
mod rpms;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use serde_json::{Value, json};

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
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

fn fresh_db(admin: &str, name: &str) -> String {
    let mut c = diesel::PgConnection::establish(admin).expect("BENCH_DATABASE_URL");
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut c)
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn composed(args: &[&str], db: &str, dir: &std::path::Path, port: u16, poll_ms: u64) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_composed"));
    cmd.args(args)
        .env("COMPOSED__DATABASE__URL", db)
        .env(
            "COMPOSED__COMPOSES__TARGET_DIR",
            dir.to_string_lossy().as_ref(),
        )
        .env("COMPOSED__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("COMPOSED__ENGINE__POLL_INTERVAL_MS", poll_ms.to_string())
        .env("COMPOSED__COMPOSES__REPO_DIRS", r#"["/"]"#)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

struct Setup {
    _procs: Procs,
    base: String,
    db: String,
    _dir: tempfile::TempDir,
}

fn start(admin: &str, name: &str, workers: usize, poll_ms: u64, listen: bool) -> Setup {
    let db = fresh_db(admin, name);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let status = composed(&["migrate"], &db, dir.path(), port, poll_ms)
        .status()
        .unwrap();
    assert!(status.success());
    let mut procs = vec![
        composed(&["api"], &db, dir.path(), port, poll_ms)
            .spawn()
            .unwrap(),
    ];
    for _ in 0..workers {
        procs.push(
            composed(&["worker"], &db, dir.path(), port, poll_ms)
                .env("COMPOSED__WORKER__PG_LISTEN", listen.to_string())
                .spawn()
                .unwrap(),
        );
    }
    Setup {
        _procs: Procs(procs),
        base: format!("http://127.0.0.1:{port}"),
        db,
        _dir: dir,
    }
}

async fn wait_api(client: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if client
            .get(format!("{base}/api/1/about/"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("api did not start");
}

async fn count_done(client: &reqwest::Client, base: &str) -> i64 {
    let v: Value = client
        .get(format!("{base}/api/1/composes/?state=2&per_page=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["meta"]["total"].as_i64().unwrap_or(0)
}

fn body(repo: &str, i: usize) -> Value {
    json!({"source": {"type": "repo", "source": repo, "packages": [format!("pkg-{}", i % 20)]}, "flags": ["no_reuse"]})
}

/// Seconds from submitted to started, per compose, from the database.
fn start_delays(db: &str) -> Vec<f64> {
    use composed::db::schema::composes;
    use diesel::{ExpressionMethods, QueryDsl};
    let mut c = diesel::PgConnection::establish(db).unwrap();
    composes::table
        .filter(composes::time_started.is_not_null())
        .select((composes::time_submitted, composes::time_started))
        .load::<(chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)>(&mut c)
        .unwrap()
        .into_iter()
        .map(|(s, t)| (t.unwrap() - s).num_microseconds().unwrap() as f64 / 1e6)
        .collect()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let admin = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into());
    let n: usize = std::env::var("BENCH_COMPOSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let repo_dir = rpms::cached_many("pkg", 20);
    let repo = repo_dir.to_string_lossy().into_owned();
    let client = reqwest::Client::new();

    println!("| workers | composes | seconds | composes/min | submitted → generating p50 | p99 |");
    println!("|---|---|---|---|---|---|");
    for workers in [1usize, 2, 4] {
        let s = start(
            &admin,
            &format!("composed_bench_q{workers}"),
            workers,
            500,
            true,
        );
        wait_api(&client, &s.base).await;
        let t0 = Instant::now();
        let posts = (0..n).map(|i| {
            let (client, base, b) = (client.clone(), s.base.clone(), body(&repo, i));
            async move {
                let r = client
                    .post(format!("{base}/api/1/composes/"))
                    .json(&b)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        });
        futures_util::future::join_all(posts).await;
        while count_done(&client, &s.base).await < n as i64 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let secs = t0.elapsed().as_secs_f64();
        let mut d = start_delays(&s.db);
        println!(
            "| {workers} | {n} | {secs:.1} | {:.0} | {:.0} ms | {:.0} ms |",
            n as f64 / secs * 60.0,
            pct(&mut d, 0.5) * 1e3,
            pct(&mut d, 0.99) * 1e3
        );
    }

    println!();
    println!("| claim path (idle worker, 1 compose at a time) | samples | p50 | p99 |");
    println!("|---|---|---|---|");
    for (label, listen, name) in [
        (
            "LISTEN/NOTIFY wake-up (poll 500 ms as safety net)",
            true,
            "composed_bench_claim_notify",
        ),
        (
            "polling only, every 500 ms (`worker.pg_listen = false`)",
            false,
            "composed_bench_claim_poll",
        ),
    ] {
        // The API in its own process: its in-process wake-up cannot reach the worker, so the
        // worker learns of a compose from PostgreSQL (notification) or its poll.
        let s = start(&admin, name, 1, 500, listen);
        wait_api(&client, &s.base).await;
        for i in 0..samples {
            let r = client
                .post(format!("{}/api/1/composes/", s.base))
                .json(&body(&repo, i))
                .send()
                .await
                .unwrap();
            let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
            loop {
                let v: Value = client
                    .get(format!("{}/api/1/composes/{id}", s.base))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if v["state_name"] == "done" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Let the worker go idle again, at a random point of its poll cycle.
            tokio::time::sleep(Duration::from_millis(100 + (i as u64 * 37) % 400)).await;
        }
        let mut d = start_delays(&s.db);
        println!(
            "| {label} | {} | {:.1} ms | {:.1} ms |",
            d.len(),
            pct(&mut d, 0.5) * 1e3,
            pct(&mut d, 0.99) * 1e3
        );
    }
}
