//! Who is calling, and what they may do.
//!
//! Backends (`auth.backend`): `noauth` (the embedded default: every caller is an admin and
//! composes are owned by `unknown`, as ODCS does), `oidc` (Bearer tokens: JWTs validated
//! locally against a JWKS, opaque tokens by RFC 7662 introspection) and `proxy` (identity
//! headers set by a trusted front proxy). [`Identity`] is an extractor: handlers that need a
//! login take it as an argument; GET endpoints never do. The rules of ODCS §5.4 are in
//! [`policy`].

pub mod identity;
pub mod login;
pub mod oidc;
pub mod policy;

pub use identity::Identity;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use crate::config::AuthSettings;
use crate::web::error::ApiError;
use crate::web::state::{self, AppState};

/// Checks `[auth]` at start-up (`app::validate_settings`): a known backend, an `oidc` backend
/// with a source of keys and asymmetric algorithms only, trusted proxies that parse.
pub fn validate(settings: &AuthSettings) -> Result<(), String> {
    match settings.backend.as_str() {
        "noauth" | "proxy" => {}
        "oidc" => {
            let o = &settings.oidc;
            if o.jwks_file.is_empty() && o.jwks_url.is_empty() && o.introspection_url.is_empty() {
                return Err("auth.oidc: set jwks_file, jwks_url or introspection_url".into());
            }
            for a in &o.algorithms {
                if ![
                    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                ]
                .contains(&a.as_str())
                {
                    return Err(format!(
                        "auth.oidc.algorithms: {a:?} is not an accepted asymmetric algorithm"
                    ));
                }
            }
            login::validate(o)?;
        }
        other => {
            return Err(format!(
                "auth.backend: unknown backend {other:?} (supported: \"noauth\", \"oidc\", \"proxy\")"
            ));
        }
    }
    for cidr in &settings.proxy.trusted_proxies {
        if cidr.parse::<ipnet::IpNet>().is_err() && cidr.parse::<IpAddr>().is_err() {
            return Err(format!(
                "auth.proxy.trusted_proxies: {cidr:?} is not an address or CIDR"
            ));
        }
    }
    Ok(())
}

/// The configured backend, with its state (JWKS cache, HTTP client).
pub enum Authenticator {
    NoAuth,
    Oidc(Box<oidc::OidcVerifier>),
    Proxy(ProxyAuth),
}

pub struct ProxyAuth {
    user_header: String,
    groups_header: String,
    separator: String,
    trusted: Vec<ipnet::IpNet>,
}

impl Authenticator {
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        Ok(match settings.backend.as_str() {
            "oidc" => Authenticator::Oidc(Box::new(oidc::OidcVerifier::new(&settings.oidc)?)),
            "proxy" => Authenticator::Proxy(ProxyAuth {
                user_header: settings.proxy.user_header.clone(),
                groups_header: settings.proxy.groups_header.clone(),
                separator: settings.proxy.groups_separator.clone(),
                trusted: settings
                    .proxy
                    .trusted_proxies
                    .iter()
                    .map(|c| {
                        c.parse::<ipnet::IpNet>()
                            .or_else(|_| c.parse::<IpAddr>().map(ipnet::IpNet::from))
                    })
                    .collect::<Result<_, _>>()?,
            }),
            _ => Authenticator::NoAuth,
        })
    }

    /// The caller of `req` by this backend (the API's rule: Bearer tokens, trusted headers).
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Identity, ApiError> {
        match self {
            Authenticator::NoAuth => Ok(Identity::anonymous()),
            Authenticator::Oidc(v) => {
                let header = req
                    .headers()
                    .get(actix_web::http::header::AUTHORIZATION)
                    .and_then(|h| h.to_str().ok());
                let token = match header.and_then(|h| {
                    h.strip_prefix("Bearer ")
                        .or_else(|| h.strip_prefix("bearer "))
                }) {
                    Some(t) if !t.trim().is_empty() => t.trim(),
                    _ => {
                        return Err(ApiError::unauthorized(
                            "Missing token passed to ODCS: send \"Authorization: Bearer <token>\".",
                        ));
                    }
                };
                v.verify(token).await
            }
            Authenticator::Proxy(p) => p.identity(req),
        }
    }
}

impl ProxyAuth {
    fn identity(&self, req: &HttpRequest) -> Result<Identity, ApiError> {
        let peer = req.peer_addr().map(|a| a.ip());
        match peer {
            Some(ip) if self.trusted.iter().any(|n| n.contains(&ip)) => {}
            other => {
                return Err(ApiError::unauthorized(format!(
                    "Identity headers are only accepted from trusted proxies; {} is not one.",
                    other
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "the peer".into())
                )));
            }
        }
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let user = header(&self.user_header).ok_or_else(|| {
            ApiError::unauthorized(format!(
                "REMOTE_USER is not present in request (header {}).",
                self.user_header
            ))
        })?;
        let groups = header(&self.groups_header)
            .map(|g| {
                g.split(self.separator.as_str())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Identity {
            username: Some(user),
            groups,
            scopes: None,
        })
    }
}

/// Users seen by this process (the `users` table is written once per user).
static KNOWN_USERS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Records a user in the `users` table once per process.
pub async fn record_user(state: &web::Data<AppState>, username: &str) -> Result<(), ApiError> {
    {
        let known = KNOWN_USERS.lock().expect("users lock");
        if known.as_ref().is_some_and(|k| k.contains(username)) {
            return Ok(());
        }
    }
    let name = username.to_string();
    state::db(state, move |c| Ok(crate::db::users::ensure(c, &name)?)).await?;
    KNOWN_USERS
        .lock()
        .expect("users lock")
        .get_or_insert_with(HashSet::new)
        .insert(username.to_string());
    Ok(())
}

impl FromRequest for Identity {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal("application state missing"))?;
            let auth = req
                .app_data::<web::Data<Authenticator>>()
                .cloned()
                .ok_or_else(|| ApiError::internal("authenticator missing"))?;
            let identity = auth.authenticate(&req).await?;
            if let Some(u) = &identity.username {
                record_user(&state, u).await?;
            }
            Ok(identity)
        })
    }
}
