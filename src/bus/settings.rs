//! `[triggers]`: which bus events and schedules make composes (documented in `config::DOCS`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::Settings;

/// Listeners, coalescing and the rules that turn events into composes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerSettings {
    pub fedmsg_endpoints: Vec<String>,
    pub fedmsg_inbound_endpoint: String,
    pub amqp_queue: String,
    pub amqp_routing_keys: Vec<String>,
    pub amqp_prefetch: u16,
    pub max_message_bytes: usize,
    pub owner: String,
    pub debounce_ms: u64,
    pub koji_instances: Vec<String>,
    pub module_states: Vec<String>,
    pub dedup_capacity: usize,
    pub rules: Vec<TriggerRule>,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        Self {
            fedmsg_endpoints: vec![],
            fedmsg_inbound_endpoint: String::new(),
            amqp_queue: String::new(),
            amqp_routing_keys: vec![
                "#.buildsys.tag".into(),
                "#.buildsys.untag".into(),
                "#.buildsys.repo.done".into(),
                "#.mbs.module.state.change".into(),
            ],
            amqp_prefetch: 5000,
            max_message_bytes: 256 * 1024,
            owner: "composed".into(),
            debounce_ms: 5000,
            koji_instances: vec!["primary".into()],
            module_states: vec!["ready".into()],
            dedup_capacity: 100_000,
            rules: vec![],
        }
    }
}

/// One `[[triggers.rules]]` entry. The compose it requests is built as the JSON body of a POST
/// and goes through the same validation and defaults as one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerRule {
    pub name: String,
    /// Koji tag whose changes trigger this rule.
    pub tag: String,
    /// `name:stream` of the module whose builds trigger this rule.
    pub module: String,
    /// Topic suffixes that trigger (default: buildsys.tag + buildsys.untag for a tag rule,
    /// mbs.module.state.change for a module rule).
    pub events: Vec<String>,
    /// 6-field cron expression (seconds first, UTC); empty = no schedule.
    pub cron: String,
    pub source_type: String,
    pub source: String,
    pub packages: Option<Vec<String>>,
    pub builds: Option<Vec<String>>,
    pub sigkeys: Option<Vec<String>>,
    pub arches: Option<Vec<String>>,
    pub flags: Vec<String>,
    pub results: Vec<String>,
    pub lookaside_repos: Option<Vec<String>>,
    pub multilib_arches: Option<Vec<String>>,
    pub multilib_method: Option<Vec<String>>,
    pub seconds_to_live: Option<i64>,
    pub label: Option<String>,
    pub compose_type: Option<String>,
}

pub const TAG_EVENTS: &[&str] = &["buildsys.tag", "buildsys.untag"];
pub const MODULE_EVENTS: &[&str] = &["mbs.module.state.change"];
pub const KNOWN_EVENTS: &[&str] = &[
    "buildsys.tag",
    "buildsys.untag",
    "buildsys.repo.done",
    "mbs.module.state.change",
];

impl TriggerRule {
    /// The topic suffixes this rule listens to.
    pub fn events(&self) -> Vec<String> {
        if !self.events.is_empty() {
            return self.events.clone();
        }
        let d = if !self.module.is_empty() {
            MODULE_EVENTS
        } else if !self.tag.is_empty() {
            TAG_EVENTS
        } else {
            &[]
        };
        d.iter().map(|s| s.to_string()).collect()
    }

    /// The POST body of the compose this rule requests; `module_nsvc` is the module build an
    /// event announced (module rules without an explicit source compose exactly that build).
    pub fn request_body(&self, module_nsvc: Option<&str>) -> Value {
        let source_type = match (self.source_type.as_str(), self.module.is_empty()) {
            ("", true) => "tag",
            ("", false) => "module",
            (t, _) => t,
        };
        let source = if !self.source.is_empty() {
            self.source.clone()
        } else if !self.module.is_empty() {
            module_nsvc.unwrap_or(&self.module).to_string()
        } else {
            self.tag.clone()
        };
        let mut src = Map::new();
        src.insert("type".into(), json!(source_type));
        src.insert("source".into(), json!(source));
        for (k, v) in [
            ("packages", &self.packages),
            ("builds", &self.builds),
            ("sigkeys", &self.sigkeys),
        ] {
            if let Some(v) = v {
                src.insert(k.into(), json!(v));
            }
        }
        let mut top = Map::new();
        top.insert("source".into(), Value::Object(src));
        if !self.flags.is_empty() {
            top.insert("flags".into(), json!(self.flags));
        }
        if !self.results.is_empty() {
            top.insert("results".into(), json!(self.results));
        }
        for (k, v) in [
            ("arches", &self.arches),
            ("lookaside_repos", &self.lookaside_repos),
            ("multilib_arches", &self.multilib_arches),
            ("multilib_method", &self.multilib_method),
        ] {
            if let Some(v) = v {
                top.insert(k.into(), json!(v));
            }
        }
        if let Some(s) = self.seconds_to_live {
            top.insert("seconds_to_live".into(), json!(s));
        }
        if let Some(l) = &self.label {
            top.insert("label".into(), json!(l));
        }
        if let Some(c) = &self.compose_type {
            top.insert("compose_type".into(), json!(c));
        }
        Value::Object(top)
    }
}

/// Checks the rules: unique names, one trigger kind, known events, valid cron, and a request
/// body that passes the POST validation.
pub fn validate(settings: &Settings) -> Result<(), String> {
    let t = &settings.triggers;
    let mut names = std::collections::BTreeSet::new();
    for r in &t.rules {
        let what = format!("triggers.rules {:?}", r.name);
        if r.name.is_empty() {
            return Err("triggers.rules: every rule needs a name".into());
        }
        if !names.insert(r.name.as_str()) {
            return Err(format!("{what}: duplicate name"));
        }
        if !r.tag.is_empty() && !r.module.is_empty() {
            return Err(format!("{what}: set tag or module, not both"));
        }
        if r.tag.is_empty() && r.module.is_empty() && r.cron.is_empty() {
            return Err(format!("{what}: set tag, module or cron"));
        }
        if !r.module.is_empty() && r.module.split(':').count() != 2 {
            return Err(format!("{what}: module must be name:stream"));
        }
        for e in &r.events {
            if !KNOWN_EVENTS.contains(&e.as_str()) {
                return Err(format!(
                    "{what}: unknown event {e:?} (known: {})",
                    KNOWN_EVENTS.join(", ")
                ));
            }
        }
        if !r.cron.is_empty()
            && let Err(e) = croner_check(&r.cron)
        {
            return Err(format!("{what}: invalid cron {:?}: {e}", r.cron));
        }
        let body = r.request_body(None);
        crate::domain::parse_compose_request(&body, &settings.composes)
            .map_err(|e| format!("{what}: the compose request is invalid: {e}"))?;
    }
    if !t.rules.is_empty() && t.owner.is_empty() {
        return Err("triggers.owner must not be empty".into());
    }
    Ok(())
}

fn croner_check(expr: &str) -> Result<(), String> {
    if expr.split_whitespace().count() != 6 {
        return Err("expected 6 fields (sec min hour day-of-month month day-of-week)".into());
    }
    tokio_cron_scheduler::Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
