//! Bus benchmark (not a test): Koji tag events over fedmsg (ZeroMQ) into composed's bound SUB.
//!
//! 1. Latency: one event every BENCH_INTERVAL_MS (default 50) for BENCH_EVENTS (default 300)
//!    events, `triggers.debounce_ms = 0`: time from the publisher's send to the compose row's
//!    `time_submitted` (same clock), p50/p99/max.
//! 2. Throughput: BENCH_BURST (default 50,000) events for 10 rules sent as fast as a libzmq
//!    PUB (SNDHWM 0, so nothing is dropped on the sending side) can, `debounce_ms = 5000`:
//!    events/s from the first send until composed has classified, de-duplicated and coalesced
//!    every event (its `matched` counter, flushed every 500 ms, is polled every 20 ms).
//!
//! Run: `cargo bench --bench bus` (the publisher is pyzmq from COMPOSED_TEST_VENV, default
//! `.venv`, as tests/run.sh makes it). SQLite; prints a markdown table for docs/benchmarks.md.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use composed::app::{Application, Roles};
use composed::bus::settings::TriggerRule;
use composed::config::Settings;
use composed::db::schema::{composes, triggers};
use diesel::prelude::*;

const SENDER: &str = r#"
import json, sys, time, uuid, zmq
mode, endpoint, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
topic = "org.fedoraproject.prod.buildsys.tag"
def env(tag):
    i = str(uuid.uuid4())
    body = {"build_id": 1, "name": "hello", "version": "1.0", "release": "1.fc41", "tag": tag,
            "tag_id": 1, "user": "bench", "owner": "bench", "instance": "primary"}
    e = {"i": 1, "msg": body, "msg_id": "2026-" + i, "timestamp": int(time.time()),
         "topic": topic, "username": "bench"}
    return i, json.dumps(e, sort_keys=True, separators=(",", ":")).encode()
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.SNDHWM, 0)
s.setsockopt(zmq.LINGER, 60000)
s.connect(endpoint)
time.sleep(1.5)
t = topic.encode()
if mode == "latency":
    interval = float(sys.argv[4]) / 1000
    for k in range(n):
        i, e = env("f41-latency")
        print(json.dumps({"id": i, "t": time.time()}), flush=True)
        s.send_multipart([t, e])
        time.sleep(interval)
else:
    msgs = [env("f41-burst-%d" % (k % 10))[1] for k in range(n)]
    print(json.dumps({"start": time.time()}), flush=True)
    for e in msgs:
        s.send_multipart([t, e])
    print(json.dumps({"sent": time.time()}), flush=True)
s.close()
ctx.term()
"#;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn python() -> String {
    let venv = std::env::var("COMPOSED_TEST_VENV")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv").into());
    format!("{venv}/bin/python")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(
    dir: &std::path::Path,
    port: u16,
    debounce_ms: u64,
    rules: Vec<TriggerRule>,
) -> composed::db::DbPool {
    let mut s = Settings::default();
    s.server.bind = "127.0.0.1:0".into();
    s.server.workers = 1;
    s.database.url = format!("sqlite://{}", dir.join("bench.sqlite").display());
    s.composes.target_dir = dir.join("composes");
    s.triggers.fedmsg_inbound_endpoint = format!("tcp://127.0.0.1:{port}");
    s.triggers.debounce_ms = debounce_ms;
    s.triggers.owner = "bench".into();
    s.triggers.rules = rules;
    let app = Application::build(s, Roles::ALL_IN_ONE).expect("build");
    let (_port, pool) = app.spawn_with_background();
    pool
}

fn rule(name: &str, tag: &str) -> TriggerRule {
    TriggerRule {
        name: name.into(),
        tag: tag.into(),
        ..Default::default()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn latency(events: u64, interval_ms: u64) -> (f64, f64, f64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pool = start(dir.path(), port, 0, vec![rule("latency", "f41-latency")]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let out = Command::new(python())
        .args([
            "-c",
            SENDER,
            "latency",
            &format!("tcp://127.0.0.1:{port}"),
            &events.to_string(),
            &interval_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let sent: Vec<(String, f64)> = tokio::task::spawn_blocking(move || {
        let mut out = out;
        let lines: Vec<(String, f64)> = std::io::BufReader::new(out.stdout.take().unwrap())
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
                (
                    v["id"].as_str().unwrap().to_string(),
                    v["t"].as_f64().unwrap(),
                )
            })
            .collect();
        assert!(out.wait().unwrap().success());
        lines
    })
    .await
    .unwrap();
    // Every event's compose row (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let p = pool.clone();
        let rows: Vec<(String, chrono::NaiveDateTime)> = tokio::task::spawn_blocking(move || {
            let mut c = p.get().unwrap();
            triggers::table
                .inner_join(composes::table.on(triggers::compose_id.eq(composes::id.nullable())))
                .select((triggers::message_ids, composes::time_submitted))
                .load(&mut c)
                .unwrap()
        })
        .await
        .unwrap();
        if rows.len() >= sent.len() || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut lat = Vec::new();
    for (ids, at) in &rows {
        let ids: Vec<String> = serde_json::from_str(ids).unwrap();
        for id in ids {
            if let Some((_, t)) = sent.iter().find(|(i, _)| *i == id) {
                let stored = at.and_utc().timestamp_micros() as f64 / 1e6;
                lat.push((stored - t) * 1000.0);
            }
        }
    }
    let composes = rows.len();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(lat.len(), sent.len(), "every event reached a compose row");
    (
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        *lat.last().unwrap(),
        composes,
    )
}

async fn throughput(n: u64) -> (f64, f64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rules = (0..10)
        .map(|i| rule(&format!("r{i}"), &format!("f41-burst-{i}")))
        .collect();
    let pool = start(dir.path(), port, 5000, rules);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut child = Command::new(python())
        .args([
            "-c",
            SENDER,
            "burst",
            &format!("tcp://127.0.0.1:{port}"),
            &n.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let start_wall: f64 = serde_json::from_str::<serde_json::Value>(&line).unwrap()["start"]
        .as_f64()
        .unwrap();
    let t0 = Instant::now();
    line.clear();
    let deadline = Instant::now() + Duration::from_secs(300);
    let done_at = loop {
        let p = pool.clone();
        let matched: i64 = tokio::task::spawn_blocking(move || {
            use composed::db::schema::bus_counters::dsl::*;
            let mut c = p.get().unwrap();
            bus_counters
                .filter(metric.eq("messages").and(reason.eq("matched")))
                .select(total)
                .first(&mut c)
                .optional()
                .unwrap()
                .unwrap_or(0)
        })
        .await
        .unwrap();
        if matched as u64 >= n {
            break t0.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "only {matched} of {n} events matched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    reader.read_line(&mut line).unwrap();
    let sent_wall: f64 = serde_json::from_str::<serde_json::Value>(&line).unwrap()["sent"]
        .as_f64()
        .unwrap();
    assert!(child.wait().unwrap().success());
    // The composes of the burst's windows (one per rule per window).
    tokio::time::sleep(Duration::from_secs(6)).await;
    let p = pool.clone();
    let composes: i64 = tokio::task::spawn_blocking(move || {
        composes::table
            .count()
            .get_result(&mut p.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    (
        n as f64 / done_at.as_secs_f64(),
        n as f64 / (sent_wall - start_wall),
        composes as usize,
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let events = env_u64("BENCH_EVENTS", 300);
        let interval = env_u64("BENCH_INTERVAL_MS", 50);
        let burst = env_u64("BENCH_BURST", 50_000);
        let (p50, p99, max, composes) = latency(events, interval).await;
        let (rate, send_rate, burst_composes) = throughput(burst).await;
        println!("\n| measurement | value |\n|---|---|");
        println!(
            "| event → compose row latency, {events} events 1 per {interval} ms, debounce 0 ({composes} composes) | p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms |"
        );
        println!(
            "| sustained ZeroMQ listener rate, {burst} tag events for 10 rules, debounce 5 s ({burst_composes} composes) | {rate:.0} events/s (publisher sent at {send_rate:.0}/s) |"
        );
    });
}
