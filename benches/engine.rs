//! Engine benchmark (not a test), every compose POST → done through the real API and worker,
//! createrepo_c on the same RPM files in the same run. Prints a markdown table for
//! docs/benchmarks.md.
//!
//! 1. A 10,000-RPM Koji-layout tag (rpm crate) served by the test hub (in a process of its own,
//!    which keeps the encoded answer of each request: its data never changes): the whole tag
//!    cold (empty header cache and empty Koji answer cache), warm, and 100 requested packages
//!    with their closure (warm).
//! 2. A `repo` compose of 2,000 rpmbuild-made RPMs (`tools/gen-rpms.sh`, kept under
//!    `target/bench-data/` once built: rebuilds are byte-identical), cold and warm header cache.
//! 3. A small tag (`bench-small`, five packages), warm: 20 composes, p50 and p90.
//! 4. Results `iso` of a 2,000-RPM tag (`bench-2k`, warm), against Pungi's createiso commands
//!    run by hand on the same two trees (`genisoimage … && implantisomd5 && isoinfo | sort` as
//!    in pungi.md §5.4, both ISOs at once as Pungi's two createiso threads do), in pairs: each
//!    compose, then the commands on its trees (their ISOs removed after each run).
//!
//! Run: `cargo bench --bench engine` (needs `createrepo_c`, `rpmbuild`, `xorriso`, `isomd5sum`,
//! `genisoimage`). Env: BENCH_RPMS
//! (default 10000), BENCH_REPO_RPMS (default 2000), BENCH_PRETOUCH_MB (a diagnostic: memory
//! touched and freed before the first compose), BENCH_WARM_LOOP=k (a diagnostic for profilers:
//! after the warm composes, `k` more, then stop), BENCH_COLD_LOOP=k (the same with cold
//! composes, after the first), BENCH_ISO_LOOP=k (only `k` composes of `bench-2k` with and
//! without `iso`).

#[path = "../tests/common/koji_hub.rs"]
mod koji_hub;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use composed::app::{Application, Roles};
use composed::config::Settings;
use rpm::{Dependency, FileOptions, PackageBuilder};

/// Composes with `iso`, each followed by Pungi's createiso commands on its trees.
const ISO_PAIRS: usize = 7;

fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5)
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// createrepo_c --no-database over `dir`, three runs, the median (the first also warms the
/// page cache).
fn createrepo(dir: &Path, scratch: &Path) -> f64 {
    let mut cr = Vec::new();
    for i in 0..3 {
        let out = scratch.join(format!("cr{i}"));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let t = Instant::now();
        let st = Command::new("createrepo_c")
            .args(["--no-database", "-q", "-o"])
            .arg(&out)
            .arg(dir)
            .status()
            .expect("createrepo_c");
        assert!(st.success());
        cr.push(t.elapsed().as_secs_f64());
    }
    median(cr)
}

/// `n` rpmbuild-made RPMs (`tools/gen-rpms.sh`, flat) under `target/bench-data/gen-<n>`,
/// built once.
fn rpmbuild_set(n: usize) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out = target.join(format!("bench-data/gen-{n}"));
    if !out.join("manifest.txt").exists() {
        let t = Instant::now();
        let _ = std::fs::remove_dir_all(&out);
        let st = Command::new("bash")
            .arg(root.join("tools/gen-rpms.sh"))
            .arg(&out)
            .arg(n.to_string())
            .env("BATCH", "10")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("tools/gen-rpms.sh");
        assert!(st.success(), "tools/gen-rpms.sh failed");
        eprintln!(
            "built {n} RPMs with rpmbuild in {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }
    out.join("rpms")
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

/// Pungi's createiso commands for the trees in `trees` (pungi.md §5.4), all at once; the wall
/// time of one run. Its ISOs are removed afterwards, as composed's would be on expiry.
fn pungi_createiso(trees: &[PathBuf], scratch: &Path) -> f64 {
    let t = Instant::now();
    let children: Vec<_> = trees
        .iter()
        .enumerate()
        .map(|(i, tree)| {
            let iso = scratch.join(format!("pungi-{i}.iso"));
            let script = format!(
                "set -e; cd {tree}; genisoimage -untranslated-filenames -volid 'odcs-1-1 Temporary.x86_64' -J -joliet-long \
                 -rational-rock -translation-table -input-charset utf-8 -x ./lost+found -o {iso} -graft-points . \
                 && implantisomd5 {iso} && isoinfo -R -f -i {iso} | grep -v '/TRANS.TBL$' | sort >> {iso}.manifest",
                tree = tree.display(),
                iso = iso.display()
            );
            Command::new("sh")
                .args(["-c", &script])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("sh")
        })
        .collect();
    for mut c in children {
        assert!(
            c.wait().unwrap().success(),
            "genisoimage/implantisomd5 (apt-get install genisoimage isomd5sum)"
        );
    }
    let secs = t.elapsed().as_secs_f64();
    for e in std::fs::read_dir(scratch).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("pungi-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    secs
}

/// POSTs `body`, waits until done; its duration and id.
async fn compose_id(client: &reqwest::Client, base: &str, body: serde_json::Value) -> (f64, i64) {
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
            Some("done") => return (t.elapsed().as_secs_f64(), id),
            Some("failed") => panic!("compose failed: {}", j["state_reason"]),
            // Polled every millisecond: the figure is POST → done to within 1 ms (at 5 ms the poll
            // alone added up to 10% to a 50 ms compose).
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

async fn compose(client: &reqwest::Client, base: &str, body: serde_json::Value) -> f64 {
    compose_id(client, base, body).await.0
}

/// `k` composes of `body`, `before` called ahead of each; their durations.
async fn runs(
    client: &reqwest::Client,
    base: &str,
    body: &serde_json::Value,
    k: usize,
    before: &dyn Fn(),
) -> Vec<f64> {
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        before();
        out.push(compose(client, base, body.clone()).await);
    }
    out
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
        // Frozen: the encoded answer of each request is kept and sent again (its data never
        // changes), as a real hub does its encoding on its own machine, not on the two cores
        // composed is measured on.
        let hub = koji_hub::spawn_frozen_hub(data).await;
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
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("BENCH_RPMS", 10_000);
    let repo_n = env("BENCH_REPO_RPMS", 2_000);
    let dir = tempfile::tempdir().unwrap();
    let topdir = dir.path().join("koji");
    let t = Instant::now();
    make_set(&topdir, n);
    eprintln!("made {n} RPMs in {:.1}s", t.elapsed().as_secs_f64());
    let repo_dir = rpmbuild_set(repo_n);
    let cr_tag = createrepo(&topdir.join("packages"), dir.path());
    let cr_repo = createrepo(&repo_dir, dir.path());
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
        s.composes.repo_dirs = vec![repo_dir.clone()];
        s.koji.hub_url = hub_url.clone();
        s.koji.topdir = topdir.clone();
        s.engine.poll_interval_ms = 5;
        let app = Application::build(s, Roles::API).unwrap();
        let (port, _pool) = app.spawn_with_background();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        // `no_reuse`: every compose is generated (an identical done compose would be reused).
        let tag = serde_json::json!({"source": {"type": "tag", "source": "bench"}, "flags": ["no_reuse"]});
        // Cold = an empty header cache and an empty Koji answer cache: every header is read,
        // every RPM checksummed and the tag asked of the hub again. Three such composes,
        // median, after the process's first compose, shown apart: its allocator and
        // connections are cold too, and the hub encodes the tag's answer for the first time
        // (the bench's hub keeps it, as a real hub's encoding happens on its own machine and
        // not on the cores measured here).
        if let Some(mb) = std::env::var("BENCH_PRETOUCH_MB")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            pretouch(mb);
        }
        let cold = || {
            composed::engine::headers::clear();
            composed::koji::answers::clear();
        };
        if let Some(k) = std::env::var("BENCH_ISO_LOOP").ok().and_then(|v| v.parse().ok()) {
            // A diagnostic for profilers: `k` warm composes of `bench-2k` with `iso` and `k`
            // without, nothing else; the medians.
            let k2 = serde_json::json!({"source": {"type": "tag", "source": "bench-2k"}, "flags": ["no_reuse"]});
            let k2_iso = serde_json::json!({"source": {"type": "tag", "source": "bench-2k"}, "results": ["iso"], "flags": ["no_reuse"]});
            compose(&client, &base, k2_iso.clone()).await;
            eprintln!("BENCH_ISO_LOOP: {k} composes with iso start");
            let with_iso = median(runs(&client, &base, &k2_iso, k, &|| ()).await);
            let without = median(runs(&client, &base, &k2, k, &|| ()).await);
            eprintln!("BENCH_ISO_LOOP: median with iso {with_iso:.3} s, without {without:.3} s");
            return;
        }
        let first_cold = runs(&client, &base, &tag, 1, &cold).await[0];
        if let Some(k) = std::env::var("BENCH_COLD_LOOP").ok().and_then(|v| v.parse().ok()) {
            // A diagnostic for profilers, as BENCH_WARM_LOOP, with cold composes.
            eprintln!("BENCH_COLD_LOOP: {k} cold composes start");
            runs(&client, &base, &tag, k, &cold).await;
            eprintln!("BENCH_COLD_LOOP: done");
            return;
        }
        let whole_cold = median(runs(&client, &base, &tag, 3, &cold).await);
        // Cold headers only: the tag's answer at this event is already in the Koji answer
        // cache (an earlier compose of the same tag and event asked for it).
        let headers_only = || composed::engine::headers::clear();
        let cold_headers = median(runs(&client, &base, &tag, 3, &headers_only).await);
        let whole_warm = median(runs(&client, &base, &tag, 3, &|| ()).await);
        if let Some(k) = std::env::var("BENCH_WARM_LOOP").ok().and_then(|v| v.parse().ok()) {
            // A diagnostic for profilers (`perf record -D <ms>`): `k` more warm composes, then
            // stop.
            eprintln!("BENCH_WARM_LOOP: {k} warm composes start");
            runs(&client, &base, &tag, k, &|| ()).await;
            eprintln!("BENCH_WARM_LOOP: done");
            return;
        }
        let packages: Vec<String> = (0..100).map(|i| format!("bench-{:05}", i * (n / 100) + 9)).collect();
        let some = serde_json::json!({"source": {"type": "tag", "source": "bench", "packages": packages}, "flags": ["no_reuse"]});
        let some_warm = median(runs(&client, &base, &some, 3, &|| ()).await);

        let repo = serde_json::json!({"source": {"type": "repo", "source": repo_dir.display().to_string()}, "flags": ["no_deps", "no_reuse"]});
        let repo_cold = median(runs(&client, &base, &repo, 3, &cold).await);
        let repo_warm = median(runs(&client, &base, &repo, 3, &|| ()).await);

        let small = serde_json::json!({"source": {"type": "tag", "source": "bench-small"}, "flags": ["no_reuse"]});
        compose(&client, &base, small.clone()).await;
        let smalls = runs(&client, &base, &small, 20, &|| ()).await;
        let (small_p50, small_p90) = (quantile(smalls.clone(), 0.5), quantile(smalls, 0.9));
        // ISOs of a 2,000-RPM tag, against Pungi's createiso commands on the same trees.
        let k2 = serde_json::json!({"source": {"type": "tag", "source": "bench-2k"}, "flags": ["no_reuse"]});
        let k2_iso = serde_json::json!({"source": {"type": "tag", "source": "bench-2k"}, "results": ["iso"], "flags": ["no_reuse"]});
        compose(&client, &base, k2_iso.clone()).await;
        let k2_repo = median(runs(&client, &base, &k2, 3, &|| ()).await);
        // In pairs, each compose then Pungi's commands on its trees, so that the machine's
        // slower and faster moments fall on both sides.
        let (mut iso_times, mut pungi_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let mut variant = PathBuf::new();
        for _ in 0..ISO_PAIRS {
            let (secs, id) = compose_id(&client, &base, k2_iso.clone()).await;
            variant = dir.path().join(format!("composes/odcs-{id}/compose/Temporary"));
            let pungi = pungi_createiso(
                &[variant.join("x86_64/os"), variant.join("source/tree")],
                dir.path(),
            );
            iso_times.push(secs);
            pungi_times.push(pungi);
            ratios.push(secs / pungi);
        }
        let k2_with_iso = median(iso_times);
        let pungi_iso = median(pungi_times);
        let iso_ratio = median(ratios.clone());
        let iso_bytes: u64 = ["x86_64/iso", "source/iso"]
            .iter()
            .flat_map(|d| std::fs::read_dir(variant.join(d)).unwrap().flatten())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".iso"))
            .map(|e| e.metadata().unwrap().len())
            .sum();
        let st = composed::koji::answers::stats();
        eprintln!("Koji answer cache: {st:?}");

        println!("| what | seconds | ratio to createrepo_c |");
        println!("|---|---|---|");
        println!("| createrepo_c --no-database, {n} RPMs (median of 3) | {cr_tag:.3} | 1.00 |");
        println!("| composed, whole tag, cold header and Koji answer caches (median of 3) | {whole_cold:.3} | {:.2} |", whole_cold / cr_tag);
        println!("| composed, whole tag, the process's first compose (cold; the hub encodes the answer) | {first_cold:.3} | {:.2} |", first_cold / cr_tag);
        println!("| composed, whole tag, cold header cache, Koji answer cached (median of 3) | {cold_headers:.3} | {:.2} |", cold_headers / cr_tag);
        println!("| composed, whole tag, warm (median of 3) | {whole_warm:.3} | {:.2} |", whole_warm / cr_tag);
        println!("| composed, 100 packages + closure, warm (median of 3) | {some_warm:.3} | {:.2} |", some_warm / cr_tag);
        println!("| createrepo_c --no-database, {repo_n} rpmbuild RPMs (median of 3) | {cr_repo:.3} | 1.00 |");
        println!("| composed, repo compose of them, cold header cache (median of 3) | {repo_cold:.3} | {:.2} |", repo_cold / cr_repo);
        println!("| composed, repo compose of them, warm (median of 3) | {repo_warm:.3} | {:.2} |", repo_warm / cr_repo);
        println!("| composed, 5-package tag, warm, p50 of 20 | {small_p50:.4} | |");
        println!("| composed, 5-package tag, warm, p90 of 20 | {small_p90:.4} | |");
        println!();
        println!("| what (2,000-RPM tag `bench-2k`, warm; two ISOs, {:.1} MB together) | seconds | ratio to Pungi's createiso |", iso_bytes as f64 / 1e6);
        println!("|---|---|---|");
        println!("| Pungi's createiso commands by hand on the same two trees, at once (genisoimage + implantisomd5 + isoinfo manifest, median of {ISO_PAIRS}) | {pungi_iso:.3} | 1.00 |");
        println!("| composed, whole compose with `iso` (POST → done, median of {ISO_PAIRS}, each followed by Pungi's commands on its trees) | {k2_with_iso:.3} | {:.2} |", k2_with_iso / pungi_iso);
        println!("| composed, the same compose without `iso` (median of 3) | {k2_repo:.3} | {:.2} |", k2_repo / pungi_iso);
        ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!("| per pair, composed with `iso` / Pungi's commands: median (all {ISO_PAIRS}, sorted: {}) | | {iso_ratio:.2} |", shown.join(", "));
    });
}
