//! Who is calling. The `noauth` backend (the embedded default) treats every caller as an
//! allowed admin whose composes are owned by `unknown`, as ODCS does. [`Identity`] is an
//! extractor so that other backends can replace how it is made without touching handlers.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::api::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `None` under `noauth`: there is no user object.
    pub username: Option<String>,
    pub groups: Vec<String>,
}

impl Identity {
    /// The owner recorded on composes this caller creates.
    pub fn owner(&self) -> String {
        self.username.clone().unwrap_or_else(|| "unknown".into())
    }

    /// The name recorded when this caller removes or cancels a compose.
    pub fn actor(&self) -> String {
        self.username.clone().unwrap_or_else(|| "anonymous".into())
    }

    /// Under `noauth` everybody is an admin.
    pub fn is_admin(&self, _settings: &crate::config::AuthSettings) -> bool {
        self.username.is_none()
    }
}

impl FromRequest for Identity {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(_req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // Only `noauth` exists so far (validated at start-up).
        ready(Ok(Identity {
            username: None,
            groups: vec![],
        }))
    }
}
