//! The POST validation pipeline of contract §1.6.2: [`parse_compose_request`] runs one named
//! step per stage, in the contract's order (the first failure wins), and returns the
//! [`ComposeRequest`] as it will be stored (§1.6.4).

use serde_json::{Map, Value};

use super::codes::{Flag, MultilibMethod, ResultKind, SourceType};
use super::values::{
    ValidationError, dedup_join, effective_seconds_to_live, invalid, is_falsy, mask_of, opt_int,
    opt_string, requested_seconds_to_live, show, string_list, ttl_bounds, validate_generic,
};
use crate::config::ComposeSettings;

/// A validated POST: every field as it will be stored (contract §1.6.4).
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeRequest {
    pub source_type: SourceType,
    pub source: String,
    pub packages: Option<String>,
    pub builds: Option<String>,
    pub sigkeys: String,
    pub koji_event: Option<i64>,
    pub flags: i32,
    pub results: i32,
    pub arches: String,
    /// The arches the permission check sees (an explicit empty list stays empty).
    pub requested_arches: Vec<String>,
    pub multilib_arches: String,
    pub multilib_method: i32,
    pub lookaside_repos: String,
    pub modular_koji_tags: Option<String>,
    pub module_defaults_url: Option<String>,
    pub label: Option<String>,
    pub compose_type: String,
    pub target_dir_name: Option<String>,
    pub scratch_modules: Option<String>,
    pub parent_pungi_compose_ids: Option<String>,
    pub scratch_build_tasks: Option<String>,
    pub modules: Option<String>,
    pub respin_of: Option<String>,
    pub base_module_br_name: Option<String>,
    pub base_module_br_stream: Option<String>,
    pub base_module_br_stream_version_lte: Option<i64>,
    pub base_module_br_stream_version_gte: Option<i64>,
    pub seconds_to_live: i64,
}

impl ComposeRequest {
    /// The raw_config source name (part before `#`), for raw_config composes.
    pub fn raw_config_key(&self) -> Option<&str> {
        (self.source_type == SourceType::RawConfig)
            .then(|| self.source.split('#').next().unwrap_or(""))
    }
}

/// The POST validation pipeline, steps 2–15 of contract §1.6.2 (step 16, permissions, is the
/// caller's). `body` is the parsed JSON document.
pub fn parse_compose_request(
    body: &Value,
    settings: &ComposeSettings,
) -> Result<ComposeRequest, ValidationError> {
    check_has_data(body)?; // 2
    let top = body_object(body)?; // (4's message: the validator of 3 walks an object)
    validate_generic(top)?; // 3
    let source = source_object(body, top)?; // 4
    let type_name = source_type_name(source)?; // 5
    let source_type = known_source_type(type_name)?; // 6
    let sources = source_list(source, source_type)?; // 7
    check_sources_of_type(source_type, &sources.joined, settings)?; // 8
    let seconds_to_live = seconds_to_live(top, source_type, &sources.joined, settings)?; // 9
    let lists = Lists::read(top, source)?; // 10
    let flags = flags_mask(&lists.flags)?; // 11
    let results = results_mask(&lists.results)?; // 12
    check_results_buildable(results, settings)?;
    let multilib_method = multilib_mask(&lists.multilib_method)?; // 13
    let module_defaults_url = module_defaults(source)?; // 14
    let target_dir_name = target_dir(top, settings)?; // 15
    check_top_strings(top)?;
    let requested_arches = lists
        .arches
        .clone()
        .unwrap_or_else(|| settings.arches.clone());
    let arches = match lists.arches {
        Some(a) if !a.is_empty() => a.join(" "),
        _ => settings.arches.join(" "),
    };
    let joined = |l: Option<Vec<String>>| l.map(|l| l.join(" "));
    Ok(ComposeRequest {
        source_type,
        source: sources.joined,
        packages: joined(lists.packages),
        builds: joined(lists.builds),
        sigkeys: lists
            .sigkeys
            .unwrap_or_else(|| settings.sigkeys.clone())
            .join(" "),
        koji_event: opt_int(source, "koji_event"),
        flags,
        results,
        arches,
        requested_arches,
        multilib_arches: lists.multilib_arches.unwrap_or_default().join(" "),
        multilib_method,
        lookaside_repos: lists.lookaside_repos.unwrap_or_default().join(" "),
        modular_koji_tags: joined(lists.modular_koji_tags),
        module_defaults_url,
        label: opt_string(top, "label"),
        compose_type: opt_string(top, "compose_type").unwrap_or_else(|| "test".into()),
        target_dir_name,
        scratch_modules: joined(sources.scratch_modules),
        parent_pungi_compose_ids: joined(lists.parent_pungi_compose_ids),
        scratch_build_tasks: joined(lists.scratch_build_tasks),
        modules: joined(lists.modules),
        respin_of: opt_string(top, "respin_of"),
        base_module_br_name: opt_string(source, "base_module_br_name"),
        base_module_br_stream: opt_string(source, "base_module_br_stream"),
        base_module_br_stream_version_lte: opt_int(source, "base_module_br_stream_version_lte"),
        base_module_br_stream_version_gte: opt_int(source, "base_module_br_stream_version_gte"),
        seconds_to_live,
    })
}

/// Step 2: a falsy document is no data.
fn check_has_data(body: &Value) -> Result<(), ValidationError> {
    if is_falsy(body) {
        return invalid("No JSON POST data submitted");
    }
    Ok(())
}

/// A truthy body that is not an object fails with step 4's message (ODCS crashes there); it is
/// checked before step 3, whose validator walks an object.
fn body_object(body: &Value) -> Result<&Map<String, Value>, ValidationError> {
    match body {
        Value::Object(top) => Ok(top),
        _ => invalid(format!(
            "Invalid source configuration provided: the request body must be a JSON object, but got {}",
            show(body)
        )),
    }
}

/// Step 4: `source` is an object.
fn source_object<'a>(
    body: &Value,
    top: &'a Map<String, Value>,
) -> Result<&'a Map<String, Value>, ValidationError> {
    match top.get("source") {
        Some(Value::Object(source)) => Ok(source),
        _ => invalid(format!(
            "Invalid source configuration provided: \"source\" must be an object, request was {}",
            show(body)
        )),
    }
}

/// Step 5: `source.type` is given.
fn source_type_name(source: &Map<String, Value>) -> Result<&str, ValidationError> {
    match source.get("type").and_then(Value::as_str) {
        Some(name) => Ok(name),
        None => invalid(format!(
            "Missing type in source configuration, received: {}",
            show(&Value::Object(source.clone()))
        )),
    }
}

/// Step 6: the source type is known.
fn known_source_type(type_name: &str) -> Result<SourceType, ValidationError> {
    match SourceType::from_name(type_name) {
        Some(t) => Ok(t),
        None => invalid(format!("Unknown source type \"{type_name}\"")),
    }
}

/// What step 7 read: the de-duplicated, space-joined sources and `source.scratch_modules`.
struct Sources {
    joined: String,
    scratch_modules: Option<Vec<String>>,
}

/// Step 7: the source list, required except for `build` and for `module` with scratch modules.
fn source_list(
    source: &Map<String, Value>,
    source_type: SourceType,
) -> Result<Sources, ValidationError> {
    let items: Vec<String> = match source.get("source") {
        None => vec![],
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(other) => {
            return invalid(format!(
                "source.source should be a string, but got {}",
                show(other)
            ));
        }
    };
    let scratch_modules = string_list(source, "scratch_modules", "source.")?;
    let has_scratch = scratch_modules.as_ref().is_some_and(|s| !s.is_empty());
    if items.is_empty()
        && source_type != SourceType::Build
        && !(source_type == SourceType::Module && has_scratch)
    {
        return invalid(format!(
            "No source provided for {} ({}): \"source.source\" is empty",
            source_type.code(),
            source_type.name()
        ));
    }
    Ok(Sources {
        joined: dedup_join(&items),
        scratch_modules,
    })
}

/// Step 8: the checks of raw_config and module sources.
fn check_sources_of_type(
    source_type: SourceType,
    joined: &str,
    settings: &ComposeSettings,
) -> Result<(), ValidationError> {
    match source_type {
        SourceType::RawConfig => check_raw_config_source(joined, settings),
        SourceType::Module => check_module_sources(joined, settings),
        SourceType::Repo => allowed_repo_dir(joined, &settings.repo_dirs).map(|_| ()),
        _ => Ok(()),
    }
}

/// Step 8, repo (composed's addition): the path, symlinks resolved, is inside one of
/// `composes.repo_dirs`; returns it resolved. A path that does not exist (yet) is resolved up
/// to its nearest existing ancestor and accepted if that is inside (the engine, which checks
/// again when it runs, fails the compose if it is still missing), as ODCS accepts any path.
pub fn allowed_repo_dir(
    source: &str,
    repo_dirs: &[std::path::PathBuf],
) -> Result<std::path::PathBuf, ValidationError> {
    if repo_dirs.is_empty() {
        return invalid(
            "The source type \"repo\" is not enabled on this server: composes.repo_dirs is empty",
        );
    }
    let path = std::path::Path::new(source);
    if !path.is_absolute() {
        return invalid(format!(
            "source of a repo compose must be an absolute directory path, but got \"{source}\""
        ));
    }
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return invalid(format!(
            "source of a repo compose may not contain \"..\", but got \"{source}\""
        ));
    }
    let real = resolve_existing_prefix(path);
    let allowed = repo_dirs
        .iter()
        .filter_map(|d| d.canonicalize().ok())
        .any(|d| real.starts_with(&d));
    if !allowed {
        return invalid(format!(
            "source: \"{source}\" is outside the directories allowed for repo composes (composes.repo_dirs)"
        ));
    }
    Ok(real)
}

/// `path` with its longest existing prefix canonicalised and the rest appended as given.
fn resolve_existing_prefix(path: &std::path::Path) -> std::path::PathBuf {
    let mut rest = Vec::new();
    let mut cur = path;
    loop {
        if let Ok(real) = cur.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Step 8, raw_config: one `name#commit` source whose name is configured.
fn check_raw_config_source(
    joined: &str,
    settings: &ComposeSettings,
) -> Result<(), ValidationError> {
    let unique: Vec<&str> = joined.split(' ').collect();
    if unique.len() > 1 {
        return invalid(format!(
            "Only single source is allowed for \"raw_config\" source_type, but got \"{joined}\""
        ));
    }
    let parts: Vec<&str> = joined.split('#').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return invalid(format!(
            "Source must be in \"source_name#commit_hash\" format for \"raw_config\" source_type, but got \"{joined}\"."
        ));
    }
    if !settings.raw_config_urls.contains_key(parts[0]) {
        return invalid(format!(
            "Source \"{}\" does not exist in server configuration.",
            parts[0]
        ));
    }
    Ok(())
}

/// Step 8, module: `n:s[:v[:c]]` items, no base module.
fn check_module_sources(joined: &str, settings: &ComposeSettings) -> Result<(), ValidationError> {
    for item in joined.split(' ').filter(|s| !s.is_empty()) {
        if item.split(':').count() < 2 {
            return invalid(format!(
                "Module definition must be in \"n:s\", \"n:s:v\" or \"n:s:v:c\" format, but got {item}"
            ));
        }
        let name = item.split(':').next().unwrap_or("");
        if settings.base_module_names.iter().any(|b| b == name) {
            return invalid(format!(
                "ODCS currently cannot create compose with base modules, but {name} was requested."
            ));
        }
    }
    Ok(())
}

/// Step 9: the lifetime (§2.3), bounded by the settings or the raw_config entry.
fn seconds_to_live(
    top: &Map<String, Value>,
    source_type: SourceType,
    joined: &str,
    settings: &ComposeSettings,
) -> Result<i64, ValidationError> {
    let raw_key = (source_type == SourceType::RawConfig)
        .then(|| joined.split('#').next().unwrap_or("").to_string());
    let (default_ttl, max_ttl) = ttl_bounds(settings, raw_key.as_deref());
    effective_seconds_to_live(requested_seconds_to_live(top)?, default_ttl, max_ttl)
}

/// Step 10: `builds` and the other list-typed keys, each a list of strings (ODCS would iterate
/// a string character by character), read in this order.
struct Lists {
    packages: Option<Vec<String>>,
    builds: Option<Vec<String>>,
    sigkeys: Option<Vec<String>>,
    modular_koji_tags: Option<Vec<String>>,
    scratch_build_tasks: Option<Vec<String>>,
    modules: Option<Vec<String>>,
    flags: Vec<String>,
    results: Vec<String>,
    arches: Option<Vec<String>>,
    multilib_arches: Option<Vec<String>>,
    multilib_method: Vec<String>,
    lookaside_repos: Option<Vec<String>>,
    parent_pungi_compose_ids: Option<Vec<String>>,
}

impl Lists {
    fn read(
        top: &Map<String, Value>,
        source: &Map<String, Value>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            packages: string_list(source, "packages", "source.")?,
            builds: string_list(source, "builds", "source.")?,
            sigkeys: string_list(source, "sigkeys", "source.")?,
            modular_koji_tags: string_list(source, "modular_koji_tags", "source.")?,
            scratch_build_tasks: string_list(source, "scratch_build_tasks", "source.")?,
            modules: string_list(source, "modules", "source.")?,
            flags: string_list(top, "flags", "")?.unwrap_or_default(),
            results: string_list(top, "results", "")?.unwrap_or_default(),
            arches: string_list(top, "arches", "")?,
            multilib_arches: string_list(top, "multilib_arches", "")?,
            multilib_method: string_list(top, "multilib_method", "")?.unwrap_or_default(),
            lookaside_repos: string_list(top, "lookaside_repos", "")?,
            parent_pungi_compose_ids: string_list(top, "parent_pungi_compose_ids", "")?,
        })
    }
}

/// Step 11: known flags.
fn flags_mask(names: &[String]) -> Result<i32, ValidationError> {
    mask_of(names, Flag::from_name, Flag::code, |n| {
        format!("Unknown flag \"{n}\" in \"flags\"")
    })
}

/// Step 12: known results; `repository` is always set.
fn results_mask(names: &[String]) -> Result<i32, ValidationError> {
    let mask = mask_of(names, ResultKind::from_name, ResultKind::code, |n| {
        format!("Unknown result \"{n}\" in \"results\"")
    })?;
    Ok(ResultKind::Repository.code() | mask)
}

/// After step 12 (composed): a result this server cannot make is refused rather than accepted
/// and never made. `boot.iso` needs lorax and an installer runtime, which are not here unless
/// an external command was configured.
fn check_results_buildable(
    results: i32,
    settings: &ComposeSettings,
) -> Result<(), ValidationError> {
    if results & ResultKind::BootIso.code() != 0 && settings.boot_iso_command.is_empty() {
        return invalid(
            "Result \"boot.iso\" in \"results\" cannot be made here: it needs lorax and an installer runtime (anaconda), which this server does not have; an administrator can set composes.boot_iso_command to a command that makes it",
        );
    }
    Ok(())
}

/// Step 13: known multilib methods.
fn multilib_mask(names: &[String]) -> Result<i32, ValidationError> {
    mask_of(
        names,
        MultilibMethod::from_name,
        MultilibMethod::code,
        |n| format!("Unknown multilib method \"{n}\""),
    )
}

/// Step 14: `module_defaults_url` and `module_defaults_commit` together (stored as
/// `"<url> <commit>"`), each a string.
fn module_defaults(source: &Map<String, Value>) -> Result<Option<String>, ValidationError> {
    let md_url = opt_string(source, "module_defaults_url").filter(|s| !s.is_empty());
    let md_commit = opt_string(source, "module_defaults_commit").filter(|s| !s.is_empty());
    let joined = match (md_url, md_commit) {
        (Some(u), Some(c)) => Some(format!("{u} {c}")),
        (None, None) => None,
        _ => {
            return invalid(
                "The \"module_defaults_url\" and \"module_defaults_commit\" must be used together.",
            );
        }
    };
    for key in ["module_defaults_url", "module_defaults_commit"] {
        if let Some(v) = source.get(key).filter(|v| !v.is_string()) {
            return invalid(format!(
                "source.{key} should be a string, but got {}",
                show(v)
            ));
        }
    }
    Ok(joined)
}

/// Step 15: `target_dir` is `default` (or empty) or a configured extra target directory.
fn target_dir(
    top: &Map<String, Value>,
    settings: &ComposeSettings,
) -> Result<Option<String>, ValidationError> {
    match opt_string(top, "target_dir") {
        Some(t) if t.is_empty() || t == "default" => Ok(None),
        Some(t) if settings.extra_target_dirs.contains_key(&t) => Ok(Some(t)),
        Some(t) => invalid(format!("Unknown \"target_dir\" \"{t}\"")),
        None => Ok(None),
    }
}

/// After step 15: `respin_of` and `label` are strings (ODCS would store anything).
fn check_top_strings(top: &Map<String, Value>) -> Result<(), ValidationError> {
    for key in ["respin_of", "label"] {
        if let Some(v) = top.get(key).filter(|v| !v.is_string()) {
            return invalid(format!("{key} should be a string, but got {}", show(v)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::CHARSET_MESSAGE;
    use serde_json::json;

    fn parse(v: Value) -> Result<ComposeRequest, String> {
        parse_compose_request(&v, &ComposeSettings::default()).map_err(|e| e.0)
    }

    #[test]
    fn generic_validator_order_and_messages() {
        let e =
            parse(json!({"source": {"type": "tag", "source": "f26", "builds": "x"}})).unwrap_err();
        assert!(e.starts_with("builds should be a list"), "{e}");
        let e = parse(json!({"x": {"a": 1}, "source": {}})).unwrap_err();
        assert!(
            e.starts_with("Only 'source' key is allowed to contain dict."),
            "{e}"
        );
        let e = parse(json!({"source": {"type": "tag", "source": "f26\n"}})).unwrap_err();
        assert!(
            e.starts_with(CHARSET_MESSAGE) && e.contains("\"source\""),
            "{e}"
        );
        let e = parse(json!({"source": {"type": "tag", "source": "f26"}, "x": null})).unwrap_err();
        assert!(e.contains("'x' has 'null' type"), "{e}");
        let e =
            parse(json!({"source": {"type": "tag", "source": "f26"}, "label": null})).unwrap_err();
        assert!(e.starts_with("label should be a string"), "{e}");
        assert!(
            parse(
                json!({"source": {"type": "tag", "source": "f26", "packages": ["gcc-g++", "a=b"]}})
            )
            .is_ok()
        );
    }

    #[test]
    fn defaults_and_transformations() {
        let r =
            parse(json!({"source": {"type": "module", "source": "foo:x foo:x foo:y"}})).unwrap();
        assert_eq!(r.source, "foo:x foo:y");
        assert_eq!(r.arches, "x86_64");
        assert_eq!(r.results, 1);
        assert_eq!(r.compose_type, "test");
        assert_eq!(r.seconds_to_live, 86_400);
        assert_eq!(r.packages, None);
        let r = parse(json!({"source": {"type": "build", "builds": ["a-1-1"], "sigkeys": ["A", ""]}, "arches": []})).unwrap();
        assert_eq!(r.sigkeys, "A ");
        assert_eq!(r.arches, "x86_64");
        assert!(r.requested_arches.is_empty());
        let r =
            parse(json!({"source": {"type": "tag", "source": "f26"}, "seconds-to-live": "3600"}))
                .unwrap();
        assert_eq!(r.seconds_to_live, 3600);
        let r = parse(
            json!({"source": {"type": "tag", "source": "f26"}, "seconds_to_live": 999_999_999}),
        )
        .unwrap();
        assert_eq!(r.seconds_to_live, 259_200);
    }

    #[test]
    fn pipeline_errors_name_field_and_value() {
        assert_eq!(parse(json!({})).unwrap_err(), "No JSON POST data submitted");
        assert!(
            parse(json!({"a": 1}))
                .unwrap_err()
                .starts_with("Invalid source configuration provided")
        );
        assert!(
            parse(json!({"source": {"source": "x"}}))
                .unwrap_err()
                .starts_with("Missing type in source configuration")
        );
        assert_eq!(
            parse(json!({"source": {"type": "nope", "source": "x"}})).unwrap_err(),
            "Unknown source type \"nope\""
        );
        assert!(
            parse(json!({"source": {"type": "tag", "source": ""}}))
                .unwrap_err()
                .starts_with("No source provided for 1")
        );
        assert_eq!(
            parse(json!({"source": {"type": "tag", "source": "f"}, "flags": ["bogus"]}))
                .unwrap_err(),
            "Unknown flag \"bogus\" in \"flags\""
        );
        assert_eq!(
            parse(json!({"source": {"type": "tag", "source": "f"}, "multilib_method": ["foo"]}))
                .unwrap_err(),
            "Unknown multilib method \"foo\""
        );
        assert_eq!(
            parse(json!({"source": {"type": "tag", "source": "f"}, "target_dir": "foo"}))
                .unwrap_err(),
            "Unknown \"target_dir\" \"foo\""
        );
        assert!(
            parse(json!({"source": {"type": "tag", "source": "f"}, "arches": "x86_64"}))
                .unwrap_err()
                .starts_with("arches should be a list")
        );
        assert!(
            parse(json!({"source": {"type": "tag", "source": "f", "packages": [1]}}))
                .unwrap_err()
                .contains("item 0")
        );
        assert!(
            parse(json!({"source": {"type": "tag", "source": "f"}, "seconds_to_live": -5}))
                .unwrap_err()
                .contains("-5")
        );
        assert!(
            parse(json!({"source": {"type": "tag", "source": "f"}, "seconds-to-live": "abc"}))
                .unwrap_err()
                .starts_with("Invalid seconds_to_live")
        );
    }
}
