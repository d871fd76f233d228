//! Watching a compose (issue 16): its log while it generates, through the real `odcs` CLI's
//! `--watch`; the log a failed compose keeps; the diff of two composes of one tag at two
//! Koji events.

use std::time::Instant;

use tokio::io::AsyncBufReadExt;

use super::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The RPM files of `koji_hub::bench_tag(n)` in Koji's layout, made once per target directory
/// (read only afterwards).
fn bench_topdir(n: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("koji-bench-{n}"));
    if dir.join("done").exists() {
        return dir;
    }
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("koji-bench-{n}.tmp-{}", std::process::id()));
    for i in 0..n {
        let (name, arch) = koji_hub::bench_rpm(i);
        let file = format!("/usr/share/bench/{i:05}");
        write_rpm(
            &tmp.join(format!("packages/{name}/1.0/1/{arch}")),
            &r(&name, arch, &[], &[], &[file.as_str()]),
            "1.0",
            "1",
        );
    }
    std::fs::write(tmp.join("done"), "").unwrap();
    // Another test binary may have made it meanwhile: the first rename wins.
    if std::fs::rename(&tmp, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    dir
}

/// `odcs --watch create-tag` (the real CLI, its 10 s polling interval shortened by
/// `tests/clients/odcs_watch.py`) prints the compose's log while the compose generates: a
/// whole tag of 3,000 RPMs, slow by its size in the tests' debug build. Each log line the CLI
/// prints is checked against the compose's state at that moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odcs_watch_prints_the_log_while_the_compose_generates() {
    let Some(bin) = support::venv_bin() else {
        return;
    };
    let n = 3000;
    let topdir = bench_topdir(n);
    let hub = spawn_hub(koji_hub::bench_tag(n)).await;
    let port = free_port();
    let (url, td) = (hub.url.clone(), topdir.clone());
    let app = spawn_app_full(
        Db::Sqlite,
        move |s| {
            s.server.bind = format!("127.0.0.1:{port}");
            s.composes.target_dir_url = format!("http://localhost:{port}/composes");
            s.koji.hub_url = url;
            s.koji.topdir = td;
        },
        true,
    )
    .await
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/odcs_watch.py");
    let mut child = tokio::process::Command::new(bin.join("python"))
        .arg(script)
        .args(["--server", &format!("http://localhost:{port}/")])
        .args(["--watch", "create-tag", "bench", "--flag", "no_deps"])
        .env("PYTHONUNBUFFERED", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut printed = Vec::new();
    // (line, the compose's state just after the CLI printed it)
    let mut seen: Vec<(String, String)> = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(300), lines.next_line())
        .await
        .expect("the CLI went quiet")
        .unwrap()
    {
        if line.contains("[pkgset] resolved") || line.contains("[repodata] start") {
            let state = app.get("/api/1/composes/1").await.json()["state_name"]
                .as_str()
                .unwrap()
                .to_string();
            seen.push((line.clone(), state));
        }
        printed.push(line);
    }
    let out = child.wait_with_output().await.unwrap();
    let all = printed.join("\n");
    assert!(
        out.status.success(),
        "{all}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json_start = all.find("{\n").expect("the compose JSON at the end");
    let final_json: Value = serde_json::from_str(&all[json_start..]).unwrap();
    assert_eq!(final_json["state_name"], "done", "{all}");
    let resolved: Vec<_> = seen
        .iter()
        .filter(|(l, _)| l.contains("[pkgset] resolved"))
        .collect();
    let repodata: Vec<_> = seen
        .iter()
        .filter(|(l, _)| l.contains("[repodata] start"))
        .collect();
    assert_eq!((resolved.len(), repodata.len()), (1, 1), "{all}");
    assert!(
        resolved[0].0.contains("Koji tag bench at Koji event")
            && resolved[0].0.contains("3000 RPM files"),
        "{all}"
    );
    for (line, state) in &seen {
        assert_eq!(
            state, "generating",
            "printed after the compose finished: {line}\n{all}"
        );
    }
    // The whole log came through, once, in order, and ends with the state.
    let log_lines: Vec<&String> = printed
        .iter()
        .filter(|l| composed::compose_log::parse(l).is_some_and(|p| p.time.ends_with('Z')))
        .collect();
    let served = app
        .client
        .get(format!("{}/composes/odcs-1/pungi-stderr.log", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let served_lines: Vec<&str> = served.lines().collect();
    assert!(
        served_lines.len() >= log_lines.len() && log_lines.len() >= 10,
        "{all}\n--- served ---\n{served}"
    );
    for (a, b) in log_lines.iter().zip(served_lines.iter()) {
        assert_eq!(a.as_str(), *b, "{all}");
    }
    eprintln!(
        "odcs --watch: {} log lines in {:.1} s",
        log_lines.len(),
        started.elapsed().as_secs_f64()
    );
}

/// A failed compose keeps its log, served at `<toplevel_url>/pungi-stderr.log` until it is
/// removed; its `state_reason` points at it. Range requests answer 206, and 416 past the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_compose_keeps_its_log_and_points_at_it() {
    let e = env().await;
    let c = compose(&e.app, json!({"source": {"type": "tag", "source": "f99"}})).await;
    let id = c["id"].as_i64().unwrap();
    let log_url = format!("{}/pungi-stderr.log", c["toplevel_url"].as_str().unwrap());
    assert_eq!(
        c["state_reason"].as_str().unwrap(),
        format!("Error while generating compose: Unknown Koji tag f99.\nLog: {log_url}")
    );
    assert!(!tree(&e.app, id).exists());
    let path = format!("/composes/odcs-{id}/pungi-stderr.log");
    let r = e.app.get(&path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("INFO [pkgset] start"), "{}", r.text);
    assert!(
        r.text
            .contains("ERROR [state] failed: Unknown Koji tag f99."),
        "{}",
        r.text
    );
    let len = r.text.len();
    let part = e
        .app
        .get_with_headers(&path, &[("Range", "bytes=10-")])
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.text, r.text[10..]);
    let past = e
        .app
        .get_with_headers(&path, &[("Range", &format!("bytes={len}-"))])
        .await;
    assert_eq!(past.status, 416, "nothing new: the odcs client waits");
    // Removal takes the log with it.
    let del = e.app.delete(id).await;
    assert_eq!(del.status, 202, "{}", del.text);
    composed::cleanup::run_once(
        &e.app.pool,
        &e.app.settings,
        chrono::Utc::now().naive_utc() + chrono::Duration::seconds(1),
    )
    .unwrap();
    assert_eq!(e.app.compose(id).await.state, 3, "removed");
    assert_eq!(e.app.get(&path).await.status, 404);
}

/// The diff of two composes of one tag, made at two Koji events between which builds were
/// tagged and untagged, lists exactly the NEVRAs that changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diff_of_two_tag_composes_lists_exactly_what_changed() {
    let e = env().await;
    let td = e.topdir.path().to_path_buf();
    {
        let mut d = e.hub.data.lock().unwrap();
        d.create_tag("f41", "x86_64");
        import(
            &mut d,
            &td,
            "zed-1.0-1.fc41",
            &[
                r("zed", "noarch", &[], &[], &["/usr/share/zed"]),
                r("zed", "src", &[], &[], &["/zed.spec"]),
            ],
        );
        import(
            &mut d,
            &td,
            "yak-1.0-1.fc41",
            &[r("yak", "noarch", &[], &[], &["/usr/share/yak"])],
        );
        import(
            &mut d,
            &td,
            "xen-2.0-1.fc41",
            &[r("xen", "x86_64", &[], &[], &["/usr/bin/xen"])],
        );
        import(
            &mut d,
            &td,
            "xen-1.5-1.fc41",
            &[r("xen", "x86_64", &[], &[], &["/usr/bin/xen"])],
        );
        import(
            &mut d,
            &td,
            "zed-1.1-1.fc41",
            &[
                r("zed", "noarch", &[], &[], &["/usr/share/zed"]),
                r("zed", "src", &[], &[], &["/zed.spec"]),
            ],
        );
        import(
            &mut d,
            &td,
            "wok-1.0-1.fc41",
            &[r("wok", "x86_64", &[], &[], &["/usr/bin/wok"])],
        );
        for p in ["zed", "yak", "xen", "wok"] {
            d.add_package("f41", p);
        }
        for nvr in ["zed-1.0-1.fc41", "yak-1.0-1.fc41", "xen-2.0-1.fc41"] {
            d.tag_build("f41", nvr);
        }
    }
    let req = json!({"source": {"type": "tag", "source": "f41"}, "flags": ["no_reuse"]});
    let a = compose(&e.app, req.clone()).await;
    assert_eq!(a["state_name"], "done", "{a}");
    {
        let mut d = e.hub.data.lock().unwrap();
        d.tag_build("f41", "zed-1.1-1.fc41");
        d.untag_build("f41", "yak-1.0-1.fc41");
        // Tagged last, so the latest in the tag although older.
        d.tag_build("f41", "xen-1.5-1.fc41");
        d.tag_build("f41", "wok-1.0-1.fc41");
    }
    let b = compose(&e.app, req).await;
    assert_eq!(b["state_name"], "done", "{b}");
    let (ia, ib) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let r = e.app.get(&format!("/api/1/composes/{ia}/diff/{ib}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = r.json();
    assert_eq!(d["from"]["koji_event"], a["koji_event"]);
    assert_eq!(d["to"]["koji_event"], b["koji_event"]);
    assert!(a["koji_event"].as_i64() < b["koji_event"].as_i64());
    assert_eq!(
        d["arches"],
        json!({"x86_64": {
            "binary": {
                "added": ["wok-0:1.0-1.fc41.x86_64"],
                "removed": ["yak-0:1.0-1.fc41.noarch"],
                "upgraded": [{"name": "zed", "arch": "noarch", "from": "zed-0:1.0-1.fc41.noarch", "to": "zed-0:1.1-1.fc41.noarch"}],
                "downgraded": [{"name": "xen", "arch": "x86_64", "from": "xen-0:2.0-1.fc41.x86_64", "to": "xen-0:1.5-1.fc41.x86_64"}],
                "sigkey_changed": []
            },
            "source": {
                "added": [],
                "removed": [],
                "upgraded": [{"name": "zed", "arch": "src", "from": "zed-0:1.0-1.fc41.src", "to": "zed-0:1.1-1.fc41.src"}],
                "downgraded": [],
                "sigkey_changed": []
            }
        }}),
        "{}",
        r.text
    );
    assert_eq!(
        d["summary"],
        json!({"added": 1, "removed": 1, "upgraded": 2, "downgraded": 1, "sigkey_changed": 0})
    );
    let t = e
        .app
        .get(&format!("/api/1/composes/{ia}/diff/{ib}?format=text"))
        .await;
    assert_eq!(t.status, 200);
    assert!(
        t.text
            .contains("upgraded    zed-0:1.0-1.fc41.noarch -> zed-0:1.1-1.fc41.noarch")
            && t.text
                .contains("1 added, 1 removed, 2 upgraded, 1 downgraded, 0 sigkey changes"),
        "{}",
        t.text
    );
    // The same compose: nothing changed. A compose without a package list: 409.
    let same = e
        .app
        .get(&format!("/api/1/composes/{ia}/diff/{ia}"))
        .await
        .json();
    assert_eq!(same["arches"], json!({}));
    let failed = compose(&e.app, json!({"source": {"type": "tag", "source": "f99"}})).await;
    let r = e
        .app
        .get(&format!("/api/1/composes/{ia}/diff/{}", failed["id"]))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(
        r.text.contains("has no package list: it is failed"),
        "{}",
        r.text
    );
    let r = e.app.get(&format!("/api/1/composes/{ia}/diff/999")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = e
        .app
        .get(&format!("/api/1/composes/{ia}/diff/{ib}?format=yaml"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("format"), "{}", r.text);
}
