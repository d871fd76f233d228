//! Property test: generated bodies never produce a 5xx, and a rejected request leaves no row.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

use crate::support::{Db, spawn_app};

const KEYS: &[&str] = &[
    "source",
    "type",
    "packages",
    "builds",
    "sigkeys",
    "koji_event",
    "flags",
    "results",
    "arches",
    "multilib_arches",
    "multilib_method",
    "lookaside_repos",
    "label",
    "compose_type",
    "target_dir",
    "seconds_to_live",
    "seconds-to-live",
    "modules",
    "scratch_modules",
    "scratch_build_tasks",
    "modular_koji_tags",
    "module_defaults_url",
    "module_defaults_commit",
    "respin_of",
    "parent_pungi_compose_ids",
    "base_module_br_name",
    "base_module_br_stream_version_lte",
    "x",
];
const WORDS: &[&str] = &[
    "tag",
    "module",
    "repo",
    "pulp",
    "raw_config",
    "build",
    "pungi_compose",
    "f26",
    "a:b",
    "a:b:1:c",
    "platform:x",
    "no_deps",
    "check_deps",
    "boot.iso",
    "runtime",
    "x86_64",
    "",
    " ",
    "default",
    "cfg#hash",
    "#",
    "ünïcode",
    "a=b",
    "{",
    "\n",
    "\u{0}",
    "🦀",
    "x-1-1",
    "9999999999999999999999",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(WORDS).prop_map(|w| json!(w)),
        "[ -~]{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

const SAFE: &[&str] = &[
    "ed",
    "vim",
    "x86_64",
    "aarch64",
    "foo-1-1",
    "a:b:1:c",
    "SIG1",
    "Fedora-1-1",
    "Alpha-1.0",
];

/// A valid value for a key, so that shaped bodies are accepted unless mutated.
fn valid_for(key: &'static str) -> BoxedStrategy<Value> {
    let words = prop::collection::vec(prop::sample::select(SAFE), 0..3).prop_map(|w| json!(w));
    let names = |all: &'static [&'static str]| {
        prop::sample::subsequence(all, 0..=2)
            .prop_map(|w| json!(w))
            .boxed()
    };
    match key {
        "flags" => names(&["no_deps", "no_inheritance", "check_deps", "no_reuse"]),
        "results" => names(&["iso", "ostree", "raw", "oci"]),
        "multilib_method" => names(&["runtime", "devel", "all"]),
        "label" | "compose_type" | "respin_of" | "base_module_br_name" => {
            prop::sample::select(SAFE).prop_map(|w| json!(w)).boxed()
        }
        "seconds_to_live" | "koji_event" | "base_module_br_stream_version_lte" => {
            (1i64..10_000_000).prop_map(|n| json!(n)).boxed()
        }
        "seconds-to-live" => (1i64..10_000_000)
            .prop_map(|n| json!(n.to_string()))
            .boxed(),
        "target_dir" => Just(json!("default")).boxed(),
        "x" => leaf().boxed(),
        _ => words.boxed(),
    }
}

const OPTIONAL_KEYS: &[&str] = &[
    "packages",
    "builds",
    "sigkeys",
    "koji_event",
    "flags",
    "results",
    "arches",
    "multilib_arches",
    "multilib_method",
    "lookaside_repos",
    "label",
    "compose_type",
    "target_dir",
    "seconds_to_live",
    "seconds-to-live",
    "modular_koji_tags",
    "respin_of",
    "parent_pungi_compose_ids",
    "x",
];

/// Well-shaped requests (valid source, valid optional keys), half of them with one value
/// replaced by an arbitrary document; plus arbitrary documents.
fn body() -> impl Strategy<Value = Value> {
    let source = prop::sample::select(vec![
        ("tag", "f26"),
        ("module", "a:b"),
        ("module", "a:b:1:c x:y"),
        ("build", ""),
        ("repo", "/srv/repo"),
        ("pungi_compose", "https://x/compose"),
        ("pulp", "rhel-8"),
    ]);
    let keys = prop::sample::subsequence(OPTIONAL_KEYS, 0..6).prop_flat_map(|ks| {
        ks.into_iter()
            .map(|k| valid_for(k).prop_map(move |v| (k, v)))
            .collect::<Vec<_>>()
    });
    let shaped = (
        source,
        keys,
        any::<bool>(),
        any::<prop::sample::Index>(),
        value(),
    )
        .prop_map(|((ty, src), kvs, mutate, which, junk)| {
            let mut source = Map::new();
            source.insert("type".into(), json!(ty));
            source.insert("source".into(), json!(src));
            let mut body = Map::new();
            let n = kvs.len();
            for (i, (k, v)) in kvs.into_iter().enumerate() {
                let v = if mutate && n > 0 && which.index(n) == i {
                    junk.clone()
                } else {
                    v
                };
                let in_source = matches!(
                    k,
                    "packages" | "builds" | "sigkeys" | "koji_event" | "modular_koji_tags"
                );
                if in_source {
                    source.insert(k.into(), v);
                } else {
                    body.insert(k.into(), v);
                }
            }
            body.insert("source".into(), Value::Object(source));
            Value::Object(body)
        });
    prop_oneof![4 => shaped, 1 => value()]
}

/// Raw byte mutations: truncation and invalid UTF-8.
fn raw(v: &Value, cut: usize, junk: u8) -> Vec<u8> {
    let mut b = v.to_string().into_bytes();
    match cut % 10 {
        0 => b.truncate(cut % (b.len() + 1)),
        1 => b.insert(cut % (b.len() + 1), 0xC0 | (junk & 0x1F) | 0x20),
        _ => {}
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_generated_bodies_never_5xx_and_leave_no_row_when_rejected() {
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let app = spawn_app(Db::Sqlite, |s| s.server.max_body_bytes = 2048)
        .await
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (body(), any::<usize>(), any::<u8>());
    let accepted = std::sync::atomic::AtomicU64::new(0);
    let rejected = std::sync::atomic::AtomicU64::new(0);
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(v, cut, junk)| {
            let bytes = raw(&v, cut, junk);
            let (status, before, after) = handle.block_on(async {
                let before = app.count_composes().await;
                let r = app.post_raw(&bytes).await;
                let after = app.count_composes().await;
                (r, before, after)
            });
            prop_assert!(
                status.status < 500,
                "5xx for {:?}: {}",
                String::from_utf8_lossy(&bytes),
                status.text
            );
            if status.status == 200 {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert_eq!(after, before + 1);
            } else {
                rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert!(
                    matches!(status.status, 400 | 413),
                    "{} {}",
                    status.status,
                    status.text
                );
                prop_assert_eq!(after, before, "rejected request left a row");
                let j: Value = serde_json::from_str(&status.text).expect("error envelope is JSON");
                prop_assert_eq!(j["status"].as_u64(), Some(status.status as u64));
                prop_assert!(!j["message"].as_str().unwrap_or("").is_empty());
            }
            Ok(())
        })
    });
    let (accepted, rejected) = (accepted.into_inner(), rejected.into_inner());
    eprintln!("property: {accepted} accepted, {rejected} rejected of {cases}");
    result.unwrap();
    assert!(
        accepted > 100 && rejected > 100,
        "the generator covers both outcomes: {accepted}/{rejected}"
    );
}
