//! Bus area: composed against the real Python clients from PyPI (fedmsg 1.1.7,
//! fedora-messaging 3.9.1) and RabbitMQ on 127.0.0.1:5672. Koji events trigger composes
//! (coalesced, de-duplicated), state changes come back on both buses, the AMQP backlog
//! survives a broker outage, and malformed input is counted without stopping a listener.

#[path = "../common/koji_hub.rs"]
mod koji_hub;
#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use composed::bus::settings::TriggerRule;
use composed::bus::triggers::{self, TriggerRecord};
use composed::config::Settings;
use composed::db::models::{Compose, OutboxMessage};
use composed::db::schema::{composes, outbox};
use diesel::prelude::*;
use futures_util::StreamExt;
use koji_hub::{HubData, spawn_hub};
use serde_json::{Value, json};
use support::{Db, TestApp, spawn_app_full};

const RABBIT: &str = "127.0.0.1:5672";
const KEY: &str = "a1b2c3d4";

// ---------------------------------------------------------------- environment

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &composed::db::composes::new_message_id().replace('-', "")[..12]
    )
}

/// The venv's bin directory with the bus clients, or `None` (loudly) outside CI.
fn bus_clients() -> Option<PathBuf> {
    let bin = support::venv_bin()?;
    let ok = bin.join("fedmsg-logger").exists()
        && bin.join("fedora-messaging").exists()
        && Command::new(bin.join("python"))
            .args([
                "-c",
                "import fedmsg, fedora_messaging, koji_fedoramessaging_messages, zmq",
            ])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(bin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "fedmsg / fedora-messaging missing in the venv {}: tests/run.sh must install them",
            bin.display()
        );
    }
    eprintln!(
        "\n!!! SKIPPING bus client test: fedmsg / fedora-messaging not installed in {} !!!\n",
        bin.display()
    );
    None
}

/// `true` when RabbitMQ answers on 127.0.0.1:5672; in CI its absence is a failure.
fn rabbit_up() -> bool {
    if std::net::TcpStream::connect_timeout(&RABBIT.parse().unwrap(), Duration::from_secs(2))
        .is_ok()
    {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("RabbitMQ is not reachable on {RABBIT} in CI: AMQP tests must run");
    }
    eprintln!("\n!!! SKIPPING AMQP test: RabbitMQ is not reachable on {RABBIT} !!!\n");
    false
}

fn amqp_url(port: u16) -> String {
    format!("amqp://guest:guest@127.0.0.1:{port}/%2F")
}

/// Polls `f` every 50 ms until it gives a value; panics after `secs`.
async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn port_open(port: u16) {
    wait_for("a listening port", 20, || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await
}

/// Waits for a child process and returns its stdout (panics on failure or after `secs`).
async fn finish(mut child: Child, secs: u64, what: &str) -> String {
    let what = what.to_string();
    let h = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        if let Some(mut s) = child.stdout.take() {
            std::io::Read::read_to_string(&mut s, &mut out).unwrap();
        }
        (child.wait().unwrap(), out)
    });
    match tokio::time::timeout(Duration::from_secs(secs), h).await {
        Ok(Ok((status, out))) => {
            assert!(status.success(), "{what} failed ({status}): {out}");
            out
        }
        _ => panic!("{what} did not finish within {secs} s"),
    }
}

// ---------------------------------------------------------------- Koji data

fn write_rpm(dir: &Path, name: &str, arch: &str) {
    let mut b = rpm::PackageBuilder::new(name, "1.0", "MIT", arch, "bus test package");
    b.release("1.fc41")
        .description("Built by composed's bus tests.");
    b.with_file_contents(
        format!("{name}\n").into_bytes(),
        rpm::FileOptions::new(format!("/usr/share/{name}/data")),
    )
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    b.build()
        .unwrap()
        .write_file(dir.join(format!("{name}-1.0-1.fc41.{arch}.rpm")))
        .unwrap();
}

/// A hub with `hello-1.0-1.fc41` (noarch, signed with KEY) tagged into each of `tags`.
async fn koji(tags: &[&str]) -> (koji_hub::Hub, tempfile::TempDir) {
    let topdir = tempfile::tempdir().unwrap();
    let mut d = HubData::default();
    d.import_build("hello-1.0-1.fc41", None, &[("hello", "noarch")]);
    d.add_signature("hello-1.0-1.fc41", KEY);
    let build = topdir.path().join("packages/hello/1.0/1.fc41");
    write_rpm(&build.join("noarch"), "hello", "noarch");
    write_rpm(
        &build.join(format!("data/signed/{KEY}/noarch")),
        "hello",
        "noarch",
    );
    for t in tags {
        d.create_tag(t, "x86_64");
        d.add_package(t, "hello");
        d.tag_build(t, "hello-1.0-1.fc41");
    }
    (spawn_hub(d).await, topdir)
}

fn tag_rule(name: &str, tag: &str) -> TriggerRule {
    TriggerRule {
        name: name.into(),
        tag: tag.into(),
        packages: Some(vec!["hello".into()]),
        arches: Some(vec!["x86_64".into()]),
        sigkeys: Some(vec![KEY.into()]),
        flags: vec!["no_deps".into()],
        ..Default::default()
    }
}

fn tag_body(tag: &str) -> Value {
    json!({"build_id": 2646710, "name": "hello", "version": "1.0", "release": "1.fc41",
           "tag": tag, "tag_id": 40011, "user": "bodhi", "owner": "someone", "instance": "primary"})
}

// ---------------------------------------------------------------- composed state

async fn composes_of(app: &TestApp, owner: &str) -> Vec<Compose> {
    let owner = owner.to_string();
    app.with_db(move |c| {
        composes::table
            .filter(composes::owner.eq(owner))
            .order(composes::id.asc())
            .select(Compose::as_select())
            .load(c)
            .unwrap()
    })
    .await
}

async fn trigger_records(app: &TestApp) -> Vec<TriggerRecord> {
    app.with_db(|c| triggers::list(c, None).unwrap()).await
}

async fn outbox_rows(app: &TestApp) -> Vec<(OutboxMessage, Option<chrono::NaiveDateTime>)> {
    app.with_db(|c| {
        outbox::table
            .order(outbox::id.asc())
            .select((OutboxMessage::as_select(), outbox::amqp_sent_at))
            .load(c)
            .unwrap()
    })
    .await
}

/// The outbox when it has at least `n` rows and the broker confirmed all of them.
async fn all_sent(
    app: &TestApp,
    n: usize,
) -> Option<Vec<(OutboxMessage, Option<chrono::NaiveDateTime>)>> {
    let rows = outbox_rows(app).await;
    (rows.len() >= n && rows.iter().all(|(_, s)| s.is_some())).then_some(rows)
}

/// Waits until the compose is done (panics if it fails).
async fn wait_done(app: &TestApp, id: i64) -> Value {
    let j = wait_for("a final compose state", 90, || async move {
        let j = app.get(&format!("/api/1/composes/{id}")).await.json();
        (!matches!(j["state_name"].as_str(), Some("wait" | "generating"))).then_some(j)
    })
    .await;
    assert_eq!(j["state_name"], "done", "{j}");
    j
}

/// Asserts the rule's parameters on a compose JSON.
fn assert_rule_compose(c: &Value, tag: &str, owner: &str) {
    assert_eq!(c["owner"], owner, "{c}");
    assert_eq!(c["source_type"], 1, "{c}");
    assert_eq!(c["source"], tag, "{c}");
    assert_eq!(c["packages"], "hello", "{c}");
    assert_eq!(c["arches"], "x86_64", "{c}");
    assert_eq!(c["sigkeys"], KEY, "{c}");
    assert_eq!(c["flags"], json!(["no_deps"]), "{c}");
}

/// Groups state-change bodies by compose id, in arrival order.
fn states_by_compose(bodies: &[Value]) -> BTreeMap<i64, Vec<String>> {
    let mut m: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for b in bodies {
        assert_eq!(b["event"], "state-changed", "{b}");
        m.entry(b["compose"]["id"].as_i64().unwrap())
            .or_default()
            .push(b["compose"]["state_name"].as_str().unwrap().to_string());
    }
    m
}

async fn metrics(app: &TestApp) -> String {
    app.get("/api/1/metrics/").await.text
}

fn metric(text: &str, name_and_labels: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name_and_labels} not in metrics:\n{text}"))
}

// ---------------------------------------------------------------- fedmsg

fn fedmsg_config(dir: &Path, endpoints: &[(&str, u16)], relay_inbound: u16) {
    let eps: Vec<String> = endpoints
        .iter()
        .map(|(n, p)| format!("        {n:?}: [\"tcp://127.0.0.1:{p}\"],"))
        .collect();
    std::fs::create_dir_all(dir.join("fedmsg.d")).unwrap();
    std::fs::write(
        dir.join("fedmsg.d/test.py"),
        format!(
            "config = dict(\n    topic_prefix=\"org.fedoraproject\",\n    environment=\"prod\",\n    endpoints={{\n{}\n    }},\n    relay_inbound=[\"tcp://127.0.0.1:{relay_inbound}\"],\n    sign_messages=False,\n    validate_signatures=False,\n    post_init_sleep=1.0,\n)\n",
            eps.join("\n")
        ),
    )
    .unwrap();
}

/// `fedmsg.tail_messages` printing `n` messages under `topic` as JSON lines.
const TAIL: &str = r#"
import json, sys, fedmsg
fedmsg.init(mute=True, name="relay_inbound")
print("ready", flush=True)
for k, (name, ep, topic, msg) in enumerate(fedmsg.tail_messages(topic=sys.argv[2])):
    print(json.dumps({"endpoint": ep, "topic": topic, "msg": msg}, sort_keys=True), flush=True)
    if k + 1 >= int(sys.argv[1]):
        break
"#;

/// `fedmsg.publish` from a passive publisher (binds `koji.hub`; composed connects).
const PUBLISH: &str = r#"
import fedmsg, json, sys, time
fedmsg.init(name="koji.hub")
time.sleep(3)
fedmsg.publish(modname="buildsys", topic="tag", msg=json.loads(sys.argv[1]))
time.sleep(1)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedmsg_tag_events_make_tag_composes_and_state_changes_come_back() {
    let Some(bin) = bus_clients() else { return };
    let (tag_a, tag_b) = ("f41-updates-candidate", "f41-updates-testing");
    let (hub, topdir) = koji(&[tag_a, tag_b]).await;
    let (pub_port, inbound_port, koji_port) = (free_port(), free_port(), free_port());
    let (url, td) = (hub.url.clone(), topdir.path().to_path_buf());
    let app = spawn_app_full(
        Db::Sqlite,
        move |s: &mut Settings| {
            s.koji.hub_url = url;
            s.koji.topdir = td;
            s.koji.retries = 0;
            s.messaging.fedmsg_publish_endpoint = format!("tcp://127.0.0.1:{pub_port}");
            s.messaging.environment = "prod".into();
            s.messaging.relay_interval_ms = 20;
            s.messaging.reconnect_max_ms = 1000;
            s.triggers.fedmsg_inbound_endpoint = format!("tcp://127.0.0.1:{inbound_port}");
            s.triggers.fedmsg_endpoints = vec![format!("tcp://127.0.0.1:{koji_port}")];
            s.triggers.owner = "releng-bot".into();
            s.triggers.debounce_ms = 300;
            s.triggers.rules = vec![tag_rule("candidate", tag_a), tag_rule("testing", tag_b)];
        },
        true,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    fedmsg_config(
        dir.path(),
        &[("odcs.backend", pub_port), ("koji.hub", koji_port)],
        inbound_port,
    );
    // The observer first: the real fedmsg consumer, 2 composes × wait/generating/done.
    let mut tail = Command::new(bin.join("python"))
        .args(["-c", TAIL, "6", "org.fedoraproject.prod.odcs."])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(tail.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    port_open(inbound_port).await;

    // 1. fedmsg-logger (active mode) → the SUB composed binds.
    let mut logger = Command::new(bin.join("fedmsg-logger"))
        .args(["--modname", "buildsys", "--topic", "tag", "--json-input"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut logger.stdin.take().unwrap(),
        tag_body(tag_a).to_string().as_bytes(),
    )
    .unwrap();
    finish(logger, 60, "fedmsg-logger").await;
    let first = wait_for("the compose of the fedmsg-logger event", 30, || async {
        composes_of(&app, "releng-bot").await.into_iter().next()
    })
    .await;
    let a = wait_done(&app, first.id).await;
    assert_rule_compose(&a, tag_a, "releng-bot");

    // 2. fedmsg.publish (passive publisher binds) → the SUB composed connects.
    let publish = Command::new(bin.join("python"))
        .args(["-c", PUBLISH, &tag_body(tag_b).to_string()])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    finish(publish, 60, "fedmsg.publish").await;
    let second = wait_for("the compose of the fedmsg.publish event", 30, || async {
        composes_of(&app, "releng-bot").await.into_iter().nth(1)
    })
    .await;
    let b = wait_done(&app, second.id).await;
    assert_rule_compose(&b, tag_b, "releng-bot");

    // What triggered each compose is recorded.
    let records = trigger_records(&app).await;
    assert_eq!(records.len(), 2, "{records:?}");
    for (r, (rule, c)) in records
        .iter()
        .zip([("candidate", &first), ("testing", &second)])
    {
        assert_eq!(r.rule, rule);
        assert_eq!(r.compose_id, Some(c.id));
        assert_eq!(r.topic, "org.fedoraproject.prod.buildsys.tag");
        assert_eq!(r.events, 1);
        let ids: Vec<String> = serde_json::from_str(&r.message_ids).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(
            ids[0].len(),
            36,
            "the fedmsg year prefix is removed: {ids:?}"
        );
    }

    // The real consumer saw wait → generating → done of both, with the compose bodies.
    let rest = finish(
        {
            tail.stdout = Some(out.into_inner());
            tail
        },
        60,
        "fedmsg.tail_messages",
    )
    .await;
    let msgs: Vec<Value> = rest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(msgs.len(), 6, "{rest}");
    for m in &msgs {
        assert_eq!(
            m["topic"],
            "org.fedoraproject.prod.odcs.compose.state-changed"
        );
        assert_eq!(m["endpoint"], format!("tcp://127.0.0.1:{pub_port}"));
        assert_eq!(m["msg"]["topic"], m["topic"]);
        assert!(m["msg"]["msg_id"].as_str().unwrap().len() > 36);
    }
    let bodies: Vec<Value> = msgs.iter().map(|m| m["msg"]["msg"].clone()).collect();
    let states = states_by_compose(&bodies);
    assert_eq!(states.len(), 2, "{states:?}");
    for (id, s) in &states {
        assert!([first.id, second.id].contains(id));
        assert_eq!(s, &["wait", "generating", "done"], "compose {id}");
    }
    for b in &bodies {
        let tag = if b["compose"]["id"] == first.id {
            tag_a
        } else {
            tag_b
        };
        assert_rule_compose(&b["compose"], tag, "releng-bot");
    }
    let done = bodies
        .iter()
        .find(|b| b["compose"]["id"] == first.id && b["compose"]["state_name"] == "done")
        .unwrap();
    assert_eq!(done["compose"]["result_repo"], a["result_repo"]);
}

// ---------------------------------------------------------------- fedora-messaging

fn fm_config(dir: &Path, amqp_port: u16, prefix: &str, observer: &str, binding: &str) -> PathBuf {
    let path = dir.join("amqp.toml");
    std::fs::write(
        &path,
        format!(
            r#"amqp_url = "{}"
publish_exchange = "amq.topic"
topic_prefix = "{prefix}"

[client_properties]
app = "composed-tests"

[queues.{observer}]
durable = false
auto_delete = true
exclusive = false
arguments = {{}}

[[bindings]]
queue = "{observer}"
exchange = "amq.topic"
routing_keys = ["{binding}"]

[qos]
prefetch_size = 0
prefetch_count = 10
"#,
            amqp_url(amqp_port)
        ),
    )
    .unwrap();
    path
}

/// The consumer count of a queue, or `None` while it does not exist.
async fn consumers(queue: &str) -> Option<u32> {
    use lapin::options::QueueDeclareOptions;
    let conn = lapin::Connection::connect(&amqp_url(5672), lapin::ConnectionProperties::default())
        .await
        .ok()?;
    let ch = conn.create_channel().await.ok()?;
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .ok();
    let _ = conn.close(200, "bye".into()).await;
    q.map(|q| q.consumer_count())
}

async fn raw_publish(key: &str, body: &[u8], message_id: Option<&str>) {
    let conn = lapin::Connection::connect(&amqp_url(5672), lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(Default::default()).await.unwrap();
    let mut props = lapin::BasicProperties::default();
    if let Some(id) = message_id {
        props = props.with_message_id(id.into());
    }
    ch.basic_publish(
        "amq.topic".into(),
        key.into(),
        Default::default(),
        body,
        props,
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let _ = conn.close(200, "bye".into()).await;
}

async fn fedora_messaging_roundtrip(db: Db) {
    let Some(bin) = bus_clients() else { return };
    if !rabbit_up() {
        return;
    }
    let tag = "f41-updates-candidate";
    let (hub, topdir) = koji(&[tag]).await;
    let env = unique("t");
    let prefix = format!("org.fedoraproject.{env}");
    let queue = unique("composed-");
    let observer = unique("observer_");
    let (url, td, q, e) = (
        hub.url.clone(),
        topdir.path().to_path_buf(),
        queue.clone(),
        env.clone(),
    );
    let p2 = prefix.clone();
    let Some(app) = spawn_app_full(
        db,
        move |s: &mut Settings| {
            s.koji.hub_url = url;
            s.koji.topdir = td;
            s.koji.retries = 0;
            s.messaging.environment = e;
            s.messaging.relay_interval_ms = 20;
            s.messaging.amqp_url = amqp_url(5672);
            s.messaging.reconnect_max_ms = 1000;
            s.triggers.amqp_queue = q;
            s.triggers.amqp_routing_keys = vec![format!("{p2}.buildsys.tag")];
            s.triggers.owner = "releng-bot".into();
            s.triggers.debounce_ms = 300;
            s.triggers.max_message_bytes = 4096;
            s.triggers.rules = vec![tag_rule("candidate", tag)];
        },
        true,
    )
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = fm_config(
        dir.path(),
        5672,
        &prefix,
        &observer,
        &format!("{prefix}.odcs.compose.state-changed"),
    );
    // The real consumer records wait, generating, done.
    let out_file = dir.path().join("out.jsonl");
    let record = Command::new(bin.join("fedora-messaging"))
        .arg("--conf")
        .arg(&conf)
        .args(["record"])
        .arg(&out_file)
        .args(["--limit", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let obs = observer.clone();
    wait_for("the recorder's queue", 60, || {
        let o = obs.clone();
        async move { consumers(&o).await.filter(|n| *n >= 1) }
    })
    .await;
    let q = queue.clone();
    wait_for("composed's trigger queue", 60, || {
        let q = q.clone();
        async move { consumers(&q).await.filter(|n| *n >= 1) }
    })
    .await;

    // Malformed AMQP input first: counted, acknowledged, the consumer stays up.
    let key = format!("{prefix}.buildsys.tag");
    raw_publish(&key, b"{not json", None).await;
    raw_publish(&key, b"[1, 2]", None).await;
    raw_publish(&key, &vec![b' '; 5000], None).await;
    raw_publish(&key, br#"{"instance": "primary"}"#, None).await;
    // Ignored: a secondary hub, and another tag.
    let mut secondary = tag_body(tag);
    secondary["instance"] = json!("secondary");
    raw_publish(&key, secondary.to_string().as_bytes(), Some("sec-1")).await;
    raw_publish(
        &key,
        tag_body("f41-other").to_string().as_bytes(),
        Some("other-1"),
    )
    .await;

    // The trigger: the real fedora-messaging publisher with the Koji schema header.
    let jsonl = dir.path().join("tag.jsonl");
    std::fs::write(
        &jsonl,
        format!(
            "{}\n",
            json!({"topic": "buildsys.tag",
                   "headers": {"fedora_messaging_schema": "koji_fedoramessaging.tag.TagV1"},
                   "body": tag_body(tag)})
        ),
    )
    .unwrap();
    let publish = Command::new(bin.join("fedora-messaging"))
        .arg("--conf")
        .arg(&conf)
        .arg("publish")
        .arg(&jsonl)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    finish(publish, 60, "fedora-messaging publish").await;
    let c = wait_for("the triggered compose", 30, || async {
        composes_of(&app, "releng-bot").await.into_iter().next()
    })
    .await;
    let j = wait_done(&app, c.id).await;
    assert_rule_compose(&j, tag, "releng-bot");
    finish(record, 60, "fedora-messaging record").await;

    let text = std::fs::read_to_string(&out_file).unwrap();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 3, "{text}");
    let rows = outbox_rows(&app).await;
    let ids: Vec<&str> = rows.iter().map(|(m, _)| m.message_id.as_str()).collect();
    for r in &recs {
        assert_eq!(r["topic"], format!("{prefix}.odcs.compose.state-changed"));
        let h = &r["headers"];
        assert_eq!(h["fedora_messaging_schema"], "base.message", "{r}");
        assert_eq!(h["fedora_messaging_schema_package"], "fedora_messaging");
        assert_eq!(h["fedora_messaging_severity"], 20);
        assert_eq!(h["priority"], 0);
        assert!(h["sent-at"].as_str().unwrap().ends_with("+00:00"), "{r}");
        assert!(
            ids.contains(&r["id"].as_str().unwrap()),
            "{r} id is an outbox message id"
        );
    }
    let bodies: Vec<Value> = recs.iter().map(|r| r["body"].clone()).collect();
    let states = states_by_compose(&bodies);
    assert_eq!(states.get(&c.id).unwrap(), &["wait", "generating", "done"]);
    for b in &bodies {
        assert_rule_compose(&b["compose"], tag, "releng-bot");
    }
    let records = trigger_records(&app).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].topic, format!("{prefix}.buildsys.tag"));
    assert_eq!(records[0].compose_id, Some(c.id));

    // Counters: 4 malformed by reason, 2 ignored, 1 matched; the queue is drained (all acked).
    let m = wait_for("the AMQP counters", 20, || async {
        let m = metrics(&app).await;
        (metric(
            &m,
            "composed_bus_messages_total{transport=\"amqp\",outcome=\"matched\"}",
        ) == 1
            && metric(
                &m,
                "composed_bus_malformed_total{transport=\"amqp\",reason=\"missing_field\"}",
            ) == 1)
            .then_some(m)
    })
    .await;
    for (reason, n) in [
        ("json", 1),
        ("not_object", 1),
        ("oversized", 1),
        ("missing_field", 1),
        ("frames", 0),
    ] {
        assert_eq!(
            metric(
                &m,
                &format!("composed_bus_malformed_total{{transport=\"amqp\",reason=\"{reason}\"}}")
            ),
            n,
            "{reason}"
        );
    }
    assert_eq!(
        metric(
            &m,
            "composed_bus_messages_total{transport=\"amqp\",outcome=\"ignored\"}"
        ),
        2
    );
    assert_eq!(metric(&m, "composed_outbox_amqp_pending"), 0);
    let left = {
        let conn =
            lapin::Connection::connect(&amqp_url(5672), lapin::ConnectionProperties::default())
                .await
                .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let q = ch
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .unwrap();
        ch.queue_delete(queue.as_str().into(), Default::default())
            .await
            .unwrap();
        q.message_count()
    };
    assert_eq!(left, 0, "every delivery was acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedora_messaging_tag_event_makes_a_compose_and_state_changes_are_published_sqlite() {
    fedora_messaging_roundtrip(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedora_messaging_tag_event_makes_a_compose_and_state_changes_are_published_postgres() {
    fedora_messaging_roundtrip(Db::Postgres).await
}

// ---------------------------------------------------------------- broker outage

/// A TCP proxy in front of RabbitMQ that can be stopped (every connection dropped, new ones
/// refused) and started again on the same port.
struct Proxy {
    port: u16,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    fn new() -> Self {
        Self {
            port: free_port(),
            tasks: Arc::default(),
        }
    }

    fn start(&self) {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_reuseaddr(true).unwrap();
        sock.bind(([127, 0, 0, 1], self.port).into()).unwrap();
        let listener = sock.listen(64).unwrap();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let conn = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(RABBIT).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_backlog_is_delivered_in_order_after_the_broker_returns() {
    if !rabbit_up() {
        return;
    }
    let env = unique("t");
    let key = format!("org.fedoraproject.{env}.odcs.compose.state-changed");
    // The observer queue lives on the real broker all along.
    let conn = lapin::Connection::connect(&amqp_url(5672), lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let observer = unique("outage_");
    ch.queue_declare(
        observer.as_str().into(),
        Default::default(),
        Default::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        observer.as_str().into(),
        "amq.topic".into(),
        key.as_str().into(),
        Default::default(),
        Default::default(),
    )
    .await
    .unwrap();

    let proxy = Proxy::new();
    proxy.start();
    let port = proxy.port;
    let app = spawn_app_full(
        Db::Sqlite,
        move |s: &mut Settings| {
            s.messaging.environment = env;
            s.messaging.relay_interval_ms = 20;
            s.messaging.amqp_url = amqp_url(port);
            s.messaging.reconnect_max_ms = 300;
        },
        true,
    )
    .await
    .unwrap();
    // A repo compose of a directory that does not exist: the engine fails it at once.
    let body = json!({"source": {"type": "repo", "source": "/nonexistent/composed-test"}});
    app.create(&body).await;
    // Compose 1 fails (no such directory): wait, generating?, failed all confirmed through the proxy.
    let before = wait_for("the first messages confirmed", 30, || async {
        let c = app.get("/api/1/composes/1").await.json();
        if c["state_name"] != "failed" {
            return None;
        }
        all_sent(&app, 2).await
    })
    .await;

    proxy.stop();
    for _ in 0..5 {
        app.create(&body).await;
    }
    // Every compose finishes while the broker is unreachable: its messages stay unsent.
    wait_for(
        "the composes made during the outage to fail",
        60,
        || async {
            let m = metrics(&app).await;
            (metric(&m, "composes_total{source_type=\"repo\",state=\"failed\"}") == 6).then_some(())
        },
    )
    .await;
    let rows = outbox_rows(&app).await;
    let unsent: Vec<&str> = rows
        .iter()
        .filter(|(_, s)| s.is_none())
        .map(|(m, _)| m.message_id.as_str())
        .collect();
    assert!(
        rows.len() >= before.len() + 10,
        "5 composes × (wait + failed) at least"
    );
    assert_eq!(
        unsent.len(),
        rows.len() - before.len(),
        "nothing is confirmed while the broker is down"
    );
    let pending = metric(&metrics(&app).await, "composed_outbox_amqp_pending");
    assert_eq!(pending as usize, unsent.len());

    proxy.start();
    let n = rows.len();
    let rows = wait_for("the backlog to be confirmed", 60, || all_sent(&app, n)).await;
    let expected: Vec<String> = rows.iter().map(|(m, _)| m.message_id.clone()).collect();

    // Every message arrived (at least once), first arrivals in outbox order.
    let mut consumer = ch
        .basic_consume(
            observer.as_str().into(),
            "t".into(),
            Default::default(),
            Default::default(),
        )
        .await
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut unique_ids = HashSet::new();
    while unique_ids.len() < expected.len() {
        let d = tokio::time::timeout(Duration::from_secs(30), consumer.next())
            .await
            .expect("a message within 30 s")
            .unwrap()
            .unwrap();
        let id = d.properties.message_id().as_ref().unwrap().to_string();
        assert_eq!(d.properties.delivery_mode(), &Some(2));
        if unique_ids.insert(id.clone()) {
            seen.push(id);
        }
        d.ack(Default::default()).await.unwrap();
    }
    assert_eq!(seen, expected, "every message, in outbox order");
    ch.queue_delete(observer.as_str().into(), Default::default())
        .await
        .unwrap();
    proxy.stop();
}

// ---------------------------------------------------------------- burst and malformed input

/// A pyzmq PUB that connects to composed's bound SUB (like fedmsg-logger), with no send
/// high-water mark, and sends what the JSON-lines on stdin describe: `{"frames": [...]}`
/// (strings), then prints "sent N".
const BLAST: &str = r#"
import json, sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.SNDHWM, 0)
s.setsockopt(zmq.LINGER, 30000)
s.connect(sys.argv[1])
time.sleep(1.5)
n = 0
for line in sys.stdin:
    frames = json.loads(line)["frames"]
    s.send_multipart([f.encode() for f in frames])
    n += 1
s.close()
ctx.term()
print("sent", n, flush=True)
"#;

fn envelope(topic: &str, msg_id: &str, msg: Value) -> String {
    json!({"i": 1, "msg": msg, "msg_id": format!("2026-{msg_id}"), "timestamp": 1_800_000_000,
           "topic": topic, "username": "koji"})
    .to_string()
}

async fn blast(bin: &Path, port: u16, messages: &[Vec<String>]) {
    let mut child = Command::new(bin.join("python"))
        .args(["-c", BLAST, &format!("tcp://127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for m in messages {
        input.push_str(&json!({"frames": m}).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer =
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, input.as_bytes()));
    let out = finish(child, 120, "the pyzmq publisher").await;
    writer.join().unwrap().unwrap();
    assert_eq!(out.trim(), format!("sent {}", messages.len()));
}

const TAG_TOPIC: &str = "org.fedoraproject.prod.buildsys.tag";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_tag_events_makes_one_compose_per_rule_per_window() {
    let Some(bin) = support::venv_bin() else {
        return;
    };
    let port = free_port();
    let rules: Vec<TriggerRule> = (0..10)
        .map(|i| TriggerRule {
            name: format!("r{i}"),
            tag: format!("f41-burst-{i}"),
            ..Default::default()
        })
        .collect();
    let app = spawn_app_full(
        Db::Sqlite,
        move |s: &mut Settings| {
            s.triggers.fedmsg_inbound_endpoint = format!("tcp://127.0.0.1:{port}");
            s.triggers.owner = "burst-bot".into();
            // Long enough for the whole burst to fall into the first window.
            s.triggers.debounce_ms = 20_000;
            s.triggers.rules = rules;
        },
        true,
    )
    .await
    .unwrap();
    port_open(port).await;
    let mut msgs = Vec::new();
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in 0..10_000 {
        let tag = format!("f41-burst-{}", k % 10);
        let id = composed::db::composes::new_message_id();
        ids.entry(tag.clone()).or_default().push(id.clone());
        msgs.push(vec![
            TAG_TOPIC.to_string(),
            envelope(TAG_TOPIC, &id, tag_body(&tag)),
        ]);
    }
    // 200 repeats of ids already sent, a secondary hub, tags without a rule: no compose.
    for k in 0..200 {
        let tag = format!("f41-burst-{}", k % 10);
        let id = ids[&tag][k / 10].clone();
        msgs.push(vec![
            TAG_TOPIC.to_string(),
            envelope(TAG_TOPIC, &id, tag_body(&tag)),
        ]);
    }
    for k in 0..100 {
        let mut b = tag_body("f41-burst-0");
        b["instance"] = json!("secondary");
        msgs.push(vec![
            TAG_TOPIC.to_string(),
            envelope(TAG_TOPIC, &format!("sec-{k}"), b),
        ]);
        let t = format!("f41-norule-{k}");
        msgs.push(vec![
            TAG_TOPIC.to_string(),
            envelope(TAG_TOPIC, &format!("nr-{k}"), tag_body(&t)),
        ]);
    }
    blast(&bin, port, &msgs).await;

    let records = wait_for("one trigger record per rule", 90, || async {
        let r = trigger_records(&app).await;
        (r.len() >= 10).then_some(r)
    })
    .await;
    assert_eq!(records.len(), 10, "{records:?}");
    let composes = composes_of(&app, "burst-bot").await;
    assert_eq!(composes.len(), 10, "exactly one compose per rule");
    let mut by_rule = BTreeMap::new();
    for r in &records {
        let tag = format!("f41-burst-{}", &r.rule[1..]);
        let stored: Vec<String> = serde_json::from_str(&r.message_ids).unwrap();
        assert_eq!(
            r.events, 1000,
            "{}: every event of the burst in one window",
            r.rule
        );
        assert_eq!(
            stored, ids[&tag],
            "{}: the coalesced message ids, in arrival order",
            r.rule
        );
        let c = composes
            .iter()
            .find(|c| Some(c.id) == r.compose_id)
            .unwrap();
        assert_eq!(c.source, tag);
        assert!(by_rule.insert(r.rule.clone(), c.id).is_none());
    }
    let m = wait_for("the message counters", 20, || async {
        let m = metrics(&app).await;
        (metric(
            &m,
            "composed_bus_messages_total{transport=\"zmq\",outcome=\"ignored\"}",
        ) == 200)
            .then_some(m)
    })
    .await;
    assert_eq!(
        metric(
            &m,
            "composed_bus_messages_total{transport=\"zmq\",outcome=\"matched\"}"
        ),
        10_000
    );
    assert_eq!(
        metric(
            &m,
            "composed_bus_messages_total{transport=\"zmq\",outcome=\"duplicate\"}"
        ),
        200
    );

    // A later event opens a second window for its rule only.
    let id = composed::db::composes::new_message_id();
    blast(
        &bin,
        port,
        &[vec![
            TAG_TOPIC.to_string(),
            envelope(TAG_TOPIC, &id, tag_body("f41-burst-3")),
        ]],
    )
    .await;
    let r = wait_for("the second window of r3", 60, || async {
        let r = trigger_records(&app).await;
        (r.len() >= 11).then_some(r)
    })
    .await;
    assert_eq!(r.len(), 11);
    assert_eq!(r[10].rule, "r3");
    assert_eq!(r[10].message_ids, json!([id]).to_string());
    assert_eq!(composes_of(&app, "burst-bot").await.len(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_counted_and_the_listener_keeps_working() {
    let Some(bin) = support::venv_bin() else {
        return;
    };
    let port = free_port();
    let app = spawn_app_full(
        Db::Sqlite,
        move |s: &mut Settings| {
            s.triggers.fedmsg_inbound_endpoint = format!("tcp://127.0.0.1:{port}");
            s.triggers.owner = "bot".into();
            s.triggers.debounce_ms = 100;
            s.triggers.max_message_bytes = 2048;
            s.triggers.rules = vec![TriggerRule {
                name: "r".into(),
                tag: "f41".into(),
                ..Default::default()
            }];
        },
        true,
    )
    .await
    .unwrap();
    port_open(port).await;
    let t = TAG_TOPIC.to_string();
    let mut msgs: Vec<Vec<String>> = Vec::new();
    let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
    let mut add = |reason: &'static str, n: usize, f: &dyn Fn(usize) -> Vec<String>| {
        for k in 0..n {
            msgs.push(f(k));
        }
        *expected.entry(reason).or_default() += n as i64;
    };
    add("frames", 200, &|k| vec![format!("one frame {k}")]);
    add("frames", 200, &|_| {
        vec![t.clone(), "{}".into(), "{}".into()]
    });
    add("json", 250, &|k| vec![t.clone(), format!("{{\"msg\": {k}")]);
    add("not_object", 150, &|k| vec![t.clone(), format!("[{k}]")]);
    add("not_object", 50, &|_| vec![t.clone(), "\"text\"".into()]);
    add("oversized", 150, &|k| {
        vec![
            t.clone(),
            envelope(
                TAG_TOPIC,
                &format!("big-{k}"),
                json!({"tag": "f41", "pad": "x".repeat(3000)}),
            ),
        ]
    });
    add("missing_field", 100, &|k| {
        vec![
            t.clone(),
            envelope(TAG_TOPIC, &format!("nt-{k}"), json!({"name": "x"})),
        ]
    });
    add("missing_field", 50, &|k| {
        vec![
            t.clone(),
            json!({"topic": TAG_TOPIC, "msg_id": format!("nm-{k}")}).to_string(),
        ]
    });
    add("topic_mismatch", 50, &|k| {
        vec![
            t.clone(),
            envelope(
                "org.fedoraproject.prod.buildsys.untag",
                &format!("tm-{k}"),
                tag_body("f41"),
            ),
        ]
    });
    let total: i64 = expected.values().sum();
    assert!(total >= 1000);
    blast(&bin, port, &msgs).await;

    // The listener is alive: a valid event still triggers.
    let id = composed::db::composes::new_message_id();
    blast(
        &bin,
        port,
        &[vec![t.clone(), envelope(TAG_TOPIC, &id, tag_body("f41"))]],
    )
    .await;
    let c = wait_for("the compose of the valid event", 30, || async {
        composes_of(&app, "bot").await.into_iter().next()
    })
    .await;
    assert_eq!(c.source, "f41");
    let m = wait_for("the malformed counters", 20, || async {
        let m = metrics(&app).await;
        let sum: i64 = composed::bus::counters::MALFORMED_REASONS
            .iter()
            .map(|r| {
                metric(
                    &m,
                    &format!("composed_bus_malformed_total{{transport=\"zmq\",reason=\"{r}\"}}"),
                )
            })
            .sum();
        let matched = metric(
            &m,
            "composed_bus_messages_total{transport=\"zmq\",outcome=\"matched\"}",
        );
        (sum >= total && matched >= 1).then_some(m)
    })
    .await;
    for r in composed::bus::counters::MALFORMED_REASONS {
        assert_eq!(
            metric(
                &m,
                &format!("composed_bus_malformed_total{{transport=\"zmq\",reason=\"{r}\"}}")
            ),
            expected.get(r).copied().unwrap_or(0),
            "{r}"
        );
    }
    assert_eq!(
        metric(
            &m,
            "composed_bus_messages_total{transport=\"zmq\",outcome=\"matched\"}"
        ),
        1
    );
    assert_eq!(composes_of(&app, "bot").await.len(), 1);
}

// ---------------------------------------------------------------- schedules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_rule_makes_one_compose_per_tick_across_processes() {
    let rule = TriggerRule {
        name: "nightly".into(),
        cron: "* * * * * *".into(),
        source: "f41".into(),
        arches: Some(vec!["x86_64".into()]),
        ..Default::default()
    };
    let r1 = rule.clone();
    let a = spawn_app_full(
        Db::Sqlite,
        move |s: &mut Settings| {
            s.triggers.owner = "cron-bot".into();
            s.triggers.rules = vec![r1];
        },
        true,
    )
    .await
    .unwrap();
    // A second process on the same database runs the same schedule.
    let url = a.settings.database.url.clone();
    let _b = spawn_app_full(
        Db::Sqlite,
        move |s: &mut Settings| {
            s.database.url = url;
            s.triggers.owner = "cron-bot".into();
            s.triggers.rules = vec![rule];
        },
        true,
    )
    .await
    .unwrap();
    wait_for("three scheduled composes", 30, || async {
        let r = trigger_records(&a).await;
        (r.len() >= 3).then_some(())
    })
    .await;
    let composes = composes_of(&a, "cron-bot").await;
    let records: Vec<TriggerRecord> = trigger_records(&a)
        .await
        .into_iter()
        .filter(|r| composes.iter().any(|c| Some(c.id) == r.compose_id))
        .collect();
    assert!(records.len() >= 3);
    assert_eq!(
        composes.len(),
        records.len(),
        "one compose per record: {records:?}"
    );
    let keys: HashSet<&str> = records
        .iter()
        .map(|r| {
            r.dedup_key
                .as_deref()
                .expect("a scheduled record has a key")
        })
        .collect();
    assert_eq!(
        keys.len(),
        records.len(),
        "one compose per tick: {records:?}"
    );
    for r in &records {
        assert_eq!(r.rule, "nightly");
        assert_eq!(r.topic, "cron");
        assert_eq!(r.message_ids, "[]");
        assert!(r.dedup_key.as_deref().unwrap().starts_with("cron:nightly:"));
    }
    assert!(
        composes
            .iter()
            .all(|c| c.source == "f41" && c.arches == "x86_64")
    );
}

/// A pyzmq PUB that **binds** (like a Koji hub's fedmsg publisher), waits `argv[2]` seconds
/// for subscribers to join (slow joiner), and sends the JSON-lines of stdin as in [`BLAST`].
const BOUND_PUB: &str = r#"
import json, sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.SNDHWM, 0)
s.setsockopt(zmq.LINGER, 30000)
s.bind(sys.argv[1])
time.sleep(float(sys.argv[2]))
n = 0
for line in sys.stdin:
    s.send_multipart([f.encode() for f in json.loads(line)["frames"]])
    n += 1
s.close()
ctx.term()
print("sent", n, flush=True)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_listening_processes_make_one_compose_per_window() {
    let Some(bin) = support::venv_bin() else {
        return;
    };
    let port = free_port();
    let rule = TriggerRule {
        name: "shared".into(),
        tag: "f41-shared".into(),
        ..Default::default()
    };
    let configure = move |s: &mut Settings, rule: TriggerRule| {
        s.triggers.fedmsg_endpoints = vec![format!("tcp://127.0.0.1:{port}")];
        s.triggers.owner = "shared-bot".into();
        s.triggers.debounce_ms = 3_000;
        s.triggers.rules = vec![rule];
    };
    // The publisher binds first; both processes connect their SUB to it.
    let mut child = Command::new(bin.join("python"))
        .args(["-c", BOUND_PUB, &format!("tcp://127.0.0.1:{port}"), "4"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let r1 = rule.clone();
    let a = spawn_app_full(Db::Sqlite, move |s: &mut Settings| configure(s, r1), true)
        .await
        .unwrap();
    let url = a.settings.database.url.clone();
    let _b = spawn_app_full(
        Db::Sqlite,
        move |s: &mut Settings| {
            configure(s, rule);
            s.database.url = url;
        },
        true,
    )
    .await
    .unwrap();
    // Every process receives every event (fedmsg is a broadcast).
    let mut input = String::new();
    for k in 0..300 {
        let id = format!("shared-{k}");
        let frames = vec![
            TAG_TOPIC.to_string(),
            envelope(TAG_TOPIC, &id, tag_body("f41-shared")),
        ];
        input.push_str(&json!({"frames": frames}).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer =
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, input.as_bytes()));
    let out = finish(child, 60, "the bound publisher").await;
    writer.join().unwrap().unwrap();
    assert_eq!(out.trim(), "sent 300");
    let records = wait_for("a trigger record", 30, || async {
        let r = trigger_records(&a).await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    // Both windows have closed by now (3 s after their first event); one compose got through.
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    let records = {
        let later = trigger_records(&a).await;
        assert!(later.len() >= records.len());
        later
    };
    // Both processes received all 300 events (the counters are shared in the database)...
    let matched = metric(
        &metrics(&a).await,
        "composed_bus_messages_total{transport=\"zmq\",outcome=\"matched\"}",
    );
    assert_eq!(matched, 600, "both listeners saw every event");
    // ... and one compose got through for the window.
    let keys: Vec<_> = records
        .iter()
        .map(|r| (r.id, r.dedup_key.clone()))
        .collect();
    assert_eq!(records.len(), 1, "{keys:?}");
    assert_eq!(composes_of(&a, "shared-bot").await.len(), 1);
    assert!(
        records[0]
            .dedup_key
            .as_deref()
            .unwrap()
            .starts_with("window:shared:")
    );
    // The record over the API: what made the compose.
    let compose_id = composes_of(&a, "shared-bot").await[0].id;
    let v = a
        .get(&format!("/api/1/triggers/?compose_id={compose_id}"))
        .await
        .json();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["rule"], "shared");
    assert_eq!(items[0]["events"], 300);
    assert_eq!(items[0]["compose_id"], compose_id);
    assert_eq!(items[0]["topic"], TAG_TOPIC);
    assert_eq!(items[0]["message_ids"].as_array().unwrap().len(), 300);
    assert_eq!(
        a.get("/api/1/triggers/?rule=other").await.json()["items"],
        json!([])
    );
    assert!(
        a.get("/api/1/triggers/?limit=0")
            .await
            .error(400)
            .contains("Invalid value \"0\" for \"limit\": an integer from 1 to 1000 is required")
    );
}

/// A pyzmq SUB connected to every endpoint in argv[2:]; prints "ready", collects until it has
/// argv[1] messages (60 s at most), listens 2 s more for duplicates, and prints the received
/// envelopes' msg_ids as a JSON list.
const SUB_ALL: &str = r#"
import json, sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
for ep in sys.argv[2:]:
    s.connect(ep)
s.setsockopt(zmq.SUBSCRIBE, b"")
print("ready", flush=True)
ids = []
end = time.time() + 60
while time.time() < end:
    if len(ids) == int(sys.argv[1]):
        end = min(end, time.time() + 2)
    if s.poll(200):
        frames = s.recv_multipart()
        ids.append(json.loads(frames[1])["msg_id"])
print(json.dumps(ids), flush=True)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_relay_publishes_when_several_processes_share_postgresql() {
    let Some(bin) = support::venv_bin() else {
        return;
    };
    let (pa, pb) = (free_port(), free_port());
    let Some(a) = spawn_app_full(
        Db::Postgres,
        move |s: &mut Settings| {
            s.messaging.fedmsg_publish_endpoint = format!("tcp://127.0.0.1:{pa}");
            s.messaging.relay_interval_ms = 20;
        },
        true,
    )
    .await
    else {
        return;
    };
    let url = a.settings.database.url.clone();
    let b = spawn_app_full(
        Db::Postgres,
        move |s: &mut Settings| {
            s.database.url = url;
            s.messaging.fedmsg_publish_endpoint = format!("tcp://127.0.0.1:{pb}");
            s.messaging.relay_interval_ms = 20;
        },
        true,
    )
    .await
    .unwrap();
    // Exactly one of the two relays binds its socket: the elected one.
    wait_for("a relay elected", 20, || async {
        let up = |p: u16| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok();
        (up(pa) || up(pb)).then_some(())
    })
    .await;
    let mut child = Command::new(bin.join("python"))
        // 4 composes × (wait, generating, failed): the repository directory does not exist.
        .args(["-c", SUB_ALL, "12"])
        .arg(format!("tcp://127.0.0.1:{pa}"))
        .arg(format!("tcp://127.0.0.1:{pb}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    tokio::time::sleep(Duration::from_millis(1000)).await; // subscriptions reach the PUB
    // Composes through both APIs; their state changes are in the one shared outbox.
    for app in [&a, &b, &a, &b] {
        app.create(&json!({"source": {"type": "repo", "source": "/nonexistent/composed-test"}}))
            .await;
    }
    let out = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        child.wait().unwrap();
        rest
    })
    .await
    .unwrap();
    let ids: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    let outbox = outbox_rows(&a).await;
    // Every state change (wait, generating, failed: no such directory) published once, by one relay.
    assert_eq!(outbox.len(), 12);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a message was published twice: {ids:?}"
    );
    assert_eq!(ids.len(), outbox.len(), "{ids:?}");
}
