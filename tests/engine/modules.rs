//! Module composes (issue 14): through the real MBS 3.9.2 frontend (tests/clients/mbs) and
//! through Koji modular tags of the test hub; Debian's dnf lists, enables and installs module
//! streams from the result; libmodulemd loads `modules.yaml`; productmd loads `modules.json`.

use std::io::{BufRead, BufReader};
use std::sync::OnceLock;

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/modules");

/// The module builds of the fixtures: (NSVC, the RPM build of its content, files it ships).
const MODULES: &[(&str, &str, &str)] = &[
    (
        "hello:1:20240101000000:c0ffee41",
        "hello-1.0-1.module_f40+1+c0ffee41",
        "/usr/share/hello/1.0",
    ),
    (
        "hello:2:20240101000000:c0ffee42",
        "hello-1.9-1.module_f40+2+c0ffee42",
        "/usr/share/hello/1.9",
    ),
    (
        "hello:2:20240202000000:c0ffee42",
        "hello-2.0-1.module_f40+3+c0ffee42",
        "/usr/share/hello/2.0",
    ),
    (
        "greet:1:20240303000000:deadbee1",
        "greet-1.0-1.module_f40+4+deadbee1",
        "/usr/share/greet/1",
    ),
    (
        "greet:1:20240303000000:deadbee2",
        "greet-1.0-1.module_f40+5+deadbee2",
        "/usr/share/greet/2",
    ),
    (
        "olddone:1:20240404000000:0badc0de",
        "olddone-1.0-1.module_f40+6+0badc0de",
        "/usr/share/olddone",
    ),
];

fn fixture(nsvc: &str) -> PathBuf {
    Path::new(FIXTURES).join(format!("{}.yaml", nsvc.replace(':', "-")))
}

fn content_tag(nsvc: &str) -> String {
    format!("module-{}", nsvc.replace(':', "-"))
}

/// Koji's NVR of a module build: `N-<S with - as _>-V.C`.
fn module_nvr(nsvc: &str) -> String {
    let p: Vec<&str> = nsvc.split(':').collect();
    format!("{}-{}-{}.{}", p[0], p[1].replace('-', "_"), p[2], p[3])
}

/// The engine tests' Koji data plus the modules: each module's RPMs tagged into its content
/// tag, and the module builds (btype module) tagged into `f40-modules`.
fn module_data(topdir: &Path) -> HubData {
    let mut d = koji_data(topdir);
    d.create_tag("f40-modules", "x86_64");
    for (nsvc, nvr, file) in MODULES {
        let name = nsvc.split(':').next().unwrap();
        let tag = content_tag(nsvc);
        d.create_tag(&tag, "x86_64");
        // greet needs hello (any stream): dnf takes the one the enabled stream offers.
        let requires: &[&str] = if name == "greet" { &["hello"] } else { &[] };
        import(
            &mut d,
            topdir,
            nvr,
            &[
                r(name, "noarch", requires, &[], &[file]),
                r(name, "src", &[], &[], &[&format!("/{name}.spec")]),
            ],
        );
        d.add_package(&tag, name);
        d.tag_build(&tag, nvr);
        let mmd = std::fs::read_to_string(fixture(nsvc)).unwrap();
        d.import_module_build(nsvc, &mmd, &tag);
        d.add_package("f40-modules", name);
        d.tag_build("f40-modules", &module_nvr(nsvc));
    }
    d
}

/// The real MBS: the one `tests/run.sh` started (`COMPOSED_TEST_MBS_URL`), or one started
/// here from the venv `tests/clients/mbs/setup.sh` made (`COMPOSED_TEST_MBS_VENV`); `None`
/// (a loud skip) only outside CI.
fn mbs_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(u) = std::env::var("COMPOSED_TEST_MBS_URL") {
            return Some(u);
        }
        let venv = std::env::var("COMPOSED_TEST_MBS_VENV")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv-mbs").into());
        let python = Path::new(&venv).join("bin/python");
        if !python.exists() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("no MBS venv at {venv}: tests/run.sh must make it");
            }
            eprintln!(
                "\n!!! SKIPPING real MBS test: no venv at {venv} \
                 (tests/clients/mbs/setup.sh {venv}) !!!\n"
            );
            return None;
        }
        Some(start_mbs(&python))
    })
    .clone()
}

/// Starts `tests/clients/mbs/serve.py` with every fixture (olddone made done); it lives as
/// long as this test process (it dies with its parent).
fn start_mbs(python: &Path) -> String {
    let dir = tempfile::tempdir().unwrap().keep();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut files = vec![fixture("platform:f40:1:00000000")];
    files.extend(MODULES.iter().map(|(n, _, _)| fixture(n)));
    let mut child = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/mbs/serve.py"
        ))
        .arg("--dir")
        .arg(&dir)
        .arg("--port")
        .arg(port.to_string())
        .args(["--done", "olddone:1:20240404000000:0badc0de"])
        .args(&files)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .spawn()
        .expect("serve.py");
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("READY ") => break l[6..].trim().to_string(),
            Some(Ok(_)) => continue,
            _ => panic!(
                "serve.py ended before READY: {:?}\n{}",
                child.wait(),
                std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
            ),
        }
    };
    // Kept running: the child is reaped with the process.
    std::mem::forget(child);
    url
}

struct ModEnv {
    app: TestApp,
    hub: koji_hub::Hub,
    _topdir: tempfile::TempDir,
}

async fn mod_env(db: Db, mbs: Option<String>) -> Option<ModEnv> {
    let topdir = tempfile::tempdir().unwrap();
    let hub = spawn_hub(module_data(topdir.path())).await;
    let (url, td) = (hub.url.clone(), topdir.path().to_path_buf());
    let app = spawn_app_full(
        db,
        move |s| {
            s.koji.hub_url = url;
            s.koji.topdir = td;
            s.koji.retries = 0;
            if let Some(m) = mbs {
                s.mbs.url = m;
                s.mbs.retries = 0;
            }
        },
        true,
    )
    .await?;
    Some(ModEnv {
        app,
        hub,
        _topdir: topdir,
    })
}

/// dnf commands run one after the other in one installroot, with the platform id modular
/// repositories need on Debian; returns (success of the last, output, `rpm -qa`).
fn dnf_steps(url: &str, steps: &[&[&str]]) -> (bool, String, String) {
    let root = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut ok = true;
    for step in steps {
        let out = Command::new("dnf")
            .arg(format!("--installroot={}", root.path().display()))
            .args([
                "--releasever=40",
                "--setopt=reposdir=/dev/null",
                "--setopt=module_platform_id=platform:f40",
                "--setopt=skip_if_unavailable=False",
                "--nogpgcheck",
                "-y",
                "--noplugins",
                &format!("--repofrompath=c,{url}"),
                "--repo=c",
            ])
            .args(*step)
            .output()
            .expect("dnf");
        ok = out.status.success();
        text += &format!(
            "$ dnf {}\n{}{}\n",
            step.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !ok {
            break;
        }
    }
    let installed = Command::new("rpm")
        .arg("--root")
        .arg(root.path())
        .args(["-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    (ok, text, installed)
}

async fn dnf_in(app: &TestApp, id: i64, steps: Vec<Vec<&'static str>>) -> (bool, String, String) {
    let url = format!(
        "{}/composes/odcs-{id}/compose/Temporary/x86_64/os/",
        app.base
    );
    tokio::task::spawn_blocking(move || {
        let s: Vec<&[&str]> = steps.iter().map(Vec::as_slice).collect();
        dnf_steps(&url, &s)
    })
    .await
    .unwrap()
}

/// libmodulemd's reading of a `modules.yaml(.gz)`: the NSVCAs and each one's artifacts.
fn libmodulemd(path: &Path) -> Value {
    let script = r#"
import gzip, json, sys
import gi
gi.require_version("Modulemd", "2.0")
from gi.repository import Modulemd
raw = open(sys.argv[1], "rb").read()
text = (gzip.decompress(raw) if sys.argv[1].endswith(".gz") else raw).decode()
idx = Modulemd.ModuleIndex.new()
ok, failures = idx.update_from_string(text, True)
out = {"ok": ok, "failures": [f.get_gerror().message for f in failures], "streams": {},
       "defaults": {}}
for name in idx.get_module_names():
    m = idx.get_module(name)
    for s in m.get_all_streams():
        out["streams"][s.get_NSVCA()] = sorted(s.get_rpm_artifacts())
    d = m.get_defaults()
    if d is not None:
        out["defaults"][name] = d.get_default_stream(None)
print(json.dumps(out))
"#;
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 (gir1.2-modulemd-2.0)");
    assert!(
        out.status.success(),
        "libmodulemd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `modules` record of a tree's repomd.xml, as a path.
fn modules_yaml(os_tree: &Path) -> PathBuf {
    let repomd = std::fs::read_to_string(os_tree.join("repodata/repomd.xml")).unwrap();
    let at = repomd
        .find("<data type=\"modules\">")
        .unwrap_or_else(|| panic!("no modules record in repomd.xml:\n{repomd}"));
    let rest = &repomd[at..];
    let href = rest
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    os_tree.join(href)
}

/// productmd's reading of `metadata/modules.json`: arch → NSVC → rpms.
fn productmd_modules(compose_dir: &Path) -> Option<Value> {
    let bin = support::venv_bin()?;
    let script = r#"
import json, sys
from productmd.modules import Modules
m = Modules(); m.load(sys.argv[1] + "/metadata/modules.json")
out = {}
for variant, arches in m.modules.items():
    for arch, mods in arches.items():
        for uid, entry in mods.items():
            out.setdefault(arch, {})[uid] = {"rpms": sorted(entry["rpms"]),
                "koji_tag": entry["metadata"]["koji_tag"], "path": entry["modulemd_path"]["binary"]}
print(json.dumps(out))
"#;
    let out = Command::new(bin.join("python"))
        .arg("-c")
        .arg(script)
        .arg(compose_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "productmd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// A failed compose's reason without the log link ODCS appends.
fn reason(c: &Value) -> &str {
    let r = c["state_reason"].as_str().unwrap_or_default();
    r.split("\nLog: ").next().unwrap()
}

fn calls(hub: &koji_hub::Hub) -> Vec<String> {
    hub.data.lock().unwrap().calls.clone()
}

/// A module compose by `N:S` through the real MBS: the newest version of hello:2, its
/// modules.yaml read by libmodulemd, modules.json by productmd, the Pungi config of a module
/// compose, and dnf enabling the stream and installing its RPM, not the other stream's.
async fn mbs_compose_by_stream(db: Db) {
    let Some(mbs) = mbs_url() else { return };
    let Some(e) = mod_env(db, Some(mbs)).await else {
        return;
    };
    let started = std::time::Instant::now();
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "hello:2"}}),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(
        c["source"], "hello:2:20240202000000:c0ffee42",
        "the resolved NSVC is stored as the source"
    );
    let id = c["id"].as_i64().unwrap();
    // The figures of the closing note (printed, never asserted on).
    let log = std::fs::read_to_string(tree(&e.app, id).join("pungi-stderr.log")).unwrap();
    assert!(
        log.contains("resolved 1 module builds (1 MBS queries)"),
        "{log}"
    );
    let mut by_method = std::collections::BTreeMap::<String, usize>::new();
    for m in calls(&e.hub) {
        *by_method.entry(m).or_default() += 1;
    }
    eprintln!(
        "FIGURES module compose POST -> done (polled every 50 ms): {took:?}; Koji calls {by_method:?}\n{log}"
    );
    let top = tree(&e.app, id).join("compose");
    assert_eq!(
        files_under(&top),
        vec![
            "Temporary/source/tree/Packages/h/hello-2.0-1.module_f40+3+c0ffee42.src.rpm",
            "Temporary/x86_64/os/Packages/h/hello-2.0-1.module_f40+3+c0ffee42.noarch.rpm",
        ]
    );
    let os = top.join("Temporary/x86_64/os");
    let m = libmodulemd(&modules_yaml(&os));
    assert_eq!(m["ok"], true, "{m}");
    assert_eq!(
        m["streams"],
        json!({"hello:2:20240202000000:c0ffee42:x86_64": [
            "hello-0:2.0-1.module_f40+3+c0ffee42.noarch",
            "hello-0:2.0-1.module_f40+3+c0ffee42.src"]}),
        "{m}"
    );
    if let Some(pm) = productmd_modules(&top) {
        let entry = &pm["x86_64"]["hello:2:20240202000000:c0ffee42"];
        assert_eq!(entry["koji_tag"], "module-hello-2-20240202000000-c0ffee42");
        assert_eq!(
            entry["rpms"],
            json!([
                "hello-0:2.0-1.module_f40+3+c0ffee42.noarch",
                "hello-0:2.0-1.module_f40+3+c0ffee42.src"
            ])
        );
        assert!(
            top.join(entry["path"].as_str().unwrap()).exists(),
            "{entry}"
        );
    }
    let cfg = tree(&e.app, id).join("work/global/pungi-config");
    let pungi: Value =
        serde_json::from_str(&std::fs::read_to_string(cfg.join("pungi.json")).unwrap()).unwrap();
    assert_eq!(pungi["gather_source"], "module");
    assert_eq!(pungi["gather_method"], "nodeps");
    assert!(pungi.get("comps_file").is_none(), "{pungi}");
    assert_eq!(pungi["pkgset_koji_tag"], "");
    let variants = std::fs::read_to_string(cfg.join("variants.xml")).unwrap();
    assert!(
        variants.contains("<modules>\n      <module>hello:2:20240202000000:c0ffee42</module>"),
        "{variants}"
    );
    assert_eq!(std::fs::read_to_string(cfg.join("comps.xml")).unwrap(), "");

    let (ok, out, _) = dnf_in(&e.app, id, vec![vec!["module", "list"]]).await;
    assert!(ok && out.contains("hello") && out.contains(" 2 "), "{out}");
    let (ok, out, installed) = dnf_in(
        &e.app,
        id,
        vec![
            vec!["module", "enable", "hello:2"],
            vec!["install", "hello"],
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(
        installed.trim(),
        "hello-2.0-1.module_f40+3+c0ffee42",
        "{out}"
    );
    // Without the stream enabled, modular filtering hides the package (no default stream).
    let (ok, out, _) = dnf_in(&e.app, id, vec![vec!["install", "hello"]]).await;
    assert!(!ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbs_module_compose_by_stream_installs_with_dnf_sqlite() {
    mbs_compose_by_stream(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbs_module_compose_by_stream_installs_with_dnf_postgres() {
    mbs_compose_by_stream(Db::Postgres).await;
}

/// greet:1 needs hello:2: the dependency module is part of the compose unless `no_deps`;
/// every context of the newest version is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbs_dependency_modules_unless_no_deps() {
    let Some(mbs) = mbs_url() else { return };
    let e = mod_env(Db::Sqlite, Some(mbs)).await.unwrap();
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "greet:1"}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(
        c["source"],
        "greet:1:20240303000000:deadbee1 greet:1:20240303000000:deadbee2 \
         hello:2:20240202000000:c0ffee42"
    );
    let id = c["id"].as_i64().unwrap();
    let (ok, out, installed) = dnf_in(
        &e.app,
        id,
        vec![
            vec!["module", "enable", "greet:1"],
            vec!["install", "greet"],
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        installed.contains("hello-2.0-1.module_f40+3+c0ffee42")
            && installed.contains("greet-1.0-1.module_f40+"),
        "greet with the hello of the dependency stream: {installed}\n{out}"
    );

    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "greet:1"}, "flags": ["no_deps"]}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(
        c["source"],
        "greet:1:20240303000000:deadbee1 greet:1:20240303000000:deadbee2"
    );
}

/// ODCS's messages: the `-devel` fallback, conflicts, done builds only with
/// `include_done_modules` (or a full NSVC), base modules refused, unknown modules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbs_devel_conflicts_done_and_base_modules() {
    let Some(mbs) = mbs_url() else { return };
    let e = mod_env(Db::Sqlite, Some(mbs)).await.unwrap();

    // hello-devel:2 is made from hello:2's build: the RPMs hello does not list (none here).
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "hello-devel:2"}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["source"], "hello-devel:2:20240202000000:c0ffee42");
    let os = tree(&e.app, c["id"].as_i64().unwrap()).join("compose/Temporary/x86_64/os");
    let m = libmodulemd(&modules_yaml(&os));
    assert_eq!(m["ok"], true, "{m}");
    assert!(
        m["streams"]
            .as_object()
            .unwrap()
            .contains_key("hello-devel:2:20240202000000:c0ffee42:x86_64"),
        "{m}"
    );

    let c = compose(
        &e.app,
        json!({"source": {"type": "module",
            "source": "hello:2:20240101000000 hello:2:20240202000000"}}),
    )
    .await;
    assert_eq!(c["state_name"], "failed", "{c}");
    assert_eq!(
        reason(&c),
        "Error while generating compose: hello:2:20240202000000:c0ffee42 conflicts with \
         hello:2:20240101000000:c0ffee42",
        "{c}"
    );

    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "olddone:1"}}),
    )
    .await;
    assert_eq!(c["state_name"], "failed", "{c}");
    assert_eq!(
        reason(&c),
        "Error while generating compose: Failed to find module olddone:1 in ready state in the MBS."
    );
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "olddone:1"},
               "flags": ["include_done_modules"]}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["source"], "olddone:1:20240404000000:0badc0de");
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "olddone:1:20240404000000:0badc0de"}}),
    )
    .await;
    assert_eq!(
        c["state_name"], "done",
        "a full NSVC takes a done build: {c}"
    );

    // Base modules are refused at once, as ODCS does.
    let r = e
        .app
        .post(&json!({"source": {"type": "module", "source": "hello:2 platform:f40"}}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.json()["message"],
        "ODCS currently cannot create compose with base modules, but platform was requested."
    );

    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "nosuch:1"}}),
    )
    .await;
    assert_eq!(
        reason(&c),
        "Error while generating compose: Failed to find module nosuch:1 in ready state in the MBS."
    );
}

/// A module compose needs an MBS or modular tags: 400 naming `mbs.url` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_compose_without_mbs_is_refused_naming_the_setting() {
    let e = mod_env(Db::Sqlite, None).await.unwrap();
    let r = e
        .app
        .post(&json!({"source": {"type": "module", "source": "hello:2"}}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.json()["message"].as_str().unwrap().contains("mbs.url"),
        "{}",
        r.text
    );
}

/// Koji alone: module builds of `f40-modules` (newest version per stream, all contexts,
/// run-time dependencies), their modulemd from `extra.typeinfo.module`; dnf installs from it.
async fn koji_modular_tags(db: Db) {
    let Some(e) = mod_env(db, None).await else {
        return;
    };
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "greet:1",
                          "modular_koji_tags": ["f40-modules"]}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(
        c["source"],
        "greet:1:20240303000000:deadbee1 greet:1:20240303000000:deadbee2 \
         hello:2:20240202000000:c0ffee42"
    );
    let id = c["id"].as_i64().unwrap();
    let os = tree(&e.app, id).join("compose/Temporary/x86_64/os");
    let m = libmodulemd(&modules_yaml(&os));
    assert_eq!(m["ok"], true, "{m}");
    assert_eq!(
        m["streams"].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec![
            "greet:1:20240303000000:deadbee1:x86_64",
            "greet:1:20240303000000:deadbee2:x86_64",
            "hello:2:20240202000000:c0ffee42:x86_64"
        ]
    );
    let seen = calls(&e.hub);
    assert!(
        seen.iter().any(|m| m == "listTagged") && seen.iter().any(|m| m == "getBuild"),
        "{seen:?}"
    );
    let (ok, out, installed) = dnf_in(
        &e.app,
        id,
        vec![
            vec!["module", "enable", "greet:1"],
            vec!["install", "greet"],
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        installed.contains("hello-2.0-1.module_f40+3+c0ffee42"),
        "{installed}\n{out}"
    );

    // A full NSVC is found by Koji's search, outside the tag's newest version too.
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "hello:2:20240101000000:c0ffee42",
                          "modular_koji_tags": ["f40-modules"]}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["source"], "hello:2:20240101000000:c0ffee42");
    assert!(calls(&e.hub).iter().any(|m| m == "search"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn koji_modular_tags_compose_installs_with_dnf_sqlite() {
    koji_modular_tags(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn koji_modular_tags_compose_installs_with_dnf_postgres() {
    koji_modular_tags(Db::Postgres).await;
}

/// A tag compose with modular tags: the tag's packages and every module of the tags
/// (gather hybrid); dnf installs a plain package and a module stream's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_tag_and_modules_compose_installs_with_dnf() {
    let e = mod_env(Db::Sqlite, None).await.unwrap();
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"],
                          "modular_koji_tags": ["f40-modules"]}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["source"], "f40", "a tag compose keeps its tag as source");
    let id = c["id"].as_i64().unwrap();
    let os = tree(&e.app, id).join("compose/Temporary/x86_64/os");
    let m = libmodulemd(&modules_yaml(&os));
    assert_eq!(m["ok"], true, "{m}");
    let streams: Vec<&String> = m["streams"].as_object().unwrap().keys().collect();
    assert!(
        streams.contains(&&"hello:1:20240101000000:c0ffee41:x86_64".to_string())
            && streams.contains(&&"hello:2:20240202000000:c0ffee42:x86_64".to_string())
            && !streams.contains(&&"hello:2:20240101000000:c0ffee42:x86_64".to_string()),
        "{streams:?}"
    );
    let cfg = tree(&e.app, id).join("work/global/pungi-config");
    let pungi: Value =
        serde_json::from_str(&std::fs::read_to_string(cfg.join("pungi.json")).unwrap()).unwrap();
    assert_eq!(pungi["gather_method"], "hybrid");
    assert_eq!(pungi["pkgset_koji_module_tag"], json!(["f40-modules"]));
    let variants = std::fs::read_to_string(cfg.join("variants.xml")).unwrap();
    assert!(variants.contains("<module>*</module>"), "{variants}");

    let (ok, out, installed) = dnf_in(
        &e.app,
        id,
        vec![
            vec!["module", "enable", "hello:1"],
            vec!["install", "acme-tools", "hello"],
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        installed.contains("acme-tools-1.0-1.fc40")
            && installed.contains("hello-1.0-1.module_f40+1+c0ffee41"),
        "{installed}\n{out}"
    );
}

/// Publishes `body` on RabbitMQ's `amq.topic` with routing key `key` (as fedora-messaging).
async fn amqp_publish(key: &str, body: &[u8], message_id: &str) {
    let conn = lapin::Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2F",
        lapin::ConnectionProperties::default(),
    )
    .await
    .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(Default::default()).await.unwrap();
    ch.basic_publish(
        "amq.topic".into(),
        key.into(),
        Default::default(),
        body,
        lapin::BasicProperties::default().with_message_id(message_id.into()),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let _ = conn.close(200, "bye".into()).await;
}

fn rabbit_up() -> bool {
    let addr = "127.0.0.1:5672".parse().unwrap();
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("RabbitMQ is not reachable on 127.0.0.1:5672 in CI");
    }
    eprintln!("\n!!! SKIPPING module rule test: RabbitMQ is not reachable on 127.0.0.1:5672 !!!\n");
    false
}

/// A `[[triggers.rules]]` module rule: an `mbs.module.state.change` message (ready) over
/// AMQP makes a module compose of exactly the announced build, which reaches done through
/// the real MBS; another stream's message and a non-ready state make none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_rule_fed_a_state_change_makes_a_done_compose() {
    let Some(mbs) = mbs_url() else { return };
    if !rabbit_up() {
        return;
    }
    let topdir = tempfile::tempdir().unwrap();
    let hub = spawn_hub(module_data(topdir.path())).await;
    let unique = format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let env = format!("modtest{unique}");
    let queue = format!("composed-modules-{unique}");
    let key = format!("org.fedoraproject.{env}.mbs.module.state.change");
    let (url, td, q, k, e2) = (
        hub.url.clone(),
        topdir.path().to_path_buf(),
        queue.clone(),
        key.clone(),
        env.clone(),
    );
    let app = spawn_app_full(
        Db::Sqlite,
        move |s| {
            s.koji.hub_url = url;
            s.koji.topdir = td;
            s.koji.retries = 0;
            s.mbs.url = mbs;
            s.messaging.environment = e2;
            s.messaging.amqp_url = "amqp://guest:guest@127.0.0.1:5672/%2F".into();
            s.triggers.amqp_queue = q;
            s.triggers.amqp_routing_keys = vec![k];
            s.triggers.owner = "releng-bot".into();
            s.triggers.debounce_ms = 200;
            s.triggers.rules = vec![composed::config::TriggerRule {
                name: "hello-2".into(),
                module: "hello:2".into(),
                ..Default::default()
            }];
        },
        true,
    )
    .await
    .unwrap();
    // composed's consumer is on its queue before anything is published.
    let mut bound = false;
    for _ in 0..200 {
        let conn = lapin::Connection::connect(
            "amqp://guest:guest@127.0.0.1:5672/%2F",
            lapin::ConnectionProperties::default(),
        )
        .await
        .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let n = ch
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                lapin::types::FieldTable::default(),
            )
            .await
            .map(|q| q.consumer_count())
            .unwrap_or(0);
        let _ = conn.close(200, "bye".into()).await;
        if n >= 1 {
            bound = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(bound, "composed never consumed from {queue}");
    let msg = |stream: &str, version: &str, state: &str| {
        json!({"id": 4, "name": "hello", "stream": stream, "version": version,
               "context": "c0ffee42", "state": if state == "ready" { 5 } else { 2 },
               "state_name": state, "owner": "mbs", "koji_tag": "module-x"})
        .to_string()
    };
    amqp_publish(&key, msg("2", "20240101000000", "build").as_bytes(), "m-1").await;
    amqp_publish(&key, msg("1", "20240101000000", "ready").as_bytes(), "m-2").await;
    amqp_publish(&key, msg("2", "20240202000000", "ready").as_bytes(), "m-3").await;
    let mut made = Vec::new();
    for _ in 0..400 {
        let list = app.get("/api/1/composes/?owner=releng-bot").await.json();
        made = list["items"].as_array().cloned().unwrap_or_default();
        if made
            .iter()
            .any(|c| !matches!(c["state_name"].as_str(), Some("wait" | "generating")))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        made.len(),
        1,
        "one compose, of the ready hello:2 build: {made:?}"
    );
    let c = &made[0];
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["source_type"], 2, "{c}");
    assert_eq!(c["source"], "hello:2:20240202000000:c0ffee42", "{c}");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `module_defaults_url` + `module_defaults_commit`: the defaults of the compose's modules
/// from that git commit go into modules.yaml (libmodulemd reads the default stream), and dnf
/// installs the default stream's package without `module enable`; a commit that does not
/// exist fails the compose naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_defaults_from_git_give_the_default_stream() {
    let Some(mbs) = mbs_url() else { return };
    let e = mod_env(Db::Sqlite, Some(mbs)).await.unwrap();
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.path().join("hello.yaml"),
        "---\ndocument: modulemd-defaults\nversion: 1\ndata:\n  module: hello\n  stream: \"2\"\n  profiles:\n    \"2\": [default]\n...\n",
    )
    .unwrap();
    std::fs::write(
        repo.path().join("other.yaml"),
        "---\ndocument: modulemd-defaults\nversion: 1\ndata:\n  module: other\n  stream: \"9\"\n...\n",
    )
    .unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "defaults"]);
    let commit = git(repo.path(), &["rev-parse", "HEAD"]);
    let url = format!("file://{}", repo.path().display());
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "hello:1 hello:2",
                          "module_defaults_url": url, "module_defaults_commit": commit}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    let id = c["id"].as_i64().unwrap();
    let os = tree(&e.app, id).join("compose/Temporary/x86_64/os");
    let m = libmodulemd(&modules_yaml(&os));
    assert_eq!(m["ok"], true, "{m}");
    assert_eq!(
        m["defaults"],
        json!({"hello": "2"}),
        "only the compose's modules: {m}"
    );
    let pungi: Value = serde_json::from_str(
        &std::fs::read_to_string(tree(&e.app, id).join("work/global/pungi-config/pungi.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pungi["module_defaults_dir"],
        json!({"scm": "git", "repo": url, "branch": commit, "dir": "."})
    );
    let (ok, out, installed) = dnf_in(&e.app, id, vec![vec!["install", "hello"]]).await;
    assert!(ok, "{out}");
    assert_eq!(
        installed.trim(),
        "hello-2.0-1.module_f40+3+c0ffee42",
        "{out}"
    );

    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "hello:2",
                          "module_defaults_url": url, "module_defaults_commit": "nosuchbranch"}}),
    )
    .await;
    assert_eq!(c["state_name"], "failed", "{c}");
    assert!(
        reason(&c).starts_with(&format!(
            "Error while generating compose: Module defaults from {url} at nosuchbranch: git checkout nosuchbranch"
        )),
        "{c}"
    );
    // Never a git option.
    let c = compose(
        &e.app,
        json!({"source": {"type": "module", "source": "hello:2",
                          "module_defaults_url": "--upload-pack", "module_defaults_commit": "main"}}),
    )
    .await;
    assert_eq!(c["state_name"], "failed", "{c}");
    assert!(reason(&c).contains("must not start with \"-\""), "{c}");
}
