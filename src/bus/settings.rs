//! `[triggers]`: which bus events and schedules make composes. The data is
//! `config::TriggerSettings` (documented in `src/config/keys.toml`); this module reads the rules
//! and checks them at start-up.

use serde_json::{Map, Value, json};

use crate::config::Settings;
pub use crate::config::{TriggerRule, TriggerSettings};

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
