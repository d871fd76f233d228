//! The `composes` row of a validated request (the API's POST and the bus triggers share it).

use chrono::{Duration, NaiveDateTime};

use super::models::NewCompose;
use crate::config::ComposeSettings;
use crate::domain::{ComposeRequest, State};

/// The row of a validated request (shared with the bus triggers).
pub fn new_compose_row(
    r: &ComposeRequest,
    owner: String,
    now: NaiveDateTime,
    settings: &ComposeSettings,
) -> NewCompose {
    NewCompose {
        owner,
        source_type: r.source_type.code(),
        source: r.source.clone(),
        state: State::Wait.code(),
        state_reason: None,
        time_to_expire: now + Duration::seconds(r.seconds_to_live),
        time_submitted: now,
        flags: r.flags,
        results: r.results,
        sigkeys: r.sigkeys.clone(),
        koji_event: r.koji_event,
        packages: r.packages.clone(),
        builds: r.builds.clone(),
        arches: r.arches.clone(),
        multilib_arches: r.multilib_arches.clone(),
        multilib_method: r.multilib_method,
        lookaside_repos: Some(r.lookaside_repos.clone()),
        modular_koji_tags: r.modular_koji_tags.clone(),
        module_defaults_url: r.module_defaults_url.clone(),
        label: r.label.clone(),
        compose_type: Some(r.compose_type.clone()),
        target_dir: r
            .target_dir_name
            .as_ref()
            .and_then(|n| settings.extra_target_dirs.get(n))
            .map(|p| p.to_string_lossy().into_owned()),
        scratch_modules: r.scratch_modules.clone(),
        parent_pungi_compose_ids: r.parent_pungi_compose_ids.clone(),
        scratch_build_tasks: r.scratch_build_tasks.clone(),
        modules: r.modules.clone(),
        respin_of: r.respin_of.clone(),
        base_module_br_name: r.base_module_br_name.clone(),
        base_module_br_stream: r.base_module_br_stream.clone(),
        base_module_br_stream_version_lte: r.base_module_br_stream_version_lte,
        base_module_br_stream_version_gte: r.base_module_br_stream_version_gte,
        pungi_config_dump: None,
        traceparent: None,
    }
}
