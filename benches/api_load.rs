//! API load benchmark (not a test): 10,000 composes in the database, then `wrk` against
//! GET /api/1/composes/{id} and GET /api/1/composes/?per_page=20 at 16 and 64 connections,
//! on SQLite and on PostgreSQL. Prints a markdown table for docs/benchmarks.md.
//!
//! Run: `cargo bench --bench api_load` (PostgreSQL from BENCH_DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/test; `wrk` from Debian's package).
//! Env: BENCH_SECONDS (default 10), BENCH_COMPOSES (default 10000).

use std::process::Command;

use composed::app::{Application, Roles};
use composed::config::Settings;
use composed::db::models::NewCompose;
use composed::db::{composes as q, write_tx};
use diesel::{Connection, RunQueryDsl};

struct Row {
    backend: &'static str,
    endpoint: &'static str,
    conns: u32,
    rps: f64,
    p50: String,
    p99: String,
}

fn seed(pool: &composed::db::DbPool, settings: &Settings, n: usize) {
    let mut conn = pool.get().unwrap();
    let now = composed::db::now();
    write_tx(&mut conn, |c| -> Result<(), diesel::result::Error> {
        for i in 0..n {
            let row = NewCompose {
                owner: format!("user{}", i % 17),
                source_type: 1 + (i % 7) as i32,
                source: format!("f{}-build", 30 + i % 11),
                state: (i % 5) as i32,
                state_reason: Some("Compose is generated successfully".into()),
                time_to_expire: now + chrono::Duration::days(1),
                time_submitted: now,
                flags: (i % 4) as i32,
                results: 1,
                sigkeys: "SIG1 SIG2".into(),
                koji_event: Some(1_000_000 + i as i64),
                packages: Some("bash coreutils glibc".into()),
                builds: None,
                arches: "x86_64 aarch64".into(),
                multilib_arches: String::new(),
                multilib_method: 0,
                lookaside_repos: Some(String::new()),
                modular_koji_tags: None,
                module_defaults_url: None,
                label: None,
                compose_type: Some("test".into()),
                target_dir: None,
                scratch_modules: None,
                parent_pungi_compose_ids: None,
                scratch_build_tasks: None,
                modules: None,
                respin_of: None,
                base_module_br_name: None,
                base_module_br_stream: None,
                base_module_br_stream_version_lte: None,
                base_module_br_stream_version_gte: None,
                pungi_config_dump: None,
                traceparent: None,
            };
            q::insert(c, &row, &settings.composes)?;
        }
        Ok(())
    })
    .unwrap();
    // Steady state: PostgreSQL's autovacuum runs after 1,000 inserts (and within its one-minute
    // nap); the benchmark does it now, so plans use fresh statistics and index-only scans see a
    // current visibility map, as on a server that has been up for a minute.
    if let composed::db::AnyConnection::Postgresql(pg) = &mut *conn {
        diesel::sql_query("VACUUM ANALYZE composes")
            .execute(pg)
            .unwrap();
    }
}

fn wrk(url: &str, conns: u32, seconds: u32, script: Option<&str>) -> (f64, String, String) {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{conns}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(s) = script {
        cmd.args(["-s", s]);
    }
    let out = cmd.arg(url).output().expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let pct = |p: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(p))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_string()
    };
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        eprintln!("wrk reported errors:\n{text}");
    }
    (rps, pct("50%"), pct("99%"))
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / nextest probing
    }
    let seconds: u32 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let n: usize = std::env::var("BENCH_COMPOSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let pg_admin = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let dir = tempfile::tempdir().unwrap();
    // wrk script: random ids over the seeded range.
    let script = dir.path().join("ids.lua");
    std::fs::write(
        &script,
        format!("math.randomseed(42)\nrequest = function()\n  return wrk.format(\"GET\", \"/api/1/composes/\" .. math.random(1, {n}))\nend\n"),
    )
    .unwrap();
    let mut rows = Vec::new();
    for backend in ["sqlite", "postgres"] {
        let mut settings = Settings::default();
        settings.server.bind = "127.0.0.1:0".into();
        settings.server.workers = 2;
        settings.database.pool_size = 16;
        settings.composes.target_dir = dir.path().join("composes");
        settings.database.url = if backend == "sqlite" {
            format!("sqlite://{}", dir.path().join("bench.sqlite").display())
        } else {
            let mut admin =
                diesel::PgConnection::establish(&pg_admin).expect("PostgreSQL for the benchmark");
            diesel::sql_query("DROP DATABASE IF EXISTS composed_bench WITH (FORCE)")
                .execute(&mut admin)
                .unwrap();
            diesel::sql_query("CREATE DATABASE composed_bench")
                .execute(&mut admin)
                .unwrap();
            let mut u = url::Url::parse(&pg_admin).unwrap();
            u.set_path("/composed_bench");
            u.to_string()
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (port, pool) = rt.block_on(async {
            let app = Application::build(settings.clone(), Roles::API).unwrap();
            app.spawn()
        });
        let t = std::time::Instant::now();
        seed(&pool, &settings, n);
        eprintln!(
            "{backend}: seeded {n} composes in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let base = format!("http://127.0.0.1:{port}");
        // Warm-up.
        wrk(&format!("{base}/api/1/composes/?per_page=20"), 16, 2, None);
        for conns in [16, 64] {
            let (rps, p50, p99) = wrk(
                &format!("{base}/api/1/composes/"),
                conns,
                seconds,
                Some(script.to_str().unwrap()),
            );
            rows.push(Row {
                backend,
                endpoint: "GET /api/1/composes/{id}",
                conns,
                rps,
                p50,
                p99,
            });
            let (rps, p50, p99) = wrk(
                &format!("{base}/api/1/composes/?per_page=20"),
                conns,
                seconds,
                None,
            );
            rows.push(Row {
                backend,
                endpoint: "GET /api/1/composes/?per_page=20",
                conns,
                rps,
                p50,
                p99,
            });
        }
        rt.shutdown_background();
    }
    println!("| backend | endpoint | connections | requests/s | p50 | p99 |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | `{}` | {} | {:.0} | {} | {} |",
            r.backend, r.endpoint, r.conns, r.rps, r.p50, r.p99
        );
    }
}
