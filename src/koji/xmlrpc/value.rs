//! The XML-RPC data model: [`Value`], the [`Fault`] answer, the [`XmlError`] of a malformed
//! document, and Koji's keyword arguments (a final struct with `__starstar`).

use std::collections::BTreeMap;

use base64::Engine;

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    String(String),
    Double(f64),
    DateTime(String),
    Base64(Vec<u8>),
    Struct(BTreeMap<String, Value>),
    Array(Vec<Value>),
    Nil,
}

/// A fault answer (`<fault>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: i64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML-RPC: {0}")]
pub struct XmlError(pub String);

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_struct(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
    /// Member of a struct (`Nil` when absent or not a struct).
    pub fn get(&self, key: &str) -> &Value {
        static NIL: Value = Value::Nil;
        self.as_struct().and_then(|s| s.get(key)).unwrap_or(&NIL)
    }
    pub fn structure<K: Into<String>>(members: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Struct(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
    /// Converts to JSON (bytes as base64 text), for logs and tests.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(i) => (*i).into(),
            Value::Bool(b) => (*b).into(),
            Value::String(s) | Value::DateTime(s) => s.clone().into(),
            Value::Double(d) => serde_json::Number::from_f64(*d)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Base64(b) => base64::engine::general_purpose::STANDARD.encode(b).into(),
            Value::Struct(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_json).collect()),
            Value::Nil => serde_json::Value::Null,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map(Into::into).unwrap_or(Value::Nil)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

/// Splits Koji's keyword arguments (a final struct with `__starstar`) from the positional ones.
pub fn split_kwargs(mut params: Vec<Value>) -> (Vec<Value>, BTreeMap<String, Value>) {
    if let Some(Value::Struct(m)) = params.last()
        && m.get("__starstar").and_then(Value::as_bool) == Some(true)
    {
        let Some(Value::Struct(mut m)) = params.pop() else {
            unreachable!()
        };
        m.remove("__starstar");
        return (params, m);
    }
    (params, BTreeMap::new())
}

/// Appends keyword arguments the way Koji expects them.
pub fn with_kwargs(mut args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> Vec<Value> {
    if !kwargs.is_empty() {
        let mut m: BTreeMap<String, Value> = kwargs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        m.insert("__starstar".into(), Value::Bool(true));
        args.push(Value::Struct(m));
    }
    args
}
