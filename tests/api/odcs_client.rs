//! The real `odcs` client library and CLI (PyPI odcs==0.9.2) against composed with no auth.
//! `.ci/run` makes the venv; `COMPOSED_TEST_VENV` points at it (default `.venv`).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Db, TestApp, spawn_app, venv_bin};
use composed::domain::State;

fn server_url(app: &TestApp) -> String {
    // The CLI only uses anonymous auth when the URL contains "localhost".
    format!("{}/", app.base.replace("127.0.0.1", "localhost"))
}

async fn lib(bin: &Path, app: &TestApp, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/odcs_lib.py");
    let mut cmd = Command::new(bin.join("python"));
    cmd.arg(script).arg(server_url(app)).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "odcs_lib {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn cli(bin: &Path, app: &TestApp, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(bin.join("odcs"));
    cmd.arg("--server").arg(server_url(app)).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn json_in(text: &str) -> Value {
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    serde_json::from_str(text[start..].trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odcs_library_against_composed() {
    let Some(bin) = venv_bin() else { return };
    let app = spawn_app(Db::Sqlite, |_| {}).await.unwrap();

    let c = lib(&bin, &app, &["request-tag", "f26", "ed", "vim"]).await;
    assert_eq!(
        (
            c["id"].as_i64(),
            c["state_name"].as_str(),
            c["source"].as_str()
        ),
        (Some(1), Some("wait"), Some("f26"))
    );
    assert_eq!(
        (
            c["packages"].as_str(),
            c["sigkeys"].as_str(),
            c["koji_event"].as_i64()
        ),
        (Some("ed vim"), Some("SIG1"), Some(42))
    );
    assert_eq!(
        (c["arches"].as_str(), c["label"].as_str()),
        (Some("x86_64 aarch64"), Some("Alpha-1.0"))
    );
    assert_eq!(c["flags"], json!(["no_deps"]));

    let c = lib(&bin, &app, &["new-compose", "f27"]).await;
    assert_eq!(c["id"], 2);
    let ttl = crate::support::ts(&c["time_to_expire"]) - crate::support::ts(&c["time_submitted"]);
    assert_eq!(ttl.num_seconds(), 7200, "legacy seconds-to-live honoured");
    assert_eq!(c["results"], json!(["repository", "iso"]));
    let c = lib(&bin, &app, &["request-build", "foo-1-1", "bar-1-1"]).await;
    assert_eq!(
        (
            c["source_type"].as_i64(),
            c["builds"].as_str(),
            c["sigkeys"].as_str()
        ),
        (Some(6), Some("foo-1-1 bar-1-1"), Some(""))
    );
    let c = lib(&bin, &app, &["request-module", "testmodule:master"]).await;
    assert_eq!(
        (c["source_type"].as_i64(), c["modular_koji_tags"].as_str()),
        (Some(2), Some("f30-modular"))
    );

    let c = lib(&bin, &app, &["get", "1"]).await;
    assert_eq!(
        (c["id"].as_i64(), c["source"].as_str()),
        (Some(1), Some("f26"))
    );
    assert!(c.as_object().unwrap().contains_key("pungi_config_dump"));
    let missing = lib(&bin, &app, &["get", "999"]).await;
    assert_eq!(missing["http_error"], 404);

    let found = lib(&bin, &app, &["find", "source_type=1", "per_page=1"]).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["meta"]["total"], 2);
    let about = lib(&bin, &app, &["about"]).await;
    assert_eq!(
        about["auth_backend"], "noauth",
        "about follows the 308 redirect"
    );

    // Renew a waiting compose: 404 as ODCS.
    assert_eq!(lib(&bin, &app, &["renew", "1"]).await["http_error"], 404);
    // Done → renew extends the same compose; a new label regenerates it.
    app.set_state(1, State::Generating, None).await;
    app.set_state(1, State::Done, Some("Compose is generated successfully"))
        .await;
    let before = app.compose(1).await.time_to_expire;
    let c = lib(&bin, &app, &["renew", "1", "259200"]).await;
    assert_eq!(c["id"], 1);
    assert!(crate::support::ts(&c["time_to_expire"]) > before);
    let c = lib(&bin, &app, &["renew-label", "1", "Beta-1.0"]).await;
    assert_eq!(
        (
            c["id"].as_i64(),
            c["label"].as_str(),
            c["state_name"].as_str()
        ),
        (Some(5), Some("Beta-1.0"), Some("wait"))
    );

    // delete_compose: cancel of a waiting compose, then removal of a done one.
    let d = lib(&bin, &app, &["delete", "2"]).await;
    assert_eq!(
        d,
        json!({"status": 202, "message": "Compose (id=2) has been canceled"})
    );
    let d = lib(&bin, &app, &["delete", "1"]).await;
    assert_eq!(d["status"], 202);
    assert!(d["message"].as_str().unwrap().contains("has been accepted"));
    assert_eq!(
        app.compose(1).await.removed_by.as_deref(),
        Some("anonymous")
    );

    // wait_for_compose returns once the compose is final.
    let w = lib(&bin, &app, &["wait", "2", "5"]).await;
    assert_eq!(w["state_name"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odcs_cli_against_composed() {
    let Some(bin) = venv_bin() else { return };
    let app = spawn_app(Db::Sqlite, |_| {}).await.unwrap();

    let (code, out) = cli(
        &bin,
        &app,
        &[
            "--no-wait",
            "create-tag",
            "f26",
            "ed",
            "--flag",
            "no_deps",
            "--arch",
            "x86_64",
            "--sigkey",
            "none",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let c = json_in(&out);
    assert_eq!(
        (
            c["id"].as_i64(),
            c["source"].as_str(),
            c["packages"].as_str(),
            c["state_name"].as_str()
        ),
        (Some(1), Some("f26"), Some("ed"), Some("wait"))
    );
    assert_eq!(c["sigkeys"], "", "--sigkey none means unsigned");
    assert_eq!(c["flags"], json!(["no_deps"]));

    let (code, out) = cli(&bin, &app, &["--no-wait", "create-build", "foo-1-1"]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(json_in(&out)["builds"], "foo-1-1");

    let (code, out) = cli(&bin, &app, &["--no-wait", "get", "1"]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(json_in(&out)["id"], 1);

    let (code, out) = cli(&bin, &app, &["about"]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(json_in(&out)["version"], env!("CARGO_PKG_VERSION"));

    // The CLI sends seconds-to-live as a string.
    app.set_state(1, State::Generating, None).await;
    app.set_state(1, State::Done, Some("Compose is generated successfully"))
        .await;
    let (code, out) = cli(
        &bin,
        &app,
        &["--no-wait", "renew", "1", "--seconds-to-live", "172800"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let c = json_in(&out);
    assert_eq!(c["id"], 1);
    let left = crate::support::ts(&c["time_to_expire"]) - composed::db::now();
    assert!(left.num_hours() >= 47, "{left}");

    // Without --no-wait the CLI polls until the compose is final and exits 1 for failed.
    let (code, out) = cli(&bin, &app, &["delete", "2"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Compose (id=2) has been canceled"), "{out}");
    let (code, out) = cli(&bin, &app, &["wait", "2"]).await;
    assert_eq!(code, 1, "failed compose → exit 1: {out}");
    assert_eq!(json_in(&out)["state_reason"], "Canceled by anonymous");

    // An error is printed and the CLI exits non-zero.
    let (code, out) = cli(&bin, &app, &["--no-wait", "get", "999"]).await;
    assert_ne!(code, 0);
    assert!(out.contains("No such compose found."), "{out}");
}
