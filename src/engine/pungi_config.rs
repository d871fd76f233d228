//! Phase 6, the Pungi configuration: `work/global/pungi-config/{pungi.json,variants.xml,
//! comps.xml}`, rendered from `pungi-templates/`, that would make the same compose with Pungi.

use std::path::Path;

use serde_json::{Value, json};

use super::base::{EngineError, has_flag, split, words};
use super::modules::ModuleSet;
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
fn context(c: &Compose, modules: Option<&ModuleSet>, settings: &Settings) -> Value {
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
    let is_module = c.source_type == SourceType::Module.code();
    let module_tags = split(&c.modular_koji_tags);
    // The variant's modules: each NSVC of a module compose, or every module of the modular
    // tags (`*`) for a tag compose with them.
    let variant_modules: Vec<String> = if is_module {
        modules
            .map(|m| m.modules.iter().map(|m| m.nsvc()).collect())
            .unwrap_or_else(|| words(&c.source))
    } else if !module_tags.is_empty() {
        vec!["*".into()]
    } else {
        vec![]
    };
    let gather_method = if has_flag(c, Flag::NoDeps) || is_module {
        "nodeps"
    } else if !module_tags.is_empty() {
        "hybrid"
    } else {
        "deps"
    };
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
        "additional_packages": packages.is_empty() && !is_repo && !is_module,
        "multilib": multilib,
        "gather_source": if is_module { "module" } else { "comps" },
        "gather_method": gather_method,
        "is_module": is_module,
        "module_tags": module_tags,
        "module_defaults": c.module_defaults_url.as_deref().and_then(|d| {
            let mut p = d.split_whitespace();
            Some(json!({"scm": "git", "repo": p.next()?, "branch": p.next()?, "dir": "."}))
        }),
        "variant_modules": variant_modules,
        "check_deps": has_flag(c, Flag::CheckDeps),
        "lookaside_repos": split(&c.lookaside_repos),
        "skip_phases": skip,
        "koji_profile": settings.koji.profile,
        "arches": arches,
        "groups": c.source_type == SourceType::Tag.code() && !packages.is_empty(),
        "packages": packages,
    })
}

/// The Pungi configuration reproducing compose `c` (with its resolved `modules`, if any):
/// (pungi.json, variants.xml, comps.xml). A module compose's comps.xml is empty.
pub fn pungi_config(
    c: &Compose,
    modules: Option<&ModuleSet>,
    settings: &Settings,
) -> Result<(String, String, String), EngineError> {
    let ctx = context(c, modules, settings);
    let comps = if c.source_type == SourceType::Module.code() {
        String::new()
    } else {
        render(
            "comps.xml.j2",
            include_str!("../../pungi-templates/comps.xml.j2"),
            &ctx,
        )?
    };
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
        comps,
    ))
}

/// Writes the configuration into the tree at `root`; returns how many files.
pub fn write(
    root: &Path,
    c: &Compose,
    modules: Option<&ModuleSet>,
    settings: &Settings,
) -> Result<usize, EngineError> {
    let io = |e: std::io::Error| EngineError(format!("{}: {e}", root.display()));
    let (pungi, variants, comps) = pungi_config(c, modules, settings)?;
    let cfg = root.join("work/global/pungi-config");
    std::fs::create_dir_all(&cfg).map_err(io)?;
    std::fs::write(cfg.join("pungi.json"), pungi).map_err(io)?;
    std::fs::write(cfg.join("variants.xml"), variants).map_err(io)?;
    std::fs::write(cfg.join("comps.xml"), comps).map_err(io)?;
    Ok(3)
}
