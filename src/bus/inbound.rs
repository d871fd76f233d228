//! Received messages: fedmsg frames and AMQP deliveries become one [`Inbound`] shape, or a
//! [`Malformed`] reason; [`classify`] turns a payload into an [`Event`] the rules match on.
//! Nothing here does I/O, so every malformed shape is unit-tested.

use serde_json::{Map, Value};

/// Why a message was dropped (the `reason` label of `composed_bus_malformed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A fedmsg message that is not exactly `[topic, json]`.
    Frames,
    Oversized,
    /// Not UTF-8 JSON.
    Json,
    /// JSON, but not an object (or a fedmsg envelope whose `msg` is not an object).
    NotObject,
    /// A field the topic needs is missing or has the wrong type.
    MissingField,
    /// A fedmsg envelope whose `topic` differs from frame 0.
    TopicMismatch,
}

impl Malformed {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Frames => "frames",
            Self::Oversized => "oversized",
            Self::Json => "json",
            Self::NotObject => "not_object",
            Self::MissingField => "missing_field",
            Self::TopicMismatch => "topic_mismatch",
        }
    }
}

/// How a delivery is acknowledged once it has been handled.
pub enum Ack {
    /// fedmsg: nothing to acknowledge.
    None,
    #[cfg(feature = "amqp")]
    Amqp(lapin::Acker),
}

impl Ack {
    pub async fn ack(self) {
        match self {
            Ack::None => {}
            #[cfg(feature = "amqp")]
            Ack::Amqp(a) => {
                if let Err(e) = a.ack(lapin::options::BasicAckOptions::default()).await {
                    tracing::warn!(error = %e, "AMQP ack failed; the broker will redeliver (de-duplicated by message id)");
                }
            }
        }
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ack::None => f.write_str("Ack::None"),
            #[cfg(feature = "amqp")]
            Ack::Amqp(_) => f.write_str("Ack::Amqp"),
        }
    }
}

/// A well-formed message from either bus.
#[derive(Debug)]
pub struct Inbound {
    pub transport: &'static str,
    /// The full topic (fedmsg frame 0, or the AMQP routing key).
    pub topic: String,
    /// Normalised message id (a fedmsg `<year>-` prefix removed), when the message had one.
    pub msg_id: Option<String>,
    pub payload: Map<String, Value>,
    pub ack: Ack,
}

/// fedmsg's `"<year>-<uuid>"` ids and bridged AMQP ids name the same message: compare on the
/// uuid.
pub fn normalise_id(id: &str) -> String {
    let b = id.as_bytes();
    if b.len() == 41 && b[4] == b'-' && b[..4].iter().all(u8::is_ascii_digit) {
        id[5..].to_string()
    } else {
        id.to_string()
    }
}

/// A parsed fedmsg message: topic, normalised message id, payload (`msg`).
pub type Fedmsg = (String, Option<String>, Map<String, Value>);

/// Parses a fedmsg message (`[topic, envelope]`).
pub fn parse_fedmsg<B: AsRef<[u8]>>(frames: &[B], max_bytes: usize) -> Result<Fedmsg, Malformed> {
    if frames.len() != 2 {
        return Err(Malformed::Frames);
    }
    let size: usize = frames.iter().map(|f| f.as_ref().len()).sum();
    if size > max_bytes {
        return Err(Malformed::Oversized);
    }
    let topic = std::str::from_utf8(frames[0].as_ref()).map_err(|_| Malformed::Frames)?;
    let env: Value = serde_json::from_slice(frames[1].as_ref()).map_err(|_| Malformed::Json)?;
    let Value::Object(mut env) = env else {
        return Err(Malformed::NotObject);
    };
    if let Some(t) = env.get("topic")
        && t.as_str() != Some(topic)
    {
        return Err(Malformed::TopicMismatch);
    }
    let msg_id = env.get("msg_id").and_then(Value::as_str).map(normalise_id);
    match env.remove("msg") {
        Some(Value::Object(m)) => Ok((topic.to_string(), msg_id, m)),
        Some(_) => Err(Malformed::NotObject),
        None => Err(Malformed::MissingField),
    }
}

/// Parses an AMQP body. A body that is a bridged fedmsg envelope (`msg` object plus `topic` or
/// `msg_id`) is unwrapped.
pub fn parse_amqp(
    message_id: Option<&str>,
    data: &[u8],
    max_bytes: usize,
) -> Result<(Option<String>, Map<String, Value>), Malformed> {
    if data.len() > max_bytes {
        return Err(Malformed::Oversized);
    }
    let body: Value = serde_json::from_slice(data).map_err(|_| Malformed::Json)?;
    let Value::Object(mut body) = body else {
        return Err(Malformed::NotObject);
    };
    let bridged = matches!(body.get("msg"), Some(Value::Object(_)))
        && (body.contains_key("topic") || body.contains_key("msg_id"));
    let mut id = message_id.filter(|s| !s.is_empty()).map(normalise_id);
    if bridged {
        if id.is_none() {
            id = body.get("msg_id").and_then(Value::as_str).map(normalise_id);
        }
        if let Some(Value::Object(m)) = body.remove("msg") {
            return Ok((id, m));
        }
    }
    Ok((id, body))
}

/// What the rules match on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// buildsys.tag, buildsys.untag, buildsys.repo.done: `kind` is that suffix.
    Tag {
        kind: &'static str,
        tag: String,
        instance: String,
    },
    Module {
        name: String,
        stream: String,
        version: String,
        context: String,
        /// State name (`ready`, `done`, ...) and number.
        state_name: String,
        state: i64,
    },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Tag { kind, .. } => kind,
            Event::Module { .. } => "mbs.module.state.change",
        }
    }
}

const MODULE_STATES: &[&str] = &[
    "init", "wait", "build", "done", "failed", "ready", "garbage",
];

/// `true` when `topic` is `suffix` or ends with `.suffix` (whole dot-separated words).
pub fn topic_is(topic: &str, suffix: &str) -> bool {
    topic == suffix
        || (topic.len() > suffix.len()
            && topic.ends_with(suffix)
            && topic.as_bytes()[topic.len() - suffix.len() - 1] == b'.')
}

fn string_field(p: &Map<String, Value>, k: &str) -> Result<String, Malformed> {
    match p.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(Malformed::MissingField),
    }
}

/// Classifies a payload by topic suffix. `Ok(None)` = a topic composed does not act on.
pub fn classify(topic: &str, p: &Map<String, Value>) -> Result<Option<Event>, Malformed> {
    for kind in ["buildsys.tag", "buildsys.untag", "buildsys.repo.done"] {
        if topic_is(topic, kind) {
            let instance = match p.get("instance") {
                None | Some(Value::Null) => "primary".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(Malformed::MissingField),
            };
            return Ok(Some(Event::Tag {
                kind,
                tag: string_field(p, "tag")?,
                instance,
            }));
        }
    }
    if topic_is(topic, "mbs.module.state.change") {
        let name = string_field(p, "name")?;
        let stream = string_field(p, "stream")?;
        let version = match p.get("version") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(Malformed::MissingField),
        };
        let context = p
            .get("context")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let state = p.get("state").and_then(Value::as_i64);
        let state_name = p.get("state_name").and_then(Value::as_str);
        let (state, state_name) = match (state, state_name) {
            (Some(n), Some(s)) => (n, s.to_string()),
            (Some(n), None) => (
                n,
                usize::try_from(n)
                    .ok()
                    .and_then(|i| MODULE_STATES.get(i))
                    .unwrap_or(&"unknown")
                    .to_string(),
            ),
            (None, Some(s)) => (
                MODULE_STATES
                    .iter()
                    .position(|x| *x == s)
                    .map(|i| i as i64)
                    .unwrap_or(-1),
                s.to_string(),
            ),
            (None, None) => return Err(Malformed::MissingField),
        };
        return Ok(Some(Event::Module {
            name,
            stream,
            version,
            context,
            state_name,
            state,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fedmsg_shapes() {
        let env = json!({"i": 1, "msg": {"tag": "f41", "instance": "primary"}, "msg_id": "2026-e3fe6de4-640e-4edc-ad6a-f48d190402a4", "timestamp": 1, "topic": "org.fedoraproject.prod.buildsys.tag", "username": "root"}).to_string();
        let (topic, id, msg) =
            parse_fedmsg(&["org.fedoraproject.prod.buildsys.tag", env.as_str()], 4096).unwrap();
        assert_eq!(topic, "org.fedoraproject.prod.buildsys.tag");
        assert_eq!(id.as_deref(), Some("e3fe6de4-640e-4edc-ad6a-f48d190402a4"));
        assert_eq!(msg["tag"], "f41");
        assert_eq!(
            parse_fedmsg(&["a"], 4096).unwrap_err(),
            Malformed::Frames,
            "one frame"
        );
        assert_eq!(
            parse_fedmsg(&["a", "{}", "{}"], 4096).unwrap_err(),
            Malformed::Frames
        );
        assert_eq!(
            parse_fedmsg(&["a", "{nope"], 4096).unwrap_err(),
            Malformed::Json
        );
        assert_eq!(
            parse_fedmsg(&["a", "[1]"], 4096).unwrap_err(),
            Malformed::NotObject
        );
        assert_eq!(
            parse_fedmsg(&["a", "{\"msg\": 3}"], 4096).unwrap_err(),
            Malformed::NotObject
        );
        assert_eq!(
            parse_fedmsg(&["a", "{\"topic\": \"a\"}"], 4096).unwrap_err(),
            Malformed::MissingField
        );
        assert_eq!(
            parse_fedmsg(&["a", "{\"topic\": \"b\", \"msg\": {}}"], 4096).unwrap_err(),
            Malformed::TopicMismatch
        );
        assert_eq!(
            parse_fedmsg(&["a", env.as_str()], 10).unwrap_err(),
            Malformed::Oversized
        );
    }

    #[test]
    fn amqp_shapes() {
        let (id, p) = parse_amqp(Some("x-1"), br#"{"tag": "f41"}"#, 100).unwrap();
        assert_eq!(
            (id.as_deref(), p["tag"].as_str()),
            (Some("x-1"), Some("f41"))
        );
        // Bridged fedmsg envelope: payload under msg, id from the envelope when no property.
        let bridged = json!({"topic": "t", "msg_id": "2026-e3fe6de4-640e-4edc-ad6a-f48d190402a4", "msg": {"tag": "f42"}}).to_string();
        let (id, p) = parse_amqp(None, bridged.as_bytes(), 1000).unwrap();
        assert_eq!(id.as_deref(), Some("e3fe6de4-640e-4edc-ad6a-f48d190402a4"));
        assert_eq!(p["tag"], "f42");
        assert_eq!(
            parse_amqp(None, b"[]", 100).unwrap_err(),
            Malformed::NotObject
        );
        assert_eq!(parse_amqp(None, b"\xff", 100).unwrap_err(), Malformed::Json);
        assert_eq!(
            parse_amqp(None, b"{}", 1).unwrap_err(),
            Malformed::Oversized
        );
    }

    #[test]
    fn classification() {
        let e = classify(
            "org.fedoraproject.prod.buildsys.tag",
            &obj(json!({"tag": "f41"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            e,
            Event::Tag {
                kind: "buildsys.tag",
                tag: "f41".into(),
                instance: "primary".into()
            }
        );
        assert!(
            classify("org.fedoraproject.prod.buildsys.tagx", &obj(json!({})))
                .unwrap()
                .is_none()
        );
        assert!(
            classify("org.fedoraproject.prod.xbuildsys.tag", &obj(json!({})))
                .unwrap()
                .is_none()
        );
        assert_eq!(
            classify("buildsys.untag", &obj(json!({"tag": 3}))).unwrap_err(),
            Malformed::MissingField
        );
        let m = classify(
            "org.fedoraproject.prod.mbs.module.state.change",
            &obj(json!({"name": "n", "stream": "s", "version": "1", "context": "c", "state": 5})),
        )
        .unwrap()
        .unwrap();
        assert!(
            matches!(m, Event::Module { ref state_name, state: 5, .. } if state_name == "ready")
        );
        assert_eq!(
            classify("mbs.module.state.change", &obj(json!({"name": "n"}))).unwrap_err(),
            Malformed::MissingField
        );
    }
}
