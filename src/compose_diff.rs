//! What changed between two composes: their `compose/metadata/rpms.json` (productmd, as the
//! engine or Pungi writes it) compared per compose arch and category (`binary`, `debug`,
//! `source`): RPMs added, removed, upgraded and downgraded (by name and RPM arch, versions
//! compared with rpm's rules), and RPMs whose sigkey changed. Pure: the API reads the files.

use std::collections::{BTreeMap, BTreeSet};

use rpmrepo_metadata::Evr;
use serde::Serialize;

/// One RPM as rpms.json lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub nevra: String,
    pub name: String,
    pub arch: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    pub sigkey: Option<String>,
}

/// `name-epoch:version-release.arch` (epoch optional) into its parts.
fn split_nevra(nevra: &str) -> Option<(String, String, String, String, String)> {
    let (nevr, arch) = nevra.rsplit_once('.')?;
    let (nev, release) = nevr.rsplit_once('-')?;
    let (name, ev) = nev.rsplit_once('-')?;
    let (epoch, version) = match ev.split_once(':') {
        Some((e, v)) => (e.to_string(), v.to_string()),
        None => ("0".to_string(), ev.to_string()),
    };
    Some((
        name.to_string(),
        epoch,
        version,
        release.to_string(),
        arch.to_string(),
    ))
}

/// arch → category → RPMs, from an rpms.json document.
pub type Listing = BTreeMap<String, BTreeMap<String, Vec<Entry>>>;

/// Reads rpms.json's payload (every variant merged).
pub fn listing(doc: &serde_json::Value) -> Result<Listing, String> {
    let variants = doc["payload"]["rpms"]
        .as_object()
        .ok_or("rpms.json has no payload.rpms object")?;
    let mut out = Listing::new();
    for arches in variants.values() {
        let arches = arches
            .as_object()
            .ok_or("a variant of rpms.json is not an object")?;
        for (arch, srpms) in arches {
            let Some(srpms) = srpms.as_object() else {
                continue;
            };
            for rpms in srpms.values() {
                let Some(rpms) = rpms.as_object() else {
                    continue;
                };
                for (nevra, info) in rpms {
                    let (name, epoch, version, release, rpm_arch) = split_nevra(nevra)
                        .ok_or_else(|| format!("rpms.json lists a malformed NEVRA: {nevra}"))?;
                    let category = info["category"].as_str().unwrap_or("binary").to_string();
                    out.entry(arch.clone())
                        .or_default()
                        .entry(category)
                        .or_default()
                        .push(Entry {
                            nevra: nevra.clone(),
                            name,
                            arch: rpm_arch,
                            epoch,
                            version,
                            release,
                            sigkey: info["sigkey"].as_str().map(str::to_string),
                        });
                }
            }
        }
    }
    Ok(out)
}

/// One RPM whose version changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub name: String,
    pub arch: String,
    pub from: String,
    pub to: String,
}

/// One RPM whose sigkey changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resigned {
    pub nevra: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The changes of one arch and category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub upgraded: Vec<Changed>,
    pub downgraded: Vec<Changed>,
    pub sigkey_changed: Vec<Resigned>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
            && self.sigkey_changed.is_empty()
    }
}

/// Totals over every arch and category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub added: usize,
    pub removed: usize,
    pub upgraded: usize,
    pub downgraded: usize,
    pub sigkey_changed: usize,
}

/// arch → category → changes (only those with changes).
pub type Diff = BTreeMap<String, BTreeMap<String, Changes>>;

fn evr_cmp(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    Evr::new(a.epoch.as_str(), a.version.as_str(), a.release.as_str()).cmp(&Evr::new(
        b.epoch.as_str(),
        b.version.as_str(),
        b.release.as_str(),
    ))
}

/// The changes from `old` to `new` of one arch and category.
fn compare(old: &[Entry], new: &[Entry]) -> Changes {
    // (name, RPM arch) → (its RPMs before, its RPMs after)
    type Sides<'a> = (Vec<&'a Entry>, Vec<&'a Entry>);
    let mut by_name: BTreeMap<(&str, &str), Sides<'_>> = BTreeMap::new();
    for e in old {
        by_name.entry((&e.name, &e.arch)).or_default().0.push(e);
    }
    for e in new {
        by_name.entry((&e.name, &e.arch)).or_default().1.push(e);
    }
    let mut ch = Changes::default();
    for ((name, arch), (o, n)) in by_name {
        let o_nevras: BTreeSet<&str> = o.iter().map(|e| e.nevra.as_str()).collect();
        let n_nevras: BTreeSet<&str> = n.iter().map(|e| e.nevra.as_str()).collect();
        for e in &n {
            if let Some(before) = o.iter().find(|b| b.nevra == e.nevra)
                && before.sigkey != e.sigkey
            {
                ch.sigkey_changed.push(Resigned {
                    nevra: e.nevra.clone(),
                    from: before.sigkey.clone(),
                    to: e.sigkey.clone(),
                });
            }
        }
        let mut gone: Vec<&Entry> = o
            .into_iter()
            .filter(|e| !n_nevras.contains(e.nevra.as_str()))
            .collect();
        let mut came: Vec<&Entry> = n
            .into_iter()
            .filter(|e| !o_nevras.contains(e.nevra.as_str()))
            .collect();
        gone.sort_by(|a, b| evr_cmp(a, b));
        came.sort_by(|a, b| evr_cmp(a, b));
        // The highest version on each side is the same package changed; the rest are
        // added or removed (several versions of one name, as install-only packages have).
        if !gone.is_empty() && !came.is_empty() {
            let (from, to) = (gone.pop().unwrap(), came.pop().unwrap());
            let c = Changed {
                name: name.to_string(),
                arch: arch.to_string(),
                from: from.nevra.clone(),
                to: to.nevra.clone(),
            };
            if evr_cmp(to, from).is_ge() {
                ch.upgraded.push(c);
            } else {
                ch.downgraded.push(c);
            }
        }
        ch.removed.extend(gone.into_iter().map(|e| e.nevra.clone()));
        ch.added.extend(came.into_iter().map(|e| e.nevra.clone()));
    }
    ch.added.sort();
    ch.removed.sort();
    ch
}

/// The changes from `old` to `new`, and their totals.
pub fn diff(old: &Listing, new: &Listing) -> (Diff, Summary) {
    let empty = BTreeMap::new();
    let arches: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = Diff::new();
    let mut sum = Summary::default();
    for arch in arches {
        let o = old.get(arch).unwrap_or(&empty);
        let n = new.get(arch).unwrap_or(&empty);
        let cats: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
        for cat in cats {
            let ch = compare(
                o.get(cat).map_or(&[][..], Vec::as_slice),
                n.get(cat).map_or(&[][..], Vec::as_slice),
            );
            if ch.is_empty() {
                continue;
            }
            sum.added += ch.added.len();
            sum.removed += ch.removed.len();
            sum.upgraded += ch.upgraded.len();
            sum.downgraded += ch.downgraded.len();
            sum.sigkey_changed += ch.sigkey_changed.len();
            out.entry(arch.clone()).or_default().insert(cat.clone(), ch);
        }
    }
    (out, sum)
}

/// The diff as a person reads it in a terminal (`title` first).
pub fn render_text(title: &str, d: &Diff, s: &Summary) -> String {
    let mut out = format!("{title}\n");
    for (arch, cats) in d {
        for (cat, ch) in cats {
            out.push_str(&format!("\n{arch} {cat}:\n"));
            for n in &ch.added {
                out.push_str(&format!("  added       {n}\n"));
            }
            for n in &ch.removed {
                out.push_str(&format!("  removed     {n}\n"));
            }
            for c in &ch.upgraded {
                out.push_str(&format!("  upgraded    {} -> {}\n", c.from, c.to));
            }
            for c in &ch.downgraded {
                out.push_str(&format!("  downgraded  {} -> {}\n", c.from, c.to));
            }
            for r in &ch.sigkey_changed {
                out.push_str(&format!(
                    "  resigned    {} ({} -> {})\n",
                    r.nevra,
                    r.from.as_deref().unwrap_or("unsigned"),
                    r.to.as_deref().unwrap_or("unsigned")
                ));
            }
        }
    }
    out.push_str(&format!(
        "\n{} added, {} removed, {} upgraded, {} downgraded, {} sigkey changes\n",
        s.added, s.removed, s.upgraded, s.downgraded, s.sigkey_changed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(rpms: &[(&str, &str, &str, Option<&str>)]) -> serde_json::Value {
        let mut by_arch = serde_json::Map::new();
        for (arch, nevra, cat, key) in rpms {
            let a = by_arch
                .entry(arch.to_string())
                .or_insert_with(|| serde_json::json!({"x-0:1-1.src": {}}));
            a["x-0:1-1.src"][*nevra] =
                serde_json::json!({"category": cat, "path": "p", "sigkey": key});
        }
        serde_json::json!({"payload": {"rpms": {"Temporary": by_arch}}})
    }

    #[test]
    fn names_versions_and_keys_are_compared_with_rpm_rules() {
        let old = listing(&doc(&[
            ("x86_64", "a-0:1.0-1.x86_64", "binary", None),
            ("x86_64", "b-0:1.10-1.noarch", "binary", Some("k1")),
            ("x86_64", "c-0:2.0-1.x86_64", "binary", None),
            ("x86_64", "d-0:1-1.x86_64", "binary", None),
            ("x86_64", "e-1:1-1.x86_64", "binary", Some("k1")),
        ]))
        .unwrap();
        let new = listing(&doc(&[
            ("x86_64", "a-0:1.0-1.x86_64", "binary", None),
            ("x86_64", "b-0:1.9-1.noarch", "binary", Some("k1")),
            ("x86_64", "c-0:2.0-2.x86_64", "binary", None),
            ("x86_64", "f-0:1-1.x86_64", "binary", None),
            ("x86_64", "e-1:1-1.x86_64", "binary", Some("k2")),
            ("x86_64", "f-debuginfo-0:1-1.x86_64", "debug", None),
        ]))
        .unwrap();
        let (d, s) = diff(&old, &new);
        let bin = &d["x86_64"]["binary"];
        assert_eq!(bin.added, vec!["f-0:1-1.x86_64"]);
        assert_eq!(bin.removed, vec!["d-0:1-1.x86_64"]);
        assert_eq!(bin.upgraded.len(), 1);
        assert_eq!(bin.upgraded[0].to, "c-0:2.0-2.x86_64");
        // 1.9 < 1.10 in rpm's comparison.
        assert_eq!(bin.downgraded[0].to, "b-0:1.9-1.noarch");
        assert_eq!(bin.sigkey_changed[0].nevra, "e-1:1-1.x86_64");
        assert_eq!(d["x86_64"]["debug"].added, vec!["f-debuginfo-0:1-1.x86_64"]);
        assert_eq!(
            s,
            Summary {
                added: 2,
                removed: 1,
                upgraded: 1,
                downgraded: 1,
                sigkey_changed: 1
            }
        );
        let text = render_text("t", &d, &s);
        assert!(
            text.contains("downgraded  b-0:1.10-1.noarch -> b-0:1.9-1.noarch"),
            "{text}"
        );
        assert!(
            text.contains("resigned    e-1:1-1.x86_64 (k1 -> k2)"),
            "{text}"
        );
        let (same, none) = diff(&old, &old);
        assert!(same.is_empty());
        assert_eq!(none, Summary::default());
    }
}
