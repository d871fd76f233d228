//! Bearer token verification: JWTs validated locally (RS*/PS*/ES* only, keys from a JWKS file
//! or URL with caching and `kid` rotation, issuer, audience, exp/nbf with leeway, configurable
//! username/groups/scope claims), and opaque tokens through RFC 7662 introspection.
//! Tokens are never logged, and never appear in error messages.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::RwLock;

use super::identity::Identity;
use crate::config::OidcSettings;
use crate::web::error::ApiError;

struct JwksCache {
    keys: JwkSet,
    fetched: Option<Instant>,
    file_mtime: Option<SystemTime>,
    last_attempt: Option<Instant>,
}

pub struct OidcVerifier {
    settings: OidcSettings,
    algorithms: Vec<Algorithm>,
    jwks: RwLock<JwksCache>,
    http: reqwest::Client,
}

fn unauthorized(msg: impl Into<String>) -> ApiError {
    ApiError::unauthorized(msg)
}

impl OidcVerifier {
    pub fn new(settings: &OidcSettings) -> anyhow::Result<Self> {
        let algorithms = settings
            .algorithms
            .iter()
            .map(|a| {
                Algorithm::from_str(a)
                    .map_err(|e| anyhow::anyhow!("auth.oidc.algorithms: {a}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .build()?;
        Ok(Self {
            settings: settings.clone(),
            algorithms,
            jwks: RwLock::new(JwksCache {
                keys: JwkSet { keys: vec![] },
                fetched: None,
                file_mtime: None,
                last_attempt: None,
            }),
            http,
        })
    }

    /// Loads the key set when it is stale (file changed, cache expired) or when `force`d by an
    /// unknown `kid` (at most every `jwks_min_refresh_secs`).
    async fn refresh(&self, force: bool) -> Result<(), ApiError> {
        let s = &self.settings;
        if !s.jwks_file.is_empty() {
            let path = PathBuf::from(&s.jwks_file);
            let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            {
                let cache = self.jwks.read().await;
                if cache.fetched.is_some() && cache.file_mtime == mtime {
                    return Ok(());
                }
            }
            let text = tokio::fs::read_to_string(&path).await.map_err(|e| {
                tracing::error!(file = %path.display(), error = %e, "cannot read JWKS file");
                unauthorized("The token signing keys are unavailable.")
            })?;
            let keys: JwkSet = serde_json::from_str(&text).map_err(|e| {
                tracing::error!(file = %path.display(), error = %e, "invalid JWKS file");
                unauthorized("The token signing keys are unavailable.")
            })?;
            let mut cache = self.jwks.write().await;
            *cache = JwksCache {
                keys,
                fetched: Some(Instant::now()),
                file_mtime: mtime,
                last_attempt: Some(Instant::now()),
            };
            return Ok(());
        }
        if s.jwks_url.is_empty() {
            return Ok(());
        }
        {
            let cache = self.jwks.read().await;
            let fresh = cache
                .fetched
                .is_some_and(|t| t.elapsed() < Duration::from_secs(s.jwks_cache_secs));
            let recently = cache
                .last_attempt
                .is_some_and(|t| t.elapsed() < Duration::from_secs(s.jwks_min_refresh_secs));
            if (fresh && !force) || (force && recently) {
                return Ok(());
            }
        }
        let mut cache = self.jwks.write().await;
        cache.last_attempt = Some(Instant::now());
        let fetched = async {
            let resp = self
                .http
                .get(&s.jwks_url)
                .send()
                .await?
                .error_for_status()?;
            resp.json::<JwkSet>().await
        }
        .await;
        match fetched {
            Ok(keys) => {
                cache.keys = keys;
                cache.fetched = Some(Instant::now());
                Ok(())
            }
            Err(e) if cache.fetched.is_some() => {
                tracing::warn!(url = %s.jwks_url, error = %e, "JWKS refresh failed; keeping the cached keys");
                Ok(())
            }
            Err(e) => {
                tracing::error!(url = %s.jwks_url, error = %e, "cannot fetch JWKS");
                Err(unauthorized("The token signing keys are unavailable."))
            }
        }
    }

    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, ApiError> {
        for attempt in 0..2 {
            self.refresh(attempt == 1).await?;
            let cache = self.jwks.read().await;
            let found = match kid {
                Some(k) => cache.keys.find(k),
                None if cache.keys.keys.len() == 1 => cache.keys.keys.first(),
                None => None,
            };
            if let Some(jwk) = found {
                if let Some(key_alg) = jwk.common.key_algorithm
                    && format!("{key_alg:?}") != format!("{alg:?}")
                {
                    return Err(unauthorized(format!(
                        "The token's algorithm {alg:?} does not match its key."
                    )));
                }
                return DecodingKey::from_jwk(jwk)
                    .map_err(|e| unauthorized(format!("Unusable signing key: {e}")));
            }
        }
        Err(unauthorized(match kid {
            Some(k) => format!("The token is signed by an unknown key (kid \"{k}\")."),
            None => "The token has no key id (kid) and the key set has several keys.".to_string(),
        }))
    }

    pub async fn verify(&self, token: &str) -> Result<Identity, ApiError> {
        let claims = if token.split('.').count() == 3 {
            self.verify_jwt(token).await?
        } else if !self.settings.introspection_url.is_empty() {
            self.introspect(token).await?
        } else {
            return Err(unauthorized(
                "The bearer token is not a JWT and token introspection is not configured.",
            ));
        };
        self.identity(&claims)
    }

    async fn verify_jwt(&self, token: &str) -> Result<Value, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            unauthorized(format!(
                "Invalid token header: {e} (accepted algorithms: {}).",
                self.settings.algorithms.join(", ")
            ))
        })?;
        if !self.algorithms.contains(&header.alg) {
            return Err(unauthorized(format!(
                "The token algorithm {:?} is not allowed (accepted: {}).",
                header.alg,
                self.settings.algorithms.join(", ")
            )));
        }
        let key = self.key_for(header.kid.as_deref(), header.alg).await?;
        let mut v = Validation::new(header.alg);
        v.algorithms = vec![header.alg];
        v.leeway = self.settings.leeway_secs;
        v.validate_nbf = true;
        // Issuer and audience are checked after the signature, by `check_issuer_audience`
        // (required whenever configured, of the right type), for JWTs and introspection alike.
        v.set_required_spec_claims(&["exp"]);
        v.iss = None;
        v.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            unauthorized(match e.kind() {
                K::ExpiredSignature => "The token has expired.".to_string(),
                K::ImmatureSignature => "The token is not valid yet (nbf).".to_string(),
                K::InvalidIssuer => {
                    format!("The token issuer is not \"{}\".", self.settings.issuer)
                }
                K::InvalidAudience => format!(
                    "The token audience is not one of {:?}.",
                    self.settings.audiences
                ),
                K::InvalidSignature => "The token signature is invalid.".to_string(),
                K::MissingRequiredClaim(c) => format!("The token has no \"{c}\" claim."),
                _ => format!("The token is invalid: {e}."),
            })
        })?;
        check_issuer_audience(&data.claims, &self.settings)?;
        Ok(data.claims)
    }

    async fn introspect(&self, token: &str) -> Result<Value, ApiError> {
        let s = &self.settings;
        let mut req = self
            .http
            .post(&s.introspection_url)
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        if !s.introspection_client_id.is_empty() {
            req = req.basic_auth(
                &s.introspection_client_id,
                Some(&s.introspection_client_secret),
            );
        }
        let resp = req.send().await.map_err(|e| {
            tracing::error!(url = %s.introspection_url, error = %e.without_url(), "token introspection failed");
            unauthorized("Token introspection is unavailable.")
        })?;
        if !resp.status().is_success() {
            tracing::error!(url = %s.introspection_url, status = %resp.status(), "token introspection refused");
            return Err(unauthorized("Token introspection is unavailable."));
        }
        let claims: Value = resp
            .json()
            .await
            .map_err(|_| unauthorized("Token introspection answered invalid JSON."))?;
        if claims.get("active").and_then(Value::as_bool) != Some(true) {
            return Err(unauthorized("The token is not active."));
        }
        let now = chrono::Utc::now().timestamp();
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64)
            && exp + (s.leeway_secs as i64) < now
        {
            return Err(unauthorized("The token has expired."));
        }
        check_issuer_audience(&claims, s)?;
        Ok(claims)
    }

    fn identity(&self, claims: &Value) -> Result<Identity, ApiError> {
        identity_of(&self.settings, claims)
    }
}

/// The identity in verified claims (a token's, or a login's ID token and user info): the user
/// name, groups and scopes by the configured claims, the required scopes checked.
pub(super) fn identity_of(s: &OidcSettings, claims: &Value) -> Result<Identity, ApiError> {
    let username = claims
        .get(&s.username_claim)
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .or_else(|| claims.get("username").and_then(Value::as_str))
        .ok_or_else(|| {
            unauthorized(format!(
                "The token has no \"{}\" claim with the user name.",
                s.username_claim
            ))
        })?
        .to_string();
    let list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => vec![],
        }
    };
    let groups = list(claims.get(&s.groups_claim));
    let scopes = list(claims.get(&s.scope_claim));
    for required in &s.required_scopes {
        if !scopes.contains(required) {
            return Err(unauthorized(format!(
                "Required OIDC scope {required} not present."
            )));
        }
    }
    Ok(Identity {
        username: Some(username),
        groups,
        scopes: Some(scopes),
    })
}

/// A configured issuer must be the token's `iss` (a string), and one of the configured
/// audiences its `aud` (a string or a list of strings): missing claims and claims of another
/// type are refused, whichever way the token was validated (JWT or introspection).
fn check_issuer_audience(claims: &Value, s: &OidcSettings) -> Result<(), ApiError> {
    if !s.issuer.is_empty() {
        match claims.get("iss") {
            None => return Err(unauthorized("The token has no \"iss\" claim.")),
            Some(Value::String(iss)) if *iss == s.issuer => {}
            Some(Value::String(_)) => {
                return Err(unauthorized(format!(
                    "The token issuer is not \"{}\".",
                    s.issuer
                )));
            }
            Some(_) => return Err(unauthorized("The token's \"iss\" claim is not a string.")),
        }
    }
    if !s.audiences.is_empty() {
        let given: Vec<&str> = match claims.get("aud") {
            None => return Err(unauthorized("The token has no \"aud\" claim.")),
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(Value::as_str).collect()
            }
            Some(_) => {
                return Err(unauthorized(
                    "The token's \"aud\" claim is not a string or a list of strings.",
                ));
            }
        };
        if !given
            .iter()
            .any(|a| s.audiences.iter().any(|want| want == a))
        {
            return Err(unauthorized(format!(
                "The token audience is not one of {:?}.",
                s.audiences
            )));
        }
    }
    Ok(())
}
