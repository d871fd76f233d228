//! Phase 1, the package set: the RPM files a compose may draw from — the packages tagged into
//! a Koji tag at an event (latest, with or without inheritance), exact Koji builds, or a local
//! directory of RPMs — each as the copy signed with the first sigkey that exists; then their
//! headers (through the header cache, on every core).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::base::{Cancel, EngineError, fail, has_flag, on_every_core, split};
use super::headers::{self, Header};
use super::modules::{self, ModuleSet};
use crate::config::Settings;
use crate::db::models::Compose;
use crate::domain::{Flag, SourceType};
use crate::koji::{Build, KojiClient, Rpm, TagQuery, paths};

/// One RPM file that may go into the compose.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The file to link and whose header is read: the signed copy when a sigkey matched,
    /// otherwise the unsigned one.
    pub path: PathBuf,
    pub sigkey: Option<String>,
    pub missing_signature: Option<String>,
    /// Groups a build's binaries with its debuginfo and source RPMs.
    pub build_key: String,
    /// The file's size and mtime when the package set looked at it (the header cache's key,
    /// so that a warm compose does not `stat` every file twice).
    pub stat: Option<headers::FileStat>,
    /// The module (index in the compose's [`ModuleSet`]) this RPM belongs to.
    pub module: Option<usize>,
}

/// What the phase hands on: the candidates sorted by path, and the Koji event they were
/// resolved at (`None` for a local repository without one).
pub struct PackageSet {
    pub candidates: Vec<Candidate>,
    pub event: Option<i64>,
}

impl PackageSet {
    /// One line for the compose's log: what was resolved, at which Koji event, how much.
    pub fn describe(&self, c: &Compose) -> String {
        let what = match SourceType::from_code(c.source_type) {
            Some(SourceType::Tag) => format!("Koji tag {}", c.source),
            Some(SourceType::Build) => "Koji builds".to_string(),
            Some(SourceType::PungiCompose) => format!("the builds of compose {}", c.source),
            Some(SourceType::Repo) => format!("repository {}", c.source),
            Some(SourceType::Module) => format!("modules {}", c.source),
            Some(other) => other.name().to_string(),
            None => "source".to_string(),
        };
        let builds: std::collections::BTreeSet<&str> = self
            .candidates
            .iter()
            .map(|c| c.build_key.as_str())
            .collect();
        let unsigned = self
            .candidates
            .iter()
            .filter(|c| c.missing_signature.is_some())
            .count();
        let from_koji = matches!(
            SourceType::from_code(c.source_type),
            Some(
                SourceType::Tag | SourceType::Build | SourceType::Module | SourceType::PungiCompose
            )
        );
        let mut line = format!(
            "resolved {what}{}: {} RPM files",
            self.event
                .map(|e| format!(" at Koji event {e}"))
                .unwrap_or_default(),
            self.candidates.len(),
        );
        if from_koji {
            line.push_str(&format!(" of {} builds", builds.len()));
        }
        if let Some(b) = c.builds.as_deref().filter(|b| !b.is_empty())
            && SourceType::from_code(c.source_type) == Some(SourceType::Tag)
        {
            line.push_str(&format!(" (with builds {b})"));
        }
        if unsigned > 0 {
            line.push_str(&format!(
                ", {unsigned} without a copy signed by the sigkeys"
            ));
        }
        line
    }
}

/// The package set of compose `c` for `arches`. Koji calls are abandoned when `cancel` is set.
pub async fn resolve(
    c: &Compose,
    koji: Option<&KojiClient>,
    settings: &Settings,
    arches: &[String],
    mods: Option<&ModuleSet>,
    cancel: &Cancel,
) -> Result<PackageSet, EngineError> {
    let topdir = settings.koji.topdir.as_path();
    let (mut candidates, event) = match SourceType::from_code(c.source_type) {
        Some(SourceType::Tag) | Some(SourceType::Build) | Some(SourceType::PungiCompose) => {
            let koji = koji
                .ok_or_else(|| EngineError("No Koji hub is configured (koji.hub_url).".into()))?;
            let (mut cands, event) = tokio::select! {
                r = from_koji(c, koji, topdir, arches) => r?,
                _ = cancel.cancelled() => return fail("Compose generation was canceled."),
            };
            if let Some(m) = mods {
                let ev = event.or(m.event);
                cands.extend(tokio::select! {
                    r = from_modules(c, m, koji, topdir, arches, ev) => r?,
                    _ = cancel.cancelled() => return fail("Compose generation was canceled."),
                });
            }
            (cands, event)
        }
        Some(SourceType::Module) => {
            let koji = koji
                .ok_or_else(|| EngineError("No Koji hub is configured (koji.hub_url).".into()))?;
            let m =
                mods.ok_or_else(|| EngineError("The compose's modules were not resolved.".into()))?;
            let cands = tokio::select! {
                r = from_modules(c, m, koji, topdir, arches, m.event) => r?,
                _ = cancel.cancelled() => return fail("Compose generation was canceled."),
            };
            // Module composes carry no Koji event (contract §3.2), as in ODCS.
            (cands, None)
        }
        Some(SourceType::Repo) => {
            let c2 = c.clone();
            let cancel = cancel.clone();
            let dirs = settings.composes.repo_dirs.clone();
            let found = tokio::task::spawn_blocking(move || from_directory(&c2, &dirs, &cancel))
                .await
                .map_err(|e| EngineError(format!("directory walk panicked: {e}")))?;
            (found?, c.koji_event)
        }
        Some(other) => {
            return fail(format!(
                "Source type {} is not supported by the native engine.",
                other.name()
            ));
        }
        None => return fail("Unknown source type."),
    };
    candidates.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(PackageSet { candidates, event })
}

/// Sigkeys in preference order; `""` means the unsigned copy. No keys at all = unsigned.
fn sigkeys(c: &Compose) -> Vec<String> {
    if c.sigkeys.is_empty() {
        vec![String::new()]
    } else {
        c.sigkeys.split(' ').map(paths::short_sigkey).collect()
    }
}

async fn from_koji(
    c: &Compose,
    koji: &KojiClient,
    topdir: &Path,
    arches: &[String],
) -> Result<(Vec<Candidate>, Option<i64>), EngineError> {
    let mut query_arches: Vec<String> = arches.to_vec();
    query_arches.extend(["noarch".to_string(), "src".to_string()]);
    query_arches.extend(split(&Some(c.multilib_arches.clone())));
    let keys = sigkeys(c);
    let mut tagged = None;
    let mut exact: Vec<(Build, Vec<Rpm>)> = Vec::new();
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
        tagged = Some(koji.list_tagged_rpms(&tag, &q).await?);
    }
    for nvr in split(&c.builds) {
        let Some(b) = koji.get_build(nvr.as_str().into()).await? else {
            return fail(format!("Unknown Koji build {nvr}."));
        };
        let rpms = koji.list_rpms(b.id, Some(query_arches.clone())).await?;
        exact.push((b, rpms));
    }
    // The signed copies are looked up on every core (a `stat` per RPM and key), off the async
    // workers.
    let topdir = topdir.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let mut rpm_builds: Vec<(&Rpm, &Build)> = Vec::new();
        if let Some(t) = &tagged {
            rpm_builds.extend(t.pairs());
        }
        for (b, rpms) in &exact {
            rpm_builds.extend(rpms.iter().map(|r| (r, b)));
        }
        signed_candidates(&rpm_builds, &topdir, &keys)
    })
    .await
    .map_err(|e| EngineError(format!("signed copy lookup panicked: {e}")))?;
    Ok((out, event))
}

/// The RPMs of each module: those of its Koji content tag (at `event`, or the hub's last)
/// that the module holds ([`modules::Module::holds`]), of the compose's arches.
async fn from_modules(
    c: &Compose,
    set: &ModuleSet,
    koji: &KojiClient,
    topdir: &Path,
    arches: &[String],
    event: Option<i64>,
) -> Result<Vec<Candidate>, EngineError> {
    let mut query_arches: Vec<String> = arches.to_vec();
    query_arches.extend(["noarch".to_string(), "src".to_string()]);
    query_arches.extend(split(&Some(c.multilib_arches.clone())));
    let event = match event {
        Some(e) => e,
        None => koji.get_last_event().await?.id,
    };
    let keys = sigkeys(c);
    let mut out = Vec::new();
    for (i, m) in set.modules.iter().enumerate() {
        let q = TagQuery {
            event: Some(event),
            arches: Some(query_arches.clone()),
            ..Default::default()
        };
        let tagged = koji.list_tagged_rpms(&m.koji_tag, &q).await?;
        let (module, topdir, keys) = (m.clone(), topdir.to_path_buf(), keys.clone());
        // The signed-copy lookups (a `stat` per RPM and key) off the async workers.
        let mut found = tokio::task::spawn_blocking(move || {
            let pairs: Vec<(&Rpm, &Build)> = tagged
                .pairs()
                .filter(|(r, _)| {
                    module.holds(
                        &modules::artifact_nevra(&r.name, r.epoch, &r.version, &r.release, &r.arch),
                        &r.name,
                    )
                })
                .collect();
            signed_candidates(&pairs, &topdir, &keys)
        })
        .await
        .map_err(|e| EngineError(format!("signed copy lookup panicked: {e}")))?;
        for cand in &mut found {
            cand.module = Some(i);
        }
        out.extend(found);
    }
    Ok(out)
}

/// The file of each RPM: its copy signed with the first of `keys` that exists (`""` = the
/// unsigned file), or the unsigned file with the reason it is missing.
fn signed_candidates(
    rpm_builds: &[(&Rpm, &Build)],
    topdir: &Path,
    keys: &[String],
) -> Vec<Candidate> {
    let one = |&(r, b): &(&Rpm, &Build)| {
        let found = keys.iter().find_map(|k| {
            let p = topdir.join(paths::signed_rpm_path(b, r, k));
            let st = std::fs::metadata(&p).ok().filter(|m| m.is_file())?;
            Some((p, k.clone(), headers::FileStat::of(&st)))
        });
        let (path, sigkey, missing, stat) = match found {
            Some((p, k, st)) => (p, (!k.is_empty()).then_some(k), None, Some(st)),
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
                None,
            ),
        };
        Candidate {
            path,
            sigkey,
            missing_signature: missing,
            build_key: format!("koji:{}", b.id),
            stat,
            module: None,
        }
    };
    on_every_core(rpm_builds, |part| part.iter().map(one).collect::<Vec<_>>())
        .into_iter()
        .flat_map(|r| r.expect("signed copy lookup panicked"))
        .collect()
}

/// Every `*.rpm` under the repository directory (`repodata/` skipped). The walk never follows
/// a directory symlink, visits each directory once (by device and inode), takes a file symlink
/// only when it resolves inside the root, and checks `cancel` as it goes: a symlink loop or a
/// huge tree cannot hold a worker.
fn from_directory(
    c: &Compose,
    repo_dirs: &[PathBuf],
    cancel: &Cancel,
) -> Result<Vec<Candidate>, EngineError> {
    use std::os::unix::fs::MetadataExt;
    // Checked at POST too; again here for composes accepted before a configuration change.
    let root =
        crate::domain::allowed_repo_dir(&c.source, repo_dirs).map_err(|e| EngineError(e.0))?;
    if !root.is_dir() {
        return fail(format!("Repository directory {} does not exist.", c.source));
    }
    let mut out = Vec::new();
    let mut visited = std::collections::HashSet::new();
    let mut stack = vec![root.clone()];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let meta =
            std::fs::metadata(&dir).map_err(|e| EngineError(format!("{}: {e}", dir.display())))?;
        if !visited.insert((meta.dev(), meta.ino())) {
            continue;
        }
        let entries =
            std::fs::read_dir(&dir).map_err(|e| EngineError(format!("{}: {e}", dir.display())))?;
        for e in entries.flatten() {
            seen += 1;
            if seen.is_multiple_of(256) {
                cancel.check()?;
            }
            let p = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                if p.file_name().is_some_and(|n| n != "repodata") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rpm") {
                let inside = !kind.is_symlink()
                    || p.canonicalize()
                        .is_ok_and(|t| t.starts_with(&root) && t.is_file());
                if inside && (kind.is_file() || kind.is_symlink()) {
                    // A regular file's entry is stat'ed relative to its directory (cheap); a
                    // symlink is left to the header reader, which follows it.
                    let stat = kind
                        .is_file()
                        .then(|| e.metadata().ok())
                        .flatten()
                        .map(|m| headers::FileStat::of(&m));
                    out.push(Candidate {
                        path: p,
                        sigkey: None,
                        missing_signature: None,
                        build_key: String::new(),
                        stat,
                        module: None,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The headers of `candidates`, in order, read on every core (a cold read checksums the whole
/// RPM file). Candidates from a directory get their build key from their source RPM here.
pub fn read_headers(
    candidates: &mut [Candidate],
    cancel: &Cancel,
) -> Result<Vec<Arc<Header>>, EngineError> {
    let parts = on_every_core(
        candidates,
        |part| -> Result<Vec<Arc<Header>>, EngineError> {
            let mut out = Vec::with_capacity(part.len());
            for (i, cand) in part.iter().enumerate() {
                if i % 256 == 0 {
                    cancel.check()?;
                }
                out.push(headers::read_with(&cand.path, cand.stat).map_err(EngineError)?);
            }
            Ok(out)
        },
    );
    let mut pkgs: Vec<Arc<Header>> = Vec::with_capacity(candidates.len());
    for part in parts {
        pkgs.extend(part.map_err(|_| EngineError("header reader panicked".into()))??);
    }
    for (p, cand) in pkgs.iter().zip(candidates.iter_mut()) {
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
    Ok(pkgs)
}
