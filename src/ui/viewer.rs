//! Who is looking at a page: the login session's identity under `oidc` with a login
//! (`[auth.oidc.login]`), otherwise the API's own rule (`noauth`: everybody; `proxy`: the
//! trusted headers). A page never fails for want of an identity: it is shown read-only, and
//! actions ask for a login.

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use crate::auth::login::{OidcLogin, SESSION_COOKIE};
use crate::auth::{Authenticator, Identity};
use crate::web::state::AppState;

#[derive(Clone)]
pub struct Viewer {
    pub identity: Option<Identity>,
    /// The UI has a login (the `oidc` backend with a client id).
    pub can_login: bool,
}

impl Viewer {
    /// The viewer a handler extracted for this request, if it did.
    pub fn of(req: &HttpRequest) -> Option<Viewer> {
        req.extensions().get::<Viewer>().cloned()
    }

    /// Whether this viewer may delete (or cancel) a compose of `owner` in `state`, by the
    /// API's rules (endpoint scope, admins, the owner of a compose not yet done).
    pub fn may_delete(
        &self,
        settings: &crate::config::Settings,
        owner: &str,
        running: bool,
    ) -> bool {
        let Some(i) = &self.identity else {
            return false;
        };
        if i.require_scope(settings, "delete-compose").is_err() {
            return false;
        }
        i.is_admin(&settings.auth) || (running && i.username.as_deref() == Some(owner))
    }

    /// Whether this viewer may renew a compose (endpoint scope, `allowed_clients`).
    pub fn may_renew(&self, settings: &crate::config::Settings) -> bool {
        self.identity.as_ref().is_some_and(|i| {
            i.require_scope(settings, "renew-compose").is_ok()
                && crate::auth::policy::require_allowed_client(i, &settings.auth).is_ok()
        })
    }
}

impl FromRequest for Viewer {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(login) = req.app_data::<web::Data<OidcLogin>>() {
                let identity = req
                    .cookie(SESSION_COOKIE)
                    .and_then(|c| login.session(c.value()));
                let v = Viewer {
                    identity,
                    can_login: true,
                };
                req.extensions_mut().insert(v.clone());
                return Ok(v);
            }
            let mut identity = None;
            if let Some(auth) = req.app_data::<web::Data<Authenticator>>()
                && let Ok(i) = auth.authenticate(&req).await
            {
                if let (Some(u), Some(state)) = (&i.username, req.app_data::<web::Data<AppState>>())
                    && crate::auth::record_user(state, u).await.is_err()
                {
                    tracing::warn!(user = %u, "cannot record the user of a page");
                }
                identity = Some(i);
            }
            let v = Viewer {
                identity,
                can_login: false,
            };
            req.extensions_mut().insert(v.clone());
            Ok(v)
        })
    }
}
