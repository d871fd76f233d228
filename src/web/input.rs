//! What every request's input passes before a handler reads it: JSON bodies parsed strictly
//! (a key given twice is refused, not "last wins"), and no control character (NUL included)
//! in any body string, object key, query parameter name or value. Both backends see only
//! input that passed here; PostgreSQL would otherwise refuse a NUL with a database error.

use std::fmt;

use actix_web::HttpRequest;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::domain::limits;
use crate::web::error::ApiError;

/// Parses a JSON body: UTF-8, one document, no duplicate keys, no control characters.
pub fn parse_json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ApiError::bad_request(format!(
            "Failed to decode JSON object: the body is not valid UTF-8 ({e})"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue {
        path: String::new(),
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            // Refused by the checks above: the message names the field; no position.
            let text = e.to_string();
            let at = format!(" at line {} column {}", e.line(), e.column());
            ApiError::bad_request(text.strip_suffix(&at).unwrap_or(&text).to_string())
        } else {
            ApiError::bad_request(format!("Failed to decode JSON object: {e}"))
        }
    })?;
    Ok(value)
}

/// The first control character of `s`, if any (`char::is_control`: C0, DEL and C1).
fn control_char(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

fn control_message(what: &str, c: char) -> String {
    format!(
        "{what} contains the control character U+{:04X}; control characters are not allowed",
        c as u32
    )
}

/// Query parameters in order, decoded; a name or value with a control character is a 400
/// naming the parameter.
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    for (k, v) in &pairs {
        if let Some(c) = control_char(k) {
            return Err(ApiError::bad_request(control_message(
                "A query parameter name",
                c,
            )));
        }
        if let Some(c) = control_char(v) {
            return Err(ApiError::bad_request(control_message(
                &format!("Query parameter \"{k}\""),
                c,
            )));
        }
        // One limit for every parameter: 4,096 characters stay below the URL length the HTTP
        // layer takes (64 KiB) even percent-encoded, so a longer value can never arrive.
        let max = limits::STRING_CHARS;
        let n = v.chars().count();
        if n > max {
            return Err(ApiError::bad_request(format!(
                "Query parameter \"{k}\" is too long: {n} characters, at most {max} are allowed"
            )));
        }
    }
    Ok(pairs)
}

/// The first non-empty value of query parameter `name`.
pub fn first_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// An optional integer query parameter within `range`; anything else is a 400 naming it.
pub fn int_param(
    pairs: &[(String, String)],
    name: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, ApiError> {
    // Unlike the text filters, an empty value is not "no filter" but not a number.
    let Some(raw) = pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
    else {
        return Ok(None);
    };
    match raw.trim().parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::bad_request(format!(
            "Invalid value \"{raw}\" for \"{name}\": an integer from {} to {} is required",
            range.start(),
            range.end()
        ))),
    }
}

/// A JSON value deserialized like `serde_json::Value`, refusing duplicate keys and control
/// characters; `path` names where it is (`source.packages[2]`) for the message.
struct StrictValue {
    path: String,
}

impl StrictValue {
    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
    fn where_(&self) -> String {
        if self.path.is_empty() {
            "The body".to_string()
        } else {
            format!("\"{}\"", self.path)
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // `5.0` is the integer 5, as JSON Schema has it (ODCS refuses it: docs/odcs-compat.md).
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() == 0.0 && v > -TWO_63 && v < TWO_63 {
            return Ok(Value::Number((v as i64).into()));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{} is not a finite number", self.where_())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if let Some(c) = control_char(v) {
            return Err(E::custom(control_message(&self.where_(), c)));
        }
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.visit_str(&v)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue {
            path: format!("{}[{}]", self.path, items.len()),
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(c) = control_char(&key) {
                let what = if self.path.is_empty() {
                    "A key of the JSON body".to_string()
                } else {
                    format!("A key in \"{}\"", self.path)
                };
                return Err(de::Error::custom(control_message(&what, c)));
            }
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "The JSON body gives the key \"{}\" more than once",
                    self.child(&key)
                )));
            }
            let path = self.child(&key);
            let value = map.next_value_seed(StrictValue { path })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_control_characters_are_refused_with_their_path() {
        let e = parse_json_body(br#"{"source": {"type": "tag", "type": "repo"}}"#).unwrap_err();
        assert_eq!(
            e.message,
            "The JSON body gives the key \"source.type\" more than once"
        );
        let e = parse_json_body(br#"{"source": {"packages": ["a", "a\u0000b"]}}"#).unwrap_err();
        assert!(
            e.message
                .contains("\"source.packages[1]\" contains the control character U+0000"),
            "{e}"
        );
        let e = parse_json_body(b"{\"la\\u0007bel\": 1}").unwrap_err();
        assert!(e.message.contains("U+0007"), "{e}");
        let v = parse_json_body(br#"{"a": [1, -2, 3.5, "x", null, true], "b": {}}"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": [1, -2, 3.5, "x", null, true], "b": {}})
        );
        let v = parse_json_body(b"[5.0, -0.0, 1e300, 9.3e18, -9.2e18]").unwrap();
        assert_eq!(
            v,
            serde_json::json!([5, 0, 1e300, 9.3e18, -9_200_000_000_000_000_000i64])
        );
        assert!(parse_json_body(b"{} {}").is_err());
        assert_eq!(
            parse_json_body(b"18446744073709551615").unwrap(),
            serde_json::json!(u64::MAX)
        );
    }
}
