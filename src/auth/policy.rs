//! Authorization rules of ODCS §5.4: the `allowed_clients` role, per-client attribute
//! allow-lists (user entry first, otherwise any of the groups' entries), and admins.

use crate::config::{AuthSettings, ComposeSettings};
use crate::web::error::ApiError;

use super::identity::Identity;

/// The compose values the attribute checks look at.
#[derive(Debug, Clone)]
pub struct ComposeAttrs {
    pub source_type: String,
    pub sources: Vec<String>,
    pub results: Vec<String>,
    pub flags: Vec<String>,
    pub arches: Vec<String>,
    pub compose_type: String,
    /// POST only: the named target dir (the default one is never checked).
    pub target_dir: Option<String>,
    /// raw_config only: the part of the source before `#`.
    pub raw_config_key: Option<String>,
}

/// Role `allowed_clients`: the user, or one of its groups, has an entry. Skipped under `noauth`.
pub fn require_allowed_client(identity: &Identity, auth: &AuthSettings) -> Result<(), ApiError> {
    let Some(user) = &identity.username else {
        return Ok(());
    };
    let clients = &auth.allowed_clients;
    if clients.users.contains_key(user)
        || identity
            .groups
            .iter()
            .any(|g| clients.groups.contains_key(g))
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "User {user} is not in role allowed_clients."
        )))
    }
}

fn allows(list: &[String], value: &str) -> bool {
    (list.len() == 1 && list[0].is_empty()) || list.iter().any(|v| v == value)
}

/// Attribute checks; skipped under `noauth` and for admins.
pub fn check_compose(
    identity: &Identity,
    auth: &AuthSettings,
    composes: &ComposeSettings,
    attrs: &ComposeAttrs,
) -> Result<(), ApiError> {
    let Some(user) = &identity.username else {
        return Ok(());
    };
    if identity.is_admin(auth) {
        return Ok(());
    }
    let clients = &auth.allowed_clients;
    let rule_sets: Vec<_> = match clients.users.get(user) {
        Some(entry) => vec![entry],
        None => identity
            .groups
            .iter()
            .filter_map(|g| clients.groups.get(g))
            .collect(),
    };
    if rule_sets.is_empty() {
        return Err(ApiError::forbidden(format!(
            "User {user} not allowed to operate with any compose."
        )));
    }
    let raw_keys: Vec<String> = composes.raw_config_urls.keys().cloned().collect();
    let mut sentences: Vec<String> = Vec::new();
    for rules in rule_sets {
        let list = |attr: &str, default: &[String]| -> Vec<String> {
            rules.get(attr).cloned().unwrap_or_else(|| default.to_vec())
        };
        let mut checks: Vec<(&str, Vec<String>, Vec<String>)> = vec![
            (
                "source_types",
                list("source_types", &auth.allowed_source_types),
                vec![attrs.source_type.clone()],
            ),
            (
                "sources",
                list("sources", &auth.allowed_sources),
                attrs.sources.clone(),
            ),
            (
                "results",
                list("results", &auth.allowed_results),
                attrs.results.clone(),
            ),
            (
                "flags",
                list("flags", &auth.allowed_flags),
                attrs.flags.clone(),
            ),
            (
                "arches",
                list("arches", &auth.allowed_arches),
                attrs.arches.clone(),
            ),
            (
                "compose_types",
                list("compose_types", &auth.allowed_compose_types),
                vec![attrs.compose_type.clone()],
            ),
        ];
        if let Some(t) = &attrs.target_dir {
            checks.push(("target_dirs", list("target_dirs", &[]), vec![t.clone()]));
        }
        if let Some(k) = &attrs.raw_config_key {
            checks.push((
                "raw_config_keys",
                list("raw_config_keys", &raw_keys),
                vec![k.clone()],
            ));
        }
        let mut failed = false;
        for (attr, allowed, values) in checks {
            if let Some(bad) = values.iter().find(|v| !allows(&allowed, v)) {
                failed = true;
                let s =
                    format!("User {user} not allowed to operate with compose with {attr}={bad}.");
                if !sentences.contains(&s) {
                    sentences.push(s);
                }
            }
        }
        if !failed {
            return Ok(());
        }
    }
    Err(ApiError::forbidden(sentences.join(" ")))
}

/// Names of the set flags plus `no_flags`, which every mask matches (ODCS quirk).
fn checked_flags(mask: i32) -> Vec<String> {
    let mut flags: Vec<String> = crate::domain::flag_names(mask)
        .into_iter()
        .map(str::to_string)
        .collect();
    flags.push("no_flags".into());
    flags
}

/// Attributes of a POST request.
pub fn attrs_of_request(r: &crate::domain::ComposeRequest) -> ComposeAttrs {
    let flags = checked_flags(r.flags);
    ComposeAttrs {
        source_type: r.source_type.name().into(),
        sources: r.source.split(' ').map(str::to_string).collect(),
        results: crate::domain::result_names(r.results)
            .into_iter()
            .map(str::to_string)
            .collect(),
        flags,
        arches: if r.requested_arches.is_empty() {
            vec![String::new()]
        } else {
            r.requested_arches.clone()
        },
        compose_type: r.compose_type.clone(),
        target_dir: r.target_dir_name.clone(),
        raw_config_key: r.raw_config_key().map(str::to_string),
    }
}

/// Attributes of a stored compose (PATCH checks the old compose; no target dir check).
pub fn attrs_of_compose(c: &crate::db::models::Compose) -> ComposeAttrs {
    let flags = checked_flags(c.flags);
    let source_type = crate::domain::SourceType::from_code(c.source_type);
    ComposeAttrs {
        source_type: source_type.map(|s| s.name()).unwrap_or("unknown").into(),
        sources: c.source.split(' ').map(str::to_string).collect(),
        results: crate::domain::result_names(c.results)
            .into_iter()
            .map(str::to_string)
            .collect(),
        flags,
        arches: c.arches.split(' ').map(str::to_string).collect(),
        compose_type: c.compose_type.clone().unwrap_or_else(|| "test".into()),
        target_dir: None,
        raw_config_key: (source_type == Some(crate::domain::SourceType::RawConfig))
            .then(|| c.source.split('#').next().unwrap_or("").to_string()),
    }
}
