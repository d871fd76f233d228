//! JSON shapes of the API (contract §1.3), separate from the database rows.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::ComposeSettings;
use crate::db::models::Compose;
use crate::domain::{SourceType, flag_names, result_names, state_name};

/// `YYYY-MM-DDTHH:MM:SSZ`, seconds precision.
pub fn format_time(t: &NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    // `%Y-%m-%dT%H:%M:%SZ` without chrono's format-string interpreter (on every API read).
    let y = t.year();
    if !(0..=9999).contains(&y) {
        return t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    format!(
        "{y:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn opt_time(t: &Option<NaiveDateTime>) -> Option<String> {
    t.as_ref().map(format_time)
}

/// Joins a base URL and a path without doubling the slash.
pub fn url_join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The name of a compose's directory: `odcs-<reused_id>` for a reusing compose.
pub fn compose_name(c: &Compose) -> String {
    format!("odcs-{}", c.reused_id.unwrap_or(c.id))
}

/// Name of the target dir a compose is stored on: `default`, an extra dir's name, or `unknown`.
pub fn target_dir_name(c: &Compose, settings: &ComposeSettings) -> String {
    match &c.target_dir {
        None => "default".into(),
        Some(p) if std::path::Path::new(p) == settings.target_dir => "default".into(),
        Some(p) => settings
            .extra_target_dirs
            .iter()
            .find(|(_, path)| path.as_path() == std::path::Path::new(p))
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| "unknown".into()),
    }
}

/// The compose JSON object. Keys serialize in alphabetical order, as Flask sorts them.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ComposeView {
    pub arches: String,
    pub base_module_br_name: Option<String>,
    pub base_module_br_stream: Option<String>,
    pub base_module_br_stream_version_gte: Option<i64>,
    pub base_module_br_stream_version_lte: Option<i64>,
    pub builds: Option<String>,
    pub compose_type: Option<String>,
    /// Names of the set flags, in the fixed flag order.
    pub flags: Vec<String>,
    pub id: i64,
    pub koji_event: Option<i64>,
    pub koji_task_id: Option<i64>,
    pub label: Option<String>,
    pub lookaside_repos: Option<String>,
    pub modular_koji_tags: Option<String>,
    pub module_defaults_url: Option<String>,
    pub modules: Option<String>,
    pub multilib_arches: String,
    pub multilib_method: i32,
    pub owner: String,
    pub packages: Option<String>,
    pub parent_pungi_compose_ids: Option<String>,
    /// Only in `GET /api/1/composes/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub pungi_config_dump: Option<Option<String>>,
    pub pungi_compose_id: Option<String>,
    pub removed_by: Option<String>,
    pub respin_of: Option<String>,
    pub result_repo: String,
    pub result_repofile: String,
    pub results: Vec<String>,
    pub scratch_build_tasks: Option<String>,
    pub scratch_modules: Option<String>,
    pub sigkeys: String,
    pub source: String,
    /// 1 tag, 2 module, 3 repo, 4 pulp, 5 raw_config, 6 build, 7 pungi_compose.
    pub source_type: i32,
    /// 0 wait, 1 generating, 2 done, 3 removed, 4 failed.
    pub state: i32,
    pub state_name: String,
    pub state_reason: Option<String>,
    pub target_dir: String,
    pub time_done: Option<String>,
    pub time_removed: Option<String>,
    pub time_started: Option<String>,
    pub time_submitted: String,
    pub time_to_expire: String,
    pub toplevel_url: String,
}

/// `toplevel_url`: the compose's directory under `composes.target_dir_url`, for a compose in
/// the default target directory (`None` for the others, which ODCS gives no URL either).
pub fn toplevel_url(c: &Compose, settings: &ComposeSettings) -> Option<String> {
    (target_dir_name(c, settings) == "default")
        .then(|| url_join(&settings.target_dir_url, &compose_name(c)))
}

impl ComposeView {
    pub fn new(c: &Compose, settings: &ComposeSettings, with_dump: bool) -> Self {
        let name = compose_name(c);
        let target = target_dir_name(c, settings);
        let default_dir = target == "default";
        let toplevel_url = toplevel_url(c, settings).unwrap_or_default();
        let raw = c.source_type == SourceType::RawConfig.code();
        let (result_repo, result_repofile) = if default_dir && !raw {
            let repo = url_join(&toplevel_url, "compose/Temporary");
            let file = url_join(&repo, &format!("{name}.repo"));
            (repo, file)
        } else {
            (String::new(), String::new())
        };
        Self {
            arches: c.arches.clone(),
            base_module_br_name: c.base_module_br_name.clone(),
            base_module_br_stream: c.base_module_br_stream.clone(),
            base_module_br_stream_version_gte: c.base_module_br_stream_version_gte,
            base_module_br_stream_version_lte: c.base_module_br_stream_version_lte,
            builds: c.builds.clone(),
            compose_type: c.compose_type.clone(),
            flags: flag_names(c.flags)
                .into_iter()
                .map(str::to_string)
                .collect(),
            id: c.id,
            koji_event: c.koji_event,
            koji_task_id: c.koji_task_id,
            label: c.label.clone(),
            lookaside_repos: c.lookaside_repos.clone(),
            modular_koji_tags: c.modular_koji_tags.clone(),
            module_defaults_url: c.module_defaults_url.clone(),
            modules: c.modules.clone(),
            multilib_arches: c.multilib_arches.clone(),
            multilib_method: c.multilib_method,
            owner: c.owner.clone(),
            packages: c.packages.clone(),
            parent_pungi_compose_ids: c.parent_pungi_compose_ids.clone(),
            pungi_config_dump: with_dump.then(|| c.pungi_config_dump.clone()),
            pungi_compose_id: c.pungi_compose_id.clone(),
            removed_by: c.removed_by.clone(),
            respin_of: c.respin_of.clone(),
            result_repo,
            result_repofile,
            results: result_names(c.results)
                .into_iter()
                .map(str::to_string)
                .collect(),
            scratch_build_tasks: c.scratch_build_tasks.clone(),
            scratch_modules: c.scratch_modules.clone(),
            sigkeys: c.sigkeys.clone(),
            source: c.source.clone(),
            source_type: c.source_type,
            state: c.state,
            state_name: state_name(c.state).to_string(),
            state_reason: c.state_reason.clone(),
            target_dir: target,
            time_done: opt_time(&c.time_done),
            time_removed: opt_time(&c.time_removed),
            time_started: opt_time(&c.time_started),
            time_submitted: format_time(&c.time_submitted),
            time_to_expire: format_time(&c.time_to_expire),
            toplevel_url,
        }
    }
}

/// Body of a `state-changed` message (contract §6.1).
pub fn state_changed_message(c: &Compose, settings: &ComposeSettings) -> serde_json::Value {
    serde_json::json!({
        "event": "state-changed",
        "compose": ComposeView::new(c, settings, false),
    })
}

#[cfg(test)]
mod time_format_tests {
    use super::format_time;

    #[test]
    fn format_time_matches_the_odcs_format() {
        for (s, want) in [
            ("2026-11-22T06:05:09", "2026-11-22T06:05:09Z"),
            ("0999-01-02T00:00:00", "0999-01-02T00:00:00Z"),
            ("2024-02-29T23:59:59.999", "2024-02-29T23:59:59Z"),
        ] {
            let t: chrono::NaiveDateTime = s.parse().unwrap();
            assert_eq!(format_time(&t), want);
            assert_eq!(format_time(&t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }
}
