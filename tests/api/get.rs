//! GET /api/1/composes/ and /api/1/composes/{id}: filters, order, pagination, CORS.

use serde_json::json;

use crate::both_backends;
#[allow(unused_imports)]
use crate::support::*;
use composed::domain::State;

/// The upstream fixture: compose 1 = module testmodule:master (owner unknown), compose 2 = tag
/// f26 (owner me), both waiting.
async fn seed_two(app: &TestApp) {
    app.create(&json!({"source": {"type": "module", "source": "testmodule:master"}}))
        .await;
    app.create(&json!({"source": {"type": "tag", "source": "f26"}}))
        .await;
    app.edit(2, |c| c.owner = "me".into()).await;
}

fn ids(r: &Resp) -> Vec<i64> {
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

both_backends!(get_detail_73_and_404_101, |app| {
    seed_two(&app).await;
    let r = app.get("/api/1/composes/1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    let j = r.json();
    assert_eq!(j["id"], 1);
    assert_eq!(j["source"], "testmodule:master");
    assert!(j.as_object().unwrap().contains_key("pungi_config_dump"));
    assert_eq!(j["pungi_config_dump"], json!(null));
    assert_eq!(j.as_object().unwrap().len(), 43);
    for path in [
        "/api/1/composes/999999",
        "/api/1/composes/99999999999999999999999",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.error(404), "No such compose found.");
        assert!(
            r.headers.get("access-control-allow-origin").is_none(),
            "no CORS on errors"
        );
    }
});

both_backends!(get_list_filters_74_to_79, |app| {
    seed_two(&app).await;
    let r = app.get("/api/1/composes/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert_eq!(ids(&r), vec![2, 1]);
    let r = app.get("/api/1/composes/?owner=me").await;
    let items = r.json()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["source"], "f26");
    assert!(
        !items[0]
            .as_object()
            .unwrap()
            .contains_key("pungi_config_dump")
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?state=2").await),
        Vec::<i64>::new()
    );
    assert_eq!(ids(&app.get("/api/1/composes/?state=0").await), vec![2, 1]);
    assert_eq!(
        ids(&app.get("/api/1/composes/?state=wait").await),
        vec![2, 1]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?source_type=2").await),
        vec![1]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?source_type=tag").await),
        vec![2]
    );
    assert_eq!(ids(&app.get("/api/1/composes/?source=f26").await), vec![2]);
    assert_eq!(
        ids(&app.get("/api/1/composes/?source=f2").await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?owner=&state=").await),
        vec![2, 1],
        "empty values are ignored"
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?compose_type=test&label=").await),
        vec![2, 1]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?unrelated=1").await),
        vec![2, 1]
    );
    app.edit(1, |c| {
        c.koji_task_id = Some(77);
        c.pungi_compose_id = Some("odcs-1-1-20261121.t.0".into());
        c.label = Some("Alpha-1.0".into());
    })
    .await;
    assert_eq!(
        ids(&app.get("/api/1/composes/?koji_task_id=77").await),
        vec![1]
    );
    assert_eq!(
        ids(&app
            .get("/api/1/composes/?pungi_compose_id=odcs-1-1-20261121.t.0")
            .await),
        vec![1]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?label=Alpha-1.0").await),
        vec![1]
    );
    app.set_state(2, State::Generating, Some("Compose thread started"))
        .await;
    assert_eq!(
        ids(&app.get("/api/1/composes/?state=1&owner=me").await),
        vec![2]
    );
    for (q, field) in [
        ("state=bogus", "state"),
        ("state=9", "state"),
        ("source_type=nope", "source_type"),
        ("koji_task_id=x", "koji_task_id"),
    ] {
        let m = app.get(&format!("/api/1/composes/?{q}")).await.error(400);
        assert!(m.contains(field), "{q}: {m}");
    }
});

both_backends!(get_list_order_80_to_83_214, |app| {
    seed_two(&app).await;
    assert_eq!(
        ids(&app.get("/api/1/composes/?order_by=id").await),
        vec![1, 2]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?order_by=-id").await),
        vec![2, 1]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?order_by=owner").await),
        vec![2, 1]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?order_by=-owner").await),
        vec![1, 2]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?order_by=source_type").await),
        vec![2, 1]
    );
    assert_eq!(
        ids(&app.get("/api/1/composes/?order_by=source_Type").await),
        vec![2, 1]
    );
    for key in [
        "koji_event",
        "state",
        "time_to_expire",
        "-time_submitted",
        "time_done",
        "time_removed",
    ] {
        assert_eq!(
            ids(&app.get(&format!("/api/1/composes/?order_by={key}")).await).len(),
            2,
            "{key}"
        );
    }
    let m = app.get("/api/1/composes/?order_by=foo").await.error(400);
    assert!(
        m.starts_with("An invalid order_by key was supplied")
            && m.contains("\"foo\"")
            && m.contains("time_removed"),
        "{m}"
    );
});

both_backends!(get_list_pagination_215, |app| {
    seed_two(&app).await;
    let meta = app.get("/api/1/composes/").await.json()["meta"].clone();
    let base = format!("{}/api/1/composes/", app.base);
    assert_eq!(
        meta,
        json!({
            "page": 1, "pages": 1, "per_page": 10, "total": 2, "prev": null, "next": null,
            "first": format!("{base}?page=1&per_page=10"), "last": format!("{base}?page=1&per_page=10"),
        })
    );
    let r = app
        .get("/api/1/composes/?per_page=1&owner=&state=0&_x=1&page=1")
        .await;
    let j = r.json();
    assert_eq!(ids(&r), vec![2]);
    assert_eq!(j["meta"]["pages"], 2);
    assert_eq!(
        j["meta"]["next"],
        format!("{base}?page=2&per_page=1&owner=&state=0")
    );
    assert_eq!(j["meta"]["prev"], json!(null));
    let j = app.get("/api/1/composes/?per_page=1&page=2").await.json();
    assert_eq!(j["items"][0]["id"], 1);
    assert_eq!(j["meta"]["prev"], format!("{base}?page=1&per_page=1"));
    assert_eq!(j["meta"]["next"], json!(null));
    // Beyond the end: empty page, no 404.
    let j = app.get("/api/1/composes/?page=5").await.json();
    assert_eq!(
        (
            j["items"].as_array().unwrap().len(),
            j["meta"]["page"].as_i64()
        ),
        (0, Some(5))
    );
    // Non-integers are a 400 naming the parameter (ODCS ignores them: docs/odcs-compat.md);
    // numbers keep ODCS's fallbacks: page < 1 → 1, per_page < 0 → 20, per_page 0 → nothing.
    let m = app
        .get("/api/1/composes/?page=x&per_page=y")
        .await
        .error(400);
    assert!(m.contains("for \"page\""), "{m}");
    let m = app.get("/api/1/composes/?per_page=y").await.error(400);
    assert!(m.contains("for \"per_page\""), "{m}");
    let j = app.get("/api/1/composes/?page=-3&per_page=-1").await.json();
    assert_eq!(
        (j["meta"]["page"].as_i64(), j["meta"]["per_page"].as_i64()),
        (Some(1), Some(20))
    );
    let j = app.get("/api/1/composes/?per_page=0").await.json();
    assert_eq!(
        (
            j["items"].as_array().unwrap().len(),
            j["meta"]["pages"].as_i64()
        ),
        (0, Some(0))
    );
    // `last` never names page 0 (ODCS does: docs/odcs-compat.md).
    assert_eq!(j["meta"]["last"], format!("{base}?page=1&per_page=0"));
    let j = app.get("/api/1/composes/?per_page=100000000").await.json();
    assert_eq!(j["meta"]["per_page"], app.settings.server.max_per_page);
    // Proxy headers shape the links.
    let j = app
        .get_with_headers(
            "/api/1/composes/",
            &[
                ("X-Forwarded-Host", "odcs.example.com"),
                ("X-Scheme", "https"),
                ("X-Script-Name", "/odcs"),
            ],
        )
        .await
        .json();
    assert_eq!(
        j["meta"]["first"],
        "https://odcs.example.com/odcs/api/1/composes/?page=1&per_page=10"
    );
    // A proxy may also forward the prefixed path: the prefix is stripped before routing (query
    // kept), as ODCS's middleware does; a path without the prefix is routed as it is.
    let proxy = [("X-Script-Name", "/odcs")];
    for path in [
        "/odcs/api/1/composes/?per_page=3",
        "/api/1/composes/?per_page=3",
    ] {
        let j = app.get_with_headers(path, &proxy).await.json();
        assert_eq!(j["meta"]["per_page"], 3, "{path}");
    }
    let r = app
        .get_with_headers("/odcs/api/1/about/", &[("X-Script-Name", "/odcs/")])
        .await;
    assert_eq!(r.status, 200);
    // Only a whole path segment is a prefix: /odcsx is not /odcs.
    let r = app.get_with_headers("/odcsx/api/1/about/", &proxy).await;
    assert_eq!(r.status, 404);
    // Without the header the prefixed path is unknown.
    assert_eq!(app.get("/odcs/api/1/about/").await.status, 404);
});
