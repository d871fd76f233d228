//! Notifications (issue 16): mail through a real SMTP server (Debian's python3-aiosmtpd) that
//! is down while the compose runs and up afterwards; webhooks retried after 500s and verified
//! by a receiver with its own HMAC code (`tests/clients/webhook_receiver.py`); unsigned
//! webhook configurations refused when `composed` starts.

use super::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_listening(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port}");
}

/// The deliveries of compose `id`, polled until `done` says so (at most 60 s).
async fn deliveries(app: &TestApp, id: i64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..600 {
        let r = app
            .get(&format!("/api/1/composes/{id}/notifications"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        last = r.json()["items"].as_array().unwrap().clone();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries of compose {id}: {last:?}");
}

fn small_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_rpm(
        dir.path(),
        &r("hello", "noarch", &[], &[], &["/usr/bin/hello"]),
        "1.0",
        "1",
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_sent_while_the_smtp_server_is_down_arrives_once_it_is_up() {
    let smtp_port = free_port();
    let port = free_port();
    let app = spawn_app_full(
        Db::Sqlite,
        move |s| {
            s.server.bind = format!("127.0.0.1:{port}");
            s.composes.target_dir_url = format!("http://localhost:{port}/composes");
            s.notifications.smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
            s.notifications.email_domains = vec!["example.org".into()];
            s.notifications.retry_max_secs = 1;
            s.notifications.api_url = format!("http://localhost:{port}");
        },
        true,
    )
    .await
    .unwrap();
    let repo = small_repo();
    // A bad `notify` is refused with the field named, before anything is stored.
    let bad = app
        .post(&json!({"source": {"type": "repo", "source": repo.path()}, "notify": ["mailto:qa@elsewhere.org"]}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("notify[0]"), "{}", bad.text);
    let c = compose(
        &app,
        json!({"source": {"type": "repo", "source": repo.path()}, "notify": ["mailto:qa@example.org"]}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    let id = c["id"].as_i64().unwrap();
    // The server is down: both mails (submitted, done) fail and wait for another attempt.
    let failing = deliveries(&app, id, |d| {
        d.len() == 2 && d.iter().all(|x| x["attempts"].as_i64() >= Some(1))
    })
    .await;
    for d in &failing {
        assert_eq!(d["status"], "pending", "{d}");
        assert_eq!(d["channel"], "email");
        assert_eq!(d["target"], "qa@example.org");
        assert!(d["last_error"].as_str().unwrap().contains("SMTP"), "{d}");
    }
    // Up now.
    let maildir = tempfile::tempdir().unwrap();
    let _smtp = Child(
        Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{smtp_port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .spawn()
            .expect("python3-aiosmtpd (apt-get install python3-aiosmtpd)"),
    );
    wait_listening(smtp_port).await;
    let sent = deliveries(&app, id, |d| d.iter().all(|x| x["status"] == "sent")).await;
    assert_eq!(sent.len(), 2);
    let mut mails: Vec<String> = std::fs::read_dir(maildir.path().join("mail/new"))
        .unwrap()
        .flatten()
        .map(|e| quoted_printable(&std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    mails.sort();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let subjects: BTreeSet<String> = mails
        .iter()
        .filter_map(|m| m.lines().find_map(|l| l.strip_prefix("Subject: ")))
        .map(str::to_string)
        .collect();
    let source = repo.path().display().to_string();
    assert_eq!(
        subjects,
        BTreeSet::from([
            format!("[composed] compose {id} ({source}) is wait"),
            format!("[composed] compose {id} ({source}) is done"),
        ]),
        "{mails:?}"
    );
    let done_mail = mails.iter().find(|m| m.contains("is done")).unwrap();
    for link in [
        format!("Compose: http://localhost:{port}/api/1/composes/{id}"),
        format!("Log: http://localhost:{port}/composes/odcs-{id}/pungi-stderr.log"),
        format!(
            ".repo file: http://localhost:{port}/composes/odcs-{id}/compose/Temporary/odcs-{id}.repo"
        ),
    ] {
        assert!(done_mail.contains(&link), "{link}\n{done_mail}");
    }
    assert!(done_mail.contains("To: qa@example.org"), "{done_mail}");
}

use std::collections::BTreeSet;

/// A mail's text with quoted-printable soft breaks and `=XX` escapes undone (RFC 2045 6.7).
fn quoted_printable(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_retried_after_500s_arrive_once_and_signed() {
    let hook_port = free_port();
    let secret = "s3cret-s3cret-s3cret-s3cret-0123456789";
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("received.json");
    let _receiver = Child(
        Command::new("/usr/bin/python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/clients/webhook_receiver.py"
            ))
            .arg(hook_port.to_string())
            .arg(secret)
            .arg("2")
            .arg(&out)
            .spawn()
            .unwrap(),
    );
    wait_listening(hook_port).await;
    let hook_url = format!("http://127.0.0.1:{hook_port}/hooks/");
    let (u, sec) = (hook_url.clone(), secret.to_string());
    let app = spawn_app_full(
        Db::Sqlite,
        move |s| {
            s.notifications.retry_max_secs = 1;
            s.notifications.webhooks = vec![composed::config::WebhookTarget {
                name: "ci".into(),
                url: u,
                secret: sec,
                secret_file: String::new(),
            }];
            s.notifications.rules = vec![composed::config::NotificationRule {
                name: "all-done".into(),
                states: vec!["done".into()],
                webhooks: vec!["ci".into()],
                ..Default::default()
            }];
        },
        true,
    )
    .await
    .unwrap();
    let repo = small_repo();
    let c = compose(
        &app,
        json!({"source": {"type": "repo", "source": repo.path()}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    let id = c["id"].as_i64().unwrap();
    let d = deliveries(&app, id, |d| d.iter().any(|x| x["status"] == "sent")).await;
    assert_eq!(d.len(), 1, "one rule, one state: {d:?}");
    assert_eq!(
        (
            d[0]["channel"].as_str(),
            d[0]["rule"].as_str(),
            d[0]["attempts"].as_i64()
        ),
        (Some("webhook"), Some("rule:all-done"), Some(3)),
        "two 500s, then accepted: {d:?}"
    );
    // Give a wrongly repeated delivery time to show up, then read what the receiver saw.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(got["failed_first"], 2);
    assert_eq!(got["refused"], json!([]), "{got}");
    let accepted = got["accepted"].as_array().unwrap();
    assert_eq!(accepted.len(), 1, "arrived once: {got}");
    assert_eq!(accepted[0]["delivery"], d[0]["delivery_id"]);
    assert_eq!(accepted[0]["event"], "compose.state-changed");
    assert_eq!(accepted[0]["body"]["compose"]["id"], id);
    assert_eq!(accepted[0]["body"]["compose"]["state_name"], "done");
    assert_eq!(
        accepted[0]["body"]["links"]["compose"],
        format!("http://127.0.0.1:5005/api/1/composes/{id}")
    );
    // The receiver's check is real: a body signed with another key is refused.
    let forged = app
        .client
        .post(&hook_url)
        .header(
            "X-Composed-Signature-256",
            composed::notify::signature(b"another key, 32 bytes long......", b"{}"),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

/// `composed serve` refuses to start with a webhook it could not sign, or signs weakly, and
/// says which key.
#[test]
fn unsigned_or_weak_webhook_configurations_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, want) in [
        (
            "[[notifications.webhooks]]\nname = \"ci\"\nurl = \"https://ci.example.org/hooks/\"\n",
            "notifications.webhooks[0] (ci): no secret",
        ),
        (
            "[[notifications.webhooks]]\nname = \"ci\"\nurl = \"https://ci.example.org/hooks/\"\nsecret = \"changeme\"\n",
            "the secret has 8 bytes; at least 32",
        ),
        (
            "[[notifications.rules]]\nname = \"qa\"\nwebhooks = [\"forged\"]\n",
            "notifications.rules[0].webhooks: \"forged\" is no [[notifications.webhooks]] name",
        ),
    ] {
        let cfg = dir.path().join("composed.toml");
        std::fs::write(&cfg, extra).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_composed"))
            .arg("--config")
            .arg(&cfg)
            .arg("serve")
            .env(
                "COMPOSED__DATABASE__URL",
                format!("sqlite://{}", dir.path().join("db.sqlite").display()),
            )
            .env("COMPOSED__SERVER__BIND", "127.0.0.1:0")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {extra}");
        assert!(err.contains(want), "{want}\n--- stderr ---\n{err}");
    }
}
