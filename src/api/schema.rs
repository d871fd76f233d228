//! The JSON Schemas of the POST and PATCH bodies, written out by hand: the validation pipeline
//! of `domain` (contract §1.6.2 plus composed's limits) says exactly what is accepted, and the
//! derive macros cannot express it (per-type sources, patterns, extra keys). A schemathesis run
//! in the test suite holds the two together: what the schema allows is accepted, what it
//! forbids is refused.
//!
//! Patterns use Python's `\w` (Unicode letters and digits plus `_`), which is ODCS's rule for
//! input strings (`str.isalnum`) and the dialect schemathesis checks with.

use serde_json::{Value, json};

use crate::domain::{Flag, MultilibMethod, ResultKind, SourceType, limits};

/// ODCS's characters: Unicode letters and digits and ` -/_.:#+?$~^,`.
const ODCS_CHARS: &str = r"\w \-/.:#+?$~^,";
/// The same without the space.
const ODCS_WORD: &str = r"\w\-/.:#+?$~^,";
/// No control character (what every string, key and `packages` item must satisfy).
pub(super) const NO_CONTROL: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

fn odcs_string(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": format!("^[{ODCS_CHARS}]*$")})
}

/// A string with at least one non-space character (a non-empty source list).
fn odcs_words(max: usize) -> Value {
    json!({
        "type": "string", "maxLength": max,
        "pattern": format!("^[{ODCS_CHARS}]*[{ODCS_WORD}][{ODCS_CHARS}]*$"),
    })
}

fn list_of(items: Value) -> Value {
    json!({"type": "array", "maxItems": limits::LIST_ITEMS, "items": items})
}

fn strings() -> Value {
    list_of(odcs_string(limits::STRING_CHARS))
}

fn names(all: Vec<&'static str>) -> Value {
    list_of(json!({"type": "string", "enum": all}))
}

fn int64(min: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": i64::MAX})
}

/// What a key the pipeline does not read may hold: a string, number, boolean or list of them
/// (never `null` or an object).
fn extra_value() -> Value {
    json!({"anyOf": [
        odcs_string(limits::STRING_CHARS),
        {"type": "number"},
        {"type": "boolean"},
        list_of(scalars()),
    ]})
}

fn scalars() -> Value {
    json!({"anyOf": [
        odcs_string(limits::STRING_CHARS),
        {"type": "number"},
        {"type": "boolean"},
    ]})
}

/// The keys the generic validator types wherever they appear (contract §1.6.2 step 3), typed
/// as it types them; where the pipeline also reads a key, the caller puts a stricter schema.
fn generically_typed_keys() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for k in [
        "builds",
        "scratch_build_tasks",
        "scratch_modules",
        "sigkeys",
        "modules",
        "multilib_method",
    ] {
        m.insert(k.into(), list_of(scalars()));
    }
    // `packages` items are exempt from the character rule (not from the control characters).
    m.insert(
        "packages".into(),
        list_of(json!({"anyOf": [
            {"type": "string", "maxLength": limits::STRING_CHARS, "pattern": NO_CONTROL},
            {"type": "number"},
            {"type": "boolean"},
        ]})),
    );
    for k in [
        "base_module_br_name",
        "base_module_br_stream",
        "compose_type",
        "type",
        "target_dir",
    ] {
        m.insert(k.into(), odcs_string(limits::STRING_CHARS));
    }
    m.insert("label".into(), odcs_string(limits::LABEL_CHARS));
    for k in [
        "base_module_br_stream_version_lte",
        "base_module_br_stream_version_gte",
        "seconds_to_live",
    ] {
        m.insert(k.into(), int64(i64::MIN));
    }
    m.insert("koji_event".into(), int64(0));
    m
}

fn object(
    required: &[&str],
    properties: serde_json::Map<String, Value>,
    description: &str,
) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
        "propertyNames": {"pattern": NO_CONTROL},
        "additionalProperties": extra_value(),
    })
}

/// `source` for one type: `type` fixed, `source` as given, the common keys.
fn source_variant(kind: SourceType, source: Option<Value>, required: &[&str]) -> Value {
    let mut p = generically_typed_keys();
    p.insert(
        "type".into(),
        json!({"type": "string", "enum": [kind.name()]}),
    );
    for k in [
        "builds",
        "sigkeys",
        "modular_koji_tags",
        "scratch_build_tasks",
        "modules",
        "scratch_modules",
    ] {
        p.insert(k.into(), strings());
    }
    p.insert(
        "packages".into(),
        list_of(
            json!({"type": "string", "maxLength": limits::STRING_CHARS, "pattern": NO_CONTROL}),
        ),
    );
    for k in ["module_defaults_url", "module_defaults_commit"] {
        p.insert(k.into(), odcs_string(limits::STRING_CHARS));
    }
    if let Some(s) = source {
        p.insert("source".into(), s);
    }
    let mut required = required.to_vec();
    required.insert(0, "type");
    let mut v = object(
        &required,
        p,
        &format!("`source` of a `{}` compose.", kind.name()),
    );
    // Both non-empty or neither (contract §1.6.2 step 14).
    v["anyOf"] = json!([
        {"properties": {"module_defaults_url": {"maxLength": 0}, "module_defaults_commit": {"maxLength": 0}}},
        {"required": ["module_defaults_url", "module_defaults_commit"],
         "properties": {"module_defaults_url": {"minLength": 1}, "module_defaults_commit": {"minLength": 1}}},
    ]);
    v
}

fn source_schema() -> Value {
    let words = || odcs_words(limits::SOURCE_CHARS);
    let item = format!("(?!(?:platform|bootstrap):)[{ODCS_WORD}]*:[{ODCS_WORD}]*");
    let modules = json!({
        "type": "string", "maxLength": limits::SOURCE_CHARS,
        "pattern": format!("^ *{item}(?: +{item})* *$"),
        "description": "Space-separated `N:S`, `N:S:V` or `N:S:V:C`; base modules (`platform`, `bootstrap`) are refused.",
    });
    let no_dotdot = format!(r"^(?!(?:.*/)?\.\.(?:/|$| ))/[{ODCS_CHARS}]*$");
    let repo = json!({
        "type": "string", "maxLength": limits::SOURCE_CHARS, "pattern": no_dotdot,
        "description": "An absolute directory path, inside one of the server's `composes.repo_dirs` after resolving symlinks (the type is refused when none is configured).",
    });
    let mut scratch_only = source_variant(SourceType::Module, None, &["scratch_modules"]);
    scratch_only["properties"]["scratch_modules"]["minItems"] = json!(1);
    scratch_only["properties"]["source"] = json!({"type": "string", "pattern": "^ *$"});
    json!({
        "description": "What the compose is made of. `raw_config` sources (`name#commit`, the name configured in `composes.raw_config_urls`) are accepted when the server configures them.",
        "oneOf": [
            source_variant(SourceType::Tag, Some(words()), &["source"]),
            source_variant(SourceType::Build, Some(odcs_string(limits::SOURCE_CHARS)), &[]),
            source_variant(SourceType::Module, Some(modules), &["source"]),
            scratch_only,
            source_variant(SourceType::Repo, Some(repo), &["source"]),
            source_variant(SourceType::Pulp, Some(words()), &["source"]),
            source_variant(SourceType::PungiCompose, Some(words()), &["source"]),
        ],
    })
}

/// `seconds-to-live` is only read (and checked) when `seconds_to_live` is absent.
fn legacy_lifetime_rule() -> Value {
    json!([
        {"required": ["seconds_to_live"]},
        {"properties": {"seconds-to-live": {"anyOf": [
            {"type": "integer", "minimum": 0, "maximum": i64::MAX},
            {"type": "number", "exclusiveMinimum": -1, "exclusiveMaximum": 9e15},
            {"type": "string", "pattern": r"^ *\+?[0-9]{1,18} *$"},
        ]}}},
    ])
}

fn lifetime_properties(p: &mut serde_json::Map<String, Value>) {
    p.insert(
        "seconds_to_live".into(),
        json!({"type": "integer", "minimum": 0, "maximum": i64::MAX,
               "description": "Lifetime from completion; 0 or absent = the default, capped at the maximum."}),
    );
    p.insert(
        "seconds-to-live".into(),
        {
            let mut v = extra_value();
            v["description"] = json!("Legacy spelling, read when `seconds_to_live` is absent: then a number or numeric string from 0.");
            v
        },
    );
}

/// `POST /api/1/composes/`.
pub fn compose_request() -> Value {
    let mut p = generically_typed_keys();
    p.insert("source".into(), source_schema());
    lifetime_properties(&mut p);
    p.insert(
        "multilib_method".into(),
        names(MultilibMethod::ALL.iter().map(|m| m.name()).collect()),
    );
    p.insert(
        "flags".into(),
        names(Flag::ALL.iter().map(|f| f.name()).collect()),
    );
    // `boot.iso` is made only where `composes.boot_iso_command` is set (400 elsewhere), so the
    // portable document leaves it out and says so.
    let mut results = names(
        ResultKind::ALL
            .iter()
            .filter(|r| **r != ResultKind::BootIso)
            .map(|r| r.name())
            .collect(),
    );
    results["description"] = json!(
        "`repository` is always made. `iso`: Pungi's DVD ISOs; `raw`, `qcow2`, `oci`: installed images with manifests (docs/images.md). `boot.iso` is accepted only by a server with `composes.boot_iso_command` set, and refused with 400 elsewhere."
    );
    p.insert("results".into(), results);
    for k in [
        "arches",
        "multilib_arches",
        "lookaside_repos",
        "parent_pungi_compose_ids",
    ] {
        p.insert(k.into(), strings());
    }
    p.insert("respin_of".into(), odcs_string(limits::STRING_CHARS));
    p.insert(
        "target_dir".into(),
        json!({"type": "string", "enum": ["", "default"],
               "description": "`default`, or a name of the server's `composes.extra_target_dirs`."}),
    );
    let mut body = object(
        &["source"],
        p,
        "A compose request. Keys not listed are accepted and ignored unless they hold null or an object. Limits (composed's addition): `label` 256 characters, `source.source` 65,536, any other string 4,096, any list 10,000 items. composed's addition `notify` (a list of `mailto:<address>` and webhook URLs) with `notify_states` (a list of states) asks for notifications of this compose's state changes (docs/notifications.md).",
    );
    body["anyOf"] = legacy_lifetime_rule();
    body
}

/// `PATCH /api/1/composes/{id}`.
pub fn renew_request() -> Value {
    let mut p = generically_typed_keys();
    lifetime_properties(&mut p);
    p.insert("sigkeys".into(), strings());
    let mut source = generically_typed_keys();
    source.insert("modules".into(), strings());
    source.insert("builds".into(), strings());
    p.insert(
        "source".into(),
        object(
            &[],
            source,
            "Only `modules` and `builds` are read: a new compose with them.",
        ),
    );
    let mut body = object(
        &[],
        p,
        "All optional; an empty body renews with the default lifetime. A new label, sigkeys, modules or builds make a new compose.",
    );
    body["anyOf"] = legacy_lifetime_rule();
    body
}
