//! Phase 0, modules: which module builds a compose is made of (contract §3.2), and what each
//! tree's `modules.yaml` says of them.
//!
//! - A `module` compose without `modular_koji_tags` asks MBS: each `N:S[:V[:C]]` in state
//!   ready (or done too, with `include_done_modules` or a full NSVC), every context of the
//!   newest version, the `-devel` fallback, conflicts refused, and (unless `no_deps`) the
//!   run-time module dependencies added transitively within the base module's stream-version
//!   bounds. Base modules are never part of the result.
//! - With `modular_koji_tags`, Koji alone: module builds tagged in those tags at the event
//!   (newest version per `N:S`, all contexts, the top-most tag wins), found by NSVC glob for
//!   `N:S:V[:C]`, their modulemd from `extra.typeinfo.module`, run-time dependencies the
//!   same way.
//! - A `tag` compose with `modular_koji_tags` (hybrid) takes every module of those tags.
//!
//! The package set ([`super::pkgset`]) then draws each module's RPMs from its Koji content
//! tag; [`streams_by_arch`] gives each arch's module streams with the artifacts its tree holds.

use std::collections::{BTreeMap, BTreeSet};

use super::base::{EngineError, fail, has_flag, split};
use crate::db::models::Compose;
use crate::domain::{Flag, SourceType};
use crate::koji::{KojiClient, TagQuery};
use crate::mbs::{self, MbsClient, ModuleBuild};
use crate::modulemd::{self, Document};

/// One module build of the compose.
#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    pub stream: String,
    pub version: String,
    pub context: String,
    /// The Koji tag holding the module's RPM builds.
    pub koji_tag: String,
    pub mmd: Document,
    /// A `-devel` module made from its module's build: the module's own artifacts, which the
    /// `-devel` module leaves out (it holds the RPMs the module filtered).
    pub devel_of: Option<BTreeSet<String>>,
}

impl Module {
    pub fn nsvc(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.name, self.stream, self.version, self.context
        )
    }

    pub fn ns(&self) -> String {
        format!("{}:{}", self.name, self.stream)
    }

    /// Whether an RPM of the content tag (its NEVRA, epoch included) belongs to the module:
    /// one of its artifacts; for a stream without artifacts, any RPM not filtered by name; for
    /// a `-devel` module, one its module does not list.
    pub fn holds(&self, nevra: &str, name: &str) -> bool {
        if let Some(own) = &self.devel_of {
            return !own.contains(nevra);
        }
        if self.mmd.has_artifacts() {
            return self.mmd.artifacts().iter().any(|a| a == nevra);
        }
        !self.mmd.filtered_rpms().iter().any(|f| f == name)
    }
}

/// The modules of a compose, sorted by NSVC.
#[derive(Debug, Clone, Default)]
pub struct ModuleSet {
    pub modules: Vec<Module>,
    /// The Koji event the Koji-only resolution used.
    pub event: Option<i64>,
    /// The `modulemd-defaults` documents of the compose's modules (`module_defaults_url`).
    pub defaults: Vec<Document>,
}

impl ModuleSet {
    /// The compose's resolved `source`: the sorted, space-joined NSVCs.
    pub fn source(&self) -> String {
        let mut n: Vec<String> = self.modules.iter().map(Module::nsvc).collect();
        n.sort();
        n.join(" ")
    }
}

/// `N-V-R`-ish NEVRA with the epoch always written, as modulemd artifacts are.
pub fn artifact_nevra(
    name: &str,
    epoch: Option<i64>,
    version: &str,
    release: &str,
    arch: &str,
) -> String {
    format!("{name}-{}:{version}-{release}.{arch}", epoch.unwrap_or(0))
}

/// Where module builds come from for this deployment.
pub struct Sources<'a> {
    pub koji: Option<&'a KojiClient>,
    pub mbs: Option<&'a MbsClient>,
    pub base_module_names: &'a [String],
    /// How long fetching the module defaults (git) may take.
    pub timeout: std::time::Duration,
}

impl<'a> Sources<'a> {
    /// The deployment's sources: its clients and `settings`' base modules and Koji timeout
    /// (which also bounds the module defaults' git commands).
    pub fn new(
        koji: Option<&'a KojiClient>,
        mbs: Option<&'a MbsClient>,
        settings: &'a crate::config::Settings,
    ) -> Self {
        Self {
            koji,
            mbs,
            base_module_names: &settings.composes.base_module_names,
            timeout: std::time::Duration::from_secs(settings.koji.timeout_secs.max(1)),
        }
    }
}

/// Whether compose `c` is made of modules, in whole (`module`) or in part (a hybrid `tag`
/// compose with `modular_koji_tags`).
pub fn wanted(c: &Compose) -> bool {
    match SourceType::from_code(c.source_type) {
        Some(SourceType::Module) => true,
        Some(SourceType::Tag) => !split(&c.modular_koji_tags).is_empty(),
        _ => false,
    }
}

/// The modules of compose `c`: `None` when it has none (a tag compose without modular tags,
/// and every other source type).
pub async fn resolve(c: &Compose, src: &Sources<'_>) -> Result<Option<ModuleSet>, EngineError> {
    let tags = split(&c.modular_koji_tags);
    match SourceType::from_code(c.source_type) {
        Some(SourceType::Module) => {
            if !c.packages.as_deref().unwrap_or_default().trim().is_empty() {
                return fail("Exact packages cannot be set for MODULE source type.");
            }
            if c.scratch_modules
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
            {
                // MBS scratch builds live outside Koji's tags.
                return fail(
                    "Scratch modules (source.scratch_modules) are not supported by composed: \
                     MBS scratch builds are not imported into Koji tags composed can read.",
                );
            }
            let mut set = if tags.is_empty() {
                let mbs = src.mbs.ok_or_else(|| {
                    EngineError("No MBS is configured (mbs.url) for module composes.".into())
                })?;
                from_mbs(c, mbs, src.base_module_names).await?
            } else {
                let koji = koji_of(src)?;
                from_koji(c, koji, &tags, src.base_module_names).await?
            };
            set.defaults = defaults(c, &set, src.timeout).await?;
            Ok(Some(set))
        }
        Some(SourceType::Tag) if !tags.is_empty() => {
            let koji = koji_of(src)?;
            let mut set = all_of_tags(koji, &tags, c.koji_event).await?;
            set.defaults = defaults(c, &set, src.timeout).await?;
            Ok(Some(set))
        }
        _ => Ok(None),
    }
}

/// The module defaults of `module_defaults_url` (`"<git url> <commit>"`): the repository
/// cloned and checked out at the commit (a branch, tag or hash) with `git`, every
/// `modulemd-defaults` document of its top-level `*.yaml` files about a module of `set`
/// (Pungi's `module_defaults_dir` with `dir: "."`).
async fn defaults(
    c: &Compose,
    set: &ModuleSet,
    timeout: std::time::Duration,
) -> Result<Vec<Document>, EngineError> {
    let Some(spec) = c
        .module_defaults_url
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    else {
        return Ok(vec![]);
    };
    let mut parts = spec.split_whitespace();
    let (Some(url), Some(commit)) = (parts.next(), parts.next()) else {
        return fail(format!(
            "module_defaults_url {spec:?} must be \"<git url> <commit>\"."
        ));
    };
    // Never an option of git's (`--upload-pack=…` would run a command).
    if url.starts_with('-') || commit.starts_with('-') {
        return fail(format!(
            "module_defaults_url {url:?} and module_defaults_commit {commit:?} must not start with \"-\"."
        ));
    }
    let dir = std::env::temp_dir().join(format!(
        "composed-module-defaults-{}-{}",
        c.id,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let git = |args: Vec<&std::ffi::OsStr>| {
        let mut cmd = tokio::process::Command::new("git");
        cmd.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            // Only transports that fetch: no `ext::` commands, whatever git's defaults.
            .env("GIT_ALLOW_PROTOCOL", "file:git:http:https:ssh")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        async move {
            let out = tokio::time::timeout(timeout, cmd.output())
                .await
                .map_err(|_| format!("timed out after {} s", timeout.as_secs()))?
                .map_err(|e| format!("cannot run git: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
        }
    };
    let result = async {
        git(vec![
            "clone".as_ref(),
            "--quiet".as_ref(),
            "--no-checkout".as_ref(),
            url.as_ref(),
            dir.as_os_str(),
        ])
        .await
        .map_err(|e| format!("git clone {url}: {e}"))?;
        git(vec![
            "-C".as_ref(),
            dir.as_os_str(),
            "checkout".as_ref(),
            "--quiet".as_ref(),
            commit.as_ref(),
        ])
        .await
        .map_err(|e| format!("git checkout {commit} of {url}: {e}"))?;
        let names: BTreeSet<String> = set.modules.iter().map(|m| m.name.clone()).collect();
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        let mut out = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let docs = modulemd::parse(&text).map_err(|e| {
                format!(
                    "{}: {e}",
                    f.file_name().unwrap_or_default().to_string_lossy()
                )
            })?;
            out.extend(
                docs.into_iter()
                    .filter(|d| d.kind() == "modulemd-defaults")
                    .filter(|d| names.contains(&d.defaults_module())),
            );
        }
        Ok::<_, String>(out)
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map_err(|e| EngineError(format!("Module defaults from {url} at {commit}: {e}")))
}

fn koji_of<'a>(src: &Sources<'a>) -> Result<&'a KojiClient, EngineError> {
    src.koji
        .ok_or_else(|| EngineError("No Koji hub is configured (koji.hub_url).".into()))
}

fn module_from_mbs(b: &ModuleBuild, devel: bool) -> Result<Module, EngineError> {
    let text = b
        .modulemd
        .as_deref()
        .ok_or_else(|| EngineError(format!("MBS gave no modulemd for module {}.", b.nsvc())))?;
    let mut mmd = modulemd::parse_stream(text)
        .map_err(|e| EngineError(format!("Module {}: {e}", b.nsvc())))?;
    let koji_tag = b
        .koji_tag
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| EngineError(format!("MBS gave no koji_tag for module {}.", b.nsvc())))?;
    let mut devel_of = None;
    let mut name = b.name.clone();
    if devel {
        // What the `-devel` module is made of: its module's build, renamed, requiring the
        // module, with the RPMs the module leaves out.
        devel_of = Some(mmd.artifacts().into_iter().collect());
        mmd.add_runtime_require(&b.name, &b.stream);
        name = format!("{}-devel", b.name);
        mmd.set_name(&name);
        mmd.set_artifacts(&[]);
    }
    Ok(Module {
        name,
        stream: b.stream.clone(),
        version: b.version.clone(),
        context: b.context.clone(),
        koji_tag,
        mmd,
        devel_of,
    })
}

/// `str()` of a Python float, as ODCS sends a stream version (`400000.0`).
fn py_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// The lower stream-version bound of a dependency of a module built against `base`: the major
/// number of the base module's stream padded with zeros to the stream version's digits
/// (`el8.3.0.z`, 80300 → 80000; `f40`, 400000 → 400000).
fn min_bound(base: &mbs::BaseModule) -> Option<String> {
    let sv = base.stream_version?;
    let digits: String = base
        .stream
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return None;
    }
    let width = format!("{}", sv.trunc() as i64).len();
    let bound = format!("{digits}{}", "0".repeat(width.saturating_sub(digits.len())));
    (!bound.trim_start_matches('0').is_empty()).then_some(bound)
}

/// ODCS's `get_latest_modules`: the builds of `nsvc` (every context of the newest version),
/// with the `-devel` fallback. `Ok(vec![])` never: nothing found is the compose's failure.
async fn latest(
    mbs: &MbsClient,
    nsvc: &str,
    include_done: bool,
    base: &mbs::Query,
) -> Result<Vec<(ModuleBuild, bool)>, EngineError> {
    let mut q = base.clone();
    q.nsvc = nsvc.to_string();
    q.states = if include_done {
        vec![mbs::STATE_DONE, mbs::STATE_READY]
    } else {
        vec![mbs::STATE_READY]
    };
    let err = |e: mbs::MbsError| EngineError(e.to_string());
    let mut items = mbs.module_builds(&q).await.map_err(err)?;
    let mut devel = false;
    let name = nsvc.split(':').next().unwrap_or_default();
    if items.is_empty()
        && let Some(plain) = name.strip_suffix("-devel")
    {
        q.nsvc = format!("{plain}{}", &nsvc[name.len()..]);
        items = mbs.module_builds(&q).await.map_err(err)?;
        devel = true;
    }
    if items.is_empty() {
        return fail(format!(
            "Failed to find module {nsvc} in {} state in the MBS.",
            if include_done {
                "ready or done"
            } else {
                "ready"
            }
        ));
    }
    let newest = items[0].version.clone();
    Ok(items
        .into_iter()
        .take_while(|b| b.version == newest)
        .map(|b| (b, devel))
        .collect())
}

/// The MBS resolution (ODCS's `get_latest_modules` + `validate_module_list`).
async fn from_mbs(
    c: &Compose,
    mbs: &MbsClient,
    base_names: &[String],
) -> Result<ModuleSet, EngineError> {
    let include_done = has_flag(c, Flag::IncludeDoneModules);
    let filters = mbs::Query {
        base_module_br_name: c.base_module_br_name.clone(),
        base_module_br_stream: c.base_module_br_stream.clone(),
        base_module_br_stream_version_lte: c
            .base_module_br_stream_version_lte
            .map(|v| v.to_string()),
        base_module_br_stream_version_gte: c
            .base_module_br_stream_version_gte
            .map(|v| v.to_string()),
        ..Default::default()
    };
    let mut found = Vec::new();
    for nsvc in c.source.split_whitespace() {
        let full = nsvc.matches(':').count() == 3;
        found.extend(latest(mbs, nsvc, include_done || full, &filters).await?);
    }
    // Duplicates merged; the same N:S at two versions is a conflict.
    let mut by_ns: BTreeMap<String, Vec<(ModuleBuild, bool)>> = BTreeMap::new();
    let mut list: Vec<(ModuleBuild, bool)> = Vec::new();
    for (b, devel) in found {
        let key = format!("{}:{}", display_name(&b, devel), b.stream);
        let known = by_ns.entry(key).or_default();
        if let Some((first, fdevel)) = known.first() {
            if first.version != b.version {
                return fail(format!(
                    "{}:{}:{}:{} conflicts with {}:{}:{}:{}",
                    display_name(&b, devel),
                    b.stream,
                    b.version,
                    b.context,
                    display_name(first, *fdevel),
                    first.stream,
                    first.version,
                    first.context
                ));
            }
            if known.iter().any(|(k, _)| k.context == b.context) {
                continue;
            }
        }
        known.push((b.clone(), devel));
        list.push((b, devel));
    }
    if !has_flag(c, Flag::NoDeps) {
        let mut added: Vec<(ModuleBuild, bool)> = list.clone();
        while !added.is_empty() {
            let mut next = Vec::new();
            for (b, _) in &added {
                let mmd = match b.modulemd.as_deref().map(modulemd::parse_stream) {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return fail(format!("Module {}: {e}", b.nsvc())),
                    None => continue,
                };
                let (lte, gte) = match b.base_module_buildrequires.last() {
                    Some(base) => (base.stream_version.map(py_float), min_bound(base)),
                    None => (None, None),
                };
                for (name, streams) in mmd.runtime_requires() {
                    if base_names.contains(&name) {
                        continue;
                    }
                    for stream in streams {
                        let key = format!("{name}:{stream}");
                        if by_ns.contains_key(&key) {
                            continue;
                        }
                        let q = mbs::Query {
                            base_module_br_stream_version_lte: lte.clone(),
                            base_module_br_stream_version_gte: gte.clone(),
                            ..Default::default()
                        };
                        let deps = latest(mbs, &key, false, &q).await?;
                        by_ns.insert(key, deps.clone());
                        next.extend(deps);
                    }
                }
            }
            list.extend(next.iter().cloned());
            added = next;
        }
    }
    let mut modules = Vec::new();
    for (b, devel) in &list {
        if base_names.contains(&b.name) {
            continue;
        }
        modules.push(module_from_mbs(b, *devel)?);
    }
    modules.sort_by_key(Module::nsvc);
    modules.dedup_by_key(|m| m.nsvc());
    Ok(ModuleSet {
        modules,
        event: None,
        defaults: vec![],
    })
}

fn display_name(b: &ModuleBuild, devel: bool) -> String {
    if devel {
        format!("{}-devel", b.name)
    } else {
        b.name.clone()
    }
}

/// A module build of Koji (btype `module`) read from its `extra.typeinfo.module`.
async fn koji_module(koji: &KojiClient, build_id: i64) -> Result<Module, EngineError> {
    let Some(b) = koji
        .get_build(crate::koji::xmlrpc::Value::Int(build_id))
        .await?
    else {
        return fail(format!("Unknown Koji build {build_id}."));
    };
    let info = b.extra.get("typeinfo").get("module");
    let text = info.get("modulemd_str").as_str().ok_or_else(|| {
        EngineError(format!(
            "Koji build {} is not a module build (no extra.typeinfo.module.modulemd_str).",
            b.nvr
        ))
    })?;
    let mmd = modulemd::parse_stream(text)
        .map_err(|e| EngineError(format!("Module build {}: {e}", b.nvr)))?;
    let koji_tag = info
        .get("content_koji_tag")
        .as_str()
        .map(str::to_string)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            EngineError(format!(
                "Koji build {} has no extra.typeinfo.module.content_koji_tag.",
                b.nvr
            ))
        })?;
    Ok(Module {
        name: mmd.name(),
        stream: mmd.stream(),
        version: mmd.version(),
        context: mmd.context(),
        koji_tag,
        mmd,
        devel_of: None,
    })
}

/// The newest module builds of the tags (every `N:S`, or only `package`'s) at `event`: per tag
/// the builds the top-most tag of its inheritance holds, a stream taken from the first tag
/// that has it, then per `N:S` every context of the newest version.
async fn latest_in_tags(
    koji: &KojiClient,
    tags: &[String],
    event: i64,
    package: Option<&str>,
) -> Result<Vec<Module>, EngineError> {
    let mut builds: Vec<crate::koji::Build> = Vec::new();
    let mut streams_seen: BTreeSet<(String, String)> = BTreeSet::new();
    for tag in tags {
        let q = TagQuery {
            event: Some(event),
            inherit: true,
            package: package.map(str::to_string),
            btype: Some("module".into()),
            ..Default::default()
        };
        let listed = koji.list_tagged(tag, &q).await?;
        let mut order = vec![tag.clone()];
        order.extend(
            koji.get_full_inheritance(tag, Some(event))
                .await?
                .into_iter()
                .map(|l| l.name),
        );
        // Per N:S (Koji's name and version), only the builds of the top-most tag.
        let mut groups: BTreeMap<(String, String), Vec<crate::koji::Build>> = BTreeMap::new();
        for b in listed {
            groups
                .entry((b.name.clone(), b.version.clone()))
                .or_default()
                .push(b);
        }
        let mut here = BTreeSet::new();
        for (ns, group) in groups {
            let top = order
                .iter()
                .find(|t| {
                    group
                        .iter()
                        .any(|b| b.tag_name.as_deref() == Some(t.as_str()))
                })
                .cloned();
            here.insert(ns.clone());
            if streams_seen.contains(&ns) {
                continue;
            }
            builds.extend(
                group
                    .into_iter()
                    .filter(|b| top.is_none() || b.tag_name == top),
            );
        }
        streams_seen.extend(here);
    }
    // Newest version per N:S, all its contexts. Release = `<version>.<context>`.
    let vkey = |b: &crate::koji::Build| -> u64 {
        b.release
            .split('.')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let mut newest: BTreeMap<(String, String), u64> = BTreeMap::new();
    for b in &builds {
        let e = newest
            .entry((b.name.clone(), b.version.clone()))
            .or_insert(0);
        *e = (*e).max(vkey(b));
    }
    let mut ids: Vec<i64> = builds
        .iter()
        .filter(|b| newest.get(&(b.name.clone(), b.version.clone())) == Some(&vkey(b)))
        .map(|b| b.id)
        .collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        out.push(koji_module(koji, id).await?);
    }
    Ok(out)
}

/// Koji-only resolution of a module compose (ODCS's `depsolve_modules`).
async fn from_koji(
    c: &Compose,
    koji: &KojiClient,
    tags: &[String],
    base_names: &[String],
) -> Result<ModuleSet, EngineError> {
    let event = match c.koji_event {
        Some(e) => e,
        None => koji.get_last_event().await?.id,
    };
    // name → the module builds known of that name: those `N:S:V[:C]` items found by search,
    // the others from the tags when the loop below first needs the name.
    let mut known: BTreeMap<String, Vec<Module>> = BTreeMap::new();
    let mut unresolved: BTreeSet<String> = BTreeSet::new();
    for item in c.source.split_whitespace() {
        let parts: Vec<&str> = item.split(':').collect();
        let name = parts[0].to_string();
        unresolved.insert(format!("{}:{}", parts[0], parts.get(1).unwrap_or(&"")));
        if parts.len() > 2 {
            let glob = format!(
                "{}-{}-{}.{}",
                parts[0],
                parts[1].replace('-', "_"),
                parts[2],
                parts.get(3).unwrap_or(&"*")
            );
            let mut found = Vec::new();
            for hit in koji.search(&glob, "build", "glob").await? {
                found.push(koji_module(koji, hit).await?);
            }
            known.entry(name).or_default().extend(found);
        }
    }
    let mut resolved: BTreeSet<String> = BTreeSet::new();
    let mut result: BTreeMap<String, Module> = BTreeMap::new();
    while let Some(ns) = unresolved.pop_first() {
        resolved.insert(ns.clone());
        let name = ns.split(':').next().unwrap_or_default().to_string();
        if !known.contains_key(&name) {
            let found = latest_in_tags(koji, tags, event, Some(&name)).await?;
            known.insert(name.clone(), found);
        }
        let matching: Vec<Module> = known[&name]
            .iter()
            .filter(|m| m.nsvc().starts_with(&format!("{ns}:")))
            .cloned()
            .collect();
        if matching.is_empty() {
            return fail(format!(
                "Failed to find module {ns} in the modular Koji tags {}.",
                tags.join(", ")
            ));
        }
        for m in matching {
            for (dep, streams) in m.mmd.runtime_requires() {
                if base_names.contains(&dep) || has_flag(c, Flag::NoDeps) {
                    continue;
                }
                for s in streams {
                    let key = format!("{dep}:{s}");
                    if !resolved.contains(&key) {
                        unresolved.insert(key);
                    }
                }
            }
            result.insert(m.nsvc(), m);
        }
    }
    Ok(ModuleSet {
        modules: result
            .into_values()
            .filter(|m| !base_names.contains(&m.name))
            .collect(),
        event: Some(event),
        defaults: vec![],
    })
}

/// A hybrid compose's modules: every module of the modular tags, newest per `N:S`.
async fn all_of_tags(
    koji: &KojiClient,
    tags: &[String],
    event: Option<i64>,
) -> Result<ModuleSet, EngineError> {
    let event = match event {
        Some(e) => e,
        None => koji.get_last_event().await?.id,
    };
    let mut modules = latest_in_tags(koji, tags, event, None).await?;
    modules.sort_by_key(Module::nsvc);
    Ok(ModuleSet {
        modules,
        event: Some(event),
        defaults: vec![],
    })
}

/// One module stream of one arch's tree, with the artifacts that tree holds.
pub struct ArchStream {
    pub module: usize,
    pub doc: Document,
    /// The NEVRAs of the stream in this tree (binary, noarch and source RPMs).
    pub rpms: Vec<String>,
}

/// Per arch, the module streams of `set` as that arch's `modules.yaml` lists them: `arch`
/// set, artifacts limited to the RPMs in the compose for that arch (`nevras_of(module, arch)`).
pub fn streams_by_arch(
    set: &ModuleSet,
    arches: &[String],
    nevras_of: impl Fn(usize, &str) -> Vec<String>,
) -> BTreeMap<String, Vec<ArchStream>> {
    let mut out = BTreeMap::new();
    for arch in arches {
        let mut streams = Vec::new();
        for (i, m) in set.modules.iter().enumerate() {
            let mut rpms = nevras_of(i, arch);
            rpms.sort();
            rpms.dedup();
            let mut doc = m.mmd.clone();
            doc.set_arch(arch);
            doc.set_artifacts(&rpms);
            streams.push(ArchStream {
                module: i,
                doc,
                rpms,
            });
        }
        out.insert(arch.clone(), streams);
    }
    out
}

/// The `modules.yaml` text of one arch's streams.
pub fn modules_yaml(streams: &[ArchStream], defaults: &[Document]) -> Result<String, EngineError> {
    let mut docs: Vec<Document> = streams.iter().map(|s| s.doc.clone()).collect();
    docs.extend(defaults.iter().cloned());
    modulemd::dump(&docs).map_err(|e| EngineError(format!("modules.yaml: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_version_bounds_as_odcs_computes_them() {
        let b = |stream: &str, sv: f64| mbs::BaseModule {
            name: "platform".into(),
            stream: stream.into(),
            stream_version: Some(sv),
        };
        assert_eq!(
            min_bound(&b("el8.3.0.z", 80300.0)).as_deref(),
            Some("80000")
        );
        assert_eq!(min_bound(&b("f40", 400000.0)).as_deref(), Some("400000"));
        assert_eq!(min_bound(&b("eln", 0.0)), None);
        assert_eq!(py_float(400000.0), "400000.0");
        assert_eq!(py_float(80300.5), "80300.5");
    }
}
