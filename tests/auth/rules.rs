//! ODCS §5.4 authorization rules through the `proxy` backend (identity headers from a trusted
//! front proxy), with the fixture configuration of the upstream tests (contract §8).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::{Db, TestApp, spawn_app};
use composed::config::Settings;
use composed::domain::State;

fn entry(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

fn fixture(s: &mut Settings) {
    s.auth.backend = "proxy".into();
    s.auth.admins.groups = vec!["admin".into()];
    s.auth.admins.users = vec!["root".into()];
    let g = &mut s.auth.allowed_clients.groups;
    g.insert("composer".into(), entry(&[]));
    g.insert("dev2".into(), entry(&[("source_types", &["module"])]));
    g.insert("dev3".into(), entry(&[("source_types", &["raw_config"])]));
    let u = &mut s.auth.allowed_clients.users;
    u.insert(
        "dev".into(),
        entry(&[("arches", &["ppc64", "s390", "x86_64"])]),
    );
    u.insert(
        "dev2".into(),
        entry(&[
            ("source_types", &["module", "raw_config"]),
            ("compose_types", &["test", "nightly"]),
        ]),
    );
    u.insert(
        "dev3".into(),
        entry(&[
            ("source_types", &["tag"]),
            ("target_dirs", &["releng-private"]),
        ]),
    );
    u.insert(
        "dev4".into(),
        entry(&[
            ("source_types", &["raw_config"]),
            ("raw_config_keys", &["pungi_cfg2"]),
        ]),
    );
    u.insert(
        "pinned".into(),
        entry(&[
            ("sources", &["f26", "f27"]),
            ("results", &["repository"]),
            ("flags", &["no_flags", "no_deps"]),
        ]),
    );
    u.insert("noflags".into(), entry(&[("flags", &["no_deps"])]));
    u.insert("empty".into(), entry(&[("source_types", &[])]));
    s.composes
        .extra_target_dirs
        .insert("releng-private".into(), "/tmp/private".into());
    for name in ["pungi_cfg", "pungi_cfg2"] {
        let mut cfg = serde_json::Map::new();
        cfg.insert("url".into(), json!("https://pagure.io/pungi-fedora.git"));
        cfg.insert("config_filename".into(), json!("fedora.conf"));
        s.composes.raw_config_urls.insert(name.into(), cfg);
    }
}

async fn as_user(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    user: &str,
    groups: &[&str],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("X-Remote-User", user)
        .header("X-Remote-Groups", groups.join(","));
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, user: &str, groups: &[&str], body: Value) -> (u16, Value) {
    as_user(
        app,
        reqwest::Method::POST,
        "/api/1/composes/",
        user,
        groups,
        Some(&body),
    )
    .await
}

fn msg(r: &(u16, Value)) -> String {
    r.1["message"].as_str().unwrap_or_default().to_string()
}

macro_rules! backends {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            use super::*;
            async fn run(db: Db) {
                let Some($app) = spawn_app(db, fixture).await else {
                    return;
                };
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Db::Postgres).await
            }
        }
    };
}

backends!(post_roles_and_attributes, |app| {
    let module = json!({"source": {"type": "module", "source": "testmodule:master"}});
    let tag = json!({"source": {"type": "tag", "source": "f26"}});
    // 22: dev (user entry: arches only) → module compose with owner dev.
    let r = post(&app, "dev", &[], module.clone()).await;
    assert_eq!((r.0, r.1["owner"].as_str()), (200, Some("dev")), "{}", r.1);
    // 30: dev may use ppc64 and s390.
    let r = post(
        &app,
        "dev",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "arches": ["ppc64", "s390"]}),
    )
    .await;
    assert_eq!((r.0, r.1["arches"].as_str()), (200, Some("ppc64 s390")));
    let r = post(
        &app,
        "dev",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "arches": ["aarch64"]}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev not allowed to operate with compose with arches=aarch64.".into()
        )
    );
    // An explicit empty list is checked as one empty item (ODCS quirk).
    let r = post(
        &app,
        "dev",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "arches": []}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev not allowed to operate with compose with arches=.".into()
        )
    );
    // 36: extra target dirs need an explicit grant.
    let r = post(
        &app,
        "dev",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "target_dir": "releng-private"}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev not allowed to operate with compose with target_dirs=releng-private.".into()
        )
    );
    // 37: dev3 has it.
    let r = post(
        &app,
        "dev3",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "target_dir": "releng-private"}),
    )
    .await;
    assert_eq!(
        (r.0, r.1["target_dir"].as_str(), r.1["result_repo"].as_str()),
        (200, Some("releng-private"), Some(""))
    );
    // 43: default source types are tag, module, build.
    let r = post(
        &app,
        "dev",
        &[],
        json!({"source": {"type": "repo", "source": "/srv/repo"}}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev not allowed to operate with compose with source_types=repo.".into()
        )
    );
    // 44: compose_types of dev2.
    let raw = |key: &str, ct: &str| json!({"source": {"type": "raw_config", "source": format!("{key}#hash")}, "compose_type": ct});
    let r = post(&app, "dev2", &[], raw("pungi_cfg", "production")).await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev2 not allowed to operate with compose with compose_types=production.".into()
        )
    );
    // 45, 46: raw_config_keys of dev4.
    let r = post(&app, "dev4", &[], raw("pungi_cfg", "production")).await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev4 not allowed to operate with compose with raw_config_keys=pungi_cfg.".into()
        )
    );
    let r = post(&app, "dev4", &[], raw("pungi_cfg2", "production")).await;
    assert_eq!(
        (r.0, r.1["source"].as_str()),
        (200, Some("pungi_cfg2#hash"))
    );
    // 50, 51: dev2's user entry allows module only (and raw_config).
    assert_eq!(post(&app, "dev2", &[], module.clone()).await.0, 200);
    let r = post(&app, "dev2", &[], tag.clone()).await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev2 not allowed to operate with compose with source_types=tag.".into()
        )
    );
    // 52, 53: a user without an entry gets the rules of its groups.
    assert_eq!(
        post(&app, "unknown", &["dev2", "x"], module.clone())
            .await
            .0,
        200
    );
    let r = post(&app, "unknown", &["dev2", "x"], tag.clone()).await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User unknown not allowed to operate with compose with source_types=tag.".into()
        )
    );
    // 60: not an allowed client.
    let r = post(&app, "qa", &[], module.clone()).await;
    assert_eq!(
        (r.0, msg(&r)),
        (403, "User qa is not in role allowed_clients.".into())
    );
    // 61: an empty group entry means the defaults.
    let r = post(&app, "another_user", &["composer"], module.clone()).await;
    assert_eq!((r.0, r.1["state_name"].as_str()), (200, Some("wait")));
    // 62, 63: any one applicable group suffices; identical sentences are de-duplicated.
    assert_eq!(
        post(&app, "another_user", &["dev3", "dev2"], module.clone())
            .await
            .0,
        200
    );
    let r = post(&app, "another_user", &["dev3", "dev2"], tag.clone()).await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User another_user not allowed to operate with compose with source_types=tag.".into()
        )
    );
    // 64: a user entry hides the user's group entries.
    let r = post(&app, "dev3", &["dev2"], module.clone()).await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev3 not allowed to operate with compose with source_types=module.".into()
        )
    );
    // Several failing attributes → one sentence each, in check order.
    let r = post(
        &app,
        "dev2",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "compose_type": "production"}),
    )
    .await;
    assert_eq!(
        msg(&r),
        "User dev2 not allowed to operate with compose with source_types=tag. User dev2 not allowed to operate with compose with compose_types=production."
    );
    // Admins still need the allowed_clients role (root has no entry)...
    let r = post(&app, "root", &[], module.clone()).await;
    assert_eq!(
        (r.0, msg(&r)),
        (403, "User root is not in role allowed_clients.".into())
    );
    // ...and skip the attribute checks once they have it.
    let r = post(
        &app,
        "boss",
        &["admin", "composer"],
        json!({"source": {"type": "repo", "source": "/srv/r"}, "arches": ["s390x"]}),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    // Validation happens before the permission check (a 400 wins over a 403).
    let r = post(
        &app,
        "qa2",
        &["composer"],
        json!({"source": {"type": "tag", "source": ""}}),
    )
    .await;
    assert_eq!(r.0, 400);
    // A custom flags list must contain no_flags.
    let r = post(
        &app,
        "dev",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "flags": ["no_deps"]}),
    )
    .await;
    assert_eq!(r.0, 200);
});

backends!(sources_results_flags_lists, |app| {
    let ok = post(
        &app,
        "pinned",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "flags": ["no_deps"]}),
    )
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    let r = post(
        &app,
        "pinned",
        &[],
        json!({"source": {"type": "tag", "source": "f26 f28"}}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User pinned not allowed to operate with compose with sources=f28.".into()
        )
    );
    let r = post(
        &app,
        "pinned",
        &[],
        json!({"source": {"type": "tag", "source": "f27"}, "results": ["iso"]}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User pinned not allowed to operate with compose with results=iso.".into()
        )
    );
    let r = post(
        &app,
        "pinned",
        &[],
        json!({"source": {"type": "tag", "source": "f27"}, "flags": ["check_deps"]}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User pinned not allowed to operate with compose with flags=check_deps.".into()
        )
    );
    // A flags list without no_flags refuses every request (ODCS quirk: no_flags is always checked).
    let r = post(
        &app,
        "noflags",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}, "flags": ["no_deps"]}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User noflags not allowed to operate with compose with flags=no_flags.".into()
        )
    );
    // An empty list allows nothing; [""] allows anything (the default sources list).
    let r = post(
        &app,
        "empty",
        &[],
        json!({"source": {"type": "tag", "source": "f26"}}),
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User empty not allowed to operate with compose with source_types=tag.".into()
        )
    );
    assert_eq!(
        post(
            &app,
            "dev",
            &[],
            json!({"source": {"type": "tag", "source": "anything-at-all"}})
        )
        .await
        .0,
        200
    );
});

backends!(patch_uses_the_old_compose, |app| {
    // 85, 86: removed raw_config composes renewed by dev4.
    for key in ["pungi_cfg", "pungi_cfg2"] {
        let r = post(
            &app,
            "boss",
            &["admin", "composer"],
            json!({"source": {"type": "raw_config", "source": format!("{key}#hash")}}),
        )
        .await;
        assert_eq!(r.0, 200, "{}", r.1);
        let id = r.1["id"].as_i64().unwrap();
        app.set_state(id, State::Removed, Some("Compose is expired."))
            .await;
    }
    let r = as_user(
        &app,
        reqwest::Method::PATCH,
        "/api/1/composes/1",
        "dev4",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            "User dev4 not allowed to operate with compose with raw_config_keys=pungi_cfg.".into()
        )
    );
    let r = as_user(
        &app,
        reqwest::Method::PATCH,
        "/api/1/composes/2",
        "dev4",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (
            r.0,
            r.1["id"].as_i64(),
            r.1["state_name"].as_str(),
            r.1["owner"].as_str()
        ),
        (200, Some(3), Some("wait"), Some("dev4"))
    );
    // No ownership check on renew: any allowed client may renew any compose, but must be one.
    let r = as_user(
        &app,
        reqwest::Method::PATCH,
        "/api/1/composes/2",
        "qa",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (403, "User qa is not in role allowed_clients.".into())
    );
});

backends!(delete_admins_owners_99_to_106, |app| {
    let module = json!({"source": {"type": "module", "source": "testmodule:master"}});
    let done = |id: i64| {
        let app = &app;
        async move {
            app.set_state(id, State::Generating, None).await;
            app.set_state(id, State::Done, Some("Compose is generated successfully"))
                .await;
        }
    };
    let id = post(&app, "dev2", &[], module.clone()).await.1["id"]
        .as_i64()
        .unwrap();
    // 105: someone else cannot cancel a waiting compose.
    let r = as_user(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/1/composes/{id}"),
        "dev",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (
            403,
            format!("Compose (id={id}) can not be canceled, it's owned by someone else.")
        )
    );
    // 106: the owner can.
    let r = as_user(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/1/composes/{id}"),
        "dev2",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (r.0, r.1.clone()),
        (
            202,
            json!({"status": 202, "message": format!("Compose (id={id}) has been canceled")})
        )
    );
    assert_eq!(
        app.compose(id).await.state_reason.as_deref(),
        Some("Canceled by dev2")
    );
    // An admin can cancel anybody's.
    let id = post(&app, "dev2", &[], module.clone()).await.1["id"]
        .as_i64()
        .unwrap();
    let r = as_user(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/1/composes/{id}"),
        "another_admin",
        &["admin"],
        None,
    )
    .await;
    assert_eq!(r.0, 202);
    // 102: non-admins cannot delete a done or failed compose, even their own.
    let id = post(&app, "dev", &[], module.clone()).await.1["id"]
        .as_i64()
        .unwrap();
    done(id).await;
    let r = as_user(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/1/composes/{id}"),
        "dev",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (r.0, msg(&r)),
        (403, "User dev is not in role admins.".into())
    );
    // 99: admin root → accepted, removed_by root.
    let r = as_user(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/1/composes/{id}"),
        "root",
        &[],
        None,
    )
    .await;
    assert_eq!(r.0, 202);
    assert_eq!(app.compose(id).await.removed_by.as_deref(), Some("root"));
    // 103: an admin by group.
    let id = post(&app, "dev", &[], module.clone()).await.1["id"]
        .as_i64()
        .unwrap();
    done(id).await;
    let r = as_user(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/1/composes/{id}"),
        "another_admin",
        &["admin"],
        None,
    )
    .await;
    assert_eq!(r.0, 202);
    // 100 (divergence, docs/odcs-compat.md): a generating compose is canceled like a waiting
    // one — not by someone else's user, but by an admin.
    let id = post(&app, "dev", &[], module.clone()).await.1["id"]
        .as_i64()
        .unwrap();
    app.set_state(id, State::Generating, None).await;
    let path = format!("/api/1/composes/{id}");
    let r = as_user(&app, reqwest::Method::DELETE, &path, "dev2", &[], None).await;
    assert_eq!(r.0, 403);
    assert_eq!(
        msg(&r),
        format!("Compose (id={id}) can not be canceled, it's owned by someone else.")
    );
    let r = as_user(&app, reqwest::Method::DELETE, &path, "root", &[], None).await;
    assert_eq!(r.0, 202);
    let c = app.compose(id).await;
    assert_eq!(
        (c.state, c.state_reason.as_deref()),
        (State::Failed.code(), Some("Canceled by root"))
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_headers_need_a_trusted_peer_and_a_user() {
    let app = spawn_app(Db::Sqlite, |s| {
        fixture(s);
        s.auth.proxy.trusted_proxies = vec!["10.0.0.0/8".into()];
    })
    .await
    .unwrap();
    let r = post(
        &app,
        "root",
        &["admin", "composer"],
        json!({"source": {"type": "tag", "source": "f26"}}),
    )
    .await;
    assert_eq!(r.0, 401);
    assert!(msg(&r).contains("127.0.0.1 is not one"), "{}", msg(&r));
    let app = spawn_app(Db::Sqlite, fixture).await.unwrap();
    let r = app
        .post(&json!({"source": {"type": "tag", "source": "f26"}}))
        .await;
    assert_eq!(
        r.error(401),
        "REMOTE_USER is not present in request (header X-Remote-User)."
    );
    // GET needs no identity.
    assert_eq!(app.get("/api/1/composes/").await.status, 200);
}
