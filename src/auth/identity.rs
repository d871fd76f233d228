//! The authenticated caller and what its identity grants by itself (admin role, scopes).

use crate::config::{AuthSettings, Settings};
use crate::web::error::ApiError;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `None` under `noauth`: there is no user object.
    pub username: Option<String>,
    pub groups: Vec<String>,
    /// Granted scopes (OIDC); `None` when the backend has no scopes.
    pub scopes: Option<Vec<String>>,
}

impl Identity {
    pub fn anonymous() -> Self {
        Identity {
            username: None,
            groups: vec![],
            scopes: None,
        }
    }

    /// The owner recorded on composes this caller creates.
    pub fn owner(&self) -> String {
        self.username.clone().unwrap_or_else(|| "unknown".into())
    }

    /// The name recorded when this caller removes or cancels a compose.
    pub fn actor(&self) -> String {
        self.username.clone().unwrap_or_else(|| "anonymous".into())
    }

    /// Role `admins`: user or any group listed; everybody under `noauth`.
    pub fn is_admin(&self, auth: &AuthSettings) -> bool {
        match &self.username {
            None => true,
            Some(u) => {
                auth.admins.users.contains(u)
                    || self.groups.iter().any(|g| auth.admins.groups.contains(g))
            }
        }
    }

    /// The endpoint scope (`new-compose`, `renew-compose`, `delete-compose`) for OIDC callers.
    pub fn require_scope(&self, settings: &Settings, short: &str) -> Result<(), ApiError> {
        let Some(scopes) = &self.scopes else {
            return Ok(());
        };
        if !settings.auth.oidc.require_endpoint_scopes {
            return Ok(());
        }
        let full = format!("{}{short}", settings.auth.oidc.scope_namespace);
        if scopes.contains(&full) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "Request does not have required scope {short} (expected \"{full}\" in the token's scopes)"
            )))
        }
    }
}
