//! Dependency closure with rpm semantics: versioned Requires/Provides compared with rpm's
//! version ordering, file provides, rich (boolean) dependencies, best version, the requested
//! arch before noarch. Packages are given by index into a slice of repodata `Package`s.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use rpmrepo_metadata::{Evr, Package, Requirement, RequirementType};

use super::headers::Header;

/// Index of what every package provides.
pub struct ProvideIndex<'a> {
    pkgs: &'a [Arc<Header>],
    by_name: HashMap<&'a str, Vec<(usize, &'a Requirement)>>,
    self_provides: HashMap<&'a str, Vec<usize>>,
    files: HashMap<String, Vec<usize>>,
}

fn req_evr(r: &Requirement) -> Option<Evr<'static>> {
    let v = r.version()?;
    Some(Evr::new(
        r.epoch().unwrap_or("0").to_string(),
        v.to_string(),
        r.release().unwrap_or("").to_string(),
    ))
}

/// Whether a provided EVR satisfies `op required`. A requirement without a release compares
/// epoch and version only.
fn evr_matches(provided: &Evr, op: RequirementType, required: &Evr) -> bool {
    let provided = if required.release().is_empty() {
        Evr::new(
            provided.epoch().to_string(),
            provided.version().to_string(),
            String::new(),
        )
    } else {
        provided.clone()
    };
    let ord = provided.cmp(required);
    use std::cmp::Ordering::*;
    match op {
        RequirementType::EQ => ord == Equal,
        RequirementType::LT => ord == Less,
        RequirementType::LE => ord != Greater,
        RequirementType::GT => ord == Greater,
        RequirementType::GE => ord != Less,
    }
}

/// Ranges overlap test for a provide (`op_p evr_p`) and a requirement (`op_r evr_r`), as rpm
/// does for versioned provides; provides are nearly always `=`.
fn provide_satisfies(p: &Requirement, r_op: Option<RequirementType>, r_evr: Option<&Evr>) -> bool {
    let (Some(op), Some(req)) = (r_op, r_evr) else {
        return true;
    };
    let Some(pevr) = req_evr(p) else { return true };
    match p.flags() {
        Some(RequirementType::EQ) | None => evr_matches(&pevr, op, req),
        Some(pop) => {
            // Two ranges: they overlap unless they point away from each other.
            let ord = pevr.cmp(req);
            use RequirementType::*;
            use std::cmp::Ordering::*;
            match (pop, op) {
                (GE | GT, GE | GT) | (LE | LT, LE | LT) => true,
                (GE | GT | EQ, LE | LT) => {
                    ord == Less || (ord == Equal && matches!(pop, GE | EQ) && op == LE)
                }
                (LE | LT, GE | GT | EQ) => {
                    ord == Greater || (ord == Equal && pop == LE && matches!(op, GE | EQ))
                }
                _ => evr_matches(&pevr, op, req),
            }
        }
    }
}

impl<'a> ProvideIndex<'a> {
    pub fn new(pkgs: &'a [Arc<Header>]) -> Self {
        let mut by_name: HashMap<&str, Vec<(usize, &Requirement)>> = HashMap::new();
        let mut self_provides: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut files: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in pkgs.iter().enumerate() {
            for prov in p.provides() {
                by_name.entry(prov.name()).or_default().push((i, prov));
            }
            self_provides.entry(p.name()).or_default().push(i);
            for f in p.files().iter() {
                files.entry(f.path()).or_default().push(i);
            }
        }
        Self {
            pkgs,
            by_name,
            self_provides,
            files,
        }
    }

    /// Packages satisfying a simple (non-rich) dependency.
    pub fn providers(
        &self,
        name: &str,
        op: Option<RequirementType>,
        evr: Option<&Evr>,
    ) -> Vec<usize> {
        let mut out: BTreeSet<usize> = BTreeSet::new();
        if name.starts_with('/')
            && let Some(v) = self.files.get(name)
        {
            out.extend(v);
        }
        if let Some(v) = self.by_name.get(name) {
            out.extend(
                v.iter()
                    .filter(|(_, p)| provide_satisfies(p, op, evr))
                    .map(|(i, _)| *i),
            );
        }
        if let Some(v) = self.self_provides.get(name) {
            for &i in v {
                if op.is_none()
                    || evr.is_none_or(|req| evr_matches(self.pkgs[i].as_evr(), op.unwrap(), req))
                {
                    out.insert(i);
                }
            }
        }
        out.into_iter().collect()
    }
}

/// A parsed dependency: simple, or a boolean combination.
#[derive(Debug, Clone, PartialEq)]
pub enum Dep {
    Simple {
        name: String,
        op: Option<RequirementType>,
        evr: Option<String>,
    },
    And(Vec<Dep>),
    Or(Vec<Dep>),
    If(Box<Dep>, Box<Dep>, Option<Box<Dep>>),
    With(Vec<Dep>),
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' | ')' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn op_of(s: &str) -> Option<RequirementType> {
    Some(match s {
        "=" | "==" => RequirementType::EQ,
        "<" => RequirementType::LT,
        "<=" => RequirementType::LE,
        ">" => RequirementType::GT,
        ">=" => RequirementType::GE,
        _ => return None,
    })
}

/// Parses `(a or (b >= 1 and c))` style rich dependencies; anything else is simple.
pub fn parse_dep(text: &str) -> Dep {
    let toks = tokenize(text);
    let mut pos = 0;
    parse_expr(&toks, &mut pos).unwrap_or(Dep::Simple {
        name: text.to_string(),
        op: None,
        evr: None,
    })
}

fn parse_term(t: &[String], pos: &mut usize) -> Option<Dep> {
    if t.get(*pos)? == "(" {
        *pos += 1;
        let d = parse_expr(t, pos)?;
        if t.get(*pos)? != ")" {
            return None;
        }
        *pos += 1;
        return Some(d);
    }
    let name = t.get(*pos)?.clone();
    *pos += 1;
    if let Some(op) = t.get(*pos).and_then(|s| op_of(s)) {
        let evr = t.get(*pos + 1)?.clone();
        *pos += 2;
        return Some(Dep::Simple {
            name,
            op: Some(op),
            evr: Some(evr),
        });
    }
    Some(Dep::Simple {
        name,
        op: None,
        evr: None,
    })
}

fn parse_expr(t: &[String], pos: &mut usize) -> Option<Dep> {
    let first = parse_term(t, pos)?;
    let mut items = vec![first];
    let mut kind: Option<String> = None;
    let mut else_branch = None;
    while let Some(tok) = t.get(*pos) {
        if tok == ")" {
            break;
        }
        let k = tok.clone();
        *pos += 1;
        let next = parse_term(t, pos)?;
        match k.as_str() {
            "else" => else_branch = Some(Box::new(next)),
            "and" | "or" | "if" | "unless" | "with" | "without" => {
                kind = Some(k);
                items.push(next);
            }
            _ => return None,
        }
    }
    Some(match kind.as_deref() {
        None => items.remove(0),
        Some("and") => Dep::And(items),
        Some("or") => Dep::Or(items),
        Some("with") | Some("without") => Dep::With(items),
        Some("if") => {
            let cond = items.pop()?;
            Dep::If(Box::new(items.remove(0)), Box::new(cond), else_branch)
        }
        Some("unless") => {
            // `a unless b` ≈ `a if !b`: require a unless b is present; take a (conservative).
            items.remove(0)
        }
        _ => return None,
    })
}

/// The closure of `roots` over `pkgs` (restricted to `candidates`). Returns the selected
/// indices and every dependency that nothing provides, as `"<dep> needed by <nevra>"`.
pub fn closure(
    pkgs: &[Arc<Header>],
    index: &ProvideIndex,
    roots: &[usize],
    preferred_arch: &str,
) -> (BTreeSet<usize>, Vec<String>) {
    let mut selected: BTreeSet<usize> = roots.iter().copied().collect();
    let mut queue: VecDeque<usize> = roots.iter().copied().collect();
    let mut unresolved = Vec::new();
    let best = |cands: &[usize], selected: &BTreeSet<usize>| -> Option<usize> {
        if let Some(&s) = cands.iter().find(|c| selected.contains(c)) {
            return Some(s);
        }
        cands.iter().copied().max_by(|&a, &b| {
            let (pa, pb) = (&pkgs[a], &pkgs[b]);
            let arch_rank = |p: &Package| {
                if p.arch() == preferred_arch {
                    2
                } else if p.arch() == "noarch" {
                    1
                } else {
                    0
                }
            };
            pa.as_evr()
                .cmp(pb.as_evr())
                .then(arch_rank(pa).cmp(&arch_rank(pb)))
                .then(pb.name().cmp(pa.name()))
        })
    };
    while let Some(i) = queue.pop_front() {
        for req in pkgs[i].requires() {
            let name = req.name();
            if name.starts_with("rpmlib(") || name.starts_with("config(") {
                continue;
            }
            let dep = if name.starts_with('(') {
                parse_dep(name)
            } else {
                Dep::Simple {
                    name: name.to_string(),
                    op: req.flags(),
                    evr: req_evr(req).map(|e| e.evr()),
                }
            };
            let mut picks = Vec::new();
            if !resolve(&dep, index, &selected, &best, &mut picks) {
                unresolved.push(format!(
                    "{name}{} needed by {}",
                    req_text(req),
                    pkgs[i].nevra()
                ));
                continue;
            }
            for p in picks {
                if selected.insert(p) {
                    queue.push_back(p);
                }
            }
        }
    }
    (selected, unresolved)
}

fn req_text(r: &Requirement) -> String {
    match (r.flags(), req_evr(r)) {
        (Some(op), Some(_)) => {
            let mut v = String::new();
            if let Some(ep) = r.epoch().filter(|e| !e.is_empty() && *e != "0") {
                v.push_str(ep);
                v.push(':');
            }
            v.push_str(r.version().unwrap_or_default());
            if let Some(rel) = r.release().filter(|r| !r.is_empty()) {
                v.push('-');
                v.push_str(rel);
            }
            format!(" {} {v}", op_sym(op))
        }
        _ => String::new(),
    }
}

fn op_sym(op: RequirementType) -> &'static str {
    match op {
        RequirementType::EQ => "=",
        RequirementType::LT => "<",
        RequirementType::LE => "<=",
        RequirementType::GT => ">",
        RequirementType::GE => ">=",
    }
}

type BestFn<'a> = dyn Fn(&[usize], &BTreeSet<usize>) -> Option<usize> + 'a;

/// Resolves a dependency, pushing the packages to add; false when unsatisfiable.
fn resolve(
    dep: &Dep,
    index: &ProvideIndex,
    selected: &BTreeSet<usize>,
    best: &BestFn,
    picks: &mut Vec<usize>,
) -> bool {
    match dep {
        Dep::Simple { name, op, evr } => {
            let evr = evr.as_deref().map(Evr::parse).map(|e| {
                Evr::new(
                    e.epoch().to_string(),
                    e.version().to_string(),
                    e.release().to_string(),
                )
            });
            let cands = index.providers(name, *op, evr.as_ref());
            match best(&cands, selected) {
                Some(p) => {
                    picks.push(p);
                    true
                }
                None => false,
            }
        }
        Dep::And(items) | Dep::With(items) => items
            .iter()
            .all(|d| resolve(d, index, selected, best, picks)),
        Dep::Or(items) => {
            // Prefer an alternative already satisfied by the selection, then the first that works.
            for d in items {
                let mut trial = Vec::new();
                if resolve(d, index, selected, best, &mut trial)
                    && trial.iter().all(|t| selected.contains(t))
                {
                    return true;
                }
            }
            for d in items {
                let mut trial = Vec::new();
                if resolve(d, index, selected, best, &mut trial) {
                    picks.extend(trial);
                    return true;
                }
            }
            false
        }
        Dep::If(then, cond, otherwise) => {
            let mut probe = Vec::new();
            let cond_selected = resolve(cond, index, selected, best, &mut probe)
                && probe.iter().all(|p| selected.contains(p));
            if cond_selected {
                resolve(then, index, selected, best, picks)
            } else if let Some(o) = otherwise {
                resolve(o, index, selected, best, picks)
            } else {
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rich_deps_parse() {
        assert_eq!(
            parse_dep("(a or b >= 2.0)"),
            Dep::Or(vec![
                Dep::Simple {
                    name: "a".into(),
                    op: None,
                    evr: None
                },
                Dep::Simple {
                    name: "b".into(),
                    op: Some(RequirementType::GE),
                    evr: Some("2.0".into())
                }
            ])
        );
        assert!(matches!(parse_dep("(a if (b and c))"), Dep::If(..)));
    }

    #[test]
    fn rpm_version_semantics() {
        fn e(s: &str) -> Evr<'static> {
            let p = Evr::parse(s);
            Evr::new(
                p.epoch().to_string(),
                p.version().to_string(),
                p.release().to_string(),
            )
        }
        assert!(evr_matches(&e("1.0-2"), RequirementType::LT, &e("2.0")));
        assert!(evr_matches(&e("1.10-1"), RequirementType::GT, &e("1.9-1")));
        assert!(evr_matches(&e("1:1.0-1"), RequirementType::GT, &e("2.0-1")));
        assert!(evr_matches(&e("1.0-5"), RequirementType::EQ, &e("1.0")));
        assert!(!evr_matches(
            &e("1.0~rc1-1"),
            RequirementType::GE,
            &e("1.0-1")
        ));
    }
}
