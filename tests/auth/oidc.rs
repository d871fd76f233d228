//! Bearer tokens.

use std::process::Command;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{Db, TestApp, spawn_app, venv_bin};

const ISS: &str = "https://id.example.com/openidc/";
const NS: &str = "https://pagure.io/odcs/";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/auth/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A JWKS document with the public keys named.
fn jwks(kids: &[&str]) -> String {
    let all: Value = serde_json::from_str(&fixture("jwks-keys.json")).unwrap();
    json!({"keys": kids.iter().map(|k| all[*k].clone()).collect::<Vec<_>>()}).to_string()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(user: &str, scopes: &str) -> Value {
    json!({"sub": user, "iss": ISS, "aud": "composed", "exp": now() + 3600, "nbf": now() - 5, "iat": now(),
           "scope": scopes, "groups": ["composer"]})
}

fn all_scopes() -> String {
    format!("openid {NS}new-compose {NS}renew-compose {NS}delete-compose")
}

/// Signs `claims` with the fixture key `key` (rsa1, rsa2, ec1), header kid `kid`.
fn sign(alg: Algorithm, key: &str, kid: Option<&str>, claims: &Value) -> String {
    let pem = fixture(&format!("{key}.pem"));
    let enc = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    };
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&h, claims, &enc).unwrap()
}

fn b64(v: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

async fn oidc_app(
    jwks_path: &std::path::Path,
    configure: impl FnOnce(&mut composed::config::Settings),
) -> TestApp {
    let path = jwks_path.to_string_lossy().into_owned();
    spawn_app(Db::Sqlite, move |s| {
        s.auth.backend = "oidc".into();
        s.auth.oidc.jwks_file = path;
        s.auth.oidc.issuer = ISS.into();
        s.auth.oidc.audiences = vec!["composed".into()];
        s.auth.oidc.required_scopes = vec!["openid".into()];
        s.auth.oidc.leeway_secs = 5;
        s.auth
            .allowed_clients
            .groups
            .insert("composer".into(), Default::default());
        s.auth.admins.users = vec!["root".into()];
        configure(s);
    })
    .await
    .unwrap()
}

async fn post_with(app: &TestApp, token: Option<&str>) -> (u16, Value) {
    let mut rb = app
        .client
        .post(app.url("/api/1/composes/"))
        .json(&json!({"source": {"type": "tag", "source": "f26"}}));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.unwrap();
    if r.status().as_u16() == 401 {
        // RFC 6750 §3 (issue 18, defect 9): a 401 names the scheme.
        assert_eq!(
            r.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"composed\""),
            "401 without WWW-Authenticate"
        );
    }
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A token with `claims`, signed by the trusted key `rsa1`, is refused with 401 naming `needle`.
async fn assert_rsa1_token_denied(app: &TestApp, claims: &Value, needle: &str) {
    let token = sign(Algorithm::RS256, "rsa1", Some("rsa1"), claims);
    assert_denied(post_with(app, Some(&token)).await, 401, needle);
}

fn assert_denied(got: (u16, Value), status: u16, needle: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["status"], status);
    let m = got.1["message"].as_str().unwrap();
    assert!(m.contains(needle), "{m:?} should contain {needle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_accepted_and_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(&jwks_path, jwks(&["rsa1", "ec1"])).unwrap();
    let app = oidc_app(&jwks_path, |_| {}).await;

    // Valid RS256, ES256 → 200 and owner set.
    let (st, body) = post_with(
        &app,
        Some(&sign(
            Algorithm::RS256,
            "rsa1",
            Some("rsa1"),
            &claims("alice", &all_scopes()),
        )),
    )
    .await;
    assert_eq!((st, body["owner"].as_str()), (200, Some("alice")), "{body}");
    let (st, body) = post_with(
        &app,
        Some(&sign(
            Algorithm::ES256,
            "ec1",
            Some("ec1"),
            &claims("bob", &all_scopes()),
        )),
    )
    .await;
    assert_eq!((st, body["owner"].as_str()), (200, Some("bob")), "{body}");
    // PS256 with the RSA key.
    let (st, body) = post_with(
        &app,
        Some(&sign(
            Algorithm::PS256,
            "rsa1",
            Some("rsa1"),
            &claims("carol", &all_scopes()),
        )),
    )
    .await;
    assert_eq!((st, body["owner"].as_str()), (200, Some("carol")), "{body}");

    // 13: no token → 401 on POST, PATCH and DELETE; GET stays anonymous.
    assert_denied(post_with(&app, None).await, 401, "Missing token");
    let r = app.patch(1, None).await;
    assert!(r.error(401).contains("Missing token"));
    let r = app.delete(1).await;
    assert!(r.error(401).contains("Missing token"));
    assert_eq!(app.get("/api/1/composes/1").await.status, 200);

    let mut c = claims("alice", &all_scopes());
    c["exp"] = json!(now() - 60);
    assert_rsa1_token_denied(&app, &c, "expired").await;
    let mut c = claims("alice", &all_scopes());
    c["nbf"] = json!(now() + 600);
    assert_rsa1_token_denied(&app, &c, "not valid yet").await;
    let mut c = claims("alice", &all_scopes());
    c["iss"] = json!("https://evil.example.com/");
    assert_rsa1_token_denied(&app, &c, "issuer").await;
    let mut c = claims("alice", &all_scopes());
    c["aud"] = json!("someone-else");
    assert_rsa1_token_denied(&app, &c, "audience").await;
    // A configured issuer or audience is required, and of the right type (issue 18, defect 2):
    // a token of the trusted key issued for another client has no `aud`.
    for (claim, value, needle) in [
        ("aud", None, "\"aud\""),
        ("aud", Some(json!(5)), "\"aud\""),
        ("aud", Some(json!(["someone-else", 7])), "\"aud\""),
        ("iss", None, "\"iss\""),
        ("iss", Some(json!(5)), "\"iss\""),
    ] {
        let mut c = claims("alice", &all_scopes());
        match value {
            None => {
                c.as_object_mut().unwrap().remove(claim);
            }
            Some(v) => c[claim] = v,
        }
        assert_rsa1_token_denied(&app, &c, needle).await;
    }
    let mut c = claims("alice", &all_scopes());
    c["aud"] = json!(["someone-else", "composed"]);
    let (st, body) = post_with(
        &app,
        Some(&sign(Algorithm::RS256, "rsa1", Some("rsa1"), &c)),
    )
    .await;
    assert_eq!(
        st, 200,
        "a list of audiences holding ours is accepted: {body}"
    );
    let mut c = claims("alice", &all_scopes());
    c.as_object_mut().unwrap().remove("exp");
    assert_rsa1_token_denied(&app, &c, "\"exp\"").await;
    // Bad signature: signed by rsa2 but claiming rsa1's kid.
    assert_denied(
        post_with(
            &app,
            Some(&sign(
                Algorithm::RS256,
                "rsa2",
                Some("rsa1"),
                &claims("alice", &all_scopes()),
            )),
        )
        .await,
        401,
        "signature",
    );
    // Tampered payload.
    let good = sign(
        Algorithm::RS256,
        "rsa1",
        Some("rsa1"),
        &claims("alice", &all_scopes()),
    );
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims("root", &all_scopes()).to_string().as_bytes()),
        parts[2]
    );
    assert_denied(post_with(&app, Some(&forged)).await, 401, "signature");
    // alg none.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims("root", &all_scopes()).to_string().as_bytes())
    );
    assert_denied(post_with(&app, Some(&none)).await, 401, "token");
    // HS256 signed with the RSA public key (algorithm confusion).
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("rsa1".into());
    let confused = jsonwebtoken::encode(
        &h,
        &claims("root", &all_scopes()),
        &EncodingKey::from_secret(fixture("rsa1.pub.pem").as_bytes()),
    )
    .unwrap();
    assert_denied(
        post_with(&app, Some(&confused)).await,
        401,
        "HS256 is not allowed",
    );
    // Unknown kid.
    assert_denied(
        post_with(
            &app,
            Some(&sign(
                Algorithm::RS256,
                "rsa2",
                Some("rsa2"),
                &claims("alice", &all_scopes()),
            )),
        )
        .await,
        401,
        "unknown key (kid \"rsa2\")",
    );
    // Garbage and opaque tokens without introspection.
    assert_denied(
        post_with(&app, Some("not-a-jwt")).await,
        401,
        "introspection is not configured",
    );
    assert_denied(post_with(&app, Some("a.b.c")).await, 401, "token");
    // Required scope (205) → 401; endpoint scope (208) → 403.
    assert_denied(
        post_with(
            &app,
            Some(&sign(
                Algorithm::RS256,
                "rsa1",
                Some("rsa1"),
                &claims("alice", &format!("{NS}new-compose")),
            )),
        )
        .await,
        401,
        "Required OIDC scope openid not present.",
    );
    assert_denied(
        post_with(
            &app,
            Some(&sign(
                Algorithm::RS256,
                "rsa1",
                Some("rsa1"),
                &claims("alice", "openid"),
            )),
        )
        .await,
        403,
        "Request does not have required scope new-compose",
    );
    // 208: renew-compose lets PATCH through the scope check; no delete-compose → DELETE 403.
    let renew_only = sign(
        Algorithm::RS256,
        "rsa1",
        Some("rsa1"),
        &claims("alice", &format!("openid {NS}renew-compose")),
    );
    let r = app
        .client
        .patch(app.url("/api/1/composes/1"))
        .bearer_auth(&renew_only)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "past the scope check, compose 1 is waiting"
    );
    let r = app
        .client
        .delete(app.url("/api/1/composes/1"))
        .bearer_auth(&renew_only)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Request does not have required scope delete-compose")
    );
    // Users are recorded once.
    let users: i64 = app
        .with_db(|c| {
            use diesel::{QueryDsl, RunQueryDsl};
            composed::db::schema::users::table
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(users, 3, "alice, bob, carol");

    // Rotation of the JWKS file: rsa2 appears, rsa1 goes.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&jwks_path, jwks(&["rsa2"])).unwrap();
    let f = std::fs::File::options()
        .append(true)
        .open(&jwks_path)
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(2))
        .unwrap();
    let (st, body) = post_with(
        &app,
        Some(&sign(
            Algorithm::RS256,
            "rsa2",
            Some("rsa2"),
            &claims("dave", &all_scopes()),
        )),
    )
    .await;
    assert_eq!((st, body["owner"].as_str()), (200, Some("dave")), "{body}");
    assert_denied(
        post_with(
            &app,
            Some(&sign(
                Algorithm::RS256,
                "rsa1",
                Some("rsa1"),
                &claims("alice", &all_scopes()),
            )),
        )
        .await,
        401,
        "unknown key",
    );
}

/// A tiny identity provider: JWKS at /jwks (switchable) and RFC 7662 at /introspect.
struct Idp {
    base: String,
    keys: Arc<Mutex<String>>,
    seen_auth: Arc<Mutex<Vec<String>>>,
}

async fn spawn_idp() -> Idp {
    let keys = Arc::new(Mutex::new(jwks(&["rsa1"])));
    let seen_auth = Arc::new(Mutex::new(Vec::new()));
    let (k, s) = (keys.clone(), seen_auth.clone());
    let server = HttpServer::new(move || {
        let (k, s) = (k.clone(), s.clone());
        App::new()
            .route("/jwks", web::get().to(move || {
                let k = k.clone();
                async move { HttpResponse::Ok().content_type("application/json").body(k.lock().unwrap().clone()) }
            }))
            .route("/introspect", web::post().to(move |req: actix_web::HttpRequest, form: web::Form<std::collections::HashMap<String, String>>| {
                let s = s.clone();
                async move {
                    if let Some(h) = req.headers().get("authorization") {
                        s.lock().unwrap().push(h.to_str().unwrap().to_string());
                    }
                    let body = match form.get("token").map(String::as_str) {
                        Some("opaque-good") => json!({"active": true, "username": "erin", "scope": all_scopes(), "groups": ["composer"], "exp": now() + 60, "iss": ISS}),
                        Some("opaque-no-iss") => json!({"active": true, "username": "erin", "scope": all_scopes(), "groups": ["composer"], "exp": now() + 60}),
                        Some("opaque-expired") => json!({"active": true, "username": "erin", "scope": all_scopes(), "exp": now() - 600}),
                        _ => json!({"active": false}),
                    };
                    HttpResponse::Ok().json(body)
                }
            }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Idp {
        base: format!("http://127.0.0.1:{port}"),
        keys,
        seen_auth,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_url_rotation_and_introspection() {
    let idp = spawn_idp().await;
    let (jwks_url, intro) = (
        format!("{}/jwks", idp.base),
        format!("{}/introspect", idp.base),
    );
    let app = spawn_app(Db::Sqlite, move |s| {
        s.auth.backend = "oidc".into();
        s.auth.oidc.jwks_url = jwks_url;
        s.auth.oidc.jwks_min_refresh_secs = 0;
        s.auth.oidc.issuer = ISS.into();
        s.auth.oidc.introspection_url = intro;
        s.auth.oidc.introspection_client_id = "composed".into();
        s.auth.oidc.introspection_client_secret = "s3cr3t-intro".into();
        s.auth
            .allowed_clients
            .groups
            .insert("composer".into(), Default::default());
    })
    .await
    .unwrap();
    let (st, _) = post_with(
        &app,
        Some(&sign(
            Algorithm::RS256,
            "rsa1",
            Some("rsa1"),
            &claims("alice", &all_scopes()),
        )),
    )
    .await;
    assert_eq!(st, 200);
    assert_denied(
        post_with(
            &app,
            Some(&sign(
                Algorithm::RS256,
                "rsa2",
                Some("rsa2"),
                &claims("alice", &all_scopes()),
            )),
        )
        .await,
        401,
        "unknown key",
    );
    *idp.keys.lock().unwrap() = jwks(&["rsa1", "rsa2"]);
    let (st, body) = post_with(
        &app,
        Some(&sign(
            Algorithm::RS256,
            "rsa2",
            Some("rsa2"),
            &claims("frank", &all_scopes()),
        )),
    )
    .await;
    assert_eq!(
        (st, body["owner"].as_str()),
        (200, Some("frank")),
        "rotated key picked up: {body}"
    );

    let (st, body) = post_with(&app, Some("opaque-good")).await;
    assert_eq!((st, body["owner"].as_str()), (200, Some("erin")), "{body}");
    assert_denied(post_with(&app, Some("opaque-no-iss")).await, 401, "\"iss\"");
    assert_denied(
        post_with(&app, Some("opaque-revoked")).await,
        401,
        "not active",
    );
    assert_denied(
        post_with(&app, Some("opaque-expired")).await,
        401,
        "expired",
    );
    let seen = idp.seen_auth.lock().unwrap().clone();
    assert!(
        seen.iter().all(|h| h.starts_with("Basic ")),
        "client authenticates with basic auth: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odcs_client_with_openidc_token() {
    let Some(bin) = venv_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(&jwks_path, jwks(&["rsa1"])).unwrap();
    let app = oidc_app(&jwks_path, |s| {
        s.auth
            .allowed_clients
            .groups
            .get_mut("composer")
            .unwrap()
            .insert("arches".into(), vec!["x86_64".into(), "aarch64".into()]);
    })
    .await;
    let url = format!("{}/", app.base.replace("127.0.0.1", "localhost"));
    let run = |token: String, args: Vec<&'static str>| {
        let mut cmd = Command::new(bin.join("python"));
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/odcs_lib.py"
        ))
        .arg(&url)
        .args(args)
        .env("ODCS_TOKEN", token);
        async move {
            let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_str::<Value>(
                String::from_utf8_lossy(&out.stdout).lines().last().unwrap(),
            )
            .unwrap()
        }
    };
    let token = sign(
        Algorithm::RS256,
        "rsa1",
        Some("rsa1"),
        &claims("alice", &all_scopes()),
    );
    let c = run(token.clone(), vec!["request-tag", "f26", "ed"]).await;
    assert_eq!(
        (c["owner"].as_str(), c["state_name"].as_str()),
        (Some("alice"), Some("wait")),
        "{c}"
    );
    let c = run(token.clone(), vec!["get", "1"]).await;
    assert_eq!(c["owner"], "alice");
    // Cancel by the owner (not an admin) works; a stranger gets 403.
    let stranger = sign(
        Algorithm::RS256,
        "rsa1",
        Some("rsa1"),
        &claims("mallory", &all_scopes()),
    );
    let r = run(stranger, vec!["delete", "1"]).await;
    assert_eq!(r["http_error"], 403);
    assert!(
        r["body"]
            .as_str()
            .unwrap()
            .contains("Compose (id=1) can not be canceled, it's owned by someone else.")
    );
    let r = run(token.clone(), vec!["delete", "1"]).await;
    assert_eq!(
        r,
        json!({"status": 202, "message": "Compose (id=1) has been canceled"})
    );
    assert_eq!(
        app.compose(1).await.state_reason.as_deref(),
        Some("Canceled by alice")
    );
    // An invalid token is refused with 401 through the client too.
    let r = run("garbage".into(), vec!["request-tag", "f26"]).await;
    assert_eq!(r["http_error"], 401);
}

/// A writer that keeps everything logged.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_secret_in_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .try_init()
        .expect("this test owns its process's subscriber (nextest)");
    let idp = spawn_idp().await;
    let (jwks_url, intro) = (
        format!("{}/jwks", idp.base),
        format!("{}/introspect", idp.base),
    );
    let app = spawn_app(Db::Sqlite, move |s| {
        s.auth.backend = "oidc".into();
        s.auth.oidc.jwks_url = jwks_url;
        s.auth.oidc.introspection_url = intro;
        s.auth.oidc.introspection_client_id = "composed".into();
        s.auth.oidc.introspection_client_secret = "s3cr3t-intro".into();
        s.auth
            .allowed_clients
            .groups
            .insert("composer".into(), Default::default());
    })
    .await
    .unwrap();
    let good = sign(
        Algorithm::RS256,
        "rsa1",
        Some("rsa1"),
        &claims("alice", &all_scopes()),
    );
    let mut expired_claims = claims("alice", &all_scopes());
    expired_claims["exp"] = json!(now() - 600);
    let expired = sign(Algorithm::RS256, "rsa1", Some("rsa1"), &expired_claims);
    let bad_sig = sign(
        Algorithm::RS256,
        "rsa2",
        Some("rsa1"),
        &claims("alice", &all_scopes()),
    );
    for t in [
        &good,
        &expired,
        &bad_sig,
        &"opaque-good".to_string(),
        &"opaque-secret-token-xyz".to_string(),
    ] {
        post_with(&app, Some(t)).await;
        // A token in the query string is refused, and must not reach the access log either.
        app.client
            .get(app.url(&format!("/api/1/composes/?access_token={t}&state=wait")))
            .send()
            .await
            .unwrap();
        app.client
            .delete(app.url("/api/1/composes/1"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.len() > 1000,
        "logs were captured ({} bytes)",
        logs.len()
    );
    assert!(
        logs.contains("GET /api/1/composes/?access_token=REDACTED&state=wait"),
        "the access log shows the request with the token redacted"
    );
    for secret in [
        good.as_str(),
        expired.as_str(),
        bad_sig.as_str(),
        "opaque-good",
        "opaque-secret-token-xyz",
        "s3cr3t-intro",
    ] {
        // Also the signature part alone, which is what a partial leak would show.
        let tail = secret.rsplit('.').next().unwrap();
        assert!(
            !logs.contains(secret) && !logs.contains(tail),
            "a secret leaked into the logs"
        );
    }
    let shown = app.settings.to_masked_toml();
    assert!(
        !shown.contains("s3cr3t-intro") && shown.contains("introspection_client_secret = \"***\"")
    );
}
