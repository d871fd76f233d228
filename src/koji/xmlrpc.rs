//! XML-RPC as Koji speaks it: `<i8>` and `<nil/>` extensions, untyped `<value>` = string,
//! faults inside HTTP 200, keyword arguments as a final struct with `__starstar`.
//! Both directions (client requests/responses and, for the test hub, server side).

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;
use quick_xml::Reader;
use quick_xml::events::Event;

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

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn write_value(v: &Value, out: &mut String) {
    out.push_str("<value>");
    match v {
        Value::Int(i) if i32::try_from(*i).is_ok() => {
            let _ = write!(out, "<int>{i}</int>");
        }
        Value::Int(i) => {
            let _ = write!(out, "<i8>{i}</i8>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::String(s) => {
            out.push_str("<string>");
            escape(s, out);
            out.push_str("</string>");
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{d:?}</double>");
        }
        Value::DateTime(s) => {
            out.push_str("<dateTime.iso8601>");
            escape(s, out);
            out.push_str("</dateTime.iso8601>");
        }
        Value::Base64(b) => {
            let _ = write!(
                out,
                "<base64>{}</base64>",
                base64::engine::general_purpose::STANDARD.encode(b)
            );
        }
        Value::Struct(m) => {
            out.push_str("<struct>");
            for (k, v) in m {
                out.push_str("<member><name>");
                escape(k, out);
                out.push_str("</name>");
                write_value(v, out);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Array(a) => {
            out.push_str("<array><data>");
            for v in a {
                write_value(v, out);
            }
            out.push_str("</data></array>");
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

/// `<methodCall>` for `method(params...)`.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
    escape(method, &mut out);
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param>");
        write_value(p, &mut out);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out
}

/// `<methodResponse>` with a value or a fault.
pub fn encode_response(result: &Result<Value, Fault>) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n");
    match result {
        Ok(v) => {
            out.push_str("<params>\n<param>\n");
            write_value(v, &mut out);
            out.push_str("\n</param>\n</params>\n");
        }
        Err(f) => {
            out.push_str("<fault>\n");
            write_value(
                &Value::structure([
                    ("faultCode", Value::Int(f.code)),
                    ("faultString", Value::String(f.message.clone())),
                ]),
                &mut out,
            );
            out.push_str("\n</fault>\n");
        }
    }
    out.push_str("</methodResponse>\n");
    out
}

/// A minimal element tree.
#[derive(Debug)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

fn parse_tree(xml: &[u8]) -> Result<Node, XmlError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = vec![Node {
        name: String::new(),
        text: String::new(),
        children: vec![],
    }];
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => stack.push(Node {
                name: AsRef::<str>::as_ref(&e.name()).to_string(),
                text: String::new(),
                children: vec![],
            }),
            Ok(Event::Empty(e)) => {
                let node = Node {
                    name: AsRef::<str>::as_ref(&e.name()).to_string(),
                    text: String::new(),
                    children: vec![],
                };
                stack
                    .last_mut()
                    .ok_or_else(|| XmlError("unbalanced".into()))?
                    .children
                    .push(node);
            }
            Ok(Event::End(_)) => {
                let node = stack.pop().ok_or_else(|| XmlError("unbalanced".into()))?;
                stack
                    .last_mut()
                    .ok_or_else(|| XmlError("unbalanced end tag".into()))?
                    .children
                    .push(node);
            }
            Ok(Event::Text(t)) => {
                let text = t.xml10_content();
                stack
                    .last_mut()
                    .ok_or_else(|| XmlError("text outside".into()))?
                    .text
                    .push_str(&text);
            }
            Ok(Event::GeneralRef(r)) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match &*r {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(XmlError(format!("unknown entity &{other};"))),
                    },
                };
                stack
                    .last_mut()
                    .ok_or_else(|| XmlError("text outside".into()))?
                    .text
                    .push_str(&ch);
            }
            Ok(Event::CData(t)) => {
                stack
                    .last_mut()
                    .ok_or_else(|| XmlError("text outside".into()))?
                    .text
                    .push_str(&t.xml10_content());
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(XmlError(format!(
                    "at byte {}: {e}",
                    reader.buffer_position()
                )));
            }
        }
        buf.clear();
    }
    if stack.len() != 1 {
        return Err(XmlError("unexpected end of document".into()));
    }
    let mut root = stack.pop().expect("root");
    match root.children.len() {
        1 => Ok(root.children.remove(0)),
        0 => Err(XmlError("empty document".into())),
        _ => Err(XmlError("several root elements".into())),
    }
}

fn child<'a>(n: &'a Node, name: &str) -> Result<&'a Node, XmlError> {
    n.children
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| XmlError(format!("<{}> has no <{name}>", n.name)))
}

fn parse_value(n: &Node) -> Result<Value, XmlError> {
    if n.name != "value" {
        return Err(XmlError(format!("expected <value>, got <{}>", n.name)));
    }
    let Some(t) = n.children.first() else {
        return Ok(Value::String(n.text.clone()));
    };
    let text = t.text.trim();
    let bad = |kind: &str| XmlError(format!("invalid <{kind}>: {:?}", t.text));
    Ok(match t.name.as_str() {
        "int" | "i4" | "i8" => Value::Int(text.parse().map_err(|_| bad(&t.name))?),
        "boolean" => match text {
            "1" => Value::Bool(true),
            "0" => Value::Bool(false),
            _ => return Err(bad("boolean")),
        },
        "string" => Value::String(t.text.clone()),
        "double" => Value::Double(text.parse().map_err(|_| bad("double"))?),
        "dateTime.iso8601" => Value::DateTime(text.to_string()),
        "base64" => Value::Base64(
            base64::engine::general_purpose::STANDARD
                .decode(text.split_whitespace().collect::<String>())
                .map_err(|_| bad("base64"))?,
        ),
        "nil" => Value::Nil,
        "struct" => {
            let mut m = BTreeMap::new();
            for member in t.children.iter().filter(|c| c.name == "member") {
                let name = child(member, "name")?.text.clone();
                m.insert(name, parse_value(child(member, "value")?)?);
            }
            Value::Struct(m)
        }
        "array" => {
            let data = child(t, "data")?;
            Value::Array(
                data.children
                    .iter()
                    .filter(|c| c.name == "value")
                    .map(parse_value)
                    .collect::<Result<_, _>>()?,
            )
        }
        other => return Err(XmlError(format!("unknown value type <{other}>"))),
    })
}

/// Parses a `<methodResponse>`: the value, or the fault.
pub fn decode_response(xml: &[u8]) -> Result<Result<Value, Fault>, XmlError> {
    let root = parse_tree(xml)?;
    if root.name != "methodResponse" {
        return Err(XmlError(format!(
            "expected <methodResponse>, got <{}>",
            root.name
        )));
    }
    if let Ok(fault) = child(&root, "fault") {
        let v = parse_value(child(fault, "value")?)?;
        let code = v
            .get("faultCode")
            .as_i64()
            .ok_or_else(|| XmlError("fault without faultCode".into()))?;
        let message = v
            .get("faultString")
            .as_str()
            .unwrap_or_default()
            .to_string();
        return Ok(Err(Fault { code, message }));
    }
    let params = child(&root, "params")?;
    let param = child(params, "param")?;
    Ok(Ok(parse_value(child(param, "value")?)?))
}

/// Parses a `<methodCall>` (test hub side).
pub fn decode_call(xml: &[u8]) -> Result<(String, Vec<Value>), XmlError> {
    let root = parse_tree(xml)?;
    if root.name != "methodCall" {
        return Err(XmlError(format!(
            "expected <methodCall>, got <{}>",
            root.name
        )));
    }
    let method = child(&root, "methodName")?.text.trim().to_string();
    let params = match child(&root, "params") {
        Ok(p) => p
            .children
            .iter()
            .filter(|c| c.name == "param")
            .map(|p| parse_value(child(p, "value")?))
            .collect::<Result<_, _>>()?,
        Err(_) => vec![],
    };
    Ok((method, params))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_types() {
        let v = Value::structure([
            ("a", Value::Int(1)),
            ("big", Value::Int(5_000_000_000)),
            ("s", Value::String("x < y & \"z\"\n".into())),
            ("n", Value::Nil),
            ("d", Value::Double(1795294601.332094)),
            ("b", Value::Base64(vec![0, 1, 255])),
            (
                "l",
                Value::Array(vec![Value::Bool(true), Value::Bool(false)]),
            ),
        ]);
        let xml = encode_response(&Ok(v.clone()));
        assert!(xml.contains("<i8>5000000000</i8>") && xml.contains("<nil/>"));
        assert_eq!(decode_response(xml.as_bytes()).unwrap(), Ok(v.clone()));
        let call = encode_call(
            "getTag",
            &with_kwargs(vec!["f40".into()], vec![("event", Value::Int(3))]),
        );
        let (m, params) = decode_call(call.as_bytes()).unwrap();
        assert_eq!(m, "getTag");
        let (args, kw) = split_kwargs(params);
        assert_eq!(args, vec![Value::String("f40".into())]);
        assert_eq!(kw.get("event"), Some(&Value::Int(3)));
    }

    #[test]
    fn faults_untyped_values_and_garbage() {
        let f = encode_response(&Err(Fault {
            code: 1000,
            message: "No such tagInfo: 'x'".into(),
        }));
        assert_eq!(
            decode_response(f.as_bytes()).unwrap(),
            Err(Fault {
                code: 1000,
                message: "No such tagInfo: 'x'".into()
            })
        );
        let untyped = b"<methodResponse><params><param><value>plain &amp; text</value></param></params></methodResponse>";
        assert_eq!(
            decode_response(untyped).unwrap(),
            Ok(Value::String("plain & text".into()))
        );
        assert!(decode_response(b"<html>500</html>").is_err());
        assert!(
            decode_response(b"<methodResponse><params><param><value><int>x</int></value>").is_err()
        );
        assert!(decode_response(b"").is_err());
    }
}
