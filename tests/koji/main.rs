//! Koji area: the async client against the test hub (every method, faults, multicall), a
//! semantics scenario checked at several events, transport failures, and the real `koji` CLI
//! (PyPI) against the test hub to prove the wire format.

#[path = "../common/koji_hub.rs"]
mod koji_hub;
#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;

use composed::koji::{Call, KojiClient, KojiError, TagQuery, Value};
use koji_hub::{HubData, Mode, spawn_hub};

/// The scenario of spec/koji.md §6, with the events it records.
struct Scenario {
    data: HubData,
    e_data_21: i64,
    e_data_20_1_later: i64,
    e_docs_untag: i64,
    e_block_extras: i64,
    e_child_data: i64,
    before_child: i64,
}

fn scenario() -> Scenario {
    let mut d = HubData::default();
    d.create_tag("f40", "x86_64 aarch64");
    let before_child = d.last_event();
    d.create_tag("f40-updates", "x86_64");
    d.add_inheritance("f40-updates", "f40", 0);
    for p in ["acme-data", "acme-docs", "acme-extras", "libacme"] {
        d.add_package("f40", p);
    }
    d.import_build(
        "acme-data-2.0-2.fc40",
        None,
        &[("acme-data", "noarch"), ("acme-data", "src")],
    );
    d.import_build(
        "acme-data-2.0-1.fc40",
        None,
        &[("acme-data", "noarch"), ("acme-data", "src")],
    );
    d.import_build("acme-docs-1.0-1.fc40", None, &[("acme-docs", "noarch")]);
    d.import_build(
        "acme-extras-1.0-1.fc40",
        Some(1),
        &[("acme-extras", "x86_64")],
    );
    d.import_build(
        "libacme-1.1-1.fc40",
        None,
        &[
            ("libacme", "x86_64"),
            ("libacme-devel", "x86_64"),
            ("libacme-debuginfo", "x86_64"),
            ("libacme", "aarch64"),
            ("libacme", "src"),
        ],
    );
    d.add_signature("libacme-1.1-1.fc40", "4212DC1D");
    let e_data_21 = d.tag_build("f40", "acme-data-2.0-2.fc40");
    d.tag_build("f40", "acme-docs-1.0-1.fc40");
    d.tag_build("f40", "acme-extras-1.0-1.fc40");
    d.tag_build("f40", "libacme-1.1-1.fc40");
    let e_data_20_1_later = d.tag_build("f40", "acme-data-2.0-1.fc40");
    let e_docs_untag = d.untag_build("f40", "acme-docs-1.0-1.fc40");
    let e_block_extras = d.block_package("f40-updates", "acme-extras");
    let e_child_data = d.tag_build("f40-updates", "acme-data-2.0-2.fc40");
    Scenario {
        data: d,
        e_data_21,
        e_data_20_1_later,
        e_docs_untag,
        e_block_extras,
        e_child_data,
        before_child,
    }
}

fn client(url: &str) -> KojiClient {
    KojiClient::new(url, Duration::from_secs(2), 2, Duration::from_millis(50)).unwrap()
}

fn nvrs(builds: &[composed::koji::Build]) -> Vec<String> {
    let mut v: Vec<String> = builds
        .iter()
        .map(|b| format!("{}@{}", b.nvr, b.tag_name.clone().unwrap_or_default()))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_methods_and_faults() {
    let s = scenario();
    let last = s.data.last_event();
    let hub = spawn_hub(s.data).await;
    let k = client(&hub.url);
    assert_eq!(k.get_api_version().await.unwrap(), 1);
    let ev = k.get_last_event().await.unwrap();
    assert_eq!(ev.id, last);
    assert!(ev.ts > 1.7e9);
    assert_eq!(k.get_event(3).await.unwrap().id, 3);
    let e = k.get_event(9999).await.unwrap_err();
    assert_eq!(e.fault_code(), Some(1000));
    assert!(
        e.to_string().contains("query returned no rows")
            && e.to_string().contains("getEvent")
            && e.to_string().contains(&hub.url),
        "{e}"
    );

    let t = k.get_tag("f40", None).await.unwrap().unwrap();
    assert_eq!(
        (t.name.as_str(), t.arches.clone()),
        ("f40", vec!["x86_64".to_string(), "aarch64".to_string()])
    );
    assert!(k.get_tag("nope", None).await.unwrap().is_none());
    assert!(
        k.get_tag("f40-updates", Some(s.before_child))
            .await
            .unwrap()
            .is_none(),
        "tag did not exist yet"
    );
    let inh = k.get_full_inheritance("f40-updates", None).await.unwrap();
    assert_eq!(inh.len(), 1);
    assert_eq!(
        (inh[0].name.as_str(), inh[0].parent_id, inh[0].currdepth),
        ("f40", t.id, 1)
    );
    assert!(
        k.get_full_inheritance("f40", None)
            .await
            .unwrap()
            .is_empty()
    );
    let e = k.get_full_inheritance("nope", None).await.unwrap_err();
    assert!(
        e.to_string().contains("No such entry in table tag: nope"),
        "{e}"
    );

    let tagged = k.list_tagged("f40", &TagQuery::default()).await.unwrap();
    assert_eq!(
        nvrs(&tagged),
        vec![
            "acme-data-2.0-1.fc40@f40",
            "acme-data-2.0-2.fc40@f40",
            "acme-extras-1.0-1.fc40@f40",
            "libacme-1.1-1.fc40@f40"
        ]
    );
    let e = k
        .list_tagged("nope", &TagQuery::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("No such tagInfo: 'nope'"), "{e}");

    let q = TagQuery {
        latest: true,
        inherit: true,
        arches: Some(vec!["x86_64".into(), "noarch".into()]),
        ..Default::default()
    };
    let t = k.list_tagged_rpms("f40", &q).await.unwrap();
    let (rpms, builds) = (&t.rpms, &t.builds);
    assert_eq!(builds.len(), 3);
    let mut names: Vec<String> = rpms.iter().map(|r| r.nvra()).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "acme-data-2.0-1.fc40.noarch",
            "acme-extras-1.0-1.fc40.x86_64",
            "libacme-1.1-1.fc40.x86_64",
            "libacme-debuginfo-1.1-1.fc40.x86_64",
            "libacme-devel-1.1-1.fc40.x86_64",
        ]
    );
    let t = k
        .list_tagged_rpms(
            "f40",
            &TagQuery {
                package: Some("libacme".into()),
                rpmsigs: true,
                arches: Some(vec!["x86_64".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut sigs: Vec<(String, String)> = t
        .rpms
        .iter()
        .map(|r| (r.name.clone(), r.sigkey.clone().unwrap()))
        .collect();
    sigs.sort();
    assert_eq!(
        sigs.len(),
        6,
        "one row per (rpm, signature), the unsigned one included: {sigs:?}"
    );
    assert!(
        sigs.contains(&("libacme".into(), "4212dc1d".into()))
            && sigs.contains(&("libacme".into(), String::new()))
    );

    let b = k
        .get_build("acme-extras-1.0-1.fc40".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.name.as_str(), b.epoch, b.volume_name.as_str()),
        ("acme-extras", Some(1), "DEFAULT")
    );
    assert_eq!(
        k.get_build(Value::Int(b.id)).await.unwrap().unwrap().nvr,
        "acme-extras-1.0-1.fc40"
    );
    assert!(k.get_build("nope-1-1".into()).await.unwrap().is_none());
    let e = k.get_build("nope".into()).await.unwrap_err();
    assert!(e.to_string().contains("invalid format: nope"), "{e}");
    let lib = k
        .get_build("libacme-1.1-1.fc40".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.list_rpms(lib.id, None).await.unwrap().len(), 5);
    assert_eq!(
        k.list_rpms(lib.id, Some(vec!["src".into()]))
            .await
            .unwrap()
            .len(),
        1
    );
    let rpm_id = k
        .list_rpms(lib.id, Some(vec!["aarch64".into()]))
        .await
        .unwrap()[0]
        .id;
    assert_eq!(
        k.query_rpm_sigs(rpm_id).await.unwrap(),
        vec!["".to_string(), "4212dc1d".to_string()]
    );

    // Keyword rule: an unknown keyword is a ParameterError, a struct without __starstar is positional.
    let e = k
        .call(
            "listTagged",
            vec!["f40".into()],
            vec![("bogus", Value::Int(1))],
        )
        .await
        .unwrap_err();
    assert_eq!(e.fault_code(), Some(1019));
    assert!(
        e.to_string()
            .contains("unexpected keyword argument 'bogus'"),
        "{e}"
    );
    let e = k
        .call(
            "listTagged",
            vec![
                "f40".into(),
                Value::structure([("latest", Value::Bool(true))]),
            ],
            vec![],
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("Invalid event: {'latest': True}"),
        "{e}"
    );
    let e = k.call("noSuchMethod", vec![], vec![]).await.unwrap_err();
    assert!(
        e.to_string().contains("Invalid method: noSuchMethod"),
        "{e}"
    );
    assert!(
        !k.tag_changed_since_event(1, &[]).await.unwrap(),
        "an empty list is never sent"
    );

    // Multicall with one failing call.
    let results = k
        .multicall(vec![
            Call::new("getTag", vec!["f40".into()], vec![]),
            Call::new("getBuild", vec!["nope".into()], vec![]),
            Call::new("getLastEvent", vec![], vec![]),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0].as_ref().unwrap().get("name").as_str(),
        Some("f40")
    );
    let e = results[1].as_ref().unwrap_err();
    assert!(
        matches!(e, KojiError::Fault { code: 1000, .. })
            && e.to_string().contains("getBuild")
            && e.to_string().contains("invalid format"),
        "{e}"
    );
    assert_eq!(results[2].as_ref().unwrap().get("id").as_i64(), Some(last));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantics_at_several_events() {
    let s = scenario();
    let hub = spawn_hub(s.data).await;
    let k = client(&hub.url);
    let latest = |event: i64, tag: &'static str| {
        let k = k.clone();
        async move {
            nvrs(
                &k.list_tagged(
                    tag,
                    &TagQuery {
                        event: Some(event),
                        inherit: true,
                        latest: true,
                        ..Default::default()
                    },
                )
                .await
                .unwrap(),
            )
        }
    };
    // Before 2.0-1 was tagged, 2.0-2 is the latest of f40; from then on the older NVR wins.
    assert!(
        latest(s.e_data_21, "f40")
            .await
            .contains(&"acme-data-2.0-2.fc40@f40".to_string())
    );
    assert!(
        latest(s.e_data_20_1_later, "f40")
            .await
            .contains(&"acme-data-2.0-1.fc40@f40".to_string())
    );
    assert!(
        !latest(s.e_data_20_1_later, "f40")
            .await
            .contains(&"acme-data-2.0-2.fc40@f40".to_string())
    );
    // Untag in the parent hides the build from the child from that event on.
    assert!(
        latest(s.e_docs_untag - 1, "f40-updates")
            .await
            .contains(&"acme-docs-1.0-1.fc40@f40".to_string())
    );
    assert!(
        !latest(s.e_docs_untag, "f40-updates")
            .await
            .iter()
            .any(|n| n.starts_with("acme-docs"))
    );
    // A block in the child hides the parent's builds, with and without latest.
    assert!(
        latest(s.e_block_extras - 1, "f40-updates")
            .await
            .iter()
            .any(|n| n.starts_with("acme-extras"))
    );
    assert!(
        !latest(s.e_block_extras, "f40-updates")
            .await
            .iter()
            .any(|n| n.starts_with("acme-extras"))
    );
    let all = k
        .list_tagged(
            "f40-updates",
            &TagQuery {
                event: Some(s.e_block_extras),
                inherit: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!all.iter().any(|b| b.name == "acme-extras"));
    assert!(
        latest(s.e_block_extras, "f40")
            .await
            .iter()
            .any(|n| n.starts_with("acme-extras")),
        "still in the parent"
    );
    // The child's own tagging wins over the parent's latest.
    assert_eq!(
        latest(s.e_child_data, "f40-updates").await,
        vec!["acme-data-2.0-2.fc40@f40-updates", "libacme-1.1-1.fc40@f40"]
    );
    assert!(
        latest(s.e_child_data - 1, "f40-updates")
            .await
            .contains(&"acme-data-2.0-1.fc40@f40".to_string())
    );
    // Without latest the same NVR comes from both tags.
    let all = k
        .list_tagged(
            "f40-updates",
            &TagQuery {
                event: Some(s.e_child_data),
                inherit: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .filter(|b| b.nvr == "acme-data-2.0-2.fc40")
            .count(),
        2
    );
    // Without inherit the child has only its own build.
    assert_eq!(
        nvrs(
            &k.list_tagged("f40-updates", &TagQuery::default())
                .await
                .unwrap()
        ),
        vec!["acme-data-2.0-2.fc40@f40-updates"]
    );
    // A query before the tag existed is a fault, not an empty list.
    let e = k
        .list_tagged(
            "f40-updates",
            &TagQuery {
                event: Some(s.before_child),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("No such tagInfo: 'f40-updates'"),
        "{e}"
    );
    // tagChangedSinceEvent does not follow inheritance; the client helper does.
    let f40 = k.get_tag("f40", None).await.unwrap().unwrap().id;
    let upd = k.get_tag("f40-updates", None).await.unwrap().unwrap().id;
    assert!(
        k.tag_changed_since_event(s.e_docs_untag - 1, &[f40])
            .await
            .unwrap()
    );
    assert!(
        !k.tag_changed_since_event(s.e_docs_untag, &[f40])
            .await
            .unwrap()
    );
    assert!(
        k.tag_changed_since_event(s.e_docs_untag, &[upd])
            .await
            .unwrap()
    );
    assert!(
        !k.tag_changed_since_event(s.e_child_data, &[f40, upd])
            .await
            .unwrap()
    );
    assert!(
        !k.tag_changed_since_event(s.e_child_data, &[99])
            .await
            .unwrap()
    );
    assert!(
        k.tag_or_parents_changed_since("f40-updates", s.e_docs_untag - 1)
            .await
            .unwrap()
    );
    assert!(
        !k.tag_or_parents_changed_since("f40-updates", s.e_child_data)
            .await
            .unwrap()
    );
    let e = k
        .call(
            "tagChangedSinceEvent",
            vec![Value::Int(1), Value::Array(vec![])],
            vec![],
        )
        .await
        .unwrap_err();
    assert_eq!(e.fault_code(), Some(1));
}

/// `listTaggedRPMS` and `getTag` at an event that has happened are asked once per process;
/// without an event, or at an event the hub has not reached, every call goes to the hub.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_at_a_past_event_are_kept_and_others_are_not() {
    let s = scenario();
    let hub = spawn_hub(s.data).await;
    let k = client(&hub.url);
    let asked = |m: &str| {
        hub.data
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| *c == m)
            .count()
    };
    let at = |event: Option<i64>| TagQuery {
        event,
        inherit: true,
        latest: true,
        arches: Some(vec!["x86_64".into(), "noarch".into()]),
        ..Default::default()
    };
    let last = k.get_last_event().await.unwrap().id;
    let first = k.list_tagged_rpms("f40", &at(Some(last))).await.unwrap();
    let again = k.list_tagged_rpms("f40", &at(Some(last))).await.unwrap();
    assert_eq!(
        asked("listTaggedRPMS"),
        1,
        "the second answer came from the cache"
    );
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    // Another event, other flags, another tag: each its own answer.
    let before = k
        .list_tagged_rpms("f40", &at(Some(s.e_data_21)))
        .await
        .unwrap();
    let mut flat = at(Some(last));
    flat.inherit = false;
    k.list_tagged_rpms("f40", &flat).await.unwrap();
    k.list_tagged_rpms("f40-updates", &at(Some(last)))
        .await
        .unwrap();
    assert_eq!(asked("listTaggedRPMS"), 4);
    assert_ne!(
        before.rpms.iter().map(|r| r.nvra()).collect::<Vec<_>>(),
        first.rpms.iter().map(|r| r.nvra()).collect::<Vec<_>>(),
        "the tag changed between the two events"
    );
    // No event: the tag's present state, asked every time.
    k.list_tagged_rpms("f40", &at(None)).await.unwrap();
    k.list_tagged_rpms("f40", &at(None)).await.unwrap();
    assert_eq!(asked("listTaggedRPMS"), 6);
    // An event the hub has not reached yet could still change: never kept.
    k.list_tagged_rpms("f40", &at(Some(last + 50)))
        .await
        .unwrap();
    k.list_tagged_rpms("f40", &at(Some(last + 50)))
        .await
        .unwrap();
    assert_eq!(asked("listTaggedRPMS"), 8);
    // getTag at a past event, the tag's absence included.
    k.get_tag("f40", Some(last)).await.unwrap().unwrap();
    k.get_tag("f40", Some(last)).await.unwrap().unwrap();
    assert!(
        k.get_tag("f40-updates", Some(s.before_child))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        k.get_tag("f40-updates", Some(s.before_child))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(asked("getTag"), 2);
    let st = composed::koji::answers::stats();
    // nextest runs each test in a process of its own: the counts are this test's.
    assert_eq!((st.hits, st.misses, st.entries), (3, 6, 6), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_name_hub_and_method() {
    // Unreachable: a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/kojihub");
    let t = std::time::Instant::now();
    let e = client(&url).get_last_event().await.unwrap_err();
    assert!(matches!(e, KojiError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&url) && e.to_string().contains("getLastEvent"),
        "{e}"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "retried with backoff (50 + 100 ms)"
    );

    let hub = spawn_hub(scenario().data).await;
    *hub.mode.lock().unwrap() = Mode::Http500;
    let e = client(&hub.url).get_tag("f40", None).await.unwrap_err();
    assert!(
        matches!(e, KojiError::Http { status: 500, .. })
            && e.to_string().contains("getTag")
            && e.to_string().contains(&hub.url),
        "{e}"
    );
    *hub.mode.lock().unwrap() = Mode::Garbage;
    let e = client(&hub.url).get_tag("f40", None).await.unwrap_err();
    assert!(
        matches!(e, KojiError::Malformed { .. })
            && e.to_string().contains("getTag")
            && e.to_string().contains(&hub.url),
        "{e}"
    );
    assert!(!e.is_transient());
    *hub.mode.lock().unwrap() = Mode::Slow;
    let k = KojiClient::new(
        &hub.url,
        Duration::from_millis(300),
        0,
        Duration::from_millis(10),
    )
    .unwrap();
    let e = k
        .list_tagged("f40", &TagQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, KojiError::Timeout { .. })
            && e.to_string().contains("listTagged")
            && e.to_string().contains(&hub.url),
        "{e}"
    );
    // GET is refused like a real hub does.
    let r = reqwest::get(&hub.url).await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
}

fn koji_cli(bin: &std::path::Path, hub: &str, args: &[&str]) -> String {
    // The CLI needs a profile; a throwaway config file gives it one.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("koji.conf");
    std::fs::write(&conf, format!("[koji]\nserver = {hub}\ntopdir = /srv/koji\ntopurl = http://127.0.0.1/kojifiles\nauthtype = noauth\n")).unwrap();
    let out = std::process::Command::new(bin.join("koji"))
        .arg("--config")
        .arg(&conf)
        .args(["--profile", "koji", "--noauth"])
        .args(args)
        .env("HOME", dir.path())
        .output()
        .expect("koji CLI");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "koji {args:?} failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_koji_cli_against_the_test_hub() {
    let Some(bin) = support::venv_bin() else {
        return;
    };
    assert!(bin.join("koji").exists(), "koji CLI missing in the venv");
    let mut data = scenario().data;
    // A module build (btype module) as MBS's content generator imports it, tagged with an
    // RPM build into a modular tag.
    data.create_tag("f40-modules", "x86_64");
    data.import_module_build(
        "hello:2:20240202000000:c0ffee42",
        "---\ndocument: modulemd\nversion: 2\ndata:\n  name: hello\n  stream: \"2\"\n...\n",
        "module-hello-2-20240202000000-c0ffee42",
    );
    for (p, nvr) in [
        ("hello", "hello-2-20240202000000.c0ffee42"),
        ("libacme", "libacme-1.1-1.fc40"),
    ] {
        data.add_package("f40-modules", p);
        data.tag_build("f40-modules", nvr);
    }
    let hub = spawn_hub(data).await;
    let (url, b) = (hub.url.clone(), bin.clone());
    let run = move |args: Vec<&'static str>| {
        let (url, b) = (url.clone(), b.clone());
        async move {
            tokio::task::spawn_blocking(move || koji_cli(&b, &url, &args))
                .await
                .unwrap()
        }
    };
    let out = run(vec!["list-tagged", "--latest", "--inherit", "f40-updates"]).await;
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["acme-data-2.0-2.fc40", "f40-updates", "kojiadmin"],
            vec!["libacme-1.1-1.fc40", "f40", "kojiadmin"]
        ],
        "{out}"
    );
    let out = run(vec!["list-tag-inheritance", "f40-updates"]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "f40-updates (2)", "{out}");
    assert!(lines[1].ends_with("\u{2514}\u{2500}f40 (1)"), "{out}");
    assert_eq!(lines.len(), 2, "{out}");
    let out = run(vec!["buildinfo", "libacme-1.1-1.fc40"]).await;
    assert!(
        out.contains("BUILD: libacme-1.1-1.fc40")
            && out.contains("State: COMPLETE")
            && out.contains("Tags: f40"),
        "{out}"
    );
    assert!(out.contains("/srv/koji/packages/libacme/1.1/1.fc40/x86_64/libacme-devel-1.1-1.fc40.x86_64.rpm\tSignatures: 4212dc1d"), "{out}");
    assert!(
        out.contains("/srv/koji/packages/libacme/1.1/1.fc40/src/libacme-1.1-1.fc40.src.rpm"),
        "{out}"
    );
    let out = run(vec!["call", "getLastEvent"]).await;
    assert!(out.contains("'id':") || out.contains("\"id\":"), "{out}");
    let out = run(vec![
        "call",
        "--json-output",
        "listTaggedRPMS",
        "f40",
        "latest=True",
        "arch=noarch",
    ])
    .await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let rpms = v[0].as_array().unwrap();
    assert_eq!(rpms.len(), 1, "{v}");
    assert_eq!(rpms[0]["name"], "acme-data");
    assert_eq!(
        rpms[0]["release"], "1.fc40",
        "the most recently tagged build, not the highest NVR"
    );
    assert_eq!(v[1][0]["nvr"], "acme-data-2.0-1.fc40");
    let calls = hub.data.lock().unwrap().calls.clone();
    assert!(calls.iter().any(|c| c == "listTaggedRPMS"), "{calls:?}");

    // Module builds: listTagged's type filter, search by NVR glob, getBuild's typeinfo.
    let nvrs = |out: &str| -> Vec<String> {
        out.lines()
            .skip(2)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    };
    let out = run(vec!["list-tagged", "--type=module", "f40-modules"]).await;
    assert_eq!(nvrs(&out), vec!["hello-2-20240202000000.c0ffee42"], "{out}");
    let out = run(vec!["list-tagged", "f40-modules"]).await;
    let mut all = nvrs(&out);
    all.sort();
    assert_eq!(
        all,
        vec!["hello-2-20240202000000.c0ffee42", "libacme-1.1-1.fc40"],
        "{out}"
    );
    let out = run(vec!["search", "build", "hello-2-20240202000000.*"]).await;
    assert_eq!(out.trim(), "hello-2-20240202000000.c0ffee42", "{out}");
    let out = run(vec!["search", "build", "nosuch-*"]).await;
    assert_eq!(out.trim(), "", "{out}");
    let out = run(vec![
        "call",
        "--json-output",
        "getBuild",
        "hello-2-20240202000000.c0ffee42",
    ])
    .await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let m = &v["extra"]["typeinfo"]["module"];
    assert_eq!(
        m["content_koji_tag"], "module-hello-2-20240202000000-c0ffee42",
        "{v}"
    );
    assert_eq!(m["stream"], "2");
    assert!(m["modulemd_str"].as_str().unwrap().contains("name: hello"));
    let out = run(vec![
        "call",
        "--json-output",
        "listTagged",
        "f40-modules",
        "type=module",
    ])
    .await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert!(
        v[0].get("extra").is_none(),
        "extra only with extra=True: {v}"
    );
}
