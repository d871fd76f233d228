//! Phase 5, metadata: productmd's `compose/metadata/composeinfo.json` and `rpms.json`,
//! `COMPOSE_ID`, `STATUS`, the `.repo` file of contract §2.6 and the Koji event the compose was
//! resolved at (`work/global/koji-event`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use rpmrepo_metadata::Package;
use serde_json::{Value, json};

use super::base::EngineError;
use super::gather::{Category, Selected};
use super::tree::{Plan, VARIANT};
use crate::config::ComposeSettings;
use crate::db::models::Compose;
use crate::views::ComposeView;

/// Everything the metadata is made of.
pub struct Facts<'a> {
    pub compose: &'a Compose,
    pub arches: &'a [String],
    pub selected: &'a [Selected],
    pub plan: &'a Plan<'a>,
    /// `odcs-<N>-1-<YYYYMMDD><type suffix>.0`.
    pub compose_id: &'a str,
    pub event: Option<i64>,
}

/// Writes the metadata files into the tree at `root`; returns how many.
pub fn write(
    root: &Path,
    facts: &Facts<'_>,
    settings: &ComposeSettings,
) -> Result<usize, EngineError> {
    let io = |e: std::io::Error| EngineError(format!("{}: {e}", root.display()));
    let c = facts.compose;
    let name = crate::layout::compose_name(c.id);
    let compose_obj = compose_object(c, facts.compose_id);
    let composeinfo = composeinfo(c, &name, facts.arches, &compose_obj);
    let by_arch = rpms_by_arch(facts.selected, facts.plan);
    let mut rpms = BTreeMap::new();
    if !by_arch.is_empty() {
        rpms.insert(VARIANT, by_arch);
    }
    // Typed, in key order already (maps are sorted, struct fields alphabetical): rpms.json
    // holds every RPM, and a generic `Value` tree of it costs more than the rest of the phase.
    let rpms = RpmsDoc {
        header: sort_keys(&json!({"type": "productmd.rpms", "version": "1.2"})),
        payload: RpmsPayload {
            compose: sort_keys(&compose_obj),
            rpms,
        },
    };
    let meta = root.join("compose/metadata");
    std::fs::create_dir_all(&meta).map_err(io)?;
    std::fs::write(
        meta.join("composeinfo.json"),
        pretty(&sort_keys(&composeinfo)),
    )
    .map_err(io)?;
    std::fs::write(meta.join("rpms.json"), pretty(&rpms)).map_err(io)?;
    std::fs::write(root.join("COMPOSE_ID"), facts.compose_id).map_err(io)?;
    std::fs::write(root.join("STATUS"), "FINISHED\n").map_err(io)?;
    let mut files = 5;
    // The .repo file (URLs as the API shows them).
    let view = ComposeView::new(c, settings, false);
    std::fs::write(
        root.join("compose")
            .join(VARIANT)
            .join(format!("{name}.repo")),
        repo_file(&name, &view.result_repo),
    )
    .map_err(io)?;
    if let Some(e) = facts.event {
        std::fs::create_dir_all(root.join("work/global")).map_err(io)?;
        std::fs::write(
            root.join("work/global/koji-event"),
            json!({"id": e}).to_string(),
        )
        .map_err(io)?;
        files += 1;
    }
    Ok(files)
}

fn compose_object(c: &Compose, compose_id: &str) -> Value {
    let date = compose_id
        .split('-')
        .nth(3)
        .map(|d| d.chars().take(8).collect::<String>())
        .unwrap_or_default();
    let compose_type = c.compose_type.clone().unwrap_or_else(|| "test".into());
    json!({"date": date, "id": compose_id, "respin": 0, "type": compose_type})
}

fn composeinfo(c: &Compose, name: &str, arches: &[String], compose_obj: &Value) -> Value {
    let per_arch = |rel: &str| -> Value {
        Value::Object(
            arches
                .iter()
                .map(|a| (a.clone(), json!(rel.replace("{arch}", a))))
                .collect(),
        )
    };
    let mut release = json!({"internal": false, "name": name, "short": name.chars().take(16).collect::<String>(), "type": "ga", "version": "1"});
    if let Some(l) = &c.label {
        release["label"] = json!(l);
    }
    json!({
        "header": {"type": "productmd.composeinfo", "version": "1.2"},
        "payload": {
            "compose": compose_obj,
            "release": release,
            "variants": {"Temporary": {
                "arches": arches, "id": "Temporary", "name": "Temporary", "type": "variant", "uid": "Temporary",
                "paths": {
                    "debug_packages": per_arch("Temporary/{arch}/debug/tree/Packages"),
                    "debug_repository": per_arch("Temporary/{arch}/debug/tree"),
                    "debug_tree": per_arch("Temporary/{arch}/debug/tree"),
                    "os_tree": per_arch("Temporary/{arch}/os"),
                    "packages": per_arch("Temporary/{arch}/os/Packages"),
                    "repository": per_arch("Temporary/{arch}/os"),
                    "source_packages": per_arch("Temporary/source/tree/Packages"),
                    "source_repository": per_arch("Temporary/source/tree"),
                    "source_tree": per_arch("Temporary/source/tree"),
                }
            }}
        }
    })
}

/// One RPM of rpms.json (fields in productmd's sorted order).
#[derive(serde::Serialize)]
struct RpmEntry<'a> {
    category: &'static str,
    path: String,
    sigkey: &'a Option<String>,
}

type RpmsByArch<'a> = BTreeMap<&'a str, BTreeMap<String, BTreeMap<String, RpmEntry<'a>>>>;

#[derive(serde::Serialize)]
struct RpmsDoc<'a> {
    header: Value,
    payload: RpmsPayload<'a>,
}

#[derive(serde::Serialize)]
struct RpmsPayload<'a> {
    compose: Value,
    rpms: BTreeMap<&'static str, RpmsByArch<'a>>,
}

/// rpms.json's payload: arch → source RPM NEVRA → RPM NEVRA → category, path, sigkey. Each
/// arch lists its os and debug RPMs and the sources of their builds.
fn rpms_by_arch<'a>(selected: &'a [Selected], plan: &'a Plan<'a>) -> RpmsByArch<'a> {
    let srpm_by_build: HashMap<&str, String> = selected
        .iter()
        .filter(|o| o.cat == Category::Source)
        .map(|o| (o.cand.build_key.as_str(), nevra_full(&o.pkg)))
        .collect();
    let srpm_of = |s: &Selected| -> String {
        // The build's source RPM NEVRA, from the selected source package of the same build.
        srpm_by_build
            .get(s.cand.build_key.as_str())
            .cloned()
            .unwrap_or_else(|| {
                format!(
                    "{}-{}:{}-{}.src",
                    s.pkg.name(),
                    s.pkg.epoch(),
                    s.pkg.version(),
                    s.pkg.release()
                )
            })
    };
    let mut out = RpmsByArch::new();
    let mut record = |arch: &'a str, s: &'a Selected, rel: &str, category: &'static str| {
        out.entry(arch)
            .or_default()
            .entry(srpm_of(s))
            .or_default()
            .insert(
                nevra_full(&s.pkg),
                RpmEntry {
                    category,
                    path: format!("{VARIANT}/{rel}/{}", s.pkg.location_href()),
                    sigkey: &s.cand.sigkey,
                },
            );
    };
    for a in &plan.arches {
        for s in &a.os.pkgs {
            record(a.arch, s, &a.os.rel, "binary");
        }
        for s in &a.debug.pkgs {
            record(a.arch, s, &a.debug.rel, "debug");
        }
        let build_keys: BTreeSet<&str> =
            a.os.pkgs
                .iter()
                .chain(a.debug.pkgs.iter())
                .map(|s| s.cand.build_key.as_str())
                .collect();
        for s in plan
            .source
            .pkgs
            .iter()
            .filter(|s| build_keys.contains(s.cand.build_key.as_str()))
        {
            record(a.arch, s, &plan.source.rel, "source");
        }
    }
    out
}

fn nevra_full(p: &Package) -> String {
    format!(
        "{}-{}:{}-{}.{}",
        p.name(),
        p.epoch(),
        p.version(),
        p.release(),
        p.arch()
    )
}

/// productmd's JSON: 4-space indent, no final newline (keys sorted by the caller).
fn pretty<T: serde::Serialize>(v: &T) -> String {
    let mut buf = Vec::with_capacity(1 << 16);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("json");
    String::from_utf8(buf).expect("utf8")
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), sort_keys(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// The `.repo` file of contract §2.6.
pub fn repo_file(name: &str, result_repo: &str) -> String {
    let section = |suffix: &str, path: &str, enabled: u8| {
        format!(
            "[{name}{suffix}]\nname=ODCS repository for compose {name}{suffix}\nbaseurl={}\ntype=rpm-md\nskip_if_unavailable=False\ngpgcheck=0\nrepo_gpgcheck=0\nenabled={enabled}\nenabled_metadata=1\n",
            if result_repo.is_empty() {
                path.to_string()
            } else {
                format!("{result_repo}/{path}")
            }
        )
    };
    [
        section("", "$basearch/os", 1),
        section("-debuginfo", "$basearch/debug/tree", 0),
        section("-source", "source/tree", 0),
    ]
    .join("\n")
}
