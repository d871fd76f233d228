//! Engine area: composed + the test Koji hub + real RPM files (rpm crate) in a Koji-layout
//! topdir. Composes go wait → generating → done, and Debian's real dnf installs from them
//! over HTTP; productmd (PyPI) loads the metadata.

mod images;
#[path = "../common/koji_hub.rs"]
mod koji_hub;
mod modules;
mod notify;
mod pungi_compose;
#[path = "../common/rpms.rs"]
#[allow(dead_code)]
mod rpms;
#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;
mod watch;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use koji_hub::{HubData, spawn_hub};
use rpms::{Rpm, r, write_rpm};
use serde_json::{Value, json};
use support::{Db, TestApp, spawn_app_full};

/// Imports a build into the hub and writes its RPMs under `topdir` in Koji's layout.
fn import(hub: &mut HubData, topdir: &Path, nvr: &str, rpms: &[Rpm]) {
    let (name, version, release) = koji_hub::split_nvr(nvr).unwrap();
    let pairs: Vec<(&str, &str)> = rpms.iter().map(|r| (r.name, r.arch)).collect();
    hub.import_build(nvr, None, &pairs);
    for r in rpms {
        write_rpm(
            &topdir.join(format!("packages/{name}/{version}/{release}/{}", r.arch)),
            r,
            &version,
            &release,
        );
    }
}

/// Copies a build's RPMs to `data/signed/<key>/` (a signed copy as the hub writes it).
fn sign(hub: &mut HubData, topdir: &Path, nvr: &str, key: &str) {
    hub.add_signature(nvr, key);
    let (name, version, release) = koji_hub::split_nvr(nvr).unwrap();
    let build = topdir.join(format!("packages/{name}/{version}/{release}"));
    for arch in std::fs::read_dir(&build).unwrap().flatten() {
        let a = arch.file_name().to_string_lossy().into_owned();
        if a == "data" {
            continue;
        }
        for f in std::fs::read_dir(arch.path()).unwrap().flatten() {
            let dest = build.join(format!("data/signed/{key}/{a}"));
            std::fs::create_dir_all(&dest).unwrap();
            std::fs::copy(f.path(), dest.join(f.file_name())).unwrap();
        }
    }
}

/// The Koji data of these tests, in `topdir`.
fn koji_data(topdir: &Path) -> HubData {
    let mut d = HubData::default();
    d.create_tag("f40-parent", "x86_64");
    d.create_tag("f40", "x86_64");
    d.add_inheritance("f40", "f40-parent", 0);
    import(
        &mut d,
        topdir,
        "acme-tools-1.0-1.fc40",
        &[
            r(
                "acme-tools",
                "x86_64",
                &[
                    "libacme >= 1.1",
                    "/usr/share/acme/data",
                    "(acme-alpha or acme-beta)",
                    "libacme.so.1()(64bit)",
                ],
                &[],
                &["/usr/bin/acme"],
            ),
            r(
                "acme-tools-debuginfo",
                "x86_64",
                &[],
                &[],
                &["/usr/lib/debug/acme.debug"],
            ),
            r("acme-tools", "src", &[], &[], &["/acme-tools.spec"]),
        ],
    );
    import(
        &mut d,
        topdir,
        "libacme-1.1-1.fc40",
        &[
            r(
                "libacme",
                "x86_64",
                &[],
                &["libacme.so.1()(64bit)"],
                &["/usr/lib64/libacme.so.1"],
            ),
            r(
                "libacme-devel",
                "x86_64",
                &["libacme = 1.1-1.fc40"],
                &[],
                &["/usr/include/acme.h"],
            ),
            r(
                "libacme-debuginfo",
                "x86_64",
                &[],
                &[],
                &["/usr/lib/debug/libacme.debug"],
            ),
            r("libacme", "src", &[], &[], &["/libacme.spec"]),
        ],
    );
    import(
        &mut d,
        topdir,
        "libacme-1.0-1.fc40",
        &[r(
            "libacme",
            "x86_64",
            &[],
            &["libacme.so.1()(64bit)"],
            &["/usr/lib64/libacme.so.1"],
        )],
    );
    import(
        &mut d,
        topdir,
        "acme-data-2.0-1.fc40",
        &[
            r("acme-data", "noarch", &[], &[], &["/usr/share/acme/data"]),
            r("acme-data", "src", &[], &[], &["/acme-data.spec"]),
        ],
    );
    import(
        &mut d,
        topdir,
        "acme-beta-1.0-1.fc40",
        &[r(
            "acme-beta",
            "noarch",
            &[],
            &[],
            &["/usr/share/acme/beta"],
        )],
    );
    import(
        &mut d,
        topdir,
        "acme-broken-1.0-1.fc40",
        &[r(
            "acme-broken",
            "noarch",
            &["acme-missing >= 2"],
            &[],
            &["/usr/share/acme/broken"],
        )],
    );
    import(
        &mut d,
        topdir,
        "acme-child-1.0-1.fc40",
        &[r(
            "acme-child",
            "noarch",
            &[],
            &[],
            &["/usr/share/acme/child"],
        )],
    );
    // Multilib: a library with its 32-bit build, a devel package, a tool without libraries.
    d.create_tag("f40-multi", "x86_64 i686");
    let rpms_multi = [
        r(
            "libmulti",
            "x86_64",
            &[],
            &["libmulti.so.1()(64bit)"],
            &["/usr/lib64/libmulti.so.1"],
        ),
        r(
            "libmulti",
            "i686",
            &[],
            &["libmulti.so.1"],
            &["/usr/lib/libmulti.so.1"],
        ),
        r(
            "libmulti-devel",
            "x86_64",
            &["libmulti = 1.0-1.fc40"],
            &[],
            &["/usr/include/multi.h"],
        ),
        r(
            "libmulti-devel",
            "i686",
            &["libmulti = 1.0-1.fc40"],
            &[],
            &["/usr/include/multi.h"],
        ),
        r(
            "multi-tool",
            "x86_64",
            &["libmulti.so.1()(64bit)"],
            &[],
            &["/usr/bin/multi-tool"],
        ),
        r(
            "multi-tool",
            "i686",
            &["libmulti.so.1"],
            &[],
            &["/usr/bin/multi-tool"],
        ),
    ];
    import(&mut d, topdir, "libmulti-1.0-1.fc40", &rpms_multi);
    d.add_package("f40-multi", "libmulti");
    d.tag_build("f40-multi", "libmulti-1.0-1.fc40");
    sign(&mut d, topdir, "libacme-1.1-1.fc40", "4212dc1d");
    for p in [
        "acme-tools",
        "libacme",
        "acme-data",
        "acme-beta",
        "acme-broken",
        "acme-child",
    ] {
        d.add_package("f40-parent", p);
    }
    for nvr in [
        "acme-tools-1.0-1.fc40",
        "libacme-1.0-1.fc40",
        "libacme-1.1-1.fc40",
        "acme-data-2.0-1.fc40",
        "acme-beta-1.0-1.fc40",
        "acme-broken-1.0-1.fc40",
    ] {
        d.tag_build("f40-parent", nvr);
    }
    d.tag_build("f40", "acme-child-1.0-1.fc40");
    d
}

struct Env {
    app: TestApp,
    topdir: tempfile::TempDir,
    hub: koji_hub::Hub,
}

async fn env() -> Env {
    env_with(|_| {}).await
}

/// The test Koji hub and composed on SQLite, with settings changed by `more`.
async fn env_with(more: impl FnOnce(&mut composed::config::Settings)) -> Env {
    let topdir = tempfile::tempdir().unwrap();
    let hub = spawn_hub(koji_data(topdir.path())).await;
    let (url, td) = (hub.url.clone(), topdir.path().to_path_buf());
    let app = spawn_app_full(
        Db::Sqlite,
        move |s| {
            s.koji.hub_url = url;
            s.koji.topdir = td;
            s.koji.retries = 0;
            more(s);
        },
        true,
    )
    .await
    .unwrap();
    Env { app, topdir, hub }
}

/// POSTs and waits until the compose is final; returns its JSON.
async fn compose(app: &TestApp, body: Value) -> Value {
    let r = app.post(&body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json()["id"].as_i64().unwrap();
    for _ in 0..400 {
        let j = app.get(&format!("/api/1/composes/{id}")).await.json();
        if !matches!(j["state_name"].as_str(), Some("wait" | "generating")) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("compose {id} did not finish");
}

fn dnf(args: &[&str]) -> (bool, String) {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("dnf")
        .arg(format!("--installroot={}", root.path().display()))
        .args([
            "--releasever=40",
            "--setopt=reposdir=/dev/null",
            "--setopt=skip_if_unavailable=False",
            "--nogpgcheck",
            "-y",
            "--noplugins",
        ])
        .args(args)
        .output()
        .expect("dnf (apt-get install dnf)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let installed = Command::new("rpm")
        .arg("--root")
        .arg(root.path())
        .arg("-qa")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    (
        out.status.success(),
        text + "\n--installed--\n" + &installed,
    )
}

async fn dnf_install(app: &TestApp, c: &Value, pkgs: &[&str]) -> (bool, String) {
    let id = c["id"].as_i64().unwrap();
    let url = format!(
        "{}/composes/odcs-{id}/compose/Temporary/x86_64/os/",
        app.base
    );
    let mut args = vec![
        format!("--repofrompath=c,{url}"),
        "--repo=c".to_string(),
        "install".to_string(),
    ];
    args.extend(pkgs.iter().map(|p| p.to_string()));
    tokio::task::spawn_blocking(move || dnf(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}

fn tree(app: &TestApp, id: i64) -> PathBuf {
    app.settings.composes.target_dir.join(format!("odcs-{id}"))
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if e.path().extension().is_some_and(|x| x == "rpm") {
                out.push(
                    e.path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_compose_installs_with_real_dnf() {
    let e = env().await;
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["state_reason"], "Compose is generated successfully");
    assert!(
        c["koji_event"].as_i64().is_some(),
        "event resolved and stored: {c}"
    );
    assert!(
        c["pungi_compose_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("odcs-{}-1-", c["id"]))
    );
    let id = c["id"].as_i64().unwrap();
    let top = tree(&e.app, id);
    let compose_dir = top.join("compose");
    assert_eq!(
        files_under(&compose_dir),
        vec![
            "Temporary/source/tree/Packages/a/acme-data-2.0-1.fc40.src.rpm",
            "Temporary/source/tree/Packages/a/acme-tools-1.0-1.fc40.src.rpm",
            "Temporary/source/tree/Packages/l/libacme-1.1-1.fc40.src.rpm",
            "Temporary/x86_64/debug/tree/Packages/a/acme-tools-debuginfo-1.0-1.fc40.x86_64.rpm",
            "Temporary/x86_64/debug/tree/Packages/l/libacme-debuginfo-1.1-1.fc40.x86_64.rpm",
            "Temporary/x86_64/os/Packages/a/acme-beta-1.0-1.fc40.noarch.rpm",
            "Temporary/x86_64/os/Packages/a/acme-data-2.0-1.fc40.noarch.rpm",
            "Temporary/x86_64/os/Packages/a/acme-tools-1.0-1.fc40.x86_64.rpm",
            "Temporary/x86_64/os/Packages/l/libacme-1.1-1.fc40.x86_64.rpm",
        ],
        "closure: versioned, file, rich and soname deps; best version; debuginfo and sources of gathered builds"
    );
    // Hardlinks share the topdir file's inode.
    let linked = std::fs::metadata(
        compose_dir.join("Temporary/x86_64/os/Packages/a/acme-tools-1.0-1.fc40.x86_64.rpm"),
    )
    .unwrap();
    let koji = std::fs::metadata(
        e.topdir
            .path()
            .join("packages/acme-tools/1.0/1.fc40/x86_64/acme-tools-1.0-1.fc40.x86_64.rpm"),
    )
    .unwrap();
    assert_eq!(linked.ino(), koji.ino());
    // The .repo file, exactly.
    let repo =
        std::fs::read_to_string(compose_dir.join(format!("Temporary/odcs-{id}.repo"))).unwrap();
    assert!(repo.starts_with(&format!("[odcs-{id}]\nname=ODCS repository for compose odcs-{id}\nbaseurl=http://localhost/odcs/odcs-{id}/compose/Temporary/$basearch/os\ntype=rpm-md\nskip_if_unavailable=False\ngpgcheck=0\nrepo_gpgcheck=0\nenabled=1\nenabled_metadata=1\n\n[odcs-{id}-debuginfo]\n")), "{repo}");
    // Pungi configuration that reproduces it.
    let pungi: Value = serde_json::from_str(
        &std::fs::read_to_string(top.join("work/global/pungi-config/pungi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            pungi["pkgset_koji_tag"].as_str(),
            pungi["gather_method"].as_str(),
            pungi["sigkeys"].clone()
        ),
        (Some("f40"), Some("deps"), json!([null]))
    );
    assert!(
        pungi.get("release_is_layered").is_none() && pungi.get("runroot").is_none(),
        "no options Pungi 4.3 rejects"
    );
    let comps = std::fs::read_to_string(top.join("work/global/pungi-config/comps.xml")).unwrap();
    assert!(comps.contains("<packagereq>acme-tools</packagereq>"));
    // Real dnf installs the requested package and its dependencies over HTTP.
    let (ok, out) = dnf_install(&e.app, &c, &["acme-tools"]).await;
    assert!(ok, "{out}");
    for p in [
        "acme-tools-1.0-1.fc40.x86_64",
        "libacme-1.1-1.fc40.x86_64",
        "acme-data-2.0-1.fc40.noarch",
        "acme-beta-1.0-1.fc40.noarch",
    ] {
        assert!(out.contains(p), "{p} installed: {out}");
    }
    // The compose is closed (dnf repoclosure over the os repo).
    let url = format!(
        "{}/composes/odcs-{id}/compose/Temporary/x86_64/os/",
        e.app.base
    );
    let closure = tokio::task::spawn_blocking(move || {
        let root = tempfile::tempdir().unwrap();
        Command::new("dnf")
            .arg(format!("--installroot={}", root.path().display()))
            .args(["-q", "--releasever=40", "--setopt=reposdir=/dev/null"])
            .arg(format!("--repofrompath=c,{url}"))
            .args(["repoclosure", "--repo=c"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        closure.status.success(),
        "repoclosure: {}{}",
        String::from_utf8_lossy(&closure.stdout),
        String::from_utf8_lossy(&closure.stderr)
    );

    // productmd loads the metadata; rpms.json lists exactly the RPMs in the repositories.
    if let Some(bin) = support::venv_bin() {
        let script = r#"
import json, sys
from productmd.composeinfo import ComposeInfo
from productmd.rpms import Rpms
ci = ComposeInfo(); ci.load(sys.argv[1] + "/metadata/composeinfo.json")
rp = Rpms(); rp.load(sys.argv[1] + "/metadata/rpms.json")
out = []
for variant, arches in rp.rpms.items():
    for arch, srpms in arches.items():
        for srpm, rpms in srpms.items():
            for nevra, info in rpms.items():
                out.append([info["path"], info["category"], info["sigkey"]])
print(json.dumps({"id": ci.compose.id, "variants": list(ci.variants.variants), "rpms": sorted(out)}))
"#;
        let out = Command::new(bin.join("python"))
            .arg("-c")
            .arg(script)
            .arg(&compose_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "productmd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["id"], c["pungi_compose_id"]);
        assert_eq!(v["variants"], json!(["Temporary"]));
        let mut paths: Vec<String> = v["rpms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_str().unwrap().to_string())
            .collect();
        paths.sort();
        paths.dedup();
        assert_eq!(
            paths,
            files_under(&compose_dir),
            "rpms.json lists exactly the RPMs in the repositories"
        );
        let cats: std::collections::BTreeSet<String> = v["rpms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[1].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            cats,
            ["binary", "debug", "source"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_sigkeys_builds_and_failures() {
    let e = env().await;
    // no_deps: only the requested package; dnf then fails on the missing dependency.
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]}, "flags": ["no_deps"]})).await;
    assert_eq!(c["state_name"], "done", "{c}");
    let (ok, out) = dnf_install(&e.app, &c, &["acme-tools"]).await;
    assert!(!ok && out.contains("nothing provides"), "{out}");
    // check_deps fails the compose naming every unresolved dependency.
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-broken"]}, "flags": ["check_deps"]})).await;
    assert_eq!(c["state_name"], "failed");
    assert!(
        c["state_reason"]
            .as_str()
            .unwrap()
            .contains("acme-missing >= 2 needed by acme-broken-0:1.0-1.fc40.noarch"),
        "{c}"
    );
    assert!(
        !tree(&e.app, c["id"].as_i64().unwrap()).exists(),
        "a failed compose leaves no directory"
    );
    // Without check_deps the unresolvable dependency is left out, as Pungi does.
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-broken"]}}),
    )
    .await;
    assert_eq!(c["state_name"], "done");
    // A requested package absent from the tag fails with its name.
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools", "acme-nope"]}})).await;
    assert_eq!(c["state_name"], "failed");
    assert!(
        c["state_reason"]
            .as_str()
            .unwrap()
            .contains("not present in the generated compose: acme-nope."),
        "{c}"
    );
    // no_inheritance: only the tag's own builds.
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40"}, "flags": ["no_inheritance"]}),
    )
    .await;
    assert_eq!(c["state_name"], "done");
    assert_eq!(
        files_under(&tree(&e.app, c["id"].as_i64().unwrap()).join("compose/Temporary/x86_64/os")),
        vec!["Packages/a/acme-child-1.0-1.fc40.noarch.rpm"]
    );
    // The whole tag when no packages are given (with inheritance): latest libacme only, -devel included.
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f40"}})).await;
    let all =
        files_under(&tree(&e.app, c["id"].as_i64().unwrap()).join("compose/Temporary/x86_64/os"));
    assert!(
        all.contains(&"Packages/l/libacme-devel-1.1-1.fc40.x86_64.rpm".to_string())
            && !all.iter().any(|p| p.contains("libacme-1.0-1")),
        "{all:?}"
    );
    // Sigkeys: a missing signature fails clearly...
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"], "sigkeys": ["4212dc1d"]}})).await;
    assert_eq!(c["state_name"], "failed");
    let reason = c["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("acme-tools-1.0-1.fc40.x86_64 (sigkeys: 4212dc1d)"),
        "{reason}"
    );
    // ...and with the unsigned fallback the signed copies are linked where they exist.
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f40", "packages": ["libacme"], "sigkeys": ["4212dc1d", ""]}})).await;
    assert_eq!(c["state_name"], "done", "{c}");
    let id = c["id"].as_i64().unwrap();
    let linked = std::fs::metadata(
        tree(&e.app, id)
            .join("compose/Temporary/x86_64/os/Packages/l/libacme-1.1-1.fc40.x86_64.rpm"),
    )
    .unwrap();
    let signed = std::fs::metadata(e.topdir.path().join(
        "packages/libacme/1.1/1.fc40/data/signed/4212dc1d/x86_64/libacme-1.1-1.fc40.x86_64.rpm",
    ))
    .unwrap();
    assert_eq!(linked.ino(), signed.ino(), "the signed copy is linked");
    let rpms =
        std::fs::read_to_string(tree(&e.app, id).join("compose/metadata/rpms.json")).unwrap();
    assert!(rpms.contains("\"sigkey\": \"4212dc1d\""), "{rpms}");
    // A build compose: exactly the given builds, plus closure.
    let c = compose(
        &e.app,
        json!({"source": {"type": "build", "builds": ["acme-data-2.0-1.fc40"]}}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    let (ok, out) = dnf_install(&e.app, &c, &["acme-data"]).await;
    assert!(ok, "{out}");
    // An unknown tag fails with its name.
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f99"}})).await;
    assert_eq!(c["state_name"], "failed");
    assert_eq!(
        c["state_reason"].as_str().unwrap(),
        format!(
            "Error while generating compose: Unknown Koji tag f99.\nLog: {}/pungi-stderr.log",
            c["toplevel_url"].as_str().unwrap()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_compose_from_a_local_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_rpm(
        dir.path(),
        &r("hello", "noarch", &["hello-lib"], &[], &["/usr/bin/hello"]),
        "1.0",
        "1",
    );
    write_rpm(
        dir.path(),
        &r("hello-lib", "noarch", &[], &[], &["/usr/share/hello/lib"]),
        "1.0",
        "1",
    );
    write_rpm(
        dir.path(),
        &r("unrelated", "noarch", &[], &[], &["/usr/share/unrelated"]),
        "1.0",
        "1",
    );
    // Directory symlink loops and a link out of the root (issue 18, defect 1): the walk must
    // neither spin nor take anything outside the directory.
    std::os::unix::fs::symlink(".", dir.path().join("loop-a")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("sub/loop-b")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    write_rpm(
        outside.path(),
        &r("outsider", "noarch", &[], &[], &["/usr/share/outsider"]),
        "1.0",
        "1",
    );
    std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
    let app = spawn_app_full(Db::Sqlite, |_| {}, true).await.unwrap();
    let c = compose(&app, json!({"source": {"type": "repo", "source": dir.path().to_string_lossy(), "packages": ["hello"]}})).await;
    let all = compose(&app, json!({"source": {"type": "repo", "source": dir.path().to_string_lossy()}, "flags": ["no_reuse"]})).await;
    assert_eq!(all["state_name"], "done", "{all}");
    let all_files = files_under(&tree(&app, all["id"].as_i64().unwrap()));
    assert!(
        all_files.iter().any(|p| p.contains("unrelated")),
        "{all_files:?}"
    );
    assert!(
        !all_files.iter().any(|p| p.contains("outsider")),
        "{all_files:?}"
    );
    assert_eq!(c["state_name"], "done", "{c}");
    let (ok, out) = dnf_install(&app, &c, &["hello"]).await;
    assert!(ok && out.contains("hello-lib-1.0-1.noarch"), "{out}");
    assert!(
        !files_under(&tree(&app, c["id"].as_i64().unwrap()))
            .iter()
            .any(|p| p.contains("unrelated"))
    );
    // repomd.xml's open-checksum and open-size (recorded while writing) match the content.
    let repodata =
        tree(&app, c["id"].as_i64().unwrap()).join("compose/Temporary/x86_64/os/repodata");
    let repomd = std::fs::read_to_string(repodata.join("repomd.xml")).unwrap();
    let mut checked = 0;
    for data in repomd.split("<data ").skip(1) {
        let field = |open: &str, close: &str| {
            let start = data.find(open).unwrap() + open.len();
            data[start..start + data[start..].find(close).unwrap()].to_string()
        };
        let href = field("<location href=\"repodata/", "\"");
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(repodata.join(&href))
            .output()
            .unwrap();
        assert!(out.status.success());
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(&out.stdout));
        assert_eq!(
            field("<open-checksum type=\"sha256\">", "<"),
            digest,
            "{href}"
        );
        assert_eq!(
            field("<open-size>", "<"),
            out.stdout.len().to_string(),
            "{href}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3, "{repomd}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_generation_is_taken_over() {
    let topdir = tempfile::tempdir().unwrap();
    let hub = spawn_hub(koji_data(topdir.path())).await;
    let (url, td) = (hub.url.clone(), topdir.path().to_path_buf());
    // No worker yet: the first "worker" is simulated and dies midway.
    let app = spawn_app_full(
        Db::Sqlite,
        move |s| {
            s.koji.hub_url = url;
            s.koji.topdir = td;
        },
        false,
    )
    .await
    .unwrap();
    let id = app
        .create(&json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]}}))
        .await["id"]
        .as_i64()
        .unwrap();
    let pool = app.pool.clone();
    let job = tokio::task::spawn_blocking(move || {
        composed::queue::claim(&pool, "dead-worker", -1, &[], composed::db::now())
            .unwrap()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!((job.compose_id, job.attempts), (Some(id), 1));
    app.set_state(
        id,
        composed::domain::State::Generating,
        Some("Compose thread started"),
    )
    .await;
    let base = app.settings.composes.target_dir.clone();
    let partial = base.join(format!(
        ".odcs-{id}.tmp-999999/compose/Temporary/x86_64/os/Packages/a"
    ));
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("half-written.rpm"), b"partial").unwrap();
    assert!(
        !base.join(format!("odcs-{id}")).exists(),
        "a killed generation leaves no odcs-N"
    );
    // A live worker takes the expired lease over and finishes the compose.
    let (pool, settings) = (app.pool.clone(), std::sync::Arc::new(app.settings.clone()));
    let worker = tokio::spawn(composed::worker::run_forever(pool, settings));
    let mut state = String::new();
    for _ in 0..200 {
        state = app.get(&format!("/api/1/composes/{id}")).await.json()["state_name"]
            .as_str()
            .unwrap()
            .to_string();
        if state != "generating" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();
    assert_eq!(state, "done");
    assert!(
        base.join(format!(
            "odcs-{id}/compose/Temporary/x86_64/os/repodata/repomd.xml"
        ))
        .exists()
    );
    assert!(
        !partial.exists(),
        "leftover temporary directories are cleaned"
    );
    let attempts: i32 = app
        .with_db(move |c| {
            use composed::db::schema::jobs;
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
            jobs::table
                .filter(jobs::compose_id.eq(id))
                .select(jobs::attempts)
                .first(c)
                .unwrap()
        })
        .await;
    assert_eq!(attempts, 2, "generated by the second claim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_composes_are_reused_until_the_tag_changes() {
    let e = env().await;
    let req = json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-data"]}});
    let a = compose(&e.app, req.clone()).await;
    assert_eq!(a["state_name"], "done");
    let a_id = a["id"].as_i64().unwrap();
    let a_expiry = e.app.compose(a_id).await.time_to_expire;
    // Identical request: reused, URLs point at the reused compose, no new directory.
    let b = compose(&e.app, req.clone()).await;
    let b_id = b["id"].as_i64().unwrap();
    assert_eq!(
        (b["state_name"].as_str(), b["state_reason"].as_str()),
        (Some("done"), Some("Compose is generated successfully"))
    );
    assert_eq!(
        b["toplevel_url"],
        format!("http://localhost/odcs/odcs-{a_id}")
    );
    assert_eq!(b["pungi_compose_id"], a["pungi_compose_id"]);
    assert_eq!(e.app.compose(b_id).await.reused_id, Some(a_id));
    assert!(!tree(&e.app, b_id).exists());
    assert!(
        e.app.compose(a_id).await.time_to_expire > a_expiry,
        "the reused compose lives as long as the one reusing it"
    );
    // Sets, not order: the same packages in another order are the same request.
    let two = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-data", "acme-beta"]}}),
    )
    .await;
    let two_again = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-beta", "acme-data"]}}),
    )
    .await;
    assert_eq!(
        e.app
            .compose(two_again["id"].as_i64().unwrap())
            .await
            .reused_id,
        two["id"].as_i64()
    );
    // no_reuse and different fields generate anew.
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-data"]}, "flags": ["no_reuse"]})).await;
    assert_eq!(
        e.app.compose(c["id"].as_i64().unwrap()).await.reused_id,
        None
    );
    let d = compose(&e.app, json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-data"]}, "arches": ["x86_64", "aarch64"]})).await;
    assert_eq!(
        e.app.compose(d["id"].as_i64().unwrap()).await.reused_id,
        None
    );
    // A change in a parent tag (inheritance chain) ends reuse.
    e.hub
        .data
        .lock()
        .unwrap()
        .untag_build("f40-parent", "acme-beta-1.0-1.fc40");
    let f = compose(&e.app, req.clone()).await;
    assert_eq!(f["state_name"], "done");
    assert_eq!(
        e.app.compose(f["id"].as_i64().unwrap()).await.reused_id,
        None,
        "the tag changed since the candidate's event"
    );
    assert!(tree(&e.app, f["id"].as_i64().unwrap()).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_published_as_fedmsg() {
    let Some(bin) = support::venv_bin() else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    write_rpm(
        dir.path(),
        &r("hello", "noarch", &[], &[], &["/usr/bin/hello"]),
        "1.0",
        "1",
    );
    let ep = endpoint.clone();
    let app = spawn_app_full(
        Db::Sqlite,
        move |s| {
            s.messaging.fedmsg_publish_endpoint = ep;
            s.messaging.environment = "test".into();
            s.messaging.relay_interval_ms = 20;
        },
        true,
    )
    .await
    .unwrap();
    // A pyzmq SUB (libzmq) subscribed to the topic prefix, as fedmsg.tail_messages does.
    let script = r#"
import json, sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.connect(sys.argv[1])
s.setsockopt(zmq.SUBSCRIBE, b"org.fedoraproject.test.odcs.")
s.setsockopt(zmq.RCVTIMEO, 15000)
print("ready", flush=True)
out = []
while len(out) < 3:
    frames = s.recv_multipart()
    env = json.loads(frames[1])
    out.append({"frames": len(frames), "topic": frames[0].decode(), "envelope": env})
print(json.dumps(out), flush=True)
"#;
    let mut child = std::process::Command::new(bin.join("python"))
        .arg("-c")
        .arg(script)
        .arg(&endpoint)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    tokio::time::sleep(Duration::from_millis(500)).await; // the subscription reaches the PUB
    let c = compose(&app, json!({"source": {"type": "repo", "source": dir.path().to_string_lossy(), "packages": ["hello"]}})).await;
    assert_eq!(c["state_name"], "done");
    let out = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        child.wait().unwrap();
        rest
    })
    .await
    .unwrap();
    let msgs: Vec<Value> =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let states: Vec<&str> = msgs
        .iter()
        .map(|m| {
            m["envelope"]["msg"]["compose"]["state_name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(states, vec!["wait", "generating", "done"], "in order");
    for m in &msgs {
        assert_eq!(m["frames"], 2);
        assert_eq!(
            m["topic"],
            "org.fedoraproject.test.odcs.compose.state-changed"
        );
        assert_eq!(m["envelope"]["topic"], m["topic"]);
        assert_eq!(m["envelope"]["msg"]["event"], "state-changed");
        assert_eq!(m["envelope"]["msg"]["compose"]["id"], c["id"]);
        assert!(m["envelope"]["msg_id"].as_str().unwrap().len() > 30);
        assert!(m["envelope"]["timestamp"].is_i64());
    }
    assert_eq!(
        msgs[2]["envelope"]["msg"]["compose"]["result_repo"],
        c["result_repo"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_after_removal_reproduces_the_same_rpms() {
    let e = env().await;
    let a = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]}}),
    )
    .await;
    assert_eq!(a["state_name"], "done");
    let a_id = a["id"].as_i64().unwrap();
    let rpms = |id: i64| -> Value {
        let text =
            std::fs::read_to_string(tree(&e.app, id).join("compose/metadata/rpms.json")).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["payload"]["rpms"].clone()
    };
    let before = rpms(a_id);
    // The tag moves on: a newer libacme is tagged after the compose's event.
    {
        let mut d = e.hub.data.lock().unwrap();
        d.import_build("libacme-1.2-1.fc40", None, &[("libacme", "x86_64")]);
        d.tag_build("f40-parent", "libacme-1.2-1.fc40");
    }
    write_rpm(
        &e.topdir.path().join("packages/libacme/1.2/1.fc40/x86_64"),
        &r(
            "libacme",
            "x86_64",
            &[],
            &["libacme.so.1()(64bit)"],
            &["/usr/lib64/libacme.so.1"],
        ),
        "1.2",
        "1.fc40",
    );
    // The compose expires and is removed (directory gone).
    e.app
        .set_state(
            a_id,
            composed::domain::State::Removed,
            Some("Compose is expired."),
        )
        .await;
    std::fs::remove_dir_all(tree(&e.app, a_id)).unwrap();
    // Renew: a new compose at the same Koji event, with the same RPMs.
    let r = e.app.patch(a_id, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b_id = r.json()["id"].as_i64().unwrap();
    assert_ne!(b_id, a_id);
    for _ in 0..400 {
        if e.app.compose(b_id).await.state == composed::domain::State::Done.code() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let b = e.app.compose(b_id).await;
    assert_eq!(
        (b.state, b.koji_event),
        (
            composed::domain::State::Done.code(),
            a["koji_event"].as_i64()
        )
    );
    assert_eq!(
        rpms(b_id),
        before,
        "identical rpms.json (libacme 1.1, not the newer 1.2)"
    );
    // A fresh request of the same content sees the new build.
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]}}),
    )
    .await;
    assert!(
        rpms(c["id"].as_i64().unwrap())
            .to_string()
            .contains("libacme-0:1.2-1.fc40.x86_64")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multilib_methods_add_the_32_bit_packages() {
    let e = env().await;
    let body = |method: &str| {
        json!({"source": {"type": "tag", "source": "f40-multi",
                          "packages": ["multi-tool", "libmulti-devel"]},
               "arches": ["x86_64"], "multilib_arches": ["i686"], "multilib_method": [method],
               "flags": ["no_reuse"]})
    };
    let os = |c: &Value| -> Vec<String> {
        files_under(
            &tree(&e.app, c["id"].as_i64().unwrap()).join("compose/Temporary/x86_64/os/Packages"),
        )
    };
    // runtime: the 32-bit build of packages that ship shared libraries.
    let c = compose(&e.app, body("runtime")).await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(
        os(&c),
        [
            "l/libmulti-1.0-1.fc40.i686.rpm",
            "l/libmulti-1.0-1.fc40.x86_64.rpm",
            "l/libmulti-devel-1.0-1.fc40.x86_64.rpm",
            "m/multi-tool-1.0-1.fc40.x86_64.rpm",
        ]
    );
    let (ok, out) = dnf_install(&e.app, &c, &["libmulti.i686", "libmulti.x86_64"]).await;
    assert!(ok && out.contains("libmulti-1.0-1.fc40.i686"), "{out}");
    // rpms.json lists the 32-bit package in the x86_64 tree, as a binary.
    let rpms: Value = serde_json::from_slice(
        &std::fs::read(tree(&e.app, c["id"].as_i64().unwrap()).join("compose/metadata/rpms.json"))
            .unwrap(),
    )
    .unwrap();
    let x86 = &rpms["payload"]["rpms"]["Temporary"]["x86_64"];
    let entry = x86
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_object().unwrap().iter())
        .find(|(k, _)| k.ends_with(".i686"))
        .expect("an i686 rpm in the x86_64 tree");
    assert_eq!(entry.0, "libmulti-0:1.0-1.fc40.i686");
    assert_eq!(entry.1["category"], "binary");
    assert_eq!(
        entry.1["path"],
        "Temporary/x86_64/os/Packages/l/libmulti-1.0-1.fc40.i686.rpm"
    );
    // devel: the 32-bit devel package and, by closure, its library.
    let c = compose(&e.app, body("devel")).await;
    assert_eq!(
        os(&c),
        [
            "l/libmulti-1.0-1.fc40.i686.rpm",
            "l/libmulti-1.0-1.fc40.x86_64.rpm",
            "l/libmulti-devel-1.0-1.fc40.i686.rpm",
            "l/libmulti-devel-1.0-1.fc40.x86_64.rpm",
            "m/multi-tool-1.0-1.fc40.x86_64.rpm",
        ]
    );
    // all: every package gathered for x86_64 also for i686.
    let c = compose(&e.app, body("all")).await;
    assert_eq!(os(&c).len(), 6, "{:?}", os(&c));
    // none: nothing 32-bit.
    let c = compose(&e.app, body("none")).await;
    assert!(os(&c).iter().all(|p| !p.contains(".i686.")), "{:?}", os(&c));
}

/// The repodata of rendered fragments (each package's XML made once and copied into every
/// repository) is byte for byte what the metadata writers serialize package by package.
#[test]
fn rendered_repodata_is_byte_identical_to_serialized() {
    use rpmrepo_metadata::{RepositoryOptions, RepositoryWriter};
    let dir = tempfile::tempdir().unwrap();
    let rpms = dir.path().join("rpms");
    let paths = [
        write_rpm(
            &rpms,
            &r(
                "amp",
                "x86_64",
                &["libx >= 1.0", "/usr/bin/sh"],
                &["virt = 2"],
                &[
                    "/usr/bin/amp",
                    "/etc/amp.conf",
                    "/usr/share/doc/amp/a&b <c>",
                ],
            ),
            "1.0",
            "1",
        ),
        write_rpm(
            &rpms,
            &r(
                "libx",
                "x86_64",
                &[],
                &["libx.so.1()(64bit)"],
                &["/usr/lib64/libx.so.1"],
            ),
            "1.2",
            "3.fc40",
        ),
        write_rpm(&rpms, &r("empty", "noarch", &[], &[], &[]), "0", "0"),
    ];
    let headers: Vec<_> = paths
        .iter()
        .map(|p| composed::engine::headers::read(p).unwrap())
        .collect();
    let write = |name: &str, rendered: bool| {
        let out = dir.path().join(name);
        let opts = RepositoryOptions::default();
        let mut w = RepositoryWriter::new_with_options(&out, headers.len(), opts).unwrap();
        if rendered {
            let xml: Vec<_> = headers.iter().map(|h| h.xml().unwrap()).collect();
            w.add_rendered(&xml).unwrap();
        } else {
            let pkgs: Vec<_> = headers.iter().map(|h| h.package()).collect();
            w.add_packages(&pkgs).unwrap();
        }
        w.finish().unwrap();
        ["primary", "filelists", "other"].map(|m| {
            let mut text = String::new();
            let f = std::fs::read_dir(out.join("repodata"))
                .unwrap()
                .flatten()
                .find(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .contains(&format!("{m}.xml"))
                })
                .unwrap()
                .path();
            std::io::Read::read_to_string(
                &mut rpmrepo_metadata::utils::reader_from_file(&f).unwrap(),
                &mut text,
            )
            .unwrap();
            text
        })
    };
    let serialized = write("serialized", false);
    let rendered = write("rendered", true);
    assert!(
        serialized[0].contains("<name>amp</name>") && serialized[1].contains("a&amp;b &lt;c&gt;")
    );
    assert_eq!(serialized, rendered);
    // Rendered once: a second call hands out the same bytes.
    assert!(std::ptr::eq(
        headers[0].xml().unwrap(),
        headers[0].xml().unwrap()
    ));
}

/// The README's quick start, run as written (issue 19): its commands in order, with the
/// built binary for `cargo run --`, the waits the README states in words ("once it listens",
/// "done within a second") as loops, and the README's scratch paths emptied first. It ends
/// with dnf having installed the package from the compose.
#[test]
fn readme_quick_start_ends_with_dnf_installing_from_the_compose() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("Try it with a package made on the spot")
        .expect("the README's quick start");
    let block = readme[start..]
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the quick start's commands");
    let mut script = String::from(
        "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n\
         rm -rf /tmp/composed-rpms /tmp/composed-root\n",
    );
    let mut anchors = 0;
    for line in block.lines() {
        if line.trim() == "# once it listens:" {
            script.push_str(
                "for _ in $(seq 1 300); do curl -sf http://127.0.0.1:5005/api/1/about/ >/dev/null && break; sleep 0.2; done\n",
            );
            anchors += 1;
        } else if line.starts_with("dnf ") {
            script.push_str(
                "for _ in $(seq 1 300); do curl -s http://127.0.0.1:5005/api/1/composes/1 | grep -Eq '\"state_name\": ?\"(done|failed)\"' && break; sleep 0.2; done\n",
            );
            script.push_str(line);
            script.push('\n');
            anchors += 1;
        } else if line.contains("cargo run -- serve") {
            script.push_str(&line.replace("cargo run --", "\"$COMPOSED_BIN\""));
            script.push('\n');
            anchors += 1;
        } else {
            script.push_str(line);
            script.push('\n');
        }
    }
    assert_eq!(anchors, 3, "the quick start changed shape:\n{block}");
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .args(["300", "bash", "-c", &script])
        .current_dir(work.path())
        .env("COMPOSED_BIN", env!("CARGO_BIN_EXE_composed"))
        .env_remove("COMPOSED_CONFIG")
        .output()
        .expect("bash");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}\n---\n{text}");
    let q = Command::new("rpm")
        .args(["--root", "/tmp/composed-root", "-q", "hello-composed"])
        .output()
        .unwrap();
    assert!(
        q.status.success(),
        "hello-composed is not installed:\n{text}"
    );
    assert!(
        work.path()
            .join("composes/odcs-1/compose/Temporary")
            .is_dir()
    );
}
