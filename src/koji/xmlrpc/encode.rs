//! Encoding: `<methodCall>` (client side) and `<methodResponse>` (test hub side) documents.

use std::fmt::Write;

use base64::Engine;

use super::value::{Fault, Value};

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
