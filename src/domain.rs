//! Validated domain types: enumerations of the ODCS wire format and the POST validation
//! pipeline of contract §1.6.2, which turns a JSON body into a [`ComposeRequest`].
//! Nothing here touches HTTP or the database.

use serde_json::{Map, Value};

use crate::config::ComposeSettings;

/// A validation failure: becomes a 400 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

fn invalid<T>(msg: impl Into<String>) -> Result<T, ValidationError> {
    Err(ValidationError(msg.into()))
}

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:expr, $text:expr;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn code(self) -> i32 { match self { $($name::$variant => $code),* } }
            pub fn name(self) -> &'static str { match self { $($name::$variant => $text),* } }
            pub fn from_code(code: i32) -> Option<Self> {
                match code { $(c if c == $code => Some($name::$variant),)* _ => None }
            }
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

code_enum!(
    /// `source_type` codes.
    SourceType {
        Tag = 1, "tag";
        Module = 2, "module";
        Repo = 3, "repo";
        Pulp = 4, "pulp";
        RawConfig = 5, "raw_config";
        Build = 6, "build";
        PungiCompose = 7, "pungi_compose";
    }
);

code_enum!(
    /// Compose states.
    State {
        Wait = 0, "wait";
        Generating = 1, "generating";
        Done = 2, "done";
        Removed = 3, "removed";
        Failed = 4, "failed";
    }
);

code_enum!(
    /// Flag bits, in the order the JSON lists them.
    Flag {
        NoFlags = 0, "no_flags";
        NoDeps = 1, "no_deps";
        NoInheritance = 2, "no_inheritance";
        IncludeUnpublishedPulpRepos = 4, "include_unpublished_pulp_repos";
        CheckDeps = 8, "check_deps";
        IncludeDoneModules = 16, "include_done_modules";
        IgnoreAbsentPulpRepos = 32, "ignore_absent_pulp_repos";
        NoReuse = 64, "no_reuse";
        UseOnlyCompatibleArch = 128, "use_only_compatible_arch";
        NoLabel = 256, "no_label";
    }
);

code_enum!(
    /// Result bits.
    ResultKind {
        Repository = 1, "repository";
        Iso = 2, "iso";
        Ostree = 4, "ostree";
        BootIso = 8, "boot.iso";
    }
);

code_enum!(
    /// Multilib method bits.
    MultilibMethod {
        None = 0, "none";
        Runtime = 1, "runtime";
        Devel = 2, "devel";
        All = 4, "all";
    }
);

/// Names of the set bits of a mask, in table order; zero-valued entries are never listed.
pub fn flag_names(mask: i32) -> Vec<&'static str> {
    Flag::ALL
        .iter()
        .filter(|f| f.code() != 0 && mask & f.code() != 0)
        .map(|f| f.name())
        .collect()
}

pub fn result_names(mask: i32) -> Vec<&'static str> {
    ResultKind::ALL
        .iter()
        .filter(|r| mask & r.code() != 0)
        .map(|r| r.name())
        .collect()
}

pub fn state_name(code: i32) -> &'static str {
    State::from_code(code).map(State::name).unwrap_or("unknown")
}

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

const LIST_KEYS: &[&str] = &[
    "builds",
    "multilib_method",
    "packages",
    "scratch_build_tasks",
    "scratch_modules",
    "sigkeys",
    "modules",
];
const STRING_KEYS: &[&str] = &[
    "base_module_br_name",
    "base_module_br_stream",
    "compose_type",
    "label",
    "target_dir",
    "type",
];
const INT_KEYS: &[&str] = &[
    "seconds_to_live",
    "koji_event",
    "base_module_br_stream_version_lte",
    "base_module_br_stream_version_gte",
];
pub const ALLOWED_PUNCTUATION: &str = " -/_.:#+?$~^,";
const CHARSET_MESSAGE: &str = "Only alphanumerical characters and ' -/_.:#+?$~^,' characters are allowed in ODCS input variables";

/// Short JSON rendering of a value for messages (bounded length).
pub fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Step 2: ODCS treats falsy JSON (`{}`, `[]`, `null`, `""`, `0`, `false`) as no data.
pub fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || ALLOWED_PUNCTUATION.contains(c)
}

fn check_string(key: &str, s: &str) -> Result<(), ValidationError> {
    if s.chars().all(allowed_char) {
        Ok(())
    } else {
        invalid(format!(
            "{CHARSET_MESSAGE}, but \"{key}\" has {}",
            show(&Value::String(s.into()))
        ))
    }
}

/// Step 3: the generic recursive validator, in document order.
pub fn validate_generic(body: &Map<String, Value>) -> Result<(), ValidationError> {
    validate_object(body, true)
}

fn validate_object(obj: &Map<String, Value>, top_level: bool) -> Result<(), ValidationError> {
    for (key, value) in obj {
        let k = key.as_str();
        if LIST_KEYS.contains(&k) && !value.is_array() {
            return invalid(format!("{k} should be a list, but got {}", show(value)));
        }
        if STRING_KEYS.contains(&k) && !value.is_string() {
            return invalid(format!("{k} should be a string, but got {}", show(value)));
        }
        if INT_KEYS.contains(&k) && !(value.is_i64() || value.is_u64()) {
            return invalid(format!("{k} should be an integer, but got {}", show(value)));
        }
        match value {
            Value::Object(inner) => {
                if !(top_level && k == "source") {
                    return invalid(format!(
                        "Only 'source' key is allowed to contain dict. \"{k}\" holds a dict"
                    ));
                }
                validate_object(inner, false)?;
            }
            Value::Array(items) => validate_array(k, items)?,
            Value::String(s) => check_string(k, s)?,
            Value::Number(_) | Value::Bool(_) => {}
            Value::Null => {
                return invalid(format!(
                    "Only dict, list, str, unicode, int, float and bool types are allowed in ODCS input variables, but '{k}' has 'null' type"
                ));
            }
        }
    }
    Ok(())
}

fn validate_array(key: &str, items: &[Value]) -> Result<(), ValidationError> {
    for item in items {
        match item {
            Value::Object(_) => {
                return invalid(format!(
                    "Only 'source' key is allowed to contain dict. \"{key}\" holds a dict"
                ));
            }
            Value::Array(inner) => validate_array(key, inner)?,
            Value::String(s) if key != "packages" => check_string(key, s)?,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            Value::Null => {
                return invalid(format!(
                    "Only dict, list, str, unicode, int, float and bool types are allowed in ODCS input variables, but '{key}' has 'null' type"
                ));
            }
        }
    }
    Ok(())
}

/// An optional list of strings under `key` of `obj` (`prefix` names the object in messages).
pub fn string_list(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
) -> Result<Option<Vec<String>>, ValidationError> {
    let Some(v) = obj.get(key) else {
        return Ok(None);
    };
    let Value::Array(items) = v else {
        return invalid(format!(
            "{prefix}{key} should be a list, but got {}",
            show(v)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            other => invalid(format!(
                "{prefix}{key} should be a list of strings, but item {i} is {} ({})",
                show(other),
                json_type(other)
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

fn opt_int(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    obj.get(key).and_then(Value::as_i64)
}

/// Space-joined items, de-duplicated keeping the first occurrence.
pub fn dedup_join(items: &[String]) -> String {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seconds to live of a request (contract §2.3), `None` when the request gives none.
pub fn requested_seconds_to_live(
    body: &Map<String, Value>,
) -> Result<Option<i64>, ValidationError> {
    if let Some(v) = body.get("seconds_to_live") {
        // Type already checked by the generic validator.
        return Ok(v.as_i64());
    }
    let Some(v) = body.get("seconds-to-live") else {
        return Ok(None);
    };
    let parsed = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9e15)
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) => Ok(Some(n)),
        None => invalid(format!(
            "Invalid seconds_to_live specified in request: \"seconds-to-live\" is {}",
            show(v)
        )),
    }
}

/// Effective lifetime: the requested value bounded by the maximum; absent or 0 → the default.
pub fn effective_seconds_to_live(
    requested: Option<i64>,
    default: i64,
    max: i64,
) -> Result<i64, ValidationError> {
    match requested {
        None | Some(0) => Ok(default),
        Some(n) if n < 0 => invalid(format!("seconds_to_live must be positive, but got {n}")),
        Some(n) => Ok(n.min(max)),
    }
}

/// Default and maximum lifetime for a compose, honouring raw_config overrides.
pub fn ttl_bounds(settings: &ComposeSettings, raw_config_key: Option<&str>) -> (i64, i64) {
    let mut default = settings.seconds_to_live;
    let mut max = settings.max_seconds_to_live;
    if let Some(entry) = raw_config_key.and_then(|k| settings.raw_config_urls.get(k)) {
        if let Some(d) = entry.get("seconds_to_live").and_then(Value::as_i64) {
            default = d;
        }
        if let Some(m) = entry.get("max_seconds_to_live").and_then(Value::as_i64) {
            max = m;
        }
    }
    (default, max)
}

fn mask_of<T: Copy>(
    names: &[String],
    parse: impl Fn(&str) -> Option<T>,
    code: impl Fn(T) -> i32,
    unknown: impl Fn(&str) -> String,
) -> Result<i32, ValidationError> {
    let mut mask = 0;
    for n in names {
        match parse(n) {
            Some(v) => mask |= code(v),
            None => return invalid(unknown(n)),
        }
    }
    Ok(mask)
}

/// The POST validation pipeline, steps 2–15 of contract §1.6.2 (step 16, permissions, is the
/// caller's). `body` is the parsed JSON document.
pub fn parse_compose_request(
    body: &Value,
    settings: &ComposeSettings,
) -> Result<ComposeRequest, ValidationError> {
    // Step 2.
    if is_falsy(body) {
        return invalid("No JSON POST data submitted");
    }
    let Value::Object(top) = body else {
        return invalid(format!(
            "Invalid source configuration provided: the request body must be a JSON object, but got {}",
            show(body)
        ));
    };
    // Step 3.
    validate_generic(top)?;
    // Step 4.
    let Some(Value::Object(source)) = top.get("source") else {
        return invalid(format!(
            "Invalid source configuration provided: \"source\" must be an object, request was {}",
            show(body)
        ));
    };
    // Step 5.
    let Some(type_name) = source.get("type").and_then(Value::as_str) else {
        return invalid(format!(
            "Missing type in source configuration, received: {}",
            show(&Value::Object(source.clone()))
        ));
    };
    // Step 6.
    let Some(source_type) = SourceType::from_name(type_name) else {
        return invalid(format!("Unknown source type \"{type_name}\""));
    };
    // Step 7.
    let source_items: Vec<String> = match source.get("source") {
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
    if source_items.is_empty()
        && source_type != SourceType::Build
        && !(source_type == SourceType::Module && has_scratch)
    {
        return invalid(format!(
            "No source provided for {} ({}): \"source.source\" is empty",
            source_type.code(),
            source_type.name()
        ));
    }
    let source_joined = dedup_join(&source_items);
    // Step 8.
    match source_type {
        SourceType::RawConfig => {
            let unique: Vec<&str> = source_joined.split(' ').collect();
            if unique.len() > 1 {
                return invalid(format!(
                    "Only single source is allowed for \"raw_config\" source_type, but got \"{source_joined}\""
                ));
            }
            let parts: Vec<&str> = source_joined.split('#').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                return invalid(format!(
                    "Source must be in \"source_name#commit_hash\" format for \"raw_config\" source_type, but got \"{source_joined}\"."
                ));
            }
            if !settings.raw_config_urls.contains_key(parts[0]) {
                return invalid(format!(
                    "Source \"{}\" does not exist in server configuration.",
                    parts[0]
                ));
            }
        }
        SourceType::Module => {
            for item in source_joined.split(' ').filter(|s| !s.is_empty()) {
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
        }
        _ => {}
    }
    // Step 9.
    let raw_key = (source_type == SourceType::RawConfig)
        .then(|| source_joined.split('#').next().unwrap_or("").to_string());
    let (default_ttl, max_ttl) = ttl_bounds(settings, raw_key.as_deref());
    let seconds_to_live =
        effective_seconds_to_live(requested_seconds_to_live(top)?, default_ttl, max_ttl)?;
    // Step 10 (and the other list-typed keys, which ODCS would iterate character by character).
    let packages = string_list(source, "packages", "source.")?;
    let builds = string_list(source, "builds", "source.")?;
    let sigkeys = string_list(source, "sigkeys", "source.")?;
    let modular_koji_tags = string_list(source, "modular_koji_tags", "source.")?;
    let scratch_build_tasks = string_list(source, "scratch_build_tasks", "source.")?;
    let modules = string_list(source, "modules", "source.")?;
    let flags = string_list(top, "flags", "")?.unwrap_or_default();
    let results = string_list(top, "results", "")?.unwrap_or_default();
    let arches = string_list(top, "arches", "")?;
    let multilib_arches = string_list(top, "multilib_arches", "")?;
    let multilib_method = string_list(top, "multilib_method", "")?.unwrap_or_default();
    let lookaside_repos = string_list(top, "lookaside_repos", "")?;
    let parent_ids = string_list(top, "parent_pungi_compose_ids", "")?;
    // Step 11.
    let flags = mask_of(&flags, Flag::from_name, Flag::code, |n| {
        format!("Unknown flag \"{n}\" in \"flags\"")
    })?;
    // Step 12.
    let results = ResultKind::Repository.code()
        | mask_of(&results, ResultKind::from_name, ResultKind::code, |n| {
            format!("Unknown result \"{n}\" in \"results\"")
        })?;
    // Step 13.
    let multilib_method = mask_of(
        &multilib_method,
        MultilibMethod::from_name,
        MultilibMethod::code,
        |n| format!("Unknown multilib method \"{n}\""),
    )?;
    // Step 14.
    let md_url = opt_string(source, "module_defaults_url").filter(|s| !s.is_empty());
    let md_commit = opt_string(source, "module_defaults_commit").filter(|s| !s.is_empty());
    let module_defaults_url = match (md_url, md_commit) {
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
    // Step 15.
    let target_dir_name = match opt_string(top, "target_dir") {
        Some(t) if t.is_empty() || t == "default" => None,
        Some(t) if settings.extra_target_dirs.contains_key(&t) => Some(t),
        Some(t) => return invalid(format!("Unknown \"target_dir\" \"{t}\"")),
        None => None,
    };
    for key in ["respin_of", "label"] {
        if let Some(v) = top.get(key).filter(|v| !v.is_string()) {
            return invalid(format!("{key} should be a string, but got {}", show(v)));
        }
    }
    let requested_arches = arches.clone().unwrap_or_else(|| settings.arches.clone());
    let arches = match arches {
        Some(a) if !a.is_empty() => a.join(" "),
        _ => settings.arches.join(" "),
    };
    Ok(ComposeRequest {
        source_type,
        source: source_joined,
        packages: packages.map(|p| p.join(" ")),
        builds: builds.map(|b| b.join(" ")),
        sigkeys: sigkeys
            .unwrap_or_else(|| settings.sigkeys.clone())
            .join(" "),
        koji_event: opt_int(source, "koji_event"),
        flags,
        results,
        arches,
        requested_arches,
        multilib_arches: multilib_arches.unwrap_or_default().join(" "),
        multilib_method,
        lookaside_repos: lookaside_repos.unwrap_or_default().join(" "),
        modular_koji_tags: modular_koji_tags.map(|t| t.join(" ")),
        module_defaults_url,
        label: opt_string(top, "label"),
        compose_type: opt_string(top, "compose_type").unwrap_or_else(|| "test".into()),
        target_dir_name,
        scratch_modules: scratch_modules.map(|s| s.join(" ")),
        parent_pungi_compose_ids: parent_ids.map(|p| p.join(" ")),
        scratch_build_tasks: scratch_build_tasks.map(|s| s.join(" ")),
        modules: modules.map(|m| m.join(" ")),
        respin_of: opt_string(top, "respin_of"),
        base_module_br_name: opt_string(source, "base_module_br_name"),
        base_module_br_stream: opt_string(source, "base_module_br_stream"),
        base_module_br_stream_version_lte: opt_int(source, "base_module_br_stream_version_lte"),
        base_module_br_stream_version_gte: opt_int(source, "base_module_br_stream_version_gte"),
        seconds_to_live,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ComposeRequest, String> {
        parse_compose_request(&v, &ComposeSettings::default()).map_err(|e| e.0)
    }

    #[test]
    fn masks_and_names_round_trip() {
        assert_eq!(flag_names(1 | 64), vec!["no_deps", "no_reuse"]);
        assert_eq!(result_names(9), vec!["repository", "boot.iso"]);
        assert_eq!(SourceType::from_name("raw_config").unwrap().code(), 5);
        assert_eq!(state_name(4), "failed");
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
