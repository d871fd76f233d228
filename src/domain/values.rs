//! The values of a POST body: the validation error, the generic recursive validator of step 3
//! (contract §1.6.2) and the readers of typed keys, lifetimes and masks the pipeline uses.

use serde_json::{Map, Value};

use crate::config::ComposeSettings;

/// A validation failure: becomes a 400 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

pub(super) fn invalid<T>(msg: impl Into<String>) -> Result<T, ValidationError> {
    Err(ValidationError(msg.into()))
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
/// Length limits of a request (composed's addition; ODCS stores anything, and every GET of the
/// compose returns it). Documented in the OpenAPI and in docs/odcs-compat.md.
pub mod limits {
    /// Characters of `label`.
    pub const LABEL_CHARS: usize = 256;
    /// Characters of `source.source` (a tag, or space-separated modules or repositories).
    pub const SOURCE_CHARS: usize = 65_536;
    /// Characters of any other string, list items included.
    pub const STRING_CHARS: usize = 4_096;
    /// Items of any list (`packages`, `builds`, `modules`, `sigkeys`, …).
    pub const LIST_ITEMS: usize = 10_000;
}

/// The longest string `key` may hold (list items: [`limits::STRING_CHARS`]).
fn max_chars(key: &str) -> usize {
    match key {
        "label" => limits::LABEL_CHARS,
        "source" => limits::SOURCE_CHARS,
        _ => limits::STRING_CHARS,
    }
}

/// `s` has at most `max` characters; the message names `key` and `what` (`""`, ` item`).
fn check_length(key: &str, what: &str, s: &str, max: usize) -> Result<(), ValidationError> {
    // Bytes bound characters from above: most strings need no count.
    if s.len() <= max {
        return Ok(());
    }
    let n = s.chars().count();
    if n > max {
        return invalid(format!(
            "{key}{what} is too long: {n} characters, at most {max} are allowed"
        ));
    }
    Ok(())
}

fn check_items(key: &str, items: &[Value]) -> Result<(), ValidationError> {
    if items.len() > limits::LIST_ITEMS {
        return invalid(format!(
            "{key} has too many items: {}, at most {} are allowed",
            items.len(),
            limits::LIST_ITEMS
        ));
    }
    Ok(())
}

pub const ALLOWED_PUNCTUATION: &str = " -/_.:#+?$~^,";
pub(super) const CHARSET_MESSAGE: &str = "Only alphanumerical characters and ' -/_.:#+?$~^,' characters are allowed in ODCS input variables";

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

/// ODCS's rule (Python `str.isalnum`: Unicode letters and numbers) and its punctuation. Rust's
/// `char::is_alphanumeric` would also take the combining marks of the Alphabetic property.
fn allowed_string(s: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[\p{L}\p{N} \-/_.:#+?$~^,]*$").expect("valid pattern")
    });
    RE.is_match(s)
}

fn check_string(key: &str, s: &str) -> Result<(), ValidationError> {
    if allowed_string(s) {
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
        if INT_KEYS.contains(&k) {
            if !(value.is_i64() || value.is_u64()) {
                return invalid(format!("{k} should be an integer, but got {}", show(value)));
            }
            // composed's addition: ODCS silently drops what does not fit its integer column.
            if !value.is_i64() {
                return invalid(format!(
                    "{k} is out of range: {} is larger than {}",
                    show(value),
                    i64::MAX
                ));
            }
            if k == "koji_event" && value.as_i64().is_some_and(|n| n < 0) {
                return invalid(format!(
                    "koji_event must be a Koji event id (0 or more), but got {}",
                    show(value)
                ));
            }
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
            Value::String(s) => {
                check_length(k, "", s, max_chars(k))?;
                check_string(k, s)?
            }
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
    check_items(key, items)?;
    for item in items {
        if let Value::String(s) = item {
            check_length(key, " item", s, limits::STRING_CHARS)?;
        }
        match item {
            Value::Object(_) => {
                return invalid(format!(
                    "Only 'source' key is allowed to contain dict. \"{key}\" holds a dict"
                ));
            }
            Value::Array(inner) => validate_array(key, inner)?,
            // composed's `notify` holds `mailto:` addresses (`@`) and URLs, checked by
            // `notify::parse_request`.
            Value::String(s) if key != "packages" && key != "notify" => check_string(key, s)?,
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

pub(super) fn opt_string(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

pub(super) fn opt_int(obj: &Map<String, Value>, key: &str) -> Option<i64> {
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

pub(super) fn mask_of<T: Copy>(
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
