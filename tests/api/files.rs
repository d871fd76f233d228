//! The compose directory served over HTTP is confined to `composes.target_dir`: no symlink out
//! of it, no dot-file, nothing but files and directories, names escaped in listings. The file
//! server does not touch the database: SQLite only.

use std::os::unix::fs::symlink;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[allow(unused_imports)]
use crate::support::*;

/// Sends `path` as is (no client-side normalisation of `%2e%2e` or `..`); status and body.
async fn raw_get(app: &TestApp, path: &str) -> (u16, String) {
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_directory_is_confined_to_target_dir() {
    let app = spawn_app(Db::Sqlite, |_| {}).await.expect("SQLite app");
    let top = app.settings.composes.target_dir.clone();
    let db_file = app._dir.path().join("composed.sqlite");
    assert!(db_file.is_file(), "the test app's SQLite database");

    let tree = top.join("odcs-3");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("pungi-stderr.log"), "0123456789").unwrap();
    std::fs::write(tree.join("compose.repo"), "[odcs-3]\n").unwrap();
    symlink("odcs-3", top.join("latest-x")).unwrap();
    symlink("/etc/passwd", top.join("passwd")).unwrap();
    symlink(&db_file, top.join("db.sqlite")).unwrap();
    symlink(app._dir.path(), top.join("outside")).unwrap();
    std::fs::write(top.join(".secret"), "hidden").unwrap();
    std::fs::create_dir_all(top.join(".odcs-4.tmp-host-1")).unwrap();
    std::fs::write(top.join(".odcs-4.tmp-host-1/x"), "staging").unwrap();
    symlink(".odcs-4.tmp-host-1", top.join("latest-staging")).unwrap();
    let quoted = "a\"onmouseover=\"x.txt";
    std::fs::write(top.join(quoted), "quoted").unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(top.join("pipe"))
        .status()
        .unwrap();
    assert!(fifo.success(), "mkfifo");

    // Links out of the tree, dot-files, links to dot-directories: 404 in the JSON envelope.
    for path in [
        "/composes/passwd",
        "/composes/db.sqlite",
        "/composes/outside/composed.sqlite",
        "/composes/outside/",
        "/composes/.secret",
        "/composes/%2esecret",
        "/composes/.odcs-4.tmp-host-1/x",
        "/composes/latest-staging/x",
        "/composes/latest-staging/",
        "/composes/odcs-3/missing",
    ] {
        app.get(path).await.error(404);
    }

    // The listing: sorted, none of the refused entries, names escaped, links encoded.
    let r = app.get("/composes/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        r.headers
    );
    let html = &r.text;
    for absent in [
        "passwd",
        "db.sqlite",
        "outside",
        "secret",
        "odcs-4",
        "latest-staging",
        "pipe",
        "\"onmouseover=",
    ] {
        assert!(!html.contains(absent), "{absent} in the listing: {html}");
    }
    assert!(
        html.contains(
            r#"<a href="/composes/a%22onmouseover%3D%22x.txt">a&quot;onmouseover=&quot;x.txt</a>"#
        ),
        "{html}"
    );
    let (a, l, o) = (
        html.find("a%22onmouseover").unwrap(),
        html.find(r#"href="/composes/latest-x/">latest-x/</a>"#)
            .unwrap_or_else(|| panic!("{html}")),
        html.find(r#"href="/composes/odcs-3/">odcs-3/</a>"#)
            .unwrap_or_else(|| panic!("{html}")),
    );
    assert!(a < l && l < o, "sorted: {html}");
    // Without the trailing slash too (as actix-files did: no redirect).
    let r = app.get("/composes").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("/composes/odcs-3/"), "{}", r.text);

    // composed's own latest-* link resolves inside the tree: served.
    let r = app.get("/composes/latest-x/compose.repo").await;
    assert_eq!((r.status, r.text.as_str()), (200, "[odcs-3]\n"));
    let r = app.get("/composes/latest-x/").await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains(r#"href="/composes/latest-x/compose.repo""#)
            && r.text.contains(r#"<a href="/composes/">../</a>"#),
        "{}",
        r.text
    );
    let r = app.get("/composes/a%22onmouseover%3D%22x.txt").await;
    assert_eq!((r.status, r.text.as_str()), (200, "quoted"));

    // A regular file: 200, HEAD, Range, validators.
    let r = app.get("/composes/odcs-3/pungi-stderr.log").await;
    assert_eq!((r.status, r.text.as_str()), (200, "0123456789"));
    assert!(r.headers.contains_key("etag") && r.headers.contains_key("last-modified"));
    let r = app
        .request(
            reqwest::Method::HEAD,
            "/composes/odcs-3/pungi-stderr.log",
            None,
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    assert_eq!(r.headers["content-length"], "10");
    let r = app
        .get_with_headers(
            "/composes/odcs-3/pungi-stderr.log",
            &[("Range", "bytes=0-3")],
        )
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.text, "0123");

    // Traversal and encoded slashes: 400 in the envelope.
    for path in [
        "/composes/%2e%2e/composed.sqlite",
        "/composes/%2E%2E/composed.sqlite",
        "/composes/../composed.sqlite",
        "/composes/odcs-3/../../composed.sqlite",
        "/composes/%2e%2e%2fcomposed.sqlite",
        "/composes/odcs-3%2fpungi-stderr.log",
        "/composes/odcs-3/%00",
    ] {
        let (status, body) = raw_get(&app, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let j: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"));
        assert_eq!(j["status"], 400, "{j}");
    }
    let r = app.get("/composes/%2e%2e%2fcomposed.sqlite").await;
    r.error(400);

    // Neither a fifo (opening it would block) nor another method.
    app.get("/composes/pipe").await.error(404);
    app.request(reqwest::Method::POST, "/composes/odcs-3/compose.repo", None)
        .await
        .error(405);
}
