//! Schemathesis (PyPI schemathesis==4.32.5, installed in the venv by `tests/run.sh`) against
//! composed's own OpenAPI document (`/api/1/openapi.json`), with every check, on SQLite and on
//! PostgreSQL: 0 server errors and 0 schema mismatches. `tests/api/schemathesis.toml` holds the
//! few exceptions, each an ODCS rule a generic check cannot know (DELETE does not delete, PATCH
//! renews only finished composes, a body may exceed the size limit).
//!
//! The run is bounded (`--max-examples` per operation, a fixed `--seed`, no example database,
//! one worker) so it is reproducible: about 5000 cases and under two minutes per backend on two
//! cores. A few composes in every state are seeded first so that GET/PATCH/DELETE by id also
//! hit real rows. The output shows schemathesis's report (one example per unique failure, with
//! a curl line) and a count of the failed checks per operation over all cases.
//!
//! `COMPOSED_TEST_VENV` points at the venv; unset (or without `schemathesis`) the test is
//! skipped loudly outside CI and fails in CI. `COMPOSED_TEST_SCHEMATHESIS_REPORTS=DIR` keeps
//! the NDJSON reports (every request and response) in `DIR/sqlite` and `DIR/postgres`.
//!
//! By hand: `COMPOSED_TEST_VENV=$PWD/.venv TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//! cargo nextest run --test api schemathesis --no-capture`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::{Db, TestApp, spawn_app};
use composed::domain::State;

/// Test cases per API operation in the fuzzing phase (8 operations); the coverage phase adds
/// its own deterministic cases and the stateful phase its scenarios: about 3000 cases per
/// backend, a minute or so on two cores.
const MAX_EXAMPLES: &str = "100";
/// Fixed seed (with no example database): the same cases on every run.
const SEED: &str = "20240601";

/// The `schemathesis` executable of `COMPOSED_TEST_VENV`, or `None` (loudly) outside CI.
fn schemathesis_bin() -> Option<PathBuf> {
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    let venv = match std::env::var("COMPOSED_TEST_VENV") {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => {
            if in_ci {
                panic!("COMPOSED_TEST_VENV is not set in CI: tests/run.sh must export it");
            }
            eprintln!(
                "\n!!! SKIPPING schemathesis test: COMPOSED_TEST_VENV is not set \
                 (run tests/run.sh once, or point it at a venv with schemathesis) !!!\n"
            );
            return None;
        }
    };
    let bin = venv.join("bin").join("schemathesis");
    if bin.exists() {
        return Some(bin);
    }
    if in_ci {
        panic!(
            "schemathesis missing at {}: tests/run.sh must install it",
            bin.display()
        );
    }
    eprintln!(
        "\n!!! SKIPPING schemathesis test: no schemathesis at {} (run tests/run.sh once) !!!\n",
        bin.display()
    );
    None
}

/// Composes 1..=6, one in every state (and a build compose), for the by-id operations.
async fn seed(app: &TestApp) {
    let wait = app.tag_compose("f26").await;
    let generating = app.tag_compose("f27").await;
    app.set_state(generating, State::Generating, None).await;
    let done = app.tag_compose("f28").await;
    app.set_state(done, State::Generating, None).await;
    app.set_state(done, State::Done, Some("Compose is generated successfully"))
        .await;
    let failed = app.tag_compose("f29").await;
    app.set_state(failed, State::Generating, None).await;
    app.set_state(failed, State::Failed, Some("Compose failed"))
        .await;
    let removed = app.tag_compose("f30").await;
    app.set_state(removed, State::Generating, None).await;
    app.set_state(
        removed,
        State::Done,
        Some("Compose is generated successfully"),
    )
    .await;
    app.set_state(removed, State::Removed, Some("Compose is expired."))
        .await;
    app.create(&json!({"source": {"type": "build", "packages": ["ed"], "builds": ["ed-1.14-1"]}}))
        .await;
    assert_eq!((wait, removed), (1, 5));
}

/// The summary block of schemathesis's output (from its `SUMMARY` rule on).
fn summary(out: &str) -> &str {
    out.rfind("SUMMARY")
        .and_then(|i| out[..i].rfind('\n').map(|j| &out[j + 1..]))
        .unwrap_or(out)
}

/// "N generated" of the summary's "Test cases:" line.
fn cases(out: &str) -> Option<u64> {
    let s = summary(out);
    let i = s.find(" generated")?;
    s[..i]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Failed checks by check and operation, counted over every test case of the NDJSON report
/// (schemathesis's own listing shows one example per unique failure).
fn failed_checks(report_dir: &Path) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(report_dir) else {
        return counts;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let recorder = &event["ScenarioFinished"]["recorder"];
            let Some(checks) = recorder["checks"].as_object() else {
                continue;
            };
            for (case_id, results) in checks {
                let case = &recorder["cases"][case_id]["value"];
                let operation = format!(
                    "{} {}",
                    case["method"].as_str().unwrap_or("?"),
                    case["path"].as_str().unwrap_or("?")
                );
                for check in results.as_array().into_iter().flatten() {
                    if check["status"] == "failure" {
                        let name = check["name"].as_str().unwrap_or("?").to_string();
                        *counts.entry((name, operation.clone())).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    counts
}

async fn run(db: Db) {
    let Some(bin) = schemathesis_bin() else {
        return;
    };
    let Some(app) = spawn_app(db, |_| {}).await else {
        return;
    };
    seed(&app).await;

    // schemathesis runs in a temporary directory; its NDJSON report (every case, request and
    // response) goes there too, or to `$COMPOSED_TEST_SCHEMATHESIS_REPORTS/<backend>` to keep it.
    let work = tempfile::tempdir().unwrap();
    let schema = app.url("/api/1/openapi.json");
    let report_dir = match std::env::var("COMPOSED_TEST_SCHEMATHESIS_REPORTS") {
        Ok(d) if !d.is_empty() => {
            let d = PathBuf::from(d).join(format!("{db:?}").to_lowercase());
            let _ = std::fs::remove_dir_all(&d);
            d
        }
        _ => work.path().join("report"),
    };
    let mut cmd = Command::new(&bin);
    cmd.current_dir(work.path())
        .env("NO_COLOR", "1")
        // The exceptions to the defaults, each with the contract rule behind it.
        .arg("--config-file")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/schemathesis.toml"
        ))
        // Every check runs (the default; `--checks all` would override the file's exceptions).
        .args(["run", &schema])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED])
        .args(["--generation-database", "none"])
        // One worker: the same cases in the same order on every run.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .arg("--continue-on-failure")
        .arg("--no-color")
        // Nothing here is secret, and masking (`sigkeys` looks like a key) breaks the repro.
        .args(["--output-sanitize", "false"])
        .args(["--report", "ndjson"])
        .arg("--report-dir")
        .arg(&report_dir);
    eprintln!("running {cmd:?}");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run schemathesis"))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cases = cases(&stdout);
    eprintln!(
        "\n===== schemathesis on {db:?}: {} test cases in {:.1}s, exit {:?} =====\n{}\n{stderr}",
        cases.map_or("?".into(), |n| n.to_string()),
        elapsed.as_secs_f64(),
        out.status.code(),
        if out.status.success() {
            summary(&stdout)
        } else {
            &stdout
        },
    );
    let failed = failed_checks(&report_dir);
    if !failed.is_empty() {
        eprintln!("failed checks on {db:?} (test cases per check and operation):");
        for ((check, operation), n) in &failed {
            eprintln!("  {n:5}  {check:30}  {operation}");
        }
    }
    assert!(
        out.status.success(),
        "schemathesis found failures on {db:?} (exit {:?}); its report is above",
        out.status.code()
    );
    assert!(
        cases.is_some_and(|n| n > 0),
        "schemathesis ran no test cases on {db:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    run(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    run(Db::Postgres).await
}
