//! The `pungi_compose` source (contract §3.7): a compose made from the `rpms.json` of
//! another compose holds the same binary NEVRA set, and says what it took.

use super::*;

/// The binary NEVRAs of a compose's `rpms.json` (every arch, sources left out).
fn binary_nevras(app: &TestApp, id: i64) -> Vec<String> {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(tree(app, id).join("compose/metadata/rpms.json")).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    for srpms in doc["payload"]["rpms"]["Temporary"]
        .as_object()
        .unwrap()
        .values()
    {
        for rpms in srpms.as_object().unwrap().values() {
            for (nevra, data) in rpms.as_object().unwrap() {
                if data["category"] != "source" {
                    out.push(nevra.clone());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pungi_compose_from_rpms_json_holds_the_same_binary_rpms() {
    let e = env().await;
    let a = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools", "libacme-devel"],
                          "sigkeys": ["4212dc1d", ""]}}),
    )
    .await;
    assert_eq!(a["state_name"], "done", "{a}");
    let aid = a["id"].as_i64().unwrap();
    let url = format!("{}/composes/odcs-{aid}/compose/Temporary/", e.app.base);
    let b = compose(
        &e.app,
        json!({"source": {"type": "pungi_compose", "source": url}}),
    )
    .await;
    assert_eq!(b["state_name"], "done", "{b}");
    let bid = b["id"].as_i64().unwrap();
    let want = binary_nevras(&e.app, aid);
    assert!(want.len() >= 4, "{want:?}");
    assert_eq!(binary_nevras(&e.app, bid), want);
    // What it took from rpms.json, stored on the compose.
    assert_eq!(b["arches"], "x86_64");
    assert_eq!(
        b["builds"],
        "acme-beta-1.0-1.fc40 acme-data-2.0-1.fc40 acme-tools-1.0-1.fc40 libacme-1.1-1.fc40"
    );
    assert_eq!(
        b["sigkeys"], "4212dc1d ",
        "the key, and unsigned as last resort: {b}"
    );
    let packages = b["packages"].as_str().unwrap();
    for p in ["acme-tools", "libacme", "libacme-devel", "acme-data"] {
        assert!(packages.split(' ').any(|x| x == p), "{packages}");
    }

    // A variant the compose does not have: ODCS's message.
    let url = format!("{}/composes/odcs-{aid}/compose/Server/", e.app.base);
    let c = compose(
        &e.app,
        json!({"source": {"type": "pungi_compose", "source": url}}),
    )
    .await;
    assert_eq!(c["state_name"], "failed", "{c}");
    assert!(
        c["state_reason"].as_str().unwrap().contains(&format!(
            "/composes/odcs-{aid}/compose/metadata/rpms.json does not contain payload -> rpms -> Server section"
        )),
        "{c}"
    );
}
