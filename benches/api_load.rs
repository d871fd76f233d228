//! API load benchmark (not a test): 10,000 composes in the database, then `wrk` against
//! GET /api/1/composes/{id} and GET /api/1/composes/?per_page=20 at 16 and 64 connections,
//! and the mix of issue 19 at 64 connections (2% POSTs of `repo` composes, 8% list pages at
//! random, 90% GETs by random id), on SQLite and on PostgreSQL. Prints a markdown table for
//! docs/benchmarks.md.
//!
//! Run: `cargo bench --bench api_load` (PostgreSQL from BENCH_DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/test; `wrk` from Debian's package).
//! Env: BENCH_SECONDS (default 10), BENCH_COMPOSES (default 10000), BENCH_POOL (connections,
//! default `database.pool_size`'s default), BENCH_ONLY (run only the backends whose name contains it),
//! BENCH_MIX_POSTS (the mix's POST percentage, default 2; a diagnostic).

#[path = "common/seed.rs"]
mod seed;

use std::process::Command;

use seed::seed;

use composed::app::{Application, Roles};
use composed::config::Settings;
use diesel::{Connection, RunQueryDsl};

struct Row {
    backend: String,
    endpoint: &'static str,
    conns: u32,
    rps: f64,
    p50: String,
    p99: String,
    /// Share of the run's reads answered by the response cache ("-" when it is off).
    hits: String,
}

/// (hits, misses + bypassed) of the response cache, from the metrics endpoint.
fn cache_counts(base: &str) -> (u64, u64) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /api/1/metrics/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0)
    };
    (
        value("composed_response_cache_hits_total"),
        value("composed_response_cache_misses_total")
            + value("composed_response_cache_bypassed_total"),
    )
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
    // The mix: 2% POST, 8% list pages, 90% GET by id.
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    // The POST of both scripts: a `repo` compose.
    let post_head = format!(
        r#"local body = '{{"source": {{"type": "repo", "source": "{}"}}}}'
local json = {{["Content-Type"] = "application/json"}}
"#,
        repo.display()
    );
    let mix = dir.path().join("mix.lua");
    // BENCH_MIX_POSTS (a diagnostic): the POSTs' share of the mix in percent, 2 by default;
    // 0 shows what the writes cost the reads' tail.
    let post_pct: u32 = std::env::var("BENCH_MIX_POSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let list_end = post_pct + 8;
    let mix_label: &'static str = if post_pct == 2 {
        "mix: 2% POST, 8% list, 90% by id"
    } else {
        format!(
            "mix: {post_pct}% POST, 8% list, {}% by id",
            92u32.saturating_sub(post_pct)
        )
        .leak()
    };
    std::fs::write(
        &mix,
        format!(
            r#"math.randomseed(42)
{post_head}request = function()
  local r = math.random(1, 100)
  if r <= {post_pct} then
    return wrk.format("POST", "/api/1/composes/", json, body)
  elseif r <= {list_end} then
    return wrk.format("GET", "/api/1/composes/?per_page=20&page=" .. math.random(1, 50))
  else
    return wrk.format("GET", "/api/1/composes/" .. math.random(1, {n}))
  end
end
"#
        ),
    )
    .unwrap();
    let posts = dir.path().join("posts.lua");
    std::fs::write(
        &posts,
        format!(
            r#"{post_head}request = function()
  return wrk.format("POST", "/api/1/composes/", json, body)
end
"#
        ),
    )
    .unwrap();
    let mut rows = Vec::new();
    let configs = [
        ("sqlite", true),
        ("sqlite", false),
        ("postgres", true),
        ("postgres", false),
    ];
    // BENCH_ONLY=postgres (say) runs only the matching configurations.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let pool_size: u32 = std::env::var("BENCH_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(Settings::default().database.pool_size);
    for (backend, cache) in configs {
        if !backend.contains(only.as_str()) {
            continue;
        }
        let mut settings = Settings::default();
        if !cache {
            settings.server.response_cache_bytes = 0;
        }
        settings.server.bind = "127.0.0.1:0".into();
        settings.server.workers = 2;
        settings.database.pool_size = pool_size;
        settings.composes.target_dir = dir.path().join("composes");
        settings.composes.repo_dirs = vec![repo.clone()];
        settings.database.url = if backend == "sqlite" {
            format!(
                "sqlite://{}",
                dir.path().join(format!("bench-{cache}.sqlite")).display()
            )
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
        // Warm-up (the same for every configuration): the server's pool and the database's
        // buffers, and the response cache when it is on, as on a server that has been answering
        // its pollers for a few seconds.
        wrk(&format!("{base}/api/1/composes/?per_page=20"), 16, 2, None);
        wrk(
            &format!("{base}/api/1/composes/"),
            16,
            3,
            Some(script.to_str().unwrap()),
        );
        let label = if cache {
            backend.to_string()
        } else {
            format!("{backend}, cache off")
        };
        let mut measure =
            |endpoint: &'static str, url: String, conns: u32, script: Option<&str>| {
                let before = cache_counts(&base);
                let (rps, p50, p99) = wrk(&url, conns, seconds, script);
                let after = cache_counts(&base);
                let (hits, misses) = (after.0 - before.0, after.1 - before.1);
                rows.push(Row {
                    backend: label.clone(),
                    endpoint,
                    conns,
                    rps,
                    p50,
                    p99,
                    hits: if cache {
                        format!(
                            "{:.1}%",
                            100.0 * hits as f64 / (hits + misses).max(1) as f64
                        )
                    } else {
                        "-".into()
                    },
                });
            };
        for conns in [16, 64] {
            let runs = [
                (
                    "GET /api/1/composes/{id}",
                    format!("{base}/api/1/composes/"),
                    Some(script.to_str().unwrap()),
                ),
                (
                    "GET /api/1/composes/?per_page=20",
                    format!("{base}/api/1/composes/?per_page=20"),
                    None,
                ),
            ];
            for (endpoint, url, script) in runs {
                measure(endpoint, url, conns, script);
            }
        }
        // Last: its POSTs add composes to the table the other runs read.
        measure(
            mix_label,
            format!("{base}/api/1/composes/"),
            64,
            Some(mix.to_str().unwrap()),
        );
        // POSTs alone, on few connections: their own latency, apart from the mix's reads.
        measure(
            "POST only (repo composes)",
            format!("{base}/api/1/composes/"),
            4,
            Some(posts.to_str().unwrap()),
        );
        rt.shutdown_background();
    }
    println!("| backend | endpoint | connections | requests/s | p50 | p99 | cache hits |");
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | `{}` | {} | {:.0} | {} | {} | {} |",
            r.backend, r.endpoint, r.conns, r.rps, r.p50, r.p99, r.hits
        );
    }
}
