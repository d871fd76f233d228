//! Engine benchmark (not a test): a 10,000-RPM Koji-layout tag (rpm crate) served by the test
//! hub (in a process of its own, answered once before the clock starts); composed composes the
//! whole tag (cold and warm header cache) and 100 requested packages with their closure (warm), POST → done through the real API and worker; createrepo_c runs
//! on the same RPM set in the same run. Prints a markdown table for docs/benchmarks.md.
//!
//! Run: `cargo bench --bench engine` (needs `createrepo_c`). Env: BENCH_RPMS (default 10000),
//! BENCH_PRETOUCH_MB (a diagnostic: memory touched and freed before the first compose).

#[path = "../tests/common/koji_hub.rs"]
mod koji_hub;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use composed::app::{Application, Roles};
use composed::config::Settings;
use rpm::{Dependency, FileOptions, PackageBuilder};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The RPM files of the test hub's `bench` tag (`koji_hub::bench_tag`) under `topdir`.
fn make_set(topdir: &Path, n: usize) {
    let cfg = rpm::BuildConfig::default()
        .compression(rpm::CompressionWithLevel::Gzip(6))
        .source_date(1_700_000_000u32);
    for i in 0..n {
        let (name, arch) = koji_hub::bench_rpm(i);
        let mut b = PackageBuilder::new(&name, "1.0", "MIT", arch, "benchmark package");
        b.using_config(cfg).release("1");
        if i % 10 != 0 {
            b.requires(Dependency::greater_eq(format!("bench-{:05}", i - 1), "1.0"));
        }
        if i % 7 == 0 && i > 0 {
            b.requires(Dependency::any("/usr/share/bench/00000"));
        }
        b.with_file_contents(
            format!("{name}\n").into_bytes(),
            FileOptions::new(format!("/usr/share/bench/{i:05}")),
        )
        .unwrap();
        let dir = topdir.join(format!("packages/{name}/1.0/1/{arch}"));
        std::fs::create_dir_all(&dir).unwrap();
        b.build()
            .unwrap()
            .write_file(dir.join(format!("{name}-1.0-1.{arch}.rpm")))
            .unwrap();
    }
}

async fn compose(client: &reqwest::Client, base: &str, body: serde_json::Value) -> f64 {
    let t = Instant::now();
    let r: serde_json::Value = client
        .post(format!("{base}/api/1/composes/"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["id"].as_i64().expect("compose created");
    loop {
        let j: serde_json::Value = client
            .get(format!("{base}/api/1/composes/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match j["state_name"].as_str() {
            Some("done") => return t.elapsed().as_secs_f64(),
            Some("failed") => panic!("compose failed: {}", j["state_reason"]),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// The test hub in a process of its own, as a Koji hub is: this same binary, started with
/// `BENCH_HUB_CHILD=<n>`, prints the hub's URL and serves until its stdin closes (the parent
/// exited).
fn hub_child(n: usize) {
    let data = koji_hub::bench_tag(n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let hub = koji_hub::spawn_hub(data).await;
        println!("{}", hub.url);
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        })
        .await
        .unwrap();
    });
}

/// Starts the hub child and waits for its URL.
fn spawn_hub_process(n: usize) -> (std::process::Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("BENCH_HUB_CHILD", n.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the hub process");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line.trim().to_string())
}

/// One `listTaggedRPMS` of the whole tag, straight to the hub: a Koji hub in service has
/// answered before, and the test hub's own first answer (its allocator cold) is not composed's.
async fn warm_hub(url: &str) {
    let body = composed::koji::xmlrpc::encode_call("listTaggedRPMS", &["bench".into()]);
    let r = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let answer = r.bytes().await.unwrap();
    assert!(
        answer.len() > 1000,
        "the hub answered {} bytes",
        answer.len()
    );
}

/// Diagnostic (`BENCH_PRETOUCH_MB`): allocates and touches `mb` MiB on four threads, and two
/// million small strings, then frees them all, so that the process's first compose finds its
/// memory already mapped, as later composes do.
fn pretouch(mb: usize) {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let blocks: Vec<Vec<u8>> = (0..mb / 4).map(|_| vec![1u8; 1 << 20]).collect();
                std::hint::black_box(&blocks);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let small: Vec<String> = (0..2_000_000).map(|i| i.to_string()).collect();
    std::hint::black_box(&small);
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    if let Some(n) = std::env::var("BENCH_HUB_CHILD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return hub_child(n);
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "composed::engine=info,composed::koji=debug",
        ))
        .with_writer(std::io::stderr)
        .init();
    let n: usize = std::env::var("BENCH_RPMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let topdir = dir.path().join("koji");
    let t = Instant::now();
    make_set(&topdir, n);
    eprintln!("made {n} RPMs in {:.1}s", t.elapsed().as_secs_f64());
    // createrepo_c over the same RPMs (3 runs, median), which also warms the page cache.
    let mut cr = Vec::new();
    for i in 0..3 {
        let out = dir.path().join(format!("cr{i}"));
        std::fs::create_dir_all(&out).unwrap();
        let t = Instant::now();
        let st = Command::new("createrepo_c")
            .args(["--no-database", "-q", "-o"])
            .arg(&out)
            .arg(topdir.join("packages"))
            .status()
            .expect("createrepo_c");
        assert!(st.success());
        cr.push(t.elapsed().as_secs_f64());
    }
    let createrepo = median(cr);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_hub_process, hub_url) = spawn_hub_process(n);
    rt.block_on(async {
        warm_hub(&hub_url).await;
        let mut s = Settings::default();
        s.server.bind = "127.0.0.1:0".into();
        s.server.workers = 1;
        s.database.url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        s.composes.target_dir = dir.path().join("composes");
        s.koji.hub_url = hub_url.clone();
        s.koji.topdir = topdir.clone();
        s.engine.poll_interval_ms = 5;
        let app = Application::build(s, Roles::API).unwrap();
        let (port, _pool) = app.spawn_with_background();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        // `no_reuse`: every compose is generated (an identical done compose would be reused).
        let tag = serde_json::json!({"source": {"type": "tag", "source": "bench"}, "flags": ["no_reuse"]});
        // Cold = an empty header cache: every header is read and every RPM checksummed again.
        // Three such composes, median; the first one is also the process's first compose (its
        // allocator and connections are cold too), shown apart.
        if let Some(mb) = std::env::var("BENCH_PRETOUCH_MB")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            pretouch(mb);
        }
        let mut colds = Vec::new();
        for _ in 0..3 {
            composed::engine::headers::clear();
            colds.push(compose(&client, &base, tag.clone()).await);
        }
        let first_cold = colds[0];
        let whole_cold = median(colds);
        let whole_warm = median(vec![compose(&client, &base, tag.clone()).await, compose(&client, &base, tag.clone()).await, compose(&client, &base, tag.clone()).await]);
        let packages: Vec<String> = (0..100).map(|i| format!("bench-{:05}", i * (n / 100) + 9)).collect();
        let some = serde_json::json!({"source": {"type": "tag", "source": "bench", "packages": packages}, "flags": ["no_reuse"]});
        let some_warm = median(vec![compose(&client, &base, some.clone()).await, compose(&client, &base, some.clone()).await, compose(&client, &base, some.clone()).await]);
        println!("| what | seconds | ratio to createrepo_c |");
        println!("|---|---|---|");
        println!("| createrepo_c --no-database, {n} RPMs (median of 3) | {createrepo:.2} | 1.00 |");
        println!("| composed, whole tag, cold header cache (median of 3), POST → done | {whole_cold:.2} | {:.2} |", whole_cold / createrepo);
        println!("| composed, whole tag, the process's first compose (cold header cache), POST → done | {first_cold:.2} | {:.2} |", first_cold / createrepo);
        println!("| composed, whole tag, warm (median of 3), POST → done | {whole_warm:.2} | {:.2} |", whole_warm / createrepo);
        println!("| composed, 100 packages + closure, warm (median of 3), POST → done | {some_warm:.2} | {:.2} |", some_warm / createrepo);
    });
}
