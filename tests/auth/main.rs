//! Auth area: OIDC bearer tokens (JWKS file and URL, rotation, introspection), the trusted
//! proxy backend, every authorization rule of ODCS §5.4, the real `odcs` client with
//! `AuthMech.OpenIDC`, and no secret in any log line.

#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;

mod oidc;
mod rules;
