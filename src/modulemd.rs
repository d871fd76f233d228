//! modulemd documents as composed reads and writes them: module streams (`document: modulemd`,
//! version 2) and module defaults (`document: modulemd-defaults`). A document is kept as its
//! YAML tree (keys in their order; a scalar such as `context: 00000000` stays the string it
//! is), read by field, edited where a compose needs it (arch, artifacts, name, runtime
//! requirements) and written back into a multi-document `modules.yaml`. Pure: no I/O.

use yaml_serde::{Mapping, Value};

/// One YAML document of a modulemd file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document(Value);

/// The text of a scalar, whatever YAML made of it (`stream: 2` is the stream `"2"`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

/// The strings of a sequence (scalars only).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        _ => Vec::new(),
    }
}

impl Document {
    /// A document's kind: `modulemd`, `modulemd-defaults`, …
    pub fn kind(&self) -> String {
        self.0.get("document").and_then(scalar).unwrap_or_default()
    }

    /// The document's `version` (the format version: 2 for module streams).
    pub fn format_version(&self) -> Option<u64> {
        self.0.get("version").and_then(Value::as_u64)
    }

    fn data(&self) -> Option<&Mapping> {
        self.0.get("data").and_then(Value::as_mapping)
    }

    fn data_mut(&mut self) -> &mut Mapping {
        if !self.0.get("data").is_some_and(Value::is_mapping)
            && let Some(m) = self.0.as_mapping_mut()
        {
            m.insert(key("data"), Value::Mapping(Mapping::new()));
        }
        self.0
            .get_mut("data")
            .and_then(Value::as_mapping_mut)
            .expect("data is a mapping")
    }

    fn field(&self, name: &str) -> Option<String> {
        self.data()?.get(name).and_then(scalar)
    }

    pub fn name(&self) -> String {
        self.field("name").unwrap_or_default()
    }

    /// The module a `modulemd-defaults` document is about (`data.module`).
    pub fn defaults_module(&self) -> String {
        self.field("module").unwrap_or_default()
    }

    pub fn stream(&self) -> String {
        self.field("stream").unwrap_or_default()
    }

    /// The stream's version (an integer in modulemd; its digits here).
    pub fn version(&self) -> String {
        self.field("version").unwrap_or_default()
    }

    pub fn context(&self) -> String {
        self.field("context").unwrap_or_default()
    }

    /// `N:S:V:C`.
    pub fn nsvc(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.name(),
            self.stream(),
            self.version(),
            self.context()
        )
    }

    /// The module streams this stream needs at run time: `(name, streams)` of every
    /// `dependencies[].requires` entry, in order (an empty list means any stream).
    pub fn runtime_requires(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        let Some(Value::Sequence(deps)) = self.data().and_then(|d| d.get("dependencies")) else {
            return out;
        };
        for dep in deps {
            let Some(Value::Mapping(req)) = dep.get("requires") else {
                continue;
            };
            for (k, v) in req {
                let Some(name) = scalar(k) else { continue };
                let streams = match v {
                    Value::Sequence(_) => strings(Some(v)),
                    other => scalar(other).into_iter().collect(),
                };
                match out.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, s)) => s.extend(streams),
                    None => out.push((name, streams)),
                }
            }
        }
        out
    }

    /// `artifacts.rpms`: the NEVRAs (`name-epoch:version-release.arch`) the stream is made of.
    pub fn artifacts(&self) -> Vec<String> {
        strings(
            self.data()
                .and_then(|d| d.get("artifacts"))
                .and_then(|a| a.get("rpms")),
        )
    }

    /// Whether the stream lists its artifacts at all.
    pub fn has_artifacts(&self) -> bool {
        self.data()
            .and_then(|d| d.get("artifacts"))
            .and_then(|a| a.get("rpms"))
            .is_some_and(Value::is_sequence)
    }

    /// `filter.rpms`: names of binary RPMs the module's builds made but leaves out.
    pub fn filtered_rpms(&self) -> Vec<String> {
        strings(
            self.data()
                .and_then(|d| d.get("filter"))
                .and_then(|a| a.get("rpms")),
        )
    }

    pub fn set_name(&mut self, name: &str) {
        self.data_mut().insert(key("name"), key(name));
    }

    pub fn set_arch(&mut self, arch: &str) {
        self.data_mut().insert(key("arch"), key(arch));
    }

    /// Replaces `artifacts.rpms` (other artifact kinds are kept).
    pub fn set_artifacts(&mut self, nevras: &[String]) {
        let data = self.data_mut();
        if !data.get("artifacts").is_some_and(Value::is_mapping) {
            data.insert(key("artifacts"), Value::Mapping(Mapping::new()));
        }
        let artifacts = data
            .get_mut("artifacts")
            .and_then(Value::as_mapping_mut)
            .expect("artifacts is a mapping");
        artifacts.insert(
            key("rpms"),
            Value::Sequence(nevras.iter().map(|n| key(n)).collect()),
        );
    }

    /// Adds `name:[stream]` to the run-time requirements of every dependency block (and makes
    /// one when there is none), as a `-devel` module requires its module.
    pub fn add_runtime_require(&mut self, name: &str, stream: &str) {
        let data = self.data_mut();
        if !data.get("dependencies").is_some_and(Value::is_sequence) {
            data.insert(
                key("dependencies"),
                Value::Sequence(vec![Value::Mapping(Mapping::new())]),
            );
        }
        let Some(Value::Sequence(deps)) = data.get_mut("dependencies") else {
            return;
        };
        if deps.is_empty() {
            deps.push(Value::Mapping(Mapping::new()));
        }
        for dep in deps.iter_mut() {
            let Some(dep) = dep.as_mapping_mut() else {
                continue;
            };
            if !dep.get("requires").is_some_and(Value::is_mapping) {
                dep.insert(key("requires"), Value::Mapping(Mapping::new()));
            }
            let req = dep
                .get_mut("requires")
                .and_then(Value::as_mapping_mut)
                .expect("requires is a mapping");
            match req.get_mut(name) {
                Some(Value::Sequence(s)) => {
                    if !s.iter().any(|v| scalar(v).as_deref() == Some(stream)) {
                        s.push(key(stream));
                    }
                }
                _ => {
                    req.insert(key(name), Value::Sequence(vec![key(stream)]));
                }
            }
        }
    }

    /// The document as YAML (without the `---` / `...` markers).
    fn body(&self) -> Result<String, String> {
        let text = yaml_serde::to_string(&self.0).map_err(|e| e.to_string())?;
        Ok(text.strip_prefix("---\n").unwrap_or(&text).to_string())
    }
}

/// Every document of a modulemd file (one or many, `---`-separated).
pub fn parse(text: &str) -> Result<Vec<Document>, String> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|e| format!("invalid modulemd YAML: {e}"))?;
        if v.is_null() {
            continue;
        }
        if !v.is_mapping() {
            return Err("invalid modulemd YAML: a document is not a mapping".into());
        }
        out.push(Document(v));
    }
    Ok(out)
}

/// The one module stream (v2) of `text`, as MBS and Koji give a module build's modulemd.
pub fn parse_stream(text: &str) -> Result<Document, String> {
    let docs = parse(text)?;
    let mut streams = docs.into_iter().filter(|d| d.kind() == "modulemd");
    let Some(d) = streams.next() else {
        return Err("the modulemd text holds no module stream".into());
    };
    match d.format_version() {
        Some(2) => {}
        Some(v) => return Err(format!("modulemd version {v} is not supported (only 2)")),
        None => return Err("the modulemd document has no version".into()),
    }
    if d.name().is_empty() || d.stream().is_empty() {
        return Err("the module stream has no name or stream".into());
    }
    Ok(d)
}

/// A multi-document `modules.yaml`: each document between `---` and `...`, as libmodulemd and
/// `modifyrepo_c --mdtype=modules` expect.
pub fn dump(docs: &[Document]) -> Result<String, String> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&d.body()?);
        out.push_str("...\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "---\ndocument: modulemd\nversion: 2\ndata:\n  name: hello\n  stream: 2\n  version: 20240202000000\n  context: 00000000\n  summary: Hello\n  description: >-\n    A module.\n  license:\n    module: [MIT]\n  dependencies:\n  - buildrequires:\n      platform: [f40]\n    requires:\n      platform: [f40]\n      greet: []\n  filter:\n    rpms: [hello-extra]\n  artifacts:\n    rpms:\n    - hello-0:2.0-1.module_f40+3+c0ffee42.noarch\n    - hello-0:2.0-1.module_f40+3+c0ffee42.src\n...\n";

    #[test]
    fn reads_fields_keeping_scalars_as_written() {
        let d = parse_stream(HELLO).unwrap();
        assert_eq!(d.nsvc(), "hello:2:20240202000000:00000000");
        assert_eq!(
            d.runtime_requires(),
            vec![
                ("platform".to_string(), vec!["f40".to_string()]),
                ("greet".to_string(), vec![])
            ]
        );
        assert_eq!(d.artifacts().len(), 2);
        assert_eq!(d.filtered_rpms(), vec!["hello-extra".to_string()]);
    }

    #[test]
    fn edits_survive_a_round_trip() {
        let mut d = parse_stream(HELLO).unwrap();
        d.set_name("hello-devel");
        d.set_arch("x86_64");
        d.set_artifacts(&["hello-devel-0:2.0-1.noarch".to_string()]);
        d.add_runtime_require("hello", "2");
        let text = dump(&[d]).unwrap();
        assert!(
            text.starts_with("---\n") && text.ends_with("...\n"),
            "{text}"
        );
        let back = parse_stream(&text).unwrap();
        assert_eq!(back.nsvc(), "hello-devel:2:20240202000000:00000000");
        assert_eq!(back.artifacts(), vec!["hello-devel-0:2.0-1.noarch"]);
        assert!(
            back.runtime_requires()
                .contains(&("hello".to_string(), vec!["2".to_string()]))
        );
        assert!(text.contains("arch: x86_64"), "{text}");
    }

    #[test]
    fn refuses_what_is_not_a_v2_stream() {
        assert!(
            parse_stream("document: modulemd\nversion: 1\ndata: {name: a, stream: b}\n").is_err()
        );
        assert!(
            parse_stream("document: modulemd-defaults\nversion: 1\ndata: {module: a}\n").is_err()
        );
        assert!(parse_stream("- a\n- b\n").is_err());
    }
}
