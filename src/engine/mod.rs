//! The native compose engine: package set (Koji tag at an event, exact Koji builds, or a local
//! directory of RPMs) → selection (requested packages and their dependency closure) →
//! hardlinks in Pungi's layout → repodata, productmd metadata, the `.repo` file and the Pungi
//! configuration that would reproduce the compose. Everything is built in a temporary
//! directory renamed into place, so `odcs-N` exists whole or not at all.
//! The engine knows nothing of HTTP; the worker calls [`generate`].

pub mod depsolve;
pub mod headers;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rpmrepo_metadata::{
    ChecksumType, CompressionType, Package, RepositoryOptions, RepositoryWriter,
};
use serde_json::{Value, json};

use crate::config::Settings;
use crate::db::models::Compose;
use crate::domain::{Flag, SourceType};
use crate::koji::{KojiClient, TagQuery, paths};

/// A compose failure; the text becomes the compose's `state_reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

impl From<crate::koji::KojiError> for EngineError {
    fn from(e: crate::koji::KojiError) -> Self {
        EngineError(format!("Koji connection has failed: {e}"))
    }
}

fn fail<T>(m: impl Into<String>) -> Result<T, EngineError> {
    Err(EngineError(m.into()))
}

/// What generation resolved, stored back on the compose.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub koji_event: Option<i64>,
    pub pungi_compose_id: String,
    pub rpms: usize,
}

/// One RPM file that may go into the compose.
#[derive(Debug, Clone)]
struct Candidate {
    /// The file to link and whose header is read: the signed copy when a sigkey matched,
    /// otherwise the unsigned one.
    path: PathBuf,
    sigkey: Option<String>,
    missing_signature: Option<String>,
    /// Groups a build's binaries with its debuginfo and source RPMs.
    build_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Binary,
    Debug,
    Source,
}

fn category(p: &Package) -> Category {
    if p.arch() == "src" || p.arch() == "nosrc" {
        Category::Source
    } else if p.name().ends_with("-debuginfo")
        || p.name().ends_with("-debugsource")
        || p.name().contains("-debuginfo-")
    {
        Category::Debug
    } else {
        Category::Binary
    }
}

fn has_flag(c: &Compose, f: Flag) -> bool {
    c.flags & f.code() != 0
}

fn split(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Sigkeys in preference order; `""` means the unsigned copy. No keys at all = unsigned.
fn sigkeys(c: &Compose) -> Vec<String> {
    if c.sigkeys.is_empty() {
        vec![String::new()]
    } else {
        c.sigkeys.split(' ').map(paths::short_sigkey).collect()
    }
}

/// The directory a compose is generated in.
pub fn target_base(c: &Compose, settings: &Settings) -> PathBuf {
    c.target_dir
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| settings.composes.target_dir.clone())
}

/// `odcs-<N>-1-<YYYYMMDD><type suffix>.0`.
pub fn pungi_compose_id(c: &Compose) -> String {
    let suffix = match c.compose_type.as_deref() {
        Some("production") => "",
        Some("nightly") => ".n",
        Some("ci") => ".ci",
        _ => ".t",
    };
    format!(
        "odcs-{}-1-{}{suffix}.0",
        c.id,
        chrono::Local::now().format("%Y%m%d")
    )
}

async fn koji_pkgset(
    c: &Compose,
    koji: &KojiClient,
    topdir: &Path,
    arches: &[String],
) -> Result<(Vec<Candidate>, Option<i64>), EngineError> {
    let mut query_arches: Vec<String> = arches.to_vec();
    query_arches.extend(["noarch".to_string(), "src".to_string()]);
    query_arches.extend(split(&Some(c.multilib_arches.clone())));
    let keys = sigkeys(c);
    let mut rpm_builds: Vec<(crate::koji::Rpm, Arc<crate::koji::Build>)> = Vec::new();
    let mut event = None;
    if c.source_type == SourceType::Tag.code() {
        let tag = c.source.clone();
        let ev = match c.koji_event {
            Some(e) => e,
            None => koji.get_last_event().await?.id,
        };
        event = Some(ev);
        if koji.get_tag(&tag, Some(ev)).await?.is_none() {
            return fail(format!("Unknown Koji tag {tag}."));
        }
        let q = TagQuery {
            event: Some(ev),
            inherit: !has_flag(c, Flag::NoInheritance),
            latest: true,
            arches: Some(query_arches.clone()),
            ..Default::default()
        };
        let (rpms, builds) = koji.list_tagged_rpms(&tag, &q).await?;
        let by_id: HashMap<i64, Arc<crate::koji::Build>> =
            builds.into_iter().map(|b| (b.id, Arc::new(b))).collect();
        for r in rpms {
            if let Some(b) = by_id.get(&r.build_id) {
                rpm_builds.push((r, b.clone()));
            }
        }
    }
    for nvr in split(&c.builds) {
        let Some(b) = koji.get_build(nvr.as_str().into()).await? else {
            return fail(format!("Unknown Koji build {nvr}."));
        };
        let b = Arc::new(b);
        for r in koji.list_rpms(b.id, Some(query_arches.clone())).await? {
            rpm_builds.push((r, b.clone()));
        }
    }
    // The signed copies are looked up on every core (a `stat` per RPM and key), off the async
    // workers.
    let topdir = topdir.to_path_buf();
    let out = tokio::task::spawn_blocking(move || signed_candidates(&rpm_builds, &topdir, &keys))
        .await
        .map_err(|e| EngineError(format!("signed copy lookup panicked: {e}")))?;
    Ok((out, event))
}

/// The file of each RPM: its copy signed with the first of `keys` that exists (`""` = the
/// unsigned file), or the unsigned file with the reason it is missing.
fn signed_candidates(
    rpm_builds: &[(crate::koji::Rpm, Arc<crate::koji::Build>)],
    topdir: &Path,
    keys: &[String],
) -> Vec<Candidate> {
    let one = |(r, b): &(crate::koji::Rpm, Arc<crate::koji::Build>)| {
        let found = keys.iter().find_map(|k| {
            let p = topdir.join(paths::signed_rpm_path(b, r, k));
            p.is_file().then(|| (p, k.clone()))
        });
        let (path, sigkey, missing) = match found {
            Some((p, k)) => (p, (!k.is_empty()).then_some(k), None),
            None => (
                topdir.join(paths::rpm_path(b, r)),
                None,
                Some(format!(
                    "{} (sigkeys: {})",
                    r.nvra(),
                    keys.iter()
                        .map(|k| if k.is_empty() {
                            "unsigned".to_string()
                        } else {
                            k.clone()
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
        };
        Candidate {
            path,
            sigkey,
            missing_signature: missing,
            build_key: format!("koji:{}", b.id),
        }
    };
    on_every_core(rpm_builds, |part| part.iter().map(one).collect::<Vec<_>>())
        .into_iter()
        .flat_map(|r| r.expect("signed copy lookup panicked"))
        .collect()
}

/// Runs `f` on `items` cut into one chunk per core (at most 8), each on a scoped thread; the
/// chunks' results in order (`Err` for a chunk whose thread panicked).
fn on_every_core<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<std::thread::Result<R>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    })
}

fn repo_pkgset(c: &Compose) -> Result<Vec<Candidate>, EngineError> {
    let root = PathBuf::from(&c.source);
    if !root.is_dir() {
        return fail(format!("Repository directory {} does not exist.", c.source));
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| EngineError(format!("{}: {e}", dir.display())))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "repodata") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rpm") {
                out.push(Candidate {
                    path: p,
                    sigkey: None,
                    missing_signature: None,
                    build_key: String::new(),
                });
            }
        }
    }
    Ok(out)
}

/// Everything needed to generate a compose.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub koji: Option<&'a KojiClient>,
    /// Set when the compose was canceled or its worker lost the job's lease: the engine stops
    /// at the next file and removes its temporary directory.
    pub cancel: Cancel,
}

/// A cancellation flag shared by the worker (which sets it) and the engine (which checks it
/// between files, and never renames a canceled tree into place).
#[derive(Debug, Clone, Default)]
pub struct Cancel(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn check(&self) -> Result<(), EngineError> {
        if self.is_cancelled() {
            return fail("Compose generation was canceled.");
        }
        Ok(())
    }

    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        while !self.is_cancelled() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// Generates compose `c`. Blocking file work runs on the blocking pool.
pub async fn generate(c: &Compose, ctx: &Context<'_>) -> Result<Outcome, EngineError> {
    let t0 = std::time::Instant::now();
    let arches: Vec<String> = c.arches.split_whitespace().map(str::to_string).collect();
    let (mut candidates, event) = match SourceType::from_code(c.source_type) {
        Some(SourceType::Tag) | Some(SourceType::Build) => {
            let koji = ctx
                .koji
                .ok_or_else(|| EngineError("No Koji hub is configured (koji.hub_url).".into()))?;
            // Koji calls are abandoned on cancellation; the file work below stops by itself
            // (it checks the flag) and is awaited, so nothing keeps writing afterwards.
            tokio::select! {
                r = koji_pkgset(c, koji, &ctx.settings.koji.topdir, &arches) => r?,
                _ = ctx.cancel.cancelled() => return fail("Compose generation was canceled."),
            }
        }
        Some(SourceType::Repo) => (repo_pkgset(c)?, c.koji_event),
        Some(other) => {
            return fail(format!(
                "Source type {} is not supported by the native engine.",
                other.name()
            ));
        }
        None => return fail("Unknown source type."),
    };
    tracing::info!(
        compose = c.id,
        candidates = candidates.len(),
        ms = t0.elapsed().as_millis() as u64,
        "engine: package set"
    );
    candidates.sort_by(|a, b| a.path.cmp(&b.path));
    let c2 = c.clone();
    let settings = ctx.settings.clone();
    let compose_id = pungi_compose_id(c);
    let cid = compose_id.clone();
    let cancel = ctx.cancel.clone();
    cancel.check()?;
    let rpms = tokio::task::spawn_blocking(move || {
        build_tree(&c2, &settings, candidates, &arches, event, &cid, &cancel)
    })
    .await
    .map_err(|e| EngineError(format!("Compose generation panicked: {e}")))??;
    Ok(Outcome {
        koji_event: event.or(c.koji_event),
        pungi_compose_id: compose_id,
        rpms,
    })
}

struct Selected {
    pkg: Arc<Package>,
    cand: Candidate,
    cat: Category,
    /// The arches whose tree this package of another arch joins (multilib).
    multilib_for: BTreeSet<String>,
}

/// Multilib method bits (contract: none 0, runtime 1, devel 2, all 4).
const MULTILIB_RUNTIME: i32 = 1;
const MULTILIB_DEVEL: i32 = 2;
const MULTILIB_ALL: i32 = 4;

/// Whether a package of a multilib arch joins the tree under `method` (Pungi's methods,
/// simplified): `all` every package; `devel` development packages (`-devel`, or providing
/// `pkgconfig(…)`); `runtime` packages that ship shared libraries (a soname provide, or a
/// `.so` file in a library directory).
fn multilib_qualifies(p: &Package, method: i32) -> bool {
    if method & MULTILIB_ALL != 0 {
        return true;
    }
    if method & MULTILIB_DEVEL != 0
        && (p.name().ends_with("-devel")
            || p.provides()
                .iter()
                .any(|d| d.name().starts_with("pkgconfig(")))
    {
        return true;
    }
    method & MULTILIB_RUNTIME != 0
        && (p.provides().iter().any(|d| d.name().contains(".so"))
            || p.files().iter().any(|f| {
                let path = f.path();
                ["/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/"]
                    .iter()
                    .any(|d| path.starts_with(d))
                    && path.contains(".so")
            }))
}

fn build_tree(
    c: &Compose,
    settings: &Settings,
    candidates: Vec<Candidate>,
    arches: &[String],
    event: Option<i64>,
    compose_id: &str,
    cancel: &Cancel,
) -> Result<usize, EngineError> {
    let t0 = std::time::Instant::now();
    // Headers, read on every core (a cold read checksums the whole RPM file).
    let parts = on_every_core(
        &candidates,
        |part| -> Result<Vec<Arc<Package>>, EngineError> {
            let mut out = Vec::with_capacity(part.len());
            for (i, cand) in part.iter().enumerate() {
                if i % 256 == 0 {
                    cancel.check()?;
                }
                out.push(headers::read(&cand.path).map_err(EngineError)?);
            }
            Ok(out)
        },
    );
    let mut pkgs: Vec<Arc<Package>> = Vec::with_capacity(candidates.len());
    for part in parts {
        pkgs.extend(part.map_err(|_| EngineError("header reader panicked".into()))??);
    }
    let mut cands = candidates;
    for (p, cand) in pkgs.iter().zip(cands.iter_mut()) {
        if cand.build_key.is_empty() {
            cand.build_key = format!(
                "srpm:{}",
                if p.rpm_sourcerpm().is_empty() || p.rpm_sourcerpm() == "(none)" {
                    p.name().to_string()
                } else {
                    p.rpm_sourcerpm().to_string()
                }
            );
        }
    }
    let requested = split(&c.packages);
    let no_deps = has_flag(c, Flag::NoDeps);
    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    let mut unresolved: Vec<String> = Vec::new();
    let mut missing_requested: BTreeSet<String> = requested.iter().cloned().collect();
    let multilib_arches: Vec<&str> = c
        .multilib_arches
        .split_whitespace()
        .filter(|m| !arches.iter().any(|a| a == m))
        .collect();
    let mut multilib_for: HashMap<usize, BTreeSet<String>> = HashMap::new();
    for arch in arches {
        let idx: Vec<usize> = (0..pkgs.len())
            .filter(|&i| {
                category(&pkgs[i]) == Category::Binary
                    && (pkgs[i].arch() == arch || pkgs[i].arch() == "noarch")
            })
            .collect();
        let sub: Vec<Arc<Package>> = idx.iter().map(|&i| pkgs[i].clone()).collect();
        let index = depsolve::ProvideIndex::new(&sub);
        let roots: Vec<usize> = if requested.is_empty() {
            (0..sub.len()).collect()
        } else {
            let mut r = Vec::new();
            for name in &requested {
                let best = (0..sub.len())
                    .filter(|&i| sub[i].name() == name)
                    .max_by(|&a, &b| {
                        sub[a]
                            .as_evr()
                            .cmp(sub[b].as_evr())
                            .then((sub[a].arch() == arch).cmp(&(sub[b].arch() == arch)))
                    });
                if let Some(b) = best {
                    r.push(b);
                    missing_requested.remove(name);
                }
            }
            r
        };
        let (sel, unres) = if no_deps {
            (roots.iter().copied().collect(), vec![])
        } else {
            depsolve::closure(&sub, &index, &roots, arch)
        };
        unresolved.extend(unres);
        let names: BTreeSet<&str> = sel
            .iter()
            .filter(|&&i| sub[i].arch() == arch)
            .map(|&i| sub[i].name())
            .collect();
        chosen.extend(sel.iter().map(|&i| idx[i]));
        // Multilib: the packages of `names` built for each multilib arch that the method
        // admits, with their closure in that arch, join this arch's tree.
        for m in multilib_arches.iter().filter(|_| c.multilib_method != 0) {
            let midx: Vec<usize> = (0..pkgs.len())
                .filter(|&i| {
                    category(&pkgs[i]) == Category::Binary
                        && (pkgs[i].arch() == *m || pkgs[i].arch() == "noarch")
                })
                .collect();
            let msub: Vec<Arc<Package>> = midx.iter().map(|&i| pkgs[i].clone()).collect();
            let mut roots = Vec::new();
            for name in &names {
                let best = (0..msub.len())
                    .filter(|&j| msub[j].arch() == *m && msub[j].name() == *name)
                    .max_by(|&a, &b| msub[a].as_evr().cmp(msub[b].as_evr()));
                if let Some(j) = best
                    && multilib_qualifies(&msub[j], c.multilib_method)
                {
                    roots.push(j);
                }
            }
            if roots.is_empty() {
                continue;
            }
            let (msel, unres) = if no_deps {
                (roots.iter().copied().collect(), vec![])
            } else {
                let mindex = depsolve::ProvideIndex::new(&msub);
                depsolve::closure(&msub, &mindex, &roots, m)
            };
            unresolved.extend(unres);
            for j in msel {
                let i = midx[j];
                chosen.insert(i);
                if pkgs[i].arch() == *m {
                    multilib_for.entry(i).or_default().insert(arch.clone());
                }
            }
        }
    }
    if !missing_requested.is_empty() {
        return fail(format!(
            "The following requested packages are not present in the generated compose: {}.",
            missing_requested.into_iter().collect::<Vec<_>>().join(" ")
        ));
    }
    unresolved.sort();
    unresolved.dedup();
    if has_flag(c, Flag::CheckDeps) && !unresolved.is_empty() {
        return fail(format!(
            "Unresolved dependencies: nothing provides {}",
            unresolved.join("; nothing provides ")
        ));
    }
    // Debuginfo and sources of the gathered builds.
    let builds: BTreeSet<String> = chosen.iter().map(|&i| cands[i].build_key.clone()).collect();
    for (i, p) in pkgs.iter().enumerate() {
        let cat = category(p);
        let same_build = builds.contains(&cands[i].build_key);
        let arch_ok =
            cat == Category::Source || arches.iter().any(|a| a == p.arch()) || p.arch() == "noarch";
        if same_build
            && arch_ok
            && ((cat == Category::Debug && !no_deps) || cat == Category::Source)
        {
            chosen.insert(i);
        }
    }
    let missing_sigs: Vec<String> = chosen
        .iter()
        .filter_map(|&i| cands[i].missing_signature.clone())
        .collect();
    if !missing_sigs.is_empty() {
        return fail(format!(
            "RPM(s) not found for the requested sigkeys: {}",
            missing_sigs.join(", ")
        ));
    }
    tracing::info!(
        compose = c.id,
        ms = t0.elapsed().as_millis() as u64,
        "engine: headers and selection"
    );
    let selected: Vec<Selected> = chosen
        .iter()
        .map(|&i| Selected {
            pkg: pkgs[i].clone(),
            cand: cands[i].clone(),
            cat: category(&pkgs[i]),
            multilib_for: multilib_for.remove(&i).unwrap_or_default(),
        })
        .collect();
    let t1 = std::time::Instant::now();
    write_tree(c, settings, &selected, arches, event, compose_id, cancel)?;
    tracing::info!(
        compose = c.id,
        rpms = selected.len(),
        ms = t1.elapsed().as_millis() as u64,
        "engine: tree written"
    );
    Ok(selected.len())
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), EngineError> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(18) => std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| EngineError(format!("cannot copy {}: {e}", from.display()))),
        Err(e) => Err(EngineError(format!(
            "cannot link {} to {}: {e}",
            from.display(),
            to.display()
        ))),
    }
}

fn package_href(p: &Package) -> String {
    let file = format!("{}.rpm", p.nvra());
    let letter = file.chars().next().unwrap_or('_').to_ascii_lowercase();
    format!("Packages/{letter}/{file}")
}

fn write_repo(
    dir: &Path,
    pkgs: &[&Selected],
    compression: CompressionType,
    cancel: &Cancel,
) -> Result<(), EngineError> {
    let err = |e: &dyn std::fmt::Display| EngineError(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir.join("Packages")).map_err(|e| err(&e))?;
    let opts = RepositoryOptions::default()
        .compression_type(compression)
        .checksum_type(ChecksumType::Sha256);
    let mut w = RepositoryWriter::new_with_options(dir, pkgs.len(), opts).map_err(|e| err(&e))?;
    let mut sorted: Vec<&&Selected> = pkgs.iter().collect();
    sorted.sort_by_key(|s| s.pkg.nvra());
    // Links in one thread while the metadata is written in this one.
    let linked = std::thread::scope(|scope| {
        let linker = scope.spawn(|| -> Result<(), EngineError> {
            let mut made: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
            for (i, s) in sorted.iter().enumerate() {
                if i % 256 == 0 {
                    cancel.check()?;
                }
                let dest = dir.join(s.pkg.location_href());
                let parent = dest.parent().expect("parent").to_path_buf();
                if !made.contains(&parent) {
                    std::fs::create_dir_all(&parent).map_err(|e| err(&e))?;
                    made.insert(parent);
                }
                if !dest.exists() {
                    link_or_copy(&s.cand.path, &dest)?;
                }
            }
            Ok(())
        });
        // Metadata in batches (primary, filelists and other on their own threads), checking
        // for cancellation between batches.
        let pkgs: Vec<&Package> = sorted.iter().map(|s| &*s.pkg).collect();
        let mut written = Ok(());
        for batch in pkgs.chunks(1024) {
            if let Err(e) = cancel.check() {
                written = Err(e);
                break;
            }
            if let Err(e) = w.add_packages(batch) {
                written = Err(err(&e));
                break;
            }
        }
        let links = linker
            .join()
            .unwrap_or_else(|_| Err(EngineError("linking thread panicked".into())));
        written.and(links)
    });
    linked?;
    w.finish().map_err(|e| err(&e))?;
    Ok(())
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

fn pretty(v: &Value) -> String {
    // productmd: 4-space indent, sorted keys (serde_json maps here are sorted), no final newline.
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&sort_keys(v), &mut ser).expect("json");
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

fn render(name: &str, source: &str, ctx: &Value) -> Result<String, EngineError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template(name, source)
        .map_err(|e| EngineError(format!("template {name}: {e}")))?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(ctx)))
        .map_err(|e| EngineError(format!("template {name}: {e}")))
}

/// The Pungi configuration reproducing compose `c`: (pungi.json, variants.xml, comps.xml).
pub fn pungi_config(
    c: &Compose,
    settings: &Settings,
) -> Result<(String, String, String), EngineError> {
    let name = format!("odcs-{}", c.id);
    let arches: Vec<String> = c.arches.split_whitespace().map(str::to_string).collect();
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
    let ctx = json!({
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
    });
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

fn write_tree(
    c: &Compose,
    settings: &Settings,
    selected: &[Selected],
    arches: &[String],
    event: Option<i64>,
    compose_id: &str,
    cancel: &Cancel,
) -> Result<(), EngineError> {
    let base = target_base(c, settings);
    if !base.is_dir() {
        return fail(format!(
            "Compose target dir doesn't exist or not a directory: {}",
            base.display()
        ));
    }
    let name = format!("odcs-{}", c.id);
    let tmp = base.join(format!(".{name}.tmp-{}", process_tag()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = write_tree_into(
        c, settings, selected, arches, event, compose_id, cancel, &base, &name, &tmp,
    );
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written
}

/// `<hostname>-<pid>`: names this process's temporary directories on a shared mount.
pub fn process_tag() -> String {
    format!("{}-{}", crate::worker::hostname(), std::process::id())
}

#[allow(clippy::too_many_arguments)]
fn write_tree_into(
    c: &Compose,
    settings: &Settings,
    selected: &[Selected],
    arches: &[String],
    event: Option<i64>,
    compose_id: &str,
    cancel: &Cancel,
    base: &Path,
    name: &str,
    tmp: &Path,
) -> Result<(), EngineError> {
    let final_dir = base.join(name);
    let io = |e: std::io::Error| EngineError(format!("{}: {e}", tmp.display()));
    rpmrepo_metadata::utils::set_compression_level(settings.engine.repodata_compression_level);
    let compression = if settings.engine.repodata_compression == "zstd" {
        CompressionType::Zstd
    } else {
        CompressionType::Gzip
    };
    let variant = tmp.join("compose/Temporary");
    let mut rpms_json: BTreeMap<String, BTreeMap<String, BTreeMap<String, Value>>> =
        BTreeMap::new();
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
    let mut record = |arch: &str, s: &Selected, rel: String, category: &str| {
        rpms_json
            .entry(arch.to_string())
            .or_default()
            .entry(srpm_of(s))
            .or_default()
            .insert(
                nevra_full(&s.pkg),
                json!({"category": category, "path": rel, "sigkey": s.cand.sigkey}),
            );
    };
    let sources: Vec<&Selected> = selected
        .iter()
        .filter(|s| s.cat == Category::Source)
        .collect();
    let src_dir = variant.join("source/tree");
    write_repo(&src_dir, &sources, compression, cancel)?;
    for arch in arches {
        let os: Vec<&Selected> = selected
            .iter()
            .filter(|s| {
                s.cat == Category::Binary
                    && (s.pkg.arch() == arch
                        || s.pkg.arch() == "noarch"
                        || s.multilib_for.contains(arch))
            })
            .collect();
        let debug: Vec<&Selected> = selected
            .iter()
            .filter(|s| {
                s.cat == Category::Debug && (s.pkg.arch() == arch || s.pkg.arch() == "noarch")
            })
            .collect();
        let os_dir = variant.join(arch).join("os");
        write_repo(&os_dir, &os, compression, cancel)?;
        write_repo(
            &variant.join(arch).join("debug/tree"),
            &debug,
            compression,
            cancel,
        )?;
        for s in &os {
            record(
                arch,
                s,
                format!("Temporary/{arch}/os/{}", s.pkg.location_href()),
                "binary",
            );
        }
        for s in &debug {
            record(
                arch,
                s,
                format!("Temporary/{arch}/debug/tree/{}", s.pkg.location_href()),
                "debug",
            );
        }
        let build_keys: BTreeSet<&str> = os
            .iter()
            .chain(debug.iter())
            .map(|s| s.cand.build_key.as_str())
            .collect();
        for s in sources
            .iter()
            .filter(|s| build_keys.contains(s.cand.build_key.as_str()))
        {
            record(
                arch,
                s,
                format!("Temporary/source/tree/{}", s.pkg.location_href()),
                "source",
            );
        }
    }
    // Metadata.
    let date = compose_id
        .split('-')
        .nth(3)
        .map(|d| d.chars().take(8).collect::<String>())
        .unwrap_or_default();
    let compose_type = c.compose_type.clone().unwrap_or_else(|| "test".into());
    let compose_obj = json!({"date": date, "id": compose_id, "respin": 0, "type": compose_type});
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
    let composeinfo = json!({
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
    });
    let rpms_payload = if rpms_json.is_empty() {
        json!({})
    } else {
        json!({"Temporary": rpms_json})
    };
    let rpms = json!({"header": {"type": "productmd.rpms", "version": "1.2"}, "payload": {"compose": compose_obj, "rpms": rpms_payload}});
    let meta = tmp.join("compose/metadata");
    std::fs::create_dir_all(&meta).map_err(io)?;
    std::fs::write(meta.join("composeinfo.json"), pretty(&composeinfo)).map_err(io)?;
    std::fs::write(meta.join("rpms.json"), pretty(&rpms)).map_err(io)?;
    std::fs::write(tmp.join("COMPOSE_ID"), compose_id).map_err(io)?;
    std::fs::write(tmp.join("STATUS"), "FINISHED\n").map_err(io)?;
    // The .repo file (URLs as the API shows them).
    let view = crate::views::ComposeView::new(c, &settings.composes, false);
    std::fs::write(
        variant.join(format!("{name}.repo")),
        repo_file(name, &view.result_repo),
    )
    .map_err(io)?;
    // The Pungi configuration that would reproduce this compose.
    let (pungi, variants, comps) = pungi_config(c, settings)?;
    let cfg = tmp.join("work/global/pungi-config");
    std::fs::create_dir_all(&cfg).map_err(io)?;
    std::fs::write(cfg.join("pungi.json"), pungi).map_err(io)?;
    std::fs::write(cfg.join("variants.xml"), variants).map_err(io)?;
    std::fs::write(cfg.join("comps.xml"), comps).map_err(io)?;
    if let Some(e) = event {
        std::fs::write(
            tmp.join("work/global/koji-event"),
            json!({"id": e}).to_string(),
        )
        .map_err(io)?;
    }
    // Into place: whole or not at all, and never for a canceled generation.
    cancel.check()?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)
            .map_err(|e| EngineError(format!("{}: {e}", final_dir.display())))?;
    }
    std::fs::rename(tmp, &final_dir)
        .map_err(|e| EngineError(format!("cannot move {} into place: {e}", tmp.display())))?;
    Ok(())
}

/// Removes temporary directories left by killed generations: of compose `compose_id` (called
/// by the worker that took over its job, so their owners are gone or lost the lease), or, when
/// `None`, those of dead processes of this host (called at worker start). Returns how many.
pub fn clean_leftovers(base: &Path, compose_id: Option<i64>) -> usize {
    let host = crate::worker::hostname();
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some((compose, owner)) = n
            .strip_prefix(".odcs-")
            .and_then(|rest| rest.split_once(".tmp-"))
        else {
            continue;
        };
        let stale = match compose_id {
            Some(id) => compose == id.to_string(),
            None => owner
                .rsplit_once('-')
                .filter(|(h, _)| *h == host)
                .and_then(|(_, pid)| pid.parse::<u32>().ok())
                .is_some_and(|pid| {
                    pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
                }),
        };
        if stale && std::fs::remove_dir_all(e.path()).is_ok() {
            tracing::info!(dir = %e.path().display(), "removed a leftover temporary directory");
            removed += 1;
        }
    }
    removed
}
