//! POST /api/1/composes/: validation pipeline, defaults and stored values.

use serde_json::json;

use crate::both_backends;
#[allow(unused_imports)]
use crate::support::*;

both_backends!(post_module_exact_json_22_71, |app| {
    let r = app
        .post(&json!({"source": {"type": "module", "source": "testmodule:master"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.headers.get("access-control-allow-origin").is_none());
    let j = r.json();
    let obj = j.as_object().unwrap();
    assert_eq!(obj.len(), 42, "42 keys: {j}");
    assert!(!obj.contains_key("pungi_config_dump"));
    let expected = json!({
        "id": 1, "owner": "unknown", "source_type": 2, "source": "testmodule:master",
        "state": 0, "state_name": "wait", "state_reason": null,
        "time_started": null, "time_done": null, "time_removed": null, "removed_by": null,
        "result_repo": "http://localhost/odcs/odcs-1/compose/Temporary",
        "result_repofile": "http://localhost/odcs/odcs-1/compose/Temporary/odcs-1.repo",
        "toplevel_url": "http://localhost/odcs/odcs-1",
        "flags": [], "results": ["repository"], "sigkeys": "", "koji_event": null, "koji_task_id": null,
        "packages": null, "builds": null, "arches": "x86_64", "multilib_arches": "", "multilib_method": 0,
        "lookaside_repos": "", "modular_koji_tags": null, "module_defaults_url": null, "label": null,
        "compose_type": "test", "pungi_compose_id": null, "target_dir": "default",
        "scratch_modules": null, "modules": null, "parent_pungi_compose_ids": null,
        "scratch_build_tasks": null, "respin_of": null, "base_module_br_name": null,
        "base_module_br_stream": null, "base_module_br_stream_version_lte": null,
        "base_module_br_stream_version_gte": null,
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&j[k], v, "key {k}");
    }
    let submitted = ts(&j["time_submitted"]);
    assert_eq!(
        ts(&j["time_to_expire"]) - submitted,
        chrono::Duration::hours(24)
    );
    assert!(
        (chrono::Utc::now().naive_utc() - submitted)
            .num_seconds()
            .abs()
            < 60
    );
    assert_eq!(app.compose(1).await.state, 0);
    // The POST wrote its state message in the same transaction.
    assert_eq!(app.outbox_states().await, vec![(1, "wait".to_string())]);
});

both_backends!(post_stored_values_23_to_34, |app| {
    let j = app
        .create(&json!({"source": {"type": "tag", "source": "f26"}, "flags": ["no_deps"]}))
        .await;
    assert_eq!(j["packages"], json!(null));
    assert_eq!(j["state_name"], "wait");
    let j = app.create(&json!({"source": {"type": "tag", "source": "f26", "packages": ["ed"]}, "flags": ["no_deps"]})).await;
    assert_eq!(j["flags"], json!(["no_deps"]));
    assert_eq!(app.compose(j["id"].as_i64().unwrap()).await.flags, 1);
    let j = app.create(&json!({"source": {"type": "tag", "source": "f26", "packages": ["ed"]}, "flags": ["no_inheritance"]})).await;
    assert_eq!(j["flags"], json!(["no_inheritance"]));
    assert_eq!(app.compose(j["id"].as_i64().unwrap()).await.flags, 2);
    let j = app
        .create(&json!({"source": {"type": "tag", "source": "f26"}, "results": ["qcow2", "iso"]}))
        .await;
    assert_eq!(j["results"], json!(["repository", "iso", "qcow2"]));
    assert_eq!(app.compose(j["id"].as_i64().unwrap()).await.results, 35);
    // boot.iso needs lorax, which is not here: refused unless a command makes it.
    let r = app
        .post(&json!({"source": {"type": "tag", "source": "f26"}, "results": ["boot.iso"]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("lorax"), "{}", r.text);
    let j = app
        .create(&json!({"source": {"type": "tag", "source": "f26", "koji_event": 123456}}))
        .await;
    assert_eq!(j["koji_event"], 123456);
    let j = app
        .create(&json!({"source": {"type": "tag", "source": "f26", "sigkeys": ["123", "456"]}}))
        .await;
    assert_eq!(j["sigkeys"], "123 456");
    let j = app
        .create(&json!({"source": {"type": "tag", "source": "f26"}, "arches": ["ppc64", "s390"]}))
        .await;
    assert_eq!(j["arches"], "ppc64 s390");
    let j = app.create(&json!({"source": {"type": "tag", "source": "f26"}, "multilib_arches": ["x86_64", "ppc64le"]})).await;
    assert_eq!(j["multilib_arches"], "x86_64 ppc64le");
    let j = app.create(&json!({"source": {"type": "tag", "source": "f26"}, "multilib_method": ["runtime", "devel"]})).await;
    assert_eq!(j["multilib_method"], 3);
    let j = app.create(&json!({"source": {"type": "tag", "source": "f26", "modular_koji_tags": ["f26-modules"]}})).await;
    assert_eq!(j["modular_koji_tags"], "f26-modules");
    let j = app.create(&json!({"source": {"type": "module", "source": "x:y", "module_defaults_url": "git://localhost.tld/x.git", "module_defaults_commit": "master"}})).await;
    assert_eq!(j["module_defaults_url"], "git://localhost.tld/x.git master");
    let j = app
        .create(
            &json!({"source": {"type": "tag", "source": "f26", "builds": ["foo-1-1", "bar-1-1"]}}),
        )
        .await;
    assert_eq!(j["builds"], "foo-1-1 bar-1-1");
    let j = app.create(&json!({"source": {"type": "build", "packages": ["ed"], "builds": ["foo-1-1", "bar-1-1"]}})).await;
    assert_eq!(
        (
            j["source_type"].as_i64(),
            j["source"].as_str(),
            j["builds"].as_str()
        ),
        (Some(6), Some(""), Some("foo-1-1 bar-1-1"))
    );
    let j = app.create(&json!({"source": {"type": "module", "source": "x:y", "scratch_build_tasks": ["123456", "123457"]}})).await;
    assert_eq!(j["scratch_build_tasks"], "123456 123457");
    let j = app.create(&json!({"source": {"type": "module", "source": "x:y", "scratch_modules": ["a:b:1:c", "d:e:2:f"]}})).await;
    assert_eq!(
        (j["scratch_modules"].as_str(), j["source"].as_str()),
        (Some("a:b:1:c d:e:2:f"), Some("x:y"))
    );
    let j = app.create(&json!({"source": {"type": "module", "source": "x:y", "modules": ["a:b:1:c", "d:e:2:f"]}})).await;
    assert_eq!(j["modules"], "a:b:1:c d:e:2:f");
    let j = app
        .create(
            &json!({"source": {"type": "module", "source": "", "scratch_modules": ["a:b:1:c"]}}),
        )
        .await;
    assert_eq!(
        (j["source"].as_str(), j["scratch_modules"].as_str()),
        (Some(""), Some("a:b:1:c"))
    );
    let j = app.create(&json!({"source": {"type": "tag", "source": "f26"}, "parent_pungi_compose_ids": ["Fedora-1-1", "Fedora-2-2"], "respin_of": "Fedora-1-1", "label": "Beta-1.2", "compose_type": "nightly"})).await;
    assert_eq!(j["parent_pungi_compose_ids"], "Fedora-1-1 Fedora-2-2");
    assert_eq!(j["respin_of"], "Fedora-1-1");
    assert_eq!(
        (j["label"].as_str(), j["compose_type"].as_str()),
        (Some("Beta-1.2"), Some("nightly"))
    );
    let j = app
        .create(&json!({"source": {"type": "module", "source": "foo:x foo:x foo:y"}}))
        .await;
    let mut items: Vec<&str> = j["source"].as_str().unwrap().split(' ').collect();
    items.sort();
    assert_eq!(items, vec!["foo:x", "foo:y"]);
    let j = app.create(&json!({"source": {"type": "module", "source": "x:y", "base_module_br_name": "platform", "base_module_br_stream": "f30", "base_module_br_stream_version_lte": 300100, "base_module_br_stream_version_gte": 300000}})).await;
    assert_eq!(
        (
            j["base_module_br_name"].as_str(),
            j["base_module_br_stream_version_lte"].as_i64()
        ),
        (Some("platform"), Some(300100))
    );
});

both_backends!(
    post_default_sigkeys_29,
    |s| {
        s.composes.sigkeys = vec!["x".into(), "y".into()];
    },
    |app| {
        let j = app
            .create(&json!({"source": {"type": "tag", "source": "f26"}}))
            .await;
        assert_eq!(j["sigkeys"], "x y");
        let j = app
            .create(&json!({"source": {"type": "tag", "source": "f26", "sigkeys": [""]}}))
            .await;
        assert_eq!(j["sigkeys"], "");
    }
);

both_backends!(
    post_extra_target_dir_37,
    |s| {
        s.composes
            .extra_target_dirs
            .insert("releng-private".into(), "/tmp/private".into());
    },
    |app| {
        let j = app.create(&json!({"source": {"type": "tag", "source": "f26"}, "target_dir": "releng-private"})).await;
        assert_eq!(j["target_dir"], "releng-private");
        assert_eq!(
            (
                j["result_repo"].as_str(),
                j["result_repofile"].as_str(),
                j["toplevel_url"].as_str()
            ),
            (Some(""), Some(""), Some(""))
        );
        assert_eq!(
            app.compose(j["id"].as_i64().unwrap())
                .await
                .target_dir
                .as_deref(),
            Some("/tmp/private")
        );
        let j = app
            .create(&json!({"source": {"type": "tag", "source": "f26"}, "target_dir": "default"}))
            .await;
        assert_eq!(j["target_dir"], "default");
    }
);

both_backends!(
    post_raw_config_113_and_ttl_68_to_70,
    |s| {
        let mut cfg = serde_json::Map::new();
        cfg.insert("url".into(), json!("https://pagure.io/pungi-fedora.git"));
        cfg.insert("config_filename".into(), json!("fedora.conf"));
        s.composes
            .raw_config_urls
            .insert("pungi_cfg".into(), cfg.clone());
        cfg.insert("seconds_to_live".into(), json!(345_600));
        s.composes
            .raw_config_urls
            .insert("long".into(), cfg.clone());
        cfg.insert("max_seconds_to_live".into(), json!(604_800));
        s.composes
            .raw_config_urls
            .insert("longer".into(), cfg.clone());
        cfg.insert("seconds_to_live".into(), json!(7200));
        cfg.insert("max_seconds_to_live".into(), json!(21_600));
        s.composes.raw_config_urls.insert("short".into(), cfg);
    },
    |app| {
        let j = app.create(&json!({"source": {"type": "raw_config", "source": "pungi_cfg#hash"}, "label": "Beta-1.2", "compose_type": "nightly"})).await;
        assert_eq!(
            (j["source_type"].as_i64(), j["source"].as_str()),
            (Some(5), Some("pungi_cfg#hash"))
        );
        assert_eq!(
            (j["result_repofile"].as_str(), j["result_repo"].as_str()),
            (Some(""), Some(""))
        );
        assert_eq!(
            j["toplevel_url"],
            format!("http://localhost/odcs/odcs-{}", j["id"])
        );
        let ttl = |j: &serde_json::Value| {
            (ts(&j["time_to_expire"]) - ts(&j["time_submitted"])).num_hours()
        };
        assert_eq!(
            ttl(&app
                .create(&json!({"source": {"type": "raw_config", "source": "long#h"}}))
                .await),
            96
        );
        assert_eq!(ttl(&app.create(&json!({"source": {"type": "raw_config", "source": "longer#h"}, "seconds_to_live": 128 * 3600})).await), 128);
        assert_eq!(ttl(&app.create(&json!({"source": {"type": "raw_config", "source": "short#h"}, "seconds_to_live": 12 * 3600})).await), 6);
        assert_eq!(
            ttl(&app
                .create(&json!({"source": {"type": "raw_config", "source": "short#h"}}))
                .await),
            2
        );
        // 107-112
        for (src, msg) in [
            (
                "pungi_cfg#hash pungi2cfg_hash",
                "Only single source is allowed for \"raw_config\" source_type",
            ),
            (
                "pungi_cfg",
                "Source must be in \"source_name#commit_hash\" format for \"raw_config\" source_type",
            ),
            (
                "pungi_cfg#",
                "Source must be in \"source_name#commit_hash\" format",
            ),
            (
                "#hash",
                "Source must be in \"source_name#commit_hash\" format",
            ),
            ("#", "Source must be in \"source_name#commit_hash\" format"),
            (
                "nope#hash",
                "Source \"nope\" does not exist in server configuration.",
            ),
        ] {
            let m = app
                .post(&json!({"source": {"type": "raw_config", "source": src}}))
                .await
                .error(400);
            assert!(m.starts_with(msg), "{src}: {m}");
        }
    }
);

both_backends!(post_seconds_to_live_65_to_67, |app| {
    let ttl =
        |j: &serde_json::Value| (ts(&j["time_to_expire"]) - ts(&j["time_submitted"])).num_seconds();
    let tag = json!({"type": "tag", "source": "f26"});
    assert_eq!(
        ttl(&app
            .create(&json!({"source": tag, "seconds_to_live": 43200}))
            .await),
        43200
    );
    assert_eq!(
        ttl(&app
            .create(&json!({"source": tag, "seconds-to-live": 43200}))
            .await),
        43200
    );
    assert_eq!(
        ttl(&app
            .create(&json!({"source": tag, "seconds-to-live": "3600"}))
            .await),
        3600
    );
    assert_eq!(
        ttl(&app
            .create(&json!({"source": tag, "seconds_to_live": 7 * 86400}))
            .await),
        3 * 86400
    );
    assert_eq!(ttl(&app.create(&json!({"source": tag})).await), 86400);
    assert_eq!(
        ttl(&app
            .create(&json!({"source": tag, "seconds_to_live": 0}))
            .await),
        86400
    );
    let m = app
        .post(&json!({"source": tag, "seconds-to-live": "abc"}))
        .await
        .error(400);
    assert!(
        m.starts_with("Invalid seconds_to_live specified in request") && m.contains("\"abc\""),
        "{m}"
    );
    let m = app
        .post(&json!({"source": tag, "seconds_to_live": 1.5}))
        .await
        .error(400);
    assert!(
        m.starts_with("seconds_to_live should be an integer") && m.contains("1.5"),
        "{m}"
    );
    let m = app
        .post(&json!({"source": tag, "seconds_to_live": -10}))
        .await
        .error(400);
    assert!(m.contains("seconds_to_live") && m.contains("-10"), "{m}");
});

both_backends!(post_validation_errors, |app| {
    let cases: Vec<(serde_json::Value, &str, &[&str])> = vec![
        // 1.6.2 step 2, 212
        (json!({}), "No JSON POST data submitted", &[]),
        (json!([]), "No JSON POST data submitted", &[]),
        (json!(null), "No JSON POST data submitted", &[]),
        (
            json!([1]),
            "Invalid source configuration provided",
            &["[1]"],
        ),
        (
            json!({"label": "x"}),
            "Invalid source configuration provided",
            &["\"source\""],
        ),
        (
            json!({"source": "f26"}),
            "Invalid source configuration provided",
            &["\"source\""],
        ),
        (
            json!({"source": {"source": "f26"}}),
            "Missing type in source configuration, received:",
            &["f26"],
        ),
        // 47, 213
        (
            json!({"source": {"type": "unknown", "source": "x"}}),
            "Unknown source type \"unknown\"",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": ""}}),
            "No source provided for 1",
            &["source.source"],
        ),
        (
            json!({"source": {"type": "tag"}}),
            "No source provided for 1",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": 5}}),
            "source.source should be a string",
            &["5"],
        ),
        // 8.1: 2, 3, 5, 6, 8, 10, 11, 12
        (
            json!({"source": {"type": "tag", "source": {"a": "b"}}}),
            "Only 'source' key is allowed to contain dict.",
            &["\"source\""],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "foo": {"a": "b"}}),
            "Only 'source' key is allowed to contain dict.",
            &["\"foo\""],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "arches": [{"a": "b"}]}),
            "Only 'source' key is allowed to contain dict.",
            &["\"arches\""],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "arches": ["x86_64!"]}),
            "Only alphanumerical characters and ' -/_.:#+?$~^,' characters are allowed in ODCS input variables",
            &["\"arches\""],
        ),
        (
            // Control characters are refused while parsing, before any other check.
            json!({"source": {"type": "tag", "source": "f26"}, "arches": ["x86_64\n"]}),
            "\"arches[0]\" contains the control character U+000A",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "lookaside_repos": ["http://x/?a=b"]}),
            "Only alphanumerical characters",
            &["a=b"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f{26}"}}),
            "Only alphanumerical characters",
            &["f{26}"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "label": "it's"}),
            "Only alphanumerical characters",
            &["it's"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "foo": null}),
            "Only dict, list, str, unicode, int, float and bool types are allowed in ODCS input variables, but 'foo' has 'null' type",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26", "builds": "foo-1-1"}}),
            "builds should be a list",
            &["foo-1-1"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "compose_type": 1}),
            "compose_type should be a string",
            &["1"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26", "compose_type": 1}}),
            "compose_type should be a string",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26", "koji_event": "1"}}),
            "koji_event should be an integer",
            &["\"1\""],
        ),
        // 218
        (
            json!({"source": {"type": "tag", "source": "f26"}, "label": 5}),
            "label should be a string",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "target_dir": true}),
            "target_dir should be a string",
            &[],
        ),
        (
            json!({"source": {"type": 1, "source": "f26"}}),
            "type should be a string",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "label": null}),
            "label should be a string",
            &[],
        ),
        // 33, 35, 39, 48, 49, 211
        (
            json!({"source": {"type": "tag", "source": "f26"}, "multilib_method": ["foo", "devel"]}),
            "Unknown multilib method \"foo\"",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "target_dir": "foo"}),
            "Unknown \"target_dir\" \"foo\"",
            &[],
        ),
        (
            json!({"source": {"type": "module", "source": "x:y", "module_defaults_url": "git://x"}}),
            "The \"module_defaults_url\" and \"module_defaults_commit\" must be used together.",
            &[],
        ),
        (
            json!({"source": {"type": "module", "source": "testmodule:master x"}}),
            "Module definition must be in \"n:s\", \"n:s:v\" or \"n:s:v:c\" format, but got x",
            &[],
        ),
        (
            json!({"source": {"type": "module", "source": "testmodule:master platform:x"}}),
            "ODCS currently cannot create compose with base modules, but platform was requested.",
            &[],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "flags": ["bogus"]}),
            "Unknown flag \"bogus\"",
            &["flags"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "results": ["bogus"]}),
            "Unknown result \"bogus\"",
            &["results"],
        ),
        // Wrong types ODCS would mangle or crash on.
        (
            json!({"source": {"type": "tag", "source": "f26"}, "arches": "x86_64"}),
            "arches should be a list",
            &["x86_64"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "flags": "no_deps"}),
            "flags should be a list",
            &["no_deps"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26", "packages": [1, 2]}}),
            "source.packages should be a list of strings",
            &["item 0"],
        ),
        (
            json!({"source": {"type": "tag", "source": "f26"}, "respin_of": 3}),
            "respin_of should be a string",
            &[],
        ),
    ];
    for (body, prefix, contains) in cases {
        let m = app.post(&body).await.error(400);
        assert!(
            m.starts_with(prefix),
            "body {body}: got {m:?}, want prefix {prefix:?}"
        );
        for c in contains {
            assert!(m.contains(c), "body {body}: {m:?} should name {c:?}");
        }
    }
    assert_eq!(
        app.count_composes().await,
        0,
        "no row for a rejected request"
    );
    // 8.1: 1, 4, 7, 9 pass.
    app.create(&json!({"source": {"type": "tag", "source": "f26", "packages": ["gcc-g++", "weird=name"]}, "arches": ["x86_64"], "extra_int": 5, "extra_float": 1.5})).await;
});

both_backends!(
    post_body_errors_21_and_limits,
    |s| {
        s.server.max_body_bytes = 4096;
    },
    |app| {
        let m = app.post_raw(b"{").await.error(400);
        assert!(m.contains("Failed to decode JSON object"), "{m}");
        let m = app.post_raw(b"").await.error(400);
        assert!(m.contains("Failed to decode JSON object"), "{m}");
        let m = app
            .post_raw(b"{\"source\": {\"type\": \"tag\", \"source\": \"f\xff\"}}")
            .await
            .error(400);
        assert!(m.contains("UTF-8"), "{m}");
        let big = format!(
            "{{\"source\": {{\"type\": \"tag\", \"source\": \"{}\"}}}}",
            "a".repeat(5000)
        );
        let m = app.post_raw(big.as_bytes()).await.error(413);
        assert!(m.contains("4096"), "{m}");
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        app.post_raw(deep.as_bytes()).await.error(400);
        assert_eq!(app.count_composes().await, 0);
    }
);

// On PostgreSQL the state message is written by the same statement as the row, from a body
// rendered before the id exists (`db::pg_post`); on both backends it must be the compose as
// GET shows it, the id in every place it appears.
both_backends!(post_state_message_is_the_stored_compose, |app| {
    let bodies = [
        json!({"source": {"type": "tag", "source": "f26"}}),
        json!({"source": {"type": "tag", "source": "f26", "packages": ["ed", "1234567"]},
               "label": "RC-1.2", "flags": ["no_deps"], "arches": ["x86_64", "ppc64le"]}),
        json!({"source": {"type": "tag", "source": "f27"}, "seconds_to_live": 3600}),
    ];
    let mut ids = Vec::new();
    for b in &bodies {
        ids.push(app.create(b).await["id"].as_i64().unwrap());
    }
    let messages = app
        .with_db(|c| composed::db::composes::pending_messages(c, 100).unwrap())
        .await;
    assert_eq!(messages.len(), bodies.len());
    for (id, m) in ids.iter().zip(&messages) {
        assert_eq!(m.topic, "odcs.compose.state-changed");
        let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
        let mut shown = app.get(&format!("/api/1/composes/{id}")).await.json();
        // Messages leave out the Pungi configuration dump (as ODCS's do).
        shown.as_object_mut().unwrap().remove("pungi_config_dump");
        assert_eq!(body["event"], "state-changed");
        assert_eq!(body["compose"], shown, "message of compose {id}");
        assert!(m.body.contains(&format!("odcs-{id}/")), "{}", m.body);
    }
});
