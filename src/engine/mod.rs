//! The native compose engine, a pipeline of phases (one file each, in the spirit of Pungi's
//! `pungi/phases/`):
//!
//! 0. [`modules`] — the module builds of a module compose (MBS or modular Koji tags) or of a
//!    hybrid tag compose;
//! 1. [`pkgset`] — the candidate RPM files (Koji tag at an event, exact builds, or a local
//!    directory), signed copies chosen by sigkey; then their headers (the [`headers`] cache);
//! 2. [`gather`] — the selection: requested packages and their closure ([`depsolve`]),
//!    multilib, debuginfo and sources; the checks that fail a compose;
//! 3. [`tree`] — Pungi's layout of the selection, built in a staging directory, its hardlinks
//!    made on a thread of their own while phases 4 and 5 run;
//! 4. [`repodata`] — `repodata/` of every repository of the tree;
//! 5. [`metadata`] — productmd, `COMPOSE_ID`, `STATUS`, the `.repo` file, the Koji event;
//! 6. [`pungi_config`] — the Pungi configuration that would reproduce the compose;
//! 7. [`iso`] — with results `iso` / `boot.iso`, once the tree is whole: Pungi's DVD ISOs of
//!    each `os` tree and of `source/tree` (and `boot.iso` by a configured command); the
//!    native writer starts each ISO with its packages during phase 3;
//! 8. [`image`] — with results `raw`, `qcow2`, `oci`: disk and container images of the
//!    packages installed from the tree by dnf, each with its manifests; then `images.json`;
//!
//! and the staging directory is renamed into `odcs-<N>`, so it exists whole or not at all.
//! The engine knows nothing of HTTP or of the worker: the worker calls [`generate`] with a
//! [`Context`] that carries what the engine needs from it (settings, the Koji client, the host
//! name, the cancellation flag and where progress goes). New sources and result kinds are new
//! phases, not branches in these.

mod base;
pub mod depsolve;
pub mod gather;
pub mod headers;
pub mod image;
pub mod iso;
pub mod metadata;
pub mod modules;
pub mod pkgset;
pub mod pungi_compose;
pub mod pungi_config;
pub mod repodata;
pub mod tree;

use std::sync::Arc;
use std::time::Instant;

pub use base::{Cancel, EngineError, Level, LogProgress, PhaseDone, Progress};

use crate::config::Settings;
use crate::db::models::Compose;
use crate::domain::ResultKind;
use crate::koji::KojiClient;
use crate::layout;
use crate::mbs::MbsClient;

/// What generation resolved, stored back on the compose.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub koji_event: Option<i64>,
    pub pungi_compose_id: String,
    pub rpms: usize,
    /// The resolved `source` (a module compose's sorted NSVCs), stored back on the compose.
    pub source: Option<String>,
}

/// Everything needed to generate a compose.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub koji: Option<&'a KojiClient>,
    pub mbs: Option<&'a MbsClient>,
    /// The compose's modules when the caller resolved them already ([`resolve_modules`]);
    /// `None` resolves them here.
    pub modules: Option<modules::ModuleSet>,
    /// This host's name: temporary directories are `.odcs-<N>.tmp-<host>-<pid>`.
    pub host: &'a str,
    /// Set when the compose was canceled or its worker lost the job's lease: the engine stops
    /// at the next file and removes its temporary directory.
    pub cancel: Cancel,
    /// Told about each phase as it finishes.
    pub progress: Arc<dyn Progress>,
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
        "{}-1-{}{suffix}.0",
        layout::compose_name(c.id),
        chrono::Local::now().format("%Y%m%d")
    )
}

/// What the file phases work from, moved onto a blocking thread.
struct Job {
    compose: Compose,
    settings: Settings,
    host: String,
    cancel: Cancel,
    progress: Arc<dyn Progress>,
    arches: Vec<String>,
    event: Option<i64>,
    compose_id: String,
    modules: Option<modules::ModuleSet>,
}

impl Job {
    fn start(&self, phase: &'static str) -> Instant {
        self.progress.phase_start(self.compose.id, phase);
        Instant::now()
    }

    fn note(&self, level: Level, phase: &'static str, message: &str) {
        self.progress.note(self.compose.id, level, phase, message);
    }

    fn done(&self, phase: &'static str, items: usize, since: Instant) {
        self.progress.phase_done(&PhaseDone {
            compose: self.compose.id,
            phase,
            items,
            elapsed: since.elapsed(),
        });
    }
}

/// Phase 0 on its own: the modules of compose `c` (`None` when it has none), timed and logged
/// as the `modules` phase. The worker calls it before the reuse check.
pub async fn resolve_modules(
    c: &Compose,
    src: &modules::Sources<'_>,
    progress: &dyn Progress,
) -> Result<Option<modules::ModuleSet>, EngineError> {
    if !modules::wanted(c) {
        return Ok(None);
    }
    progress.phase_start(c.id, "modules");
    let t = Instant::now();
    let asked = src.mbs.map(|m| m.queries());
    let set = modules::resolve(c, src).await?;
    let n = set.as_ref().map_or(0, |s| s.modules.len());
    if let Some(s) = &set {
        // The client is shared by the worker's jobs: the count is exact when one job runs.
        let via = match (asked, src.mbs.map(|m| m.queries())) {
            (Some(a), Some(b)) if b > a => format!(" ({} MBS queries)", b - a),
            _ => String::new(),
        };
        progress.note(
            c.id,
            Level::Info,
            "modules",
            &format!("resolved {n} module builds{via}: {}", s.source()),
        );
    }
    progress.phase_done(&PhaseDone {
        compose: c.id,
        phase: "modules",
        items: n,
        elapsed: t.elapsed(),
    });
    Ok(set)
}

/// A `pungi_compose` compose takes the arches, builds, packages and sigkeys of the compose its
/// source names (its `rpms.json`), and is then made as a `build` compose; other composes are
/// left as they are.
pub async fn resolve_pungi_compose(
    c: &mut Compose,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    if c.source_type != crate::domain::SourceType::PungiCompose.code() {
        return Ok(());
    }
    progress.phase_start(c.id, "pungi_compose");
    let t = Instant::now();
    let timeout = std::time::Duration::from_secs(settings.koji.timeout_secs.max(1));
    let i = pungi_compose::fetch(&c.source, timeout).await?;
    progress.note(
        c.id,
        Level::Info,
        "pungi_compose",
        &format!(
            "{}: {} builds, {} packages, arches {}, sigkeys {:?}",
            i.url,
            i.builds.len(),
            i.packages.len(),
            i.arches.join(" "),
            i.sigkeys
        ),
    );
    c.arches = i.arches.join(" ");
    c.builds = Some(i.builds.join(" "));
    c.packages = Some(i.packages.join(" "));
    c.sigkeys = i.sigkeys;
    progress.phase_done(&PhaseDone {
        compose: c.id,
        phase: "pungi_compose",
        items: i.builds.len(),
        elapsed: t.elapsed(),
    });
    Ok(())
}

/// Generates compose `c`: the package set over the network, then the file phases on the
/// blocking pool.
pub async fn generate(c: &Compose, ctx: &Context<'_>) -> Result<Outcome, EngineError> {
    let modset = match &ctx.modules {
        Some(m) => Some(m.clone()),
        None => {
            let src = modules::Sources::new(ctx.koji, ctx.mbs, ctx.settings);
            tokio::select! {
                r = resolve_modules(c, &src, ctx.progress.as_ref()) => r?,
                _ = ctx.cancel.cancelled() => return Err(EngineError("Compose generation was canceled.".into())),
            }
        }
    };
    let mut c = c.clone();
    if let Some(m) = &modset
        && c.source_type == crate::domain::SourceType::Module.code()
    {
        c.source = m.source();
    }
    let c = &c;
    ctx.progress.phase_start(c.id, "pkgset");
    let t = Instant::now();
    let arches = base::words(&c.arches);
    let set = pkgset::resolve(
        c,
        ctx.koji,
        ctx.settings,
        &arches,
        modset.as_ref(),
        &ctx.cancel,
    )
    .await?;
    ctx.cancel.check()?;
    ctx.progress
        .note(c.id, Level::Info, "pkgset", &set.describe(c));
    let job = Job {
        compose: c.clone(),
        settings: ctx.settings.clone(),
        host: ctx.host.to_string(),
        cancel: ctx.cancel.clone(),
        progress: ctx.progress.clone(),
        arches,
        event: set.event,
        compose_id: pungi_compose_id(c),
        modules: modset,
    };
    job.done("pkgset", set.candidates.len(), t);
    let (job, rpms) = tokio::task::spawn_blocking(move || {
        let rpms = files(&job, set.candidates);
        (job, rpms)
    })
    .await
    .map_err(|e| EngineError(format!("Compose generation panicked: {e}")))?;
    Ok(Outcome {
        koji_event: job.event.or(c.koji_event),
        pungi_compose_id: job.compose_id,
        rpms: rpms?,
        source: job.modules.as_ref().map(|_| c.source.clone()),
    })
}

/// The file phases: headers and gather, then the tree, its repodata and metadata, then the
/// rename into place. Returns how many RPMs the compose holds.
fn files(job: &Job, mut candidates: Vec<pkgset::Candidate>) -> Result<usize, EngineError> {
    let (c, cancel) = (&job.compose, &job.cancel);
    let t = job.start("gather");
    let pkgs = pkgset::read_headers(&mut candidates, cancel)?;
    let gathered = gather::gather(c, &pkgs, &candidates, &job.arches)?;
    if !gathered.unresolved.is_empty() {
        job.note(
            Level::Warning,
            "gather",
            &format!(
                "{} unresolved dependencies tolerated (no check_deps): nothing provides {}",
                gathered.unresolved.len(),
                gathered.unresolved.join("; nothing provides ")
            ),
        );
    }
    let selected = gathered.selected;
    job.done("gather", selected.len(), t);

    let t = job.start("tree");
    let staging = tree::Staging::create(&layout::target_base(c, &job.settings), c.id, &job.host)?;
    let plan = tree::Plan::new(&selected, &job.arches);
    let variant = staging.variant();
    // The ISOs start with the packages now, while the tree is made (see `iso::start_all`).
    let early_isos = if wants(c, ResultKind::Iso)
        && !wants(c, ResultKind::BootIso)
        && iso_writer(job) == iso::Writer::Native
    {
        Some(iso::start_all(
            &variant,
            &plan,
            &job.compose_id,
            &short_name(c),
            cancel,
        )?)
    } else {
        None
    };
    // The tree's hardlinks on a thread of their own while repodata and metadata are written
    // (a link costs the kernel tens of microseconds: on a big compose they take as long as
    // the repodata).
    std::thread::scope(|scope| -> Result<(), EngineError> {
        let linker = scope.spawn(|| tree::link_all(&variant, &plan, cancel));
        let written = repodata_and_metadata(job, staging.root(), &variant, &plan, &selected);
        let linked = linker
            .join()
            .unwrap_or_else(|_| Err(EngineError("linking thread panicked".into())));
        // On a writing error the linker has finished (or stopped at a cancel) by now, and the
        // staging directory is removed on return.
        written?;
        job.done("tree", linked?, t);
        Ok(())
    })?;
    media(job, staging.root(), &variant, &plan, early_isos)?;

    let t = job.start("publish");
    job.progress.publishing(staging.root())?;
    staging.publish(cancel)?;
    job.done("publish", selected.len(), t);
    Ok(selected.len())
}

/// Whether compose `c` asks for result `r`.
fn wants(c: &Compose, r: ResultKind) -> bool {
    c.results & r.code() != 0
}

fn iso_writer(job: &Job) -> iso::Writer {
    iso::Writer::parse(&job.settings.engine.iso_writer).unwrap_or(iso::Writer::Native)
}

/// The release short name of compose `c` (volume ids).
fn short_name(c: &Compose) -> String {
    layout::compose_name(c.id).chars().take(16).collect()
}

/// Phases 7 and 8 into the whole tree at `root`: the ISOs (finishing those started early),
/// the images, then `images.json`.
fn media(
    job: &Job,
    root: &std::path::Path,
    variant: &std::path::Path,
    plan: &tree::Plan<'_>,
    early_isos: Option<iso::Early>,
) -> Result<(), EngineError> {
    let c = &job.compose;
    let short = short_name(c);
    let mut images = Vec::new();
    if wants(c, ResultKind::Iso) || wants(c, ResultKind::BootIso) {
        let t = job.start("createiso");
        if wants(c, ResultKind::BootIso) {
            images.extend(iso::make_boot_isos(
                &job.settings.composes.boot_iso_command,
                variant,
                &job.arches,
                &short,
                &job.cancel,
            )?);
        }
        if let Some(early) = early_isos {
            let (made, notes) = early.finish(&job.cancel)?;
            for n in notes {
                job.note(Level::Info, "createiso", &n);
            }
            images.extend(made);
        } else if wants(c, ResultKind::Iso) {
            images.extend(iso::make_all(
                variant,
                &job.arches,
                &job.compose_id,
                &short,
                iso_writer(job),
                &job.cancel,
            )?);
        }
        job.done("createiso", images.len(), t);
    }
    let kinds = image::Kinds {
        raw: wants(c, ResultKind::Raw),
        qcow2: wants(c, ResultKind::Qcow2),
        oci: wants(c, ResultKind::Oci),
    };
    if kinds.any() {
        let t = job.start("image");
        let input = image::Input {
            compose: c,
            root,
            variant,
            plan,
            compose_id: &job.compose_id,
            kinds,
            free_mib: job.settings.engine.image_free_mib,
            url_base: &job.settings.composes.target_dir_url,
        };
        let made = image::make_all(&input, &job.cancel)?;
        job.done("image", made.len(), t);
        images.extend(made);
    }
    metadata::write_images(root, c, &job.compose_id, &job.arches, &images)?;
    Ok(())
}

/// Phases 4 and 5 into the tree at `root`: the repodata of every repository below `variant`,
/// then the metadata.
fn repodata_and_metadata(
    job: &Job,
    root: &std::path::Path,
    variant: &std::path::Path,
    plan: &tree::Plan<'_>,
    selected: &[gather::Selected],
) -> Result<(), EngineError> {
    let c = &job.compose;
    let t = job.start("repodata");
    // Each arch's module streams, with the artifacts its trees hold.
    let streams = job.modules.as_ref().map(|set| {
        modules::streams_by_arch(set, &job.arches, |i, arch| {
            let in_arch = plan.arches.iter().filter(|a| a.arch == arch);
            in_arch
                .flat_map(|a| a.os.pkgs.iter().chain(&a.debug.pkgs))
                .chain(&plan.source.pkgs)
                .filter(|s| s.cand.module == Some(i))
                .map(|s| metadata::nevra_full(&s.pkg))
                .collect()
        })
    });
    let mut yaml = std::collections::BTreeMap::new();
    for (arch, list) in streams.iter().flatten() {
        let defaults = job.modules.as_ref().map_or(&[][..], |m| &m.defaults[..]);
        yaml.insert(format!("{arch}/os"), modules::modules_yaml(list, defaults)?);
    }
    let repos = repodata::write_all(variant, plan, &yaml, &job.settings.engine, &job.cancel)?;
    job.done("repodata", repos, t);
    let t = job.start("metadata");
    let facts = metadata::Facts {
        compose: c,
        arches: &job.arches,
        selected,
        plan,
        compose_id: &job.compose_id,
        event: job.event,
        isos: wants(c, ResultKind::Iso),
    };
    let mut written = metadata::write(root, &facts, &job.settings.composes)?
        + pungi_config::write(root, c, job.modules.as_ref(), &job.settings)?;
    if let (Some(set), Some(by_arch)) = (&job.modules, &streams) {
        written += metadata::write_modules(root, c, &job.compose_id, set, by_arch)?;
    }
    job.done("metadata", written, t);
    Ok(())
}
