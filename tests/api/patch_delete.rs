//! PATCH (renew/extend/regenerate) and DELETE (cancel/remove) per state, and the cleanup
//! round that turns deleted or expired composes into removed ones.

use chrono::Duration;
use serde_json::json;

use crate::both_backends;
#[allow(unused_imports)]
use crate::support::*;
use composed::domain::State;

both_backends!(patch_wait_and_unknown_88_89_96_97, |app| {
    let id = app.tag_compose("f26").await;
    assert_eq!(
        app.patch(id, None).await.error(404),
        format!("No compose with id {id} found")
    );
    assert_eq!(
        app.patch(id, Some(&json!({"seconds_to_live": 600})))
            .await
            .error(404),
        format!("No compose with id {id} found")
    );
    assert_eq!(
        app.patch(100, None).await.error(404),
        "No compose with id 100 found"
    );
    assert_eq!(
        app.patch(999, None).await.error(404),
        "No compose with id 999 found"
    );
    app.set_state(id, State::Generating, None).await;
    assert_eq!(
        app.patch(id, None).await.error(404),
        format!("No compose with id {id} found")
    );
});

both_backends!(patch_body_errors_94_95, |app| {
    let id = app.tag_compose("f26").await;
    app.set_state(id, State::Generating, None).await;
    app.set_state(id, State::Done, Some("Compose is generated successfully"))
        .await;
    let m = app
        .patch(id, Some(&json!({"seconds_to_live": "600s"})))
        .await
        .error(400);
    assert!(m.contains("seconds_to_live should be an integer"), "{m}");
    let r = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/1/composes/{id}"),
            Some(b"abc".to_vec()),
        )
        .await;
    assert!(r.error(400).contains("Failed to decode JSON object"));
    let r = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/1/composes/{id}"),
            Some(b"null".to_vec()),
        )
        .await;
    assert!(r.error(400).contains("JSON object"));
    let m = app
        .patch(id, Some(&json!({"sigkeys": "abc"})))
        .await
        .error(400);
    assert!(m.starts_with("sigkeys should be a list"), "{m}");
    let m = app
        .patch(id, Some(&json!({"source": {"builds": "x-1-1"}})))
        .await
        .error(400);
    assert!(m.starts_with("builds should be a list"), "{m}");
    assert_eq!(app.count_composes().await, 1);
});

both_backends!(patch_removed_and_failed_copy_84_87_90, |app| {
    let id = app.create(&json!({"source": {"type": "module", "source": "testmodule:master"}, "label": "Alpha-1.0"})).await["id"].as_i64().unwrap();
    app.set_state(id, State::Generating, None).await;
    app.set_state(id, State::Done, Some("Compose is generated successfully"))
        .await;
    app.set_state(id, State::Removed, Some("Compose is expired."))
        .await;
    app.edit(id, |c| {
        c.reused_id = Some(1);
        c.koji_event = Some(123);
    })
    .await;
    let r = app.patch(id, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let j = r.json();
    assert_eq!(
        (
            j["id"].as_i64(),
            j["state_name"].as_str(),
            j["source"].as_str()
        ),
        (Some(2), Some("wait"), Some("testmodule:master"))
    );
    assert_eq!(j["time_removed"], json!(null));
    assert_eq!(j["koji_event"], 123);
    assert_eq!(j["label"], "Alpha-1.0");
    assert_eq!(app.compose(2).await.reused_id, None);
    // Failed → copy with new sigkeys.
    let f = app.tag_compose("f27").await;
    app.set_state(
        f,
        State::Failed,
        Some("Error while generating compose: boom"),
    )
    .await;
    let j = app
        .patch(f, Some(&json!({"sigkeys": ["123", "456"]})))
        .await
        .json();
    assert_eq!(
        (
            j["state_name"].as_str(),
            j["source"].as_str(),
            j["sigkeys"].as_str()
        ),
        (Some("wait"), Some("f27"), Some("123 456"))
    );
    assert_ne!(j["id"].as_i64(), Some(f));
});

both_backends!(patch_done_copy_91_92_93, |app| {
    let id = app.create(&json!({"source": {"type": "tag", "source": "f26", "sigkeys": ["012", "345"], "koji_event": 123}})).await["id"].as_i64().unwrap();
    app.set_state(id, State::Generating, None).await;
    app.set_state(id, State::Done, Some("Compose is generated successfully"))
        .await;
    app.edit(id, |c| {
        c.pungi_config_dump = Some("some data".into());
        c.pungi_compose_id = Some("Fedora-1-1".into());
    })
    .await;
    let j = app
        .patch(id, Some(&json!({"sigkeys": ["123", "456"]})))
        .await
        .json();
    assert_eq!(
        (
            j["id"].as_i64(),
            j["state_name"].as_str(),
            j["sigkeys"].as_str()
        ),
        (Some(id + 1), Some("wait"), Some("123 456"))
    );
    let j = app
        .patch(id, Some(&json!({"label": "new-label"})))
        .await
        .json();
    assert_eq!(
        (j["id"].as_i64(), j["label"].as_str()),
        (Some(id + 2), Some("new-label"))
    );
    let r = app.patch(id, Some(&json!({"source": {"modules": ["foo:stream:1:1", "bar:stream:1:1"], "builds": ["foo-1-1", "bar-1-1"], "unknown_arg": "x"}}))).await;
    let j = r.json();
    let new_id = j["id"].as_i64().unwrap();
    assert_eq!(new_id, id + 3);
    assert_eq!(j["modules"], "foo:stream:1:1 bar:stream:1:1");
    assert_eq!(j["builds"], "foo-1-1 bar-1-1");
    assert_eq!(j["respin_of"], "Fedora-1-1");
    assert_eq!(j["koji_event"], 123);
    assert_eq!(j["time_removed"], json!(null));
    assert_eq!(j["pungi_compose_id"], json!(null));
    let detail = app.get(&format!("/api/1/composes/{new_id}")).await.json();
    assert_eq!(detail["pungi_config_dump"], "some data");
    assert_eq!(app.compose(new_id).await.reused_id, None);
});

both_backends!(patch_extend_98_217, |app| {
    // 3 ← 2 ← 1: compose 1 reuses 2, compose 2 reuses 3 (seeded links).
    for _ in 0..3 {
        let id = app.tag_compose("f26").await;
        app.set_state(id, State::Generating, None).await;
        app.set_state(id, State::Done, Some("Compose is generated successfully"))
            .await;
    }
    let past = composed::db::now() - Duration::seconds(10);
    app.edit(1, move |c| {
        c.reused_id = Some(2);
        c.time_to_expire = past;
    })
    .await;
    app.edit(2, move |c| {
        c.reused_id = Some(3);
        c.time_to_expire = past;
    })
    .await;
    app.edit(3, move |c| c.time_to_expire = past).await;
    let before = composed::db::now();
    let r = app.patch(2, Some(&json!({"seconds_to_live": 10800}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let j = r.json();
    assert_eq!(j["id"], 2, "extend returns the same compose");
    assert_eq!(app.count_composes().await, 3, "no copy");
    let tte = ts(&j["time_to_expire"]);
    assert!(
        (tte - before - Duration::hours(3)).num_seconds().abs() <= 2,
        "{tte} vs {before}"
    );
    for id in [1, 3] {
        let other = app.compose(id).await.time_to_expire;
        assert!(
            (other - before - Duration::hours(3)).num_seconds().abs() <= 2,
            "compose {id}: {other}"
        );
    }
    // A smaller lifetime never shortens the expiry.
    let j = app
        .patch(2, Some(&json!({"seconds_to_live": 60})))
        .await
        .json();
    assert_eq!(ts(&j["time_to_expire"]), tte);
    // The legacy key as a string, as the odcs CLI sends it.
    let j = app
        .patch(2, Some(&json!({"seconds-to-live": "86400"})))
        .await
        .json();
    assert!(ts(&j["time_to_expire"]) > tte);
});

both_backends!(delete_per_state_99_to_101, |app| {
    assert_eq!(
        app.delete(999999).await.error(404),
        "No such compose found."
    );
    // wait → canceled (failed, TTL re-based, job cancelled, message written).
    let w = app.tag_compose("f26").await;
    let r = app.delete(w).await;
    assert_eq!(r.status, 202);
    assert_eq!(
        r.json(),
        json!({"status": 202, "message": format!("Compose (id={w}) has been canceled")})
    );
    let c = app.compose(w).await;
    assert_eq!(
        (
            c.state,
            c.state_reason.as_deref(),
            c.removed_by.as_deref(),
            c.time_done
        ),
        (4, Some("Canceled by anonymous"), None, None)
    );
    assert_eq!(
        app.outbox_states().await,
        vec![(w, "wait".into()), (w, "failed".into())]
    );
    // generating → canceled too (composed's addition; its worker stops at the next heartbeat).
    let g = app.tag_compose("f26").await;
    app.set_state(g, State::Generating, None).await;
    let r = app.delete(g).await;
    assert_eq!(
        r.json(),
        json!({"status": 202, "message": format!("Compose (id={g}) has been canceled")})
    );
    let c = app.compose(g).await;
    assert_eq!(
        (c.state, c.state_reason.as_deref()),
        (4, Some("Canceled by anonymous"))
    );
    // removed → 400, ODCS's words first (clients match on the prefix), then the state.
    let rm = app.tag_compose("f26").await;
    app.set_state(rm, State::Removed, None).await;
    assert_eq!(
        app.delete(rm).await.error(400),
        format!(
            "Compose (id={rm}) can not be removed, its state need to be in ['done', 'failed']. It is removed."
        )
    );
    // done → accepted, expires now, removed_by recorded; the cleanup round removes it (219).
    let d = app.tag_compose("f26").await;
    app.set_state(d, State::Generating, None).await;
    app.set_state(d, State::Done, Some("Compose is generated successfully"))
        .await;
    let dir = app.settings.composes.target_dir.join(format!("odcs-{d}"));
    std::fs::create_dir_all(dir.join("compose/Temporary")).unwrap();
    let r = app.delete(d).await;
    assert_eq!(r.status, 202);
    assert!(r.headers.get("access-control-allow-origin").is_none());
    assert_eq!(
        r.json()["message"],
        format!(
            "The delete request for compose (id={d}) has been accepted and will be processed by backend later."
        )
    );
    let c = app.compose(d).await;
    assert_eq!((c.state, c.removed_by.as_deref()), (2, Some("anonymous")));
    assert!((composed::db::now() - c.time_to_expire).num_seconds().abs() <= 2);
    let pool = app.pool.clone();
    let settings = app.settings.clone();
    let report = tokio::task::spawn_blocking(move || {
        composed::cleanup::run_once(&pool, &settings, composed::db::now() + Duration::seconds(1))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.removed.contains(&d), "{report:?}");
    assert!(
        !report.removed.contains(&w),
        "the canceled compose is not expired yet: {report:?}"
    );
    let j = app.get(&format!("/api/1/composes/{d}")).await.json();
    assert_eq!(
        (j["state_name"].as_str(), j["removed_by"].as_str()),
        (Some("removed"), Some("anonymous"))
    );
    assert_eq!(
        j["state_reason"],
        "Compose is generated successfully\nRemoved by anonymous."
    );
    assert!(j["time_removed"].is_string());
    assert!(!dir.exists(), "compose directory deleted");
    // failed composes are deletable too.
    let f = app.tag_compose("f26").await;
    app.set_state(f, State::Failed, Some("x")).await;
    assert_eq!(app.delete(f).await.status, 202);
});

both_backends!(cleanup_expiry_and_stuck, |app| {
    let fresh = app.tag_compose("f26").await;
    app.set_state(fresh, State::Generating, None).await;
    app.set_state(fresh, State::Done, Some("Generated successfully."))
        .await;
    let old = app.tag_compose("f26").await;
    app.set_state(old, State::Generating, None).await;
    app.set_state(old, State::Done, Some("Generated successfully."))
        .await;
    let reusing = app.tag_compose("f26").await;
    app.set_state(reusing, State::Generating, None).await;
    app.set_state(reusing, State::Done, Some("Generated successfully."))
        .await;
    app.edit(reusing, move |c| c.reused_id = Some(old)).await;
    let past = composed::db::now() - Duration::seconds(5);
    app.edit(old, move |c| c.time_to_expire = past).await;
    let waiting = app.tag_compose("f26").await;
    let long_ago = composed::db::now() - Duration::days(4);
    app.edit(waiting, move |c| c.time_submitted = long_ago)
        .await;
    let old_dir = app.settings.composes.target_dir.join(format!("odcs-{old}"));
    std::fs::create_dir_all(&old_dir).unwrap();
    let (pool, settings) = (app.pool.clone(), app.settings.clone());
    let report = tokio::task::spawn_blocking(move || {
        composed::cleanup::run_once(&pool, &settings, composed::db::now())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.removed, vec![old]);
    assert_eq!(report.failed_stuck, vec![waiting]);
    assert!(
        old_dir.exists(),
        "data kept while compose {reusing} reuses it"
    );
    let c = app.compose(old).await;
    assert_eq!(
        (c.state, c.state_reason.as_deref()),
        (3, Some("Generated successfully.\nCompose is expired."))
    );
    assert_eq!(app.compose(fresh).await.state, 2);
    let c = app.compose(waiting).await;
    assert_eq!(
        (c.state, c.state_reason.as_deref()),
        (
            4,
            Some("Compose stuck in 'wait' state for longer than 3 days.")
        )
    );
});

both_backends!(transition_cascade_and_ttl_rebase, |app| {
    let a = app.tag_compose("f26").await;
    let b = app.tag_compose("f26").await;
    app.set_state(a, State::Generating, None).await;
    app.set_state(b, State::Generating, None).await;
    app.edit(b, move |c| c.reused_id = Some(a)).await;
    let before = app.compose(a).await;
    let done = app
        .set_state(a, State::Done, Some("Compose is generated successfully"))
        .await;
    assert_eq!(
        done.time_to_expire - done.time_done.unwrap(),
        before.time_to_expire - before.time_submitted
    );
    let cb = app.compose(b).await;
    assert_eq!(
        (cb.state, cb.state_reason.as_deref(), cb.time_done),
        (2, Some("Compose is generated successfully"), done.time_done)
    );
    let j = app.get(&format!("/api/1/composes/{b}")).await.json();
    assert_eq!(j["toplevel_url"], format!("http://localhost/odcs/odcs-{a}"));
    assert_eq!(
        j["result_repofile"],
        format!("http://localhost/odcs/odcs-{a}/compose/Temporary/odcs-{a}.repo")
    );
    let states: Vec<String> = app
        .outbox_states()
        .await
        .into_iter()
        .filter(|(id, _)| *id == b)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states, vec!["wait", "generating", "done"]);
});
