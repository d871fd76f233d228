//! Web UI pages benchmark (not a test): 10,000 composes in the database, then each page asked
//! 200 times in a row; the time from request to the last byte (loopback, one connection),
//! median and p90, on SQLite and on PostgreSQL. Issue 17's bound: under 50 ms.
//!
//! Run: `cargo bench --bench ui_pages` (PostgreSQL from BENCH_DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/test). Env: BENCH_COMPOSES (default 10000).

#[path = "common/seed.rs"]
mod seed;

use std::time::Instant;

use composed::app::{Application, Roles};
use composed::config::Settings;
use diesel::{Connection, RunQueryDsl};

const PAGES: [&str; 8] = [
    "/",
    "/?state=done",
    "/?q=f35&page=3",
    "/?source_type=tag&owner=user3",
    "/compose/5000",
    "/new",
    "/dashboard",
    "/triggers",
];

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let n: usize = std::env::var("BENCH_COMPOSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let pg_admin = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| backend | page | median ms | p90 ms |");
    println!("|---|---|---|---|");
    for backend in ["sqlite", "postgres"] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::default();
        s.server.bind = "127.0.0.1:0".into();
        s.composes.target_dir = dir.path().join("composes");
        s.database.url = match backend {
            "sqlite" => format!("sqlite://{}", dir.path().join("db.sqlite").display()),
            _ => {
                let name = format!("bench_ui_{}", std::process::id());
                let mut admin = diesel::PgConnection::establish(&pg_admin).expect("PostgreSQL");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut admin)
                    .unwrap();
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                let (base, _) = pg_admin.rsplit_once('/').unwrap();
                format!("{base}/{name}")
            }
        };
        rt.block_on(async {
            let app = Application::build(s.clone(), Roles::API).unwrap();
            let (port, pool) = app.spawn();
            seed::seed(&pool, &s, n);
            let client = reqwest::Client::new();
            for page in PAGES {
                let url = format!("http://127.0.0.1:{port}{page}");
                let mut times = Vec::new();
                for i in 0..220 {
                    let t = Instant::now();
                    let r = client.get(&url).send().await.unwrap();
                    assert_eq!(r.status(), 200, "{url}");
                    let _ = r.bytes().await.unwrap();
                    if i >= 20 {
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                println!(
                    "| {backend} | `{page}` | {:.2} | {:.2} |",
                    quantile(times.clone(), 0.5),
                    quantile(times, 0.9)
                );
            }
        });
    }
}
