//! Web UI area: Debian's Chromium, headless, driven through WebDriver (chromedriver, the
//! fantoccini client) against composed with a worker, on SQLite and PostgreSQL: a compose
//! submitted through the form, followed to done on its page without a reload, its package
//! table filtered, compared with another, deleted; field errors next to their field; markup
//! in a request shown as text; the OpenID Connect login against a real provider (npm
//! `oidc-provider`), a wrong password refused, the session cookie `HttpOnly; Secure; SameSite=Lax`.

#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;

#[path = "../common/rpms.rs"]
#[allow(dead_code)]
mod rpms;

use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::{Db, TestApp, spawn_app_full};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a port of its own, killed when dropped.
struct Driver(std::process::Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver and a headless Chromium session, or `None` (loudly) outside CI when they are
/// not installed.
async fn browser() -> Option<(Driver, Client)> {
    if !std::path::Path::new("/usr/bin/chromedriver").exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromedriver is missing: tests/run.sh installs chromium and chromium-driver");
        }
        eprintln!(
            "\n!!! SKIPPING browser test: /usr/bin/chromedriver missing (apt-get install chromium chromium-driver) !!!\n"
        );
        return None;
    }
    let port = free_port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child, port);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
        }),
    );
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a WebDriver session with headless Chromium");
    Some((driver, client))
}

async fn type_into(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn text_of(c: &Client, css: &str) -> String {
    // Waits for the element, and reads it again when the page swapped it meanwhile (a stale
    // element after the live update).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = c.find(Locator::Css(css)).await;
        if let Ok(e) = found
            && let Ok(t) = e.text().await
        {
            return t;
        }
        if std::time::Instant::now() > deadline {
            panic!("no {css}: {}", c.source().await.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `what` (a JavaScript expression) until it is true, at most `secs` seconds.
async fn wait_js(c: &Client, what: &str, secs: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let v = c
            .execute(&format!("return !!({what});"), vec![])
            .await
            .unwrap_or(Value::Bool(false));
        if v == Value::Bool(true) {
            return;
        }
        if std::time::Instant::now() > deadline {
            let html = c.source().await.unwrap_or_default();
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("not true after {secs} s: {what}\nat {url}\n{html}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn api(app: &TestApp, path: &str) -> Value {
    app.get(path).await.json()
}

async fn run(db: Db) {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    // Big enough to be followed live in the tests' debug build (about a second).
    let repo = rpms::cached_many("ui", 3000);
    let Some(app) = spawn_app_full(db, |_| {}, true).await else {
        return;
    };
    let base = app.base.clone();

    // Submit through the form.
    c.goto(&format!("{base}/new")).await.unwrap();
    c.find(Locator::Css("#source_type"))
        .await
        .unwrap()
        .select_by_value("repo")
        .await
        .unwrap();
    type_into(&c, "#source", &repo.to_string_lossy()).await;
    type_into(&c, "#label", "UI-1.0").await;
    click(&c, "#submit").await;
    // A click returns before the navigation it starts has finished: wait for the new page.
    wait_js(
        &c,
        "location.pathname.endsWith('/compose/1') && document.getElementById('state')",
        30,
    )
    .await;
    // Followed to done on this page, without a reload (the marker survives).
    c.execute("window.__same_page = 42;", vec![]).await.unwrap();
    let first_state = text_of(&c, "#state").await;
    assert!(
        ["wait", "generating"].contains(&first_state.as_str()),
        "the page opened on a compose still running: {first_state}"
    );
    wait_js(
        &c,
        "document.getElementById('state').textContent === 'done'",
        120,
    )
    .await;
    wait_js(
        &c,
        "document.querySelectorAll('#packages tbody tr').length === 3000",
        30,
    )
    .await;
    assert_eq!(
        c.execute("return window.__same_page;", vec![])
            .await
            .unwrap(),
        json!(42),
        "the page was reloaded"
    );
    let log = text_of(&c, "#log").await;
    assert!(log.contains("[repodata] done: 3 repositories"), "{log}");
    assert!(log.contains("[state] generating"), "{log}");
    assert_eq!(
        c.find(Locator::Css("#repofile"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .as_deref(),
        api(&app, "/api/1/composes/1").await["result_repofile"].as_str()
    );
    // The package table's filter.
    type_into(&c, "#pkg-filter", "ui-2999-").await;
    wait_js(
        &c,
        "Array.from(document.querySelectorAll('#packages tbody tr')).filter(r => r.style.display !== 'none').length === 1",
        10,
    )
    .await;

    // Field errors next to their field; nothing stored.
    c.goto(&format!("{base}/new")).await.unwrap();
    type_into(&c, "#seconds_to_live", "soon").await;
    click(&c, "#submit").await;
    let err = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#error-seconds_to_live"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(err.contains("whole number"), "{err}");
    assert_eq!(
        c.find(Locator::Css("#seconds_to_live"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("soon"),
        "the form keeps what was typed"
    );
    assert_eq!(api(&app, "/api/1/composes/").await["meta"]["total"], 1);

    // Another compose of the same repository, compared with the first.
    let r = app
        .post(&json!({"source": {"type": "repo", "source": repo}, "flags": ["no_reuse"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for _ in 0..600 {
        if api(&app, "/api/1/composes/2").await["state_name"] == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.goto(&format!("{base}/compose/1")).await.unwrap();
    type_into(&c, "#compare-with", "2").await;
    click(&c, "#compare").await;
    wait_js(
        &c,
        "location.pathname.endsWith('/compose/1/diff/2') && document.getElementById('summary')",
        30,
    )
    .await;
    assert_eq!(
        text_of(&c, "#summary").await,
        "0 added, 0 removed, 0 upgraded, 0 downgraded, 0 sigkey changes"
    );

    // The list shows both, newest first; a filter narrows it.
    c.goto(&format!("{base}/?label=UI-1.0")).await.unwrap();
    let rows = c
        .find_all(Locator::Css("table.composes tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].text().await.unwrap().contains("UI-1.0"));

    // Delete (under noauth everyone is an admin): marked for removal.
    c.goto(&format!("{base}/compose/1")).await.unwrap();
    c.execute("window.__before_delete = 1;", vec![])
        .await
        .unwrap();
    click(&c, "#delete").await;
    // Back on the compose's page (a new page: the marker is gone).
    wait_js(
        &c,
        "window.__before_delete === undefined && location.pathname.endsWith('/compose/1') && document.getElementById('state')",
        30,
    )
    .await;
    assert_eq!(
        api(&app, "/api/1/composes/1").await["removed_by"],
        "anonymous",
        "the delete went through the API's DELETE"
    );

    // Markup in a request is text.
    let r = app
        .post(&json!({"source": {"type": "repo", "source": repo, "packages": ["<img src=x onerror=\"window.__xss=1\">"]}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json()["id"].as_i64().unwrap();
    c.goto(&format!("{base}/compose/{id}")).await.unwrap();
    let fields = text_of(&c, "table.fields").await;
    assert!(
        fields.contains("<img src=x onerror=\"window.__xss=1\">"),
        "{fields}"
    );
    assert_eq!(
        c.execute("return window.__xss === undefined;", vec![])
            .await
            .unwrap(),
        json!(true)
    );
    c.goto(&format!("{base}/?q=%3Cimg")).await.unwrap();

    // A form without this browser's CSRF cookie is refused.
    let forged = app
        .client
        .post(format!("{base}/compose/2/delete"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("csrf=0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        api(&app, "/api/1/composes/2").await["removed_by"],
        Value::Null
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_follow_inspect_compare_delete_in_a_browser_on_sqlite() {
    run(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_follow_inspect_compare_delete_in_a_browser_on_postgres() {
    run(Db::Postgres).await;
}

/// A real OpenID Provider (npm `oidc-provider`, installed by tests/run.sh into
/// tests/clients/oidc), killed when dropped.
struct Provider(std::process::Child);

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn provider(port: u16, redirect: &str, secret: &str) -> Option<Provider> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/oidc");
    if !dir.join("node_modules/oidc-provider").exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("oidc-provider is missing: tests/run.sh runs npm ci in tests/clients/oidc");
        }
        eprintln!(
            "\n!!! SKIPPING the OIDC login test: run `npm ci --prefix tests/clients/oidc` !!!\n"
        );
        return None;
    }
    let mut child = Command::new("node")
        .arg(dir.join("provider.mjs"))
        .args([&port.to_string(), redirect, secret])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(
        line.starts_with("ready "),
        "the provider did not start: {line:?}"
    );
    // The rest of its output is drained (a closed pipe would end it at its next line).
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Some(Provider(child))
}

async fn has(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css)).await.is_ok()
}

async fn login_run(db: Db) {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let client_secret = "composed-client-secret";
    let repo = rpms::cached_many("ui-oidc", 3);
    let iss = issuer.clone();
    let Some(app) = spawn_app_full(
        db,
        move |s| {
            s.auth.backend = "oidc".into();
            s.auth.oidc.issuer = iss.clone();
            s.auth.oidc.jwks_url = format!("{iss}/jwks");
            s.auth.oidc.login.client_id = "composed".into();
            s.auth.oidc.login.client_secret = client_secret.into();
            s.auth.oidc.login.session_secret = "a session key of at least thirty-two chars".into();
            s.auth
                .allowed_clients
                .groups
                .insert("releng".into(), Default::default());
            s.auth.admins.groups = vec!["releng".into()];
        },
        true,
    )
    .await
    else {
        return;
    };
    let base = app.base.clone();
    let Some(_op) = provider(op_port, &format!("{base}/login/callback"), client_secret) else {
        return;
    };

    // Nobody is logged in: the pages are read-only and offer the login.
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(has(&c, "#login-link").await);
    // The form asks for the login first, and comes back to it.
    c.goto(&format!("{base}/new")).await.unwrap();
    wait_js(&c, "document.getElementById('op-login')", 30).await;

    // A wrong password is refused by the provider: no session here.
    type_into(&c, "#op-login", "alice").await;
    type_into(&c, "#op-password", "looking-glass").await;
    click(&c, "#op-submit").await;
    let refused = text_of(&c, "#op-error").await;
    assert!(refused.contains("Invalid"), "{refused}");
    assert!(
        c.get_all_cookies()
            .await
            .unwrap()
            .iter()
            .all(|k| k.name() != "composed_session"),
        "a session after a refused login"
    );

    // The right one: back on the form, logged in, with a session cookie as it should be.
    type_into(&c, "#op-login", "alice").await;
    type_into(&c, "#op-password", "wonderland").await;
    click(&c, "#op-submit").await;
    wait_js(
        &c,
        "location.pathname === '/new' && document.getElementById('source')",
        30,
    )
    .await;
    assert_eq!(text_of(&c, "#user").await, "alice");
    c.goto(&format!("{base}/")).await.unwrap();
    let cookies = c.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|k| k.name() == "composed_session")
        .expect("the session cookie");
    assert_eq!(session.http_only(), Some(true), "HttpOnly");
    assert_eq!(session.secure(), Some(true), "Secure");
    assert_eq!(
        format!("{:?}", session.same_site()),
        "Some(Lax)",
        "SameSite=Lax"
    );
    let session_value = session.value().to_string();

    // A compose through the form is alice's.
    c.goto(&format!("{base}/new")).await.unwrap();
    c.find(Locator::Css("#source_type"))
        .await
        .unwrap()
        .select_by_value("repo")
        .await
        .unwrap();
    type_into(&c, "#source", &repo.to_string_lossy()).await;
    click(&c, "#submit").await;
    wait_js(
        &c,
        "location.pathname.endsWith('/compose/1') && document.getElementById('state')",
        30,
    )
    .await;
    let created = api(&app, "/api/1/composes/1").await;
    assert_eq!(created["owner"], "alice", "{created}");
    // alice is an admin (group releng): she may delete it.
    assert!(has(&c, "#delete").await);

    // The API does not take the session: Bearer tokens only.
    let r = app
        .client
        .post(format!("{base}/api/1/composes/"))
        .header("Cookie", format!("composed_session={session_value}"))
        .json(&json!({"source": {"type": "repo", "source": repo}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // An altered session cookie is nobody's.
    let mut forged = session_value.clone();
    forged.insert(
        1,
        if forged.as_bytes()[1] == b'A' {
            'B'
        } else {
            'A'
        },
    );
    let page = app
        .client
        .get(format!("{base}/"))
        .header("Cookie", format!("composed_session={forged}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"login-link\""), "{page}");
    assert!(!page.contains("id=\"user\""), "{page}");

    // Log out: the session is gone.
    c.goto(&format!("{base}/logout")).await.unwrap();
    click(&c, "#logout").await;
    wait_js(&c, "document.getElementById('login-link')", 30).await;
    assert!(
        c.get_all_cookies()
            .await
            .unwrap()
            .iter()
            .all(|k| k.name() != "composed_session")
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_connect_login_with_a_wrong_password_refused_on_sqlite() {
    login_run(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_connect_login_with_a_wrong_password_refused_on_postgres() {
    login_run(Db::Postgres).await;
}
