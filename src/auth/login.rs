//! The web UI's login under the `oidc` backend (`[auth.oidc.login]`): the OpenID Connect
//! authorization-code flow with PKCE (the `openidconnect` crate: discovery, the code exchange,
//! the ID token's signature, issuer, audience, expiry and nonce), ending in a session cookie
//! signed with HMAC-SHA256.
//!
//! Two cookies, both `HttpOnly; Secure; SameSite=Lax`: `composed_login` holds, for ten
//! minutes, what the callback needs (state, PKCE verifier, nonce, where to go next);
//! `composed_session` holds the identity (user, groups, granted scopes) and its expiry. Each
//! value is `<base64url JSON>.<base64url MAC>`, the MAC taken over the cookie's kind and the
//! JSON, so one cookie can never stand for the other. Nothing is stored on the server: every
//! API process with the same `session_secret` accepts the session. The API itself never reads
//! these cookies (it takes Bearer tokens only), so a browser session cannot be used against it
//! from another site.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::identity::Identity;
use crate::config::{AuthSettings, OidcSettings};
use crate::web::error::ApiError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "composed_session";
/// The cookie that carries a login from `/login` to `/login/callback`.
pub const LOGIN_COOKIE: &str = "composed_login";
/// How long a login may take at the provider.
pub const LOGIN_SECS: i64 = 600;
/// How long the provider's metadata and keys are used before they are fetched again.
const PROVIDER_TTL: Duration = Duration::from_secs(300);

/// Checks `[auth.oidc.login]` at start-up (from `auth::validate`).
pub fn validate(o: &OidcSettings) -> Result<(), String> {
    let l = &o.login;
    if l.client_id.is_empty() {
        return Ok(());
    }
    if o.issuer.is_empty() {
        return Err(
            "auth.oidc.login: set auth.oidc.issuer (the provider whose discovery document the login reads)".into(),
        );
    }
    IssuerUrl::new(o.issuer.clone())
        .map_err(|e| format!("auth.oidc.issuer: {:?} is not a URL: {e}", o.issuer))?;
    if l.session_secret.chars().count() < 32 {
        return Err("auth.oidc.login.session_secret: set a key of 32 characters or more (the session cookies' HMAC key)".into());
    }
    if !l.redirect_url.is_empty() {
        RedirectUrl::new(l.redirect_url.clone()).map_err(|e| {
            format!(
                "auth.oidc.login.redirect_url: {:?} is not a URL: {e}",
                l.redirect_url
            )
        })?;
    }
    if !(1..=24 * 30).contains(&l.session_hours) {
        return Err("auth.oidc.login.session_hours: between 1 and 720".into());
    }
    if !l.scopes.iter().any(|s| s == "openid") {
        return Err("auth.oidc.login.scopes: must include \"openid\"".into());
    }
    Ok(())
}

/// What the callback needs, kept in the login cookie.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    nonce: String,
    redirect: String,
    next: String,
    exp: i64,
}

/// A session: who, and until when.
#[derive(Serialize, Deserialize)]
struct Session {
    u: String,
    g: Vec<String>,
    s: Vec<String>,
    exp: i64,
}

/// A login begun: where to send the browser, and the login cookie's value.
pub struct Begun {
    pub authorize_url: String,
    pub cookie: String,
}

/// A login finished: who, the session cookie's value, and where to go next.
pub struct Finished {
    pub identity: Identity,
    pub cookie: String,
    pub next: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The login service (present when `auth.backend = "oidc"` and a client id is set).
pub struct OidcLogin {
    oidc: OidcSettings,
    http: reqwest::Client,
    provider: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn unauthorized(msg: impl Into<String>) -> ApiError {
    ApiError::unauthorized(msg)
}

impl OidcLogin {
    pub fn from_settings(auth: &AuthSettings) -> anyhow::Result<Option<Self>> {
        if auth.backend != "oidc" || auth.oidc.login.client_id.is_empty() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(auth.oidc.timeout_secs.max(1)))
            // The provider's answers are never followed elsewhere (no SSRF through redirects).
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(Self {
            oidc: auth.oidc.clone(),
            http,
            provider: tokio::sync::Mutex::new(None),
        }))
    }

    /// The session's lifetime, for the cookie's `Max-Age`.
    pub fn session_secs(&self) -> i64 {
        self.oidc.login.session_hours as i64 * 3600
    }

    /// The redirect URL registered at the provider: the setting, or the callback under `base`.
    pub fn redirect_url(&self, base: &str) -> String {
        if self.oidc.login.redirect_url.is_empty() {
            format!("{}/login/callback", base.trim_end_matches('/'))
        } else {
            self.oidc.login.redirect_url.clone()
        }
    }

    fn mac(&self, kind: &str, body: &str) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(self.oidc.login.session_secret.as_bytes())
            .expect("HMAC takes keys of any length");
        m.update(kind.as_bytes());
        m.update(b".");
        m.update(body.as_bytes());
        m
    }

    fn seal(&self, kind: &str, payload: &impl Serialize) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("serializes"));
        let tag = URL_SAFE_NO_PAD.encode(self.mac(kind, &body).finalize().into_bytes());
        format!("{body}.{tag}")
    }

    fn open<T: DeserializeOwned>(&self, kind: &str, value: &str) -> Option<T> {
        let (body, tag) = value.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(kind, body).verify_slice(&tag).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }

    /// The identity of a session cookie's value: `None` when forged, altered or expired.
    pub fn session(&self, value: &str) -> Option<Identity> {
        let s: Session = self.open(SESSION_COOKIE, value)?;
        (s.exp > now()).then_some(Identity {
            username: Some(s.u),
            groups: s.g,
            scopes: Some(s.s),
        })
    }

    /// The provider's metadata (discovery document and keys), fetched at most every five
    /// minutes.
    async fn provider(&self) -> Result<CoreProviderMetadata, ApiError> {
        let mut cached = self.provider.lock().await;
        if let Some((m, at)) = cached.as_ref()
            && at.elapsed() < PROVIDER_TTL
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.oidc.issuer.clone())
            .map_err(|e| ApiError::internal(format!("auth.oidc.issuer: {e}")))?;
        let http = |r| send(&self.http, r);
        let m = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| {
                tracing::error!(issuer = %self.oidc.issuer, error = %e, "OpenID Connect discovery failed");
                ApiError::service_unavailable(format!(
                    "The login provider {} cannot be reached: {e}.",
                    self.oidc.issuer
                ))
            })?;
        *cached = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    fn scopes(&self) -> Vec<String> {
        let mut scopes = self.oidc.login.scopes.clone();
        if self.oidc.require_endpoint_scopes {
            for short in ["new-compose", "renew-compose", "delete-compose"] {
                let full = format!("{}{short}", self.oidc.scope_namespace);
                if !scopes.contains(&full) {
                    scopes.push(full);
                }
            }
        }
        scopes
    }

    fn client(
        &self,
        m: CoreProviderMetadata,
        redirect: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ApiError,
    > {
        let secret = Some(&self.oidc.login.client_secret)
            .filter(|s| !s.is_empty())
            .map(|s| ClientSecret::new(s.clone()));
        let redirect = RedirectUrl::new(redirect.to_string())
            .map_err(|e| ApiError::internal(format!("the login's redirect URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            m,
            ClientId::new(self.oidc.login.client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a login: the provider's authorization URL (code flow, S256 PKCE, state, nonce)
    /// and the login cookie's value. `next` is a path of this site (anything else becomes `/`).
    pub async fn begin(&self, redirect: &str, next: &str) -> Result<Begun, ApiError> {
        let client = self.client(self.provider().await?, redirect)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in self.scopes().into_iter().filter(|s| s != "openid") {
            request = request.add_scope(Scope::new(s));
        }
        let (url, state, nonce) = request.url();
        let pending = Pending {
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            redirect: redirect.to_string(),
            next: local_path(next),
            exp: now() + LOGIN_SECS,
        };
        Ok(Begun {
            authorize_url: url.to_string(),
            cookie: self.seal(LOGIN_COOKIE, &pending),
        })
    }

    /// Finishes a login at the callback: the state must be the login cookie's, the code is
    /// exchanged with the PKCE verifier, the ID token verified (signature by the provider's
    /// keys, issuer, audience = the client id, expiry, nonce, access-token hash), the user
    /// info merged in when the provider has the endpoint; the user name and groups are read
    /// with `auth.oidc.username_claim` and `groups_claim`, as for Bearer tokens.
    pub async fn finish(
        &self,
        login_cookie: Option<&str>,
        code: &str,
        state: &str,
    ) -> Result<Finished, ApiError> {
        let pending: Pending = login_cookie
            .and_then(|v| self.open(LOGIN_COOKIE, v))
            .filter(|p: &Pending| p.exp > now())
            .ok_or_else(|| {
                unauthorized(
                    "This login was not started here or took too long: start again from the login link.",
                )
            })?;
        if pending.state != state {
            return Err(unauthorized(
                "The login's state does not match this browser's: start again from the login link.",
            ));
        }
        let provider = self.provider().await?;
        let userinfo_url = provider.userinfo_endpoint().map(|u| u.url().clone());
        let client = self.client(provider, &pending.redirect)?;
        let http = |r| send(&self.http, r);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| ApiError::internal(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => unauthorized(format!(
                    "The provider refused the login: {}{}.",
                    r.error(),
                    r.error_description()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                )),
                other => {
                    tracing::error!(error = %other, "the login's code exchange failed");
                    ApiError::service_unavailable(format!(
                        "The login provider's token endpoint failed: {other}."
                    ))
                }
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| unauthorized("The provider answered without an ID token."))?;
        let verifier = client.id_token_verifier();
        let verified = id_token
            .claims(&verifier, &Nonce::new(pending.nonce.clone()))
            .map_err(|e| unauthorized(format!("The ID token is not valid: {e}.")))?;
        if let Some(expected) = verified.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| unauthorized(format!("The ID token is not valid: {e}.")))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| unauthorized(format!("The ID token is not valid: {e}.")))?;
            let actual = openidconnect::AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|e| unauthorized(format!("The ID token is not valid: {e}.")))?;
            if actual != *expected {
                return Err(unauthorized(
                    "The ID token does not belong to the access token (at_hash).",
                ));
            }
        }
        // The verified token's own claims, all of them (user name and groups claims are
        // configurable, so they are read from the JSON rather than typed fields).
        let mut claims = jwt_payload(&id_token.to_string())
            .ok_or_else(|| unauthorized("The ID token is not a JWT."))?;
        if let Some(url) = userinfo_url {
            match self
                .http
                .get(url.as_str())
                .bearer_auth(token.access_token().secret())
                .send()
                .await
                .and_then(|r| r.error_for_status())
            {
                Ok(r) => {
                    if let (Ok(Value::Object(info)), Some(m)) =
                        (r.json::<Value>().await, claims.as_object_mut())
                        && info.get("sub") == m.get("sub")
                    {
                        for (k, v) in info {
                            m.entry(k).or_insert(v);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e.without_url(), "the provider's userinfo failed; using the ID token's claims")
                }
            }
        }
        let granted: Vec<String> = match token.scopes() {
            Some(s) => s.iter().map(|s| s.to_string()).collect(),
            // RFC 6749 §5.1: no `scope` in the answer means the scopes asked for.
            None => self.scopes(),
        };
        if let Some(m) = claims.as_object_mut() {
            m.insert(
                self.oidc.scope_claim.clone(),
                Value::String(granted.join(" ")),
            );
        }
        let identity = super::oidc::identity_of(&self.oidc, &claims)?;
        let session = Session {
            u: identity.username.clone().unwrap_or_default(),
            g: identity.groups.clone(),
            s: identity.scopes.clone().unwrap_or_default(),
            exp: now() + self.session_secs(),
        };
        Ok(Finished {
            cookie: self.seal(SESSION_COOKIE, &session),
            identity,
            next: pending.next,
        })
    }
}

/// A path of this site (`/…`, never `//…` or a URL elsewhere), or `/`.
pub fn local_path(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains(['\\', '\r', '\n']) {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// The JSON payload of a compact JWT (its signature checked elsewhere).
fn jwt_payload(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The crate's HTTP requests through composed's reqwest client.
async fn send(
    http: &reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.without_url().to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| HttpError(e.without_url().to_string()))?;
    out.body(body.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> OidcLogin {
        let mut auth = AuthSettings {
            backend: "oidc".into(),
            ..Default::default()
        };
        auth.oidc.issuer = "http://127.0.0.1:1/".into();
        auth.oidc.login.client_id = "composed".into();
        auth.oidc.login.session_secret = "k".repeat(32);
        OidcLogin::from_settings(&auth).unwrap().unwrap()
    }

    #[test]
    fn sessions_are_sealed_and_expire() {
        let l = login();
        let s = Session {
            u: "alice".into(),
            g: vec!["qa".into()],
            s: vec!["openid".into()],
            exp: now() + 60,
        };
        let v = l.seal(SESSION_COOKIE, &s);
        let id = l.session(&v).expect("a sealed session opens");
        assert_eq!(id.username.as_deref(), Some("alice"));
        assert_eq!(id.groups, vec!["qa".to_string()]);
        // Altered payload: the MAC no longer matches.
        let (body, tag) = v.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Session {
                u: "admin".into(),
                g: vec![],
                s: vec![],
                exp: now() + 60,
            })
            .unwrap(),
        );
        assert!(l.session(&format!("{forged}.{tag}")).is_none());
        assert!(l.session(body).is_none());
        // A login cookie is not a session, even with the same key.
        let as_login = l.seal(LOGIN_COOKIE, &s);
        assert!(l.session(&as_login).is_none());
        // Expired.
        let old = l.seal(
            SESSION_COOKIE,
            &Session {
                exp: now() - 1,
                ..s
            },
        );
        assert!(l.session(&old).is_none());
    }

    #[test]
    fn next_is_always_a_local_path() {
        assert_eq!(local_path("/compose/3?x=1"), "/compose/3?x=1");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil"), "/");
        assert_eq!(local_path(""), "/");
    }

    #[test]
    fn settings_are_checked() {
        let mut o = OidcSettings::default();
        assert!(validate(&o).is_ok(), "no client id: no login to check");
        o.login.client_id = "composed".into();
        assert!(validate(&o).unwrap_err().contains("auth.oidc.issuer"));
        o.issuer = "http://127.0.0.1:1/".into();
        assert!(validate(&o).unwrap_err().contains("session_secret"));
        o.login.session_secret = "x".repeat(32);
        assert!(validate(&o).is_ok());
        o.login.scopes = vec!["profile".into()];
        assert!(validate(&o).unwrap_err().contains("openid"));
    }
}
