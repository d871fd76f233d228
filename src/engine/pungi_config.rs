//! Phase 6, the Pungi configuration: `work/global/pungi-config/{pungi.json,variants.xml,
//! comps.xml}`, rendered from `pungi-templates/`, that would make the same compose with Pungi.

use std::path::Path;

use serde_json::{Value, json};

use super::base::{EngineError, has_flag, split, words};
use crate::config::Settings;
use crate::db::models::Compose;
use crate::domain::{Flag, SourceType};

fn render(name: &str, source: &str, ctx: &Value) -> Result<String, EngineError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template(name, source)
        .map_err(|e| EngineError(format!("template {name}: {e}")))?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(ctx)))
        .map_err(|e| EngineError(format!("template {name}: {e}")))
}

/// The templates' context for compose `c`.
fn context(c: &Compose, settings: &Settings) -> Value {
    let name = crate::layout::compose_name(c.id);
    let arches = words(&c.arches);
    let packages = split(&c.packages);
    let results = crate::domain::result_names(c.results);
    let keys: Vec<Value> = if c.sigkeys.is_empty() {
        vec![Value::Null]
    } else {
        c.sigkeys.split(' ').map(|k| json!(k)).collect()
    };
    let mut multilib = serde_json::Map::new();
    let methods: Vec<&str> = [("runtime", 1), ("devel", 2), ("all", 4)]
        .iter()
        .filter(|(_, b)| c.multilib_method & b != 0)
        .map(|(n, _)| *n)
        .collect();
    for a in c.multilib_arches.split_whitespace() {
        multilib.insert(a.into(), json!(methods));
    }
    let mut skip = vec![];
    if !results.contains(&"iso") {
        skip.push("createiso");
    }
    if !results.contains(&"boot.iso") {
        skip.push("buildinstall");
    }
    skip.extend(["live_media", "live_images", "ostree"]);
    let is_repo = c.source_type == SourceType::Repo.code();
    json!({
        "release_name": name,
        "release_short": name.chars().take(16).collect::<String>(),
        "bootable": results.contains(&"boot.iso"),
        "sigkeys": keys,
        "pkgset_source": if is_repo { "repos" } else { "koji" },
        "pkgset_repos": arches.iter().map(|a| (a.clone(), json!([c.source]))).collect::<serde_json::Map<_, _>>(),
        "koji_tag": if c.source_type == SourceType::Tag.code() { c.source.clone() } else { String::new() },
        "pkgset_koji_inherit": !has_flag(c, Flag::NoInheritance),
        "builds": split(&c.builds),
        "pkgset_allow_reuse": !has_flag(c, Flag::NoReuse),
        "additional_packages": packages.is_empty() && !is_repo,
        "multilib": multilib,
        "gather_method": if has_flag(c, Flag::NoDeps) { "nodeps" } else { "deps" },
        "check_deps": has_flag(c, Flag::CheckDeps),
        "lookaside_repos": split(&c.lookaside_repos),
        "skip_phases": skip,
        "koji_profile": settings.koji.profile,
        "arches": arches,
        "groups": c.source_type == SourceType::Tag.code() && !packages.is_empty(),
        "packages": packages,
    })
}

/// The Pungi configuration reproducing compose `c`: (pungi.json, variants.xml, comps.xml).
pub fn pungi_config(
    c: &Compose,
    settings: &Settings,
) -> Result<(String, String, String), EngineError> {
    let ctx = context(c, settings);
    let pungi: Value = serde_json::from_str(&render(
        "pungi.json.j2",
        include_str!("../../pungi-templates/pungi.json.j2"),
        &ctx,
    )?)
    .map_err(|e| EngineError(format!("rendered pungi.json is not JSON: {e}")))?;
    Ok((
        serde_json::to_string_pretty(&pungi).expect("json"),
        render(
            "variants.xml.j2",
            include_str!("../../pungi-templates/variants.xml.j2"),
            &ctx,
        )?,
        render(
            "comps.xml.j2",
            include_str!("../../pungi-templates/comps.xml.j2"),
            &ctx,
        )?,
    ))
}

/// Writes the configuration into the tree at `root`; returns how many files.
pub fn write(root: &Path, c: &Compose, settings: &Settings) -> Result<usize, EngineError> {
    let io = |e: std::io::Error| EngineError(format!("{}: {e}", root.display()));
    let (pungi, variants, comps) = pungi_config(c, settings)?;
    let cfg = root.join("work/global/pungi-config");
    std::fs::create_dir_all(&cfg).map_err(io)?;
    std::fs::write(cfg.join("pungi.json"), pungi).map_err(io)?;
    std::fs::write(cfg.join("variants.xml"), variants).map_err(io)?;
    std::fs::write(cfg.join("comps.xml"), comps).map_err(io)?;
    Ok(3)
}
