//! Phase 2, gather: which RPMs of the package set go into the compose — per arch the requested
//! packages (or all) and their dependency closure, the multilib packages the method admits,
//! then the debuginfo and source RPMs of the gathered builds; the checks that fail the compose
//! (requested packages missing, unresolved dependencies under `check_deps`, missing signatures).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use rpmrepo_metadata::Package;

use super::headers::Header;

use super::base::{EngineError, fail, has_flag, split};
use super::depsolve;
use super::pkgset::Candidate;
use crate::db::models::Compose;
use crate::domain::Flag;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Binary,
    Debug,
    Source,
}

pub fn category(p: &Package) -> Category {
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

/// One RPM that goes into the compose.
pub struct Selected {
    pub pkg: Arc<Header>,
    pub cand: Candidate,
    pub cat: Category,
    /// The arches whose tree this package of another arch joins (multilib).
    pub multilib_for: BTreeSet<String>,
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

/// The binary packages of `arch` (and noarch) among `pkgs`: their indexes and headers.
fn binaries_of(pkgs: &[Arc<Header>], arch: &str) -> (Vec<usize>, Vec<Arc<Header>>) {
    let idx: Vec<usize> = (0..pkgs.len())
        .filter(|&i| {
            category(&pkgs[i]) == Category::Binary
                && (pkgs[i].arch() == arch || pkgs[i].arch() == "noarch")
        })
        .collect();
    let sub = idx.iter().map(|&i| pkgs[i].clone()).collect();
    (idx, sub)
}

/// The gathering state shared by the per-arch steps.
struct Gathering {
    no_deps: bool,
    chosen: BTreeSet<usize>,
    unresolved: Vec<String>,
    missing_requested: BTreeSet<String>,
    multilib_for: HashMap<usize, BTreeSet<String>>,
}

impl Gathering {
    /// `roots` and (unless `nodeps`) their closure within `sub` for `arch`.
    fn closure(&mut self, sub: &[Arc<Header>], roots: &[usize], arch: &str) -> BTreeSet<usize> {
        if self.no_deps {
            return roots.iter().copied().collect();
        }
        let index = depsolve::ProvideIndex::new(sub);
        let (sel, unres) = depsolve::closure(sub, &index, roots, arch);
        self.unresolved.extend(unres);
        sel
    }

    /// The requested packages of `arch` (best version, own arch before noarch), or all.
    fn roots(&mut self, sub: &[Arc<Header>], requested: &[String], arch: &str) -> Vec<usize> {
        if requested.is_empty() {
            return (0..sub.len()).collect();
        }
        let mut r = Vec::new();
        for name in requested {
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
                self.missing_requested.remove(name);
            }
        }
        r
    }

    /// Multilib: the packages named `names` built for multilib arch `m` that `method` admits,
    /// with their closure in that arch, join `arch`'s tree.
    fn multilib(
        &mut self,
        pkgs: &[Arc<Header>],
        names: &BTreeSet<&str>,
        m: &str,
        arch: &str,
        method: i32,
    ) {
        let (midx, msub) = binaries_of(pkgs, m);
        let mut roots = Vec::new();
        for name in names {
            let best = (0..msub.len())
                .filter(|&j| msub[j].arch() == m && msub[j].name() == *name)
                .max_by(|&a, &b| msub[a].as_evr().cmp(msub[b].as_evr()));
            if let Some(j) = best
                && multilib_qualifies(&msub[j], method)
            {
                roots.push(j);
            }
        }
        if roots.is_empty() {
            return;
        }
        for j in self.closure(&msub, &roots, m) {
            let i = midx[j];
            self.chosen.insert(i);
            if pkgs[i].arch() == m {
                self.multilib_for
                    .entry(i)
                    .or_default()
                    .insert(arch.to_string());
            }
        }
    }
}

/// What the gather phase chose, and the dependencies it left unresolved (tolerated without
/// `check_deps`; each `"<what> (required by <NEVRA>)"` as the check's message words them).
pub struct Gathered {
    pub selected: Vec<Selected>,
    pub unresolved: Vec<String>,
}

/// The RPMs of `pkgs` (headers of `cands`, same order) that go into compose `c`.
pub fn gather(
    c: &Compose,
    pkgs: &[Arc<Header>],
    cands: &[Candidate],
    arches: &[String],
) -> Result<Gathered, EngineError> {
    let requested = split(&c.packages);
    // A module compose is its modules' RPMs, nothing resolved (Pungi's `nodeps`).
    let module_compose = c.source_type == crate::domain::SourceType::Module.code();
    let mut g = Gathering {
        no_deps: has_flag(c, Flag::NoDeps) || module_compose,
        chosen: BTreeSet::new(),
        unresolved: Vec::new(),
        missing_requested: requested.iter().cloned().collect(),
        multilib_for: HashMap::new(),
    };
    let multilib_arches: Vec<&str> = c
        .multilib_arches
        .split_whitespace()
        .filter(|m| !arches.iter().any(|a| a == m))
        .collect();
    for arch in arches {
        let (idx, sub) = binaries_of(pkgs, arch);
        let roots = g.roots(&sub, &requested, arch);
        let sel = g.closure(&sub, &roots, arch);
        let names: BTreeSet<&str> = sel
            .iter()
            .filter(|&&i| sub[i].arch() == arch)
            .map(|&i| sub[i].name())
            .collect();
        g.chosen.extend(sel.iter().map(|&i| idx[i]));
        for m in multilib_arches.iter().filter(|_| c.multilib_method != 0) {
            g.multilib(pkgs, &names, m, arch, c.multilib_method);
        }
    }
    // Every RPM of the modules joins (the arches', noarch, and sources), whatever was asked.
    for (i, cand) in cands.iter().enumerate() {
        if cand.module.is_some()
            && (category(&pkgs[i]) == Category::Source
                || pkgs[i].arch() == "noarch"
                || arches.iter().any(|a| a == pkgs[i].arch()))
        {
            g.chosen.insert(i);
        }
    }
    if !g.missing_requested.is_empty() {
        return fail(format!(
            "The following requested packages are not present in the generated compose: {}.",
            g.missing_requested
                .into_iter()
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    g.unresolved.sort();
    g.unresolved.dedup();
    if has_flag(c, Flag::CheckDeps) && !g.unresolved.is_empty() {
        return fail(format!(
            "Unresolved dependencies: nothing provides {}",
            g.unresolved.join("; nothing provides ")
        ));
    }
    add_debug_and_sources(&mut g, pkgs, cands, arches);
    let missing_sigs: Vec<String> = g
        .chosen
        .iter()
        .filter_map(|&i| cands[i].missing_signature.clone())
        .collect();
    if !missing_sigs.is_empty() {
        return fail(format!(
            "RPM(s) not found for the requested sigkeys: {}",
            missing_sigs.join(", ")
        ));
    }
    let selected = g
        .chosen
        .iter()
        .map(|&i| Selected {
            pkg: pkgs[i].clone(),
            cand: cands[i].clone(),
            cat: category(&pkgs[i]),
            multilib_for: g.multilib_for.remove(&i).unwrap_or_default(),
        })
        .collect();
    Ok(Gathered {
        selected,
        unresolved: g.unresolved,
    })
}

/// Debuginfo (unless `nodeps`) and sources of the gathered builds.
fn add_debug_and_sources(
    g: &mut Gathering,
    pkgs: &[Arc<Header>],
    cands: &[Candidate],
    arches: &[String],
) {
    let builds: BTreeSet<&str> = g
        .chosen
        .iter()
        .map(|&i| cands[i].build_key.as_str())
        .collect();
    let mut extra = Vec::new();
    for (i, p) in pkgs.iter().enumerate() {
        let cat = category(p);
        let same_build = builds.contains(cands[i].build_key.as_str());
        let arch_ok =
            cat == Category::Source || arches.iter().any(|a| a == p.arch()) || p.arch() == "noarch";
        if same_build
            && arch_ok
            && ((cat == Category::Debug && !g.no_deps) || cat == Category::Source)
        {
            extra.push(i);
        }
    }
    g.chosen.extend(extra);
}
