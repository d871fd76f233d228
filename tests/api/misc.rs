//! about, metrics, landing page, routing (trailing slashes, 404/405, OPTIONS/HEAD), OpenAPI,
//! and the compose directory served over HTTP.

use serde_json::json;

use crate::both_backends;
#[allow(unused_imports)]
use crate::support::*;
use composed::domain::State;

both_backends!(
    about_20,
    |s| {
        s.composes.sigkeys = vec!["SIG1".into()];
        s.auth
            .allowed_clients
            .groups
            .insert("composer".into(), Default::default());
    },
    |app| {
        let r = app.get("/api/1/about/").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        assert_eq!(
            r.json(),
            json!({
                "version": env!("CARGO_PKG_VERSION"), "auth_backend": "noauth", "raw_config_urls": {},
                "allowed_clients": {"groups": {"composer": {}}, "users": {}}, "sigkeys": ["SIG1"],
            })
        );
    }
);

both_backends!(metrics_18, |app| {
    app.tag_compose("f26").await;
    let g = app.tag_compose("f26").await;
    app.set_state(g, State::Generating, None).await;
    app.create(&json!({"source": {"type": "module", "source": "a:b"}}))
        .await;
    let r = app.get("/api/1/metrics/").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        r.text
            .contains("# HELP composes_total Total number of composes")
    );
    assert!(
        r.text
            .contains("composes_total{source_type=\"tag\",state=\"wait\"} 1\n"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("composes_total{source_type=\"tag\",state=\"generating\"} 1\n")
    );
    assert!(
        r.text
            .contains("composes_total{source_type=\"module\",state=\"wait\"} 1\n")
    );
    assert!(
        r.text
            .contains("composes_total{source_type=\"pulp\",state=\"done\"} 0\n")
    );
    assert_eq!(
        r.text
            .lines()
            .filter(|l| l.starts_with("composes_total{"))
            .count(),
        35
    );
    assert!(r.text.contains("composed_outbox_pending 4\n"), "{}", r.text);
});

both_backends!(routing_19_209_210_216, |app| {
    let r = app.get("/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    assert!(r.text.contains("On Demand Compose Service"));
    // The icon ODCS serves: a real ICO file (reserved 0, type 1, one image).
    let r = app
        .client
        .get(app.url("/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/vnd.microsoft.icon");
    let ico = r.bytes().await.unwrap();
    assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0]);
    assert!(ico.len() > 22, "{} bytes", ico.len());
    for (from, to) in [
        ("/api/1/composes", "/api/1/composes/"),
        ("/api/1/about", "/api/1/about/"),
        ("/api/1/metrics", "/api/1/metrics/"),
        ("/api/1/composes?state=1", "/api/1/composes/?state=1"),
    ] {
        let r = app.get(from).await;
        assert_eq!(r.status, 308, "{from}");
        assert_eq!(r.headers["location"], app.url(to).as_str(), "{from}");
    }
    for path in [
        "/nope",
        "/api/1/composes/1/",
        "/api/1/composes/abc",
        "/api/1/composes/-1",
        "/api/2/composes/",
    ] {
        let m = app.get(path).await.error(404);
        assert!(m.contains(path.split('?').next().unwrap()), "{m}");
    }
    let r = app
        .request(reqwest::Method::PUT, "/api/1/composes/1", None)
        .await;
    assert!(r.error(405).contains("PUT"));
    assert_eq!(r.headers["allow"], "GET, HEAD, PATCH, DELETE, OPTIONS");
    let r = app
        .request(reqwest::Method::DELETE, "/api/1/composes/", None)
        .await;
    r.error(405);
    let r = app
        .request(reqwest::Method::POST, "/api/1/about/", None)
        .await;
    r.error(405);
    let r = app
        .request(reqwest::Method::OPTIONS, "/api/1/composes/", None)
        .await;
    assert_eq!(
        (r.status, r.headers["allow"].to_str().unwrap()),
        (200, "GET, HEAD, POST, OPTIONS")
    );
    let r = app
        .request(reqwest::Method::HEAD, "/api/1/composes/", None)
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    let r = app
        .request(reqwest::Method::HEAD, "/api/1/about/", None)
        .await;
    assert_eq!(r.status, 200);
});

both_backends!(openapi_and_docs, |app| {
    let r = app.get("/api/1/openapi.json").await;
    assert_eq!(r.status, 200);
    let served = r.json();
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/1/composes/",
        "/api/1/composes/{id}",
        "/api/1/about/",
        "/api/1/metrics/",
    ] {
        assert!(served["paths"][path].is_object(), "{path} documented");
    }
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    assert_eq!(
        committed, served,
        "openapi/openapi.json is stale: run `cargo run -- openapi -o openapi/openapi.json`"
    );
    assert_eq!(
        include_str!("../../openapi/openapi.json"),
        composed::api::openapi::render()
    );
    let r = app.get("/api/1/docs/").await;
    assert_eq!(r.status, 200, "vendored Swagger UI");
    assert!(
        r.text.contains("swagger"),
        "{}",
        &r.text[..200.min(r.text.len())]
    );
    assert_eq!(app.get("/api/1/").await.status, 200);
});

both_backends!(compose_directory_served_with_range, |app| {
    let dir = app.settings.composes.target_dir.join("odcs-7");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pungi-stderr.log"), "0123456789").unwrap();
    let r = app.get("/composes/odcs-7/pungi-stderr.log").await;
    assert_eq!((r.status, r.text.as_str()), (200, "0123456789"));
    let log = "/composes/odcs-7/pungi-stderr.log";
    let r = app.get_with_headers(log, &[("Range", "bytes=4-")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.text, "456789");
    let r = app.get_with_headers(log, &[("Range", "bytes=10-")]).await;
    assert_eq!(r.status, 416, "nothing new for the client's log tailing");
    assert_eq!(
        app.get("/composes/odcs-8/pungi-stderr.log").await.status,
        404
    );
});

/// Terminates every server process of the test's database except the caller's.
fn kill_pg_backends(name: &str) {
    use diesel::{Connection, RunQueryDsl};
    let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let mut c = diesel::PgConnection::establish(&admin).expect("admin connection");
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut c)
    .expect("pg_terminate_backend");
}

/// Pooled PostgreSQL connections are lent without a round trip while they have just proven
/// themselves. One killed under the pool fails at most its next query, is dropped, and the API
/// answers again; one idle for over a second is checked before it is lent, so a request after a
/// pause never sees a dead connection.
#[tokio::test]
async fn killed_postgres_connections_are_replaced() {
    // The response cache would answer the reads without a connection: off, this is the pool's.
    let Some(app) = spawn_app(Db::Postgres, |s| s.server.response_cache_bytes = 0).await else {
        return;
    };
    let name = app
        .pg_database_name()
        .expect("a PostgreSQL test")
        .to_string();
    // Busy connections killed: a few requests may fail cleanly (5xx, JSON envelope), then 200.
    for _ in 0..8 {
        assert_eq!(app.get("/api/1/composes/").await.status, 200);
    }
    kill_pg_backends(&name);
    let mut failures = 0;
    loop {
        let r = app.get("/api/1/composes/").await;
        if r.status == 200 {
            break;
        }
        assert!(r.status >= 500, "{}: {}", r.status, r.text);
        assert_eq!(r.json()["status"], r.status, "{}", r.text);
        failures += 1;
        assert!(failures <= 4, "more failures than pooled connections");
    }
    // Idle connections killed: checked on checkout, so the next request succeeds.
    for _ in 0..8 {
        assert_eq!(app.get("/api/1/composes/").await.status, 200);
    }
    kill_pg_backends(&name);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    for _ in 0..8 {
        let r = app.get("/api/1/composes/").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// `(hits, misses)` of the response cache, from the metrics.
async fn cache_counts(app: &TestApp) -> (u64, u64) {
    let text = app.get("/api/1/metrics/").await.text;
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from the metrics:\n{text}"))
    };
    (
        value("composed_response_cache_hits_total"),
        value("composed_response_cache_misses_total"),
    )
}

/// Waits until the response cache answers (its watcher has connected), so that what follows
/// exercises the cache and not its bypass.
async fn until_cached(app: &TestApp, path: &str) -> String {
    for _ in 0..200 {
        let before = cache_counts(app).await.0;
        let body = app.get(path).await.text;
        if cache_counts(app).await.0 > before {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{path} was never answered from the response cache");
}

// This process's writes are never served stale: a cached compose and list change with the
// PATCH, POST and DELETE that change them, at once.
both_backends!(cached_reads_follow_this_process_writes, |app| {
    let id = app.tag_compose("f40").await;
    let path = format!("/api/1/composes/{id}");
    let first: serde_json::Value = serde_json::from_str(&until_cached(&app, &path).await).unwrap();
    assert_eq!(first["state_name"], "wait");
    until_cached(&app, "/api/1/composes/?per_page=5").await;

    app.set_state(id, State::Done, None).await;
    let done = app.get(&path).await.json();
    assert_eq!(done["state_name"], "done", "{done}");
    let r = app
        .patch(id, Some(&json!({"seconds_to_live": 200000})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let renewed = app.get(&path).await.json();
    assert_eq!(renewed["time_to_expire"], r.json()["time_to_expire"]);
    assert_ne!(renewed["time_to_expire"], done["time_to_expire"]);

    let second = app.tag_compose("f41").await;
    let list = app.get("/api/1/composes/?per_page=5").await.json();
    assert_eq!(list["meta"]["total"], 2, "{list}");
    assert_eq!(list["items"][0]["id"], second);

    assert_eq!(app.delete(id).await.status, 202);
    let deleted = app.get(&path).await.json();
    assert_ne!(
        deleted["time_to_expire"], renewed["time_to_expire"],
        "{deleted}"
    );
    let (hits, _) = cache_counts(&app).await;
    assert!(hits >= 2, "{hits} hits");
});

// A change committed by another process (here: another connection, which this process's
// change tracking does not see) reaches the cached reads through the watcher: PostgreSQL's
// LISTEN/NOTIFY, SQLite's `PRAGMA data_version`.
both_backends!(cached_reads_see_other_processes_writes, |app| {
    let id = app.tag_compose("f40").await;
    let untouched = app.tag_compose("f41").await;
    let path = format!("/api/1/composes/{id}");
    let untouched_path = format!("/api/1/composes/{untouched}");
    until_cached(&app, &path).await;
    until_cached(&app, &untouched_path).await;
    until_cached(&app, "/api/1/composes/?owner=someone-else").await;
    other_process_sql(
        &app,
        &format!("UPDATE composes SET owner = 'someone-else' WHERE id = {id}"),
    );
    let mut seen = false;
    for _ in 0..100 {
        let c = app.get(&path).await.json();
        if c["owner"] == "someone-else" {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(seen, "the other process's change never reached GET by id");
    let list = app.get("/api/1/composes/?owner=someone-else").await.json();
    assert_eq!(list["meta"]["total"], 1, "{list}");
    // The change named its compose: the other compose's body is still served from the cache.
    let before = cache_counts(&app).await.0;
    app.get(&untouched_path).await;
    assert_eq!(
        cache_counts(&app).await.0,
        before + 1,
        "a change of compose {id} emptied the cached compose {untouched}"
    );
});

/// The columns of `composes` but `id` and `owner`.
const COLUMNS: &str = "source_type, source, state, state_reason, time_to_expire, \
    time_submitted, time_started, time_done, time_removed, removed_by, flags, results, sigkeys, \
    koji_event, koji_task_id, packages, builds, arches, multilib_arches, multilib_method, \
    lookaside_repos, modular_koji_tags, module_defaults_url, label, compose_type, \
    pungi_compose_id, target_dir, scratch_modules, parent_pungi_compose_ids, \
    scratch_build_tasks, modules, respin_of, base_module_br_name, base_module_br_stream, \
    base_module_br_stream_version_lte, base_module_br_stream_version_gte, pungi_config_dump, \
    reused_id, traceparent";

/// The list pages the index answers, each against the same page read by the general path.
async fn same_lists(app: &TestApp, label: &str) {
    for q in [
        "per_page=3",
        "per_page=3&page=2",
        "per_page=3&page=3&order_by=id",
        "page=2&per_page=4&order_by=-id",
        "per_page=0",
        "page=99",
        "",
    ] {
        let fast = app.get(&format!("/api/1/composes/?{q}")).await;
        let slow = app.get(&format!("/api/1/composes/?{q}&_db=1")).await;
        assert_eq!(fast.status, 200, "{label} {q}: {}", fast.text);
        assert_eq!(fast.text, slow.text, "{label}: ?{q}");
    }
}

// The unfiltered list by id is assembled from the index of compose ids and per-compose item
// bodies; it is byte for byte what the general path (a query with a `_` key, which the links
// drop) reads from the database, across this process's POSTs and another process's insert and
// delete.
both_backends!(the_indexed_list_is_the_database_list, |app| {
    for tag in ["a", "b", "c", "d", "e", "f", "g"] {
        app.tag_compose(tag).await;
    }
    until_cached(&app, "/api/1/composes/?per_page=3").await;
    same_lists(&app, "after POSTs").await;
    let (hits, _) = cache_counts(&app).await;
    same_lists(&app, "again").await;
    assert!(
        cache_counts(&app).await.0 >= hits + 7,
        "the indexed pages were not answered from the cache"
    );
    app.tag_compose("h").await;
    same_lists(&app, "after one more POST").await;
    other_process_sql(
        &app,
        &format!(
            "INSERT INTO composes (owner, {COLUMNS}) SELECT 'other-process', {COLUMNS} \
             FROM composes WHERE source = 'a'"
        ),
    );
    let mut seen = false;
    for _ in 0..100 {
        if app.get("/api/1/composes/?per_page=1").await.json()["items"][0]["owner"]
            == "other-process"
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(seen, "another process's insert never reached the list");
    same_lists(&app, "after another process's insert").await;
    other_process_sql(&app, "DELETE FROM composes WHERE source = 'c'");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    same_lists(&app, "after another process's delete").await;
});

/// Runs `sql` on a connection of its own, outside composed's code (as another process would).
fn other_process_sql(app: &TestApp, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    let url = &app.settings.database.url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut c = diesel::SqliteConnection::establish(path).unwrap();
        diesel::sql_query(sql).execute(&mut c).unwrap();
    } else {
        let mut c = diesel::PgConnection::establish(url).unwrap();
        diesel::sql_query(sql).execute(&mut c).unwrap();
    }
}

/// While the watcher's LISTEN connection is gone, nothing is served from the cache: a change
/// made meanwhile is seen by the next read, not only after the watcher reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_bypassed_while_its_watcher_is_down() {
    let Some(app) = spawn_app(Db::Postgres, |_| {}).await else {
        return;
    };
    let id = app.tag_compose("f40").await;
    let path = format!("/api/1/composes/{id}");
    until_cached(&app, &path).await;
    kill_pg_backends(app.pg_database_name().expect("a PostgreSQL test"));
    // The watcher notices within its interval; then, before it reconnects (backoff ≥ 100 ms),
    // a change made by another process must show.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    other_process_sql(
        &app,
        &format!("UPDATE composes SET owner = 'while-down' WHERE id = {id}"),
    );
    let mut owner = serde_json::Value::Null;
    for _ in 0..8 {
        let r = app.get(&path).await;
        if r.status == 200 {
            owner = r.json()["owner"].clone();
            break;
        }
    }
    assert_eq!(owner, "while-down");
}
