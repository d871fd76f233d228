//! Phase 5, metadata: productmd's `compose/metadata/composeinfo.json` and `rpms.json`,
//! `COMPOSE_ID`, `STATUS`, the `.repo` file of contract §2.6, the Koji event the compose was
//! resolved at (`work/global/koji-event`), and in each `os` tree and `source/tree` the
//! `.treeinfo`, `.discinfo` and `media.repo` Pungi writes (pungi.md §5.5).

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
    /// Whether ISOs are made (composeinfo then names their directories).
    pub isos: bool,
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
    let mut composeinfo = composeinfo(c, &name, facts.arches, &compose_obj);
    if facts.isos {
        let paths = &mut composeinfo["payload"]["variants"][VARIANT]["paths"];
        for (key, rel) in [
            ("isos", "Temporary/{arch}/iso"),
            ("source_isos", "Temporary/source/iso"),
        ] {
            paths[key] = facts
                .arches
                .iter()
                .map(|a| (a.clone(), json!(rel.replace("{arch}", a))))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
    }
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let variant = root.join("compose").join(VARIANT);
    let trees = facts
        .arches
        .iter()
        .map(|a| (a.as_str(), format!("{a}/os")))
        .chain(std::iter::once(("src", "source/tree".to_string())));
    for (arch, rel) in trees {
        let dir = variant.join(rel);
        std::fs::create_dir_all(&dir).map_err(io)?;
        let media = Media {
            name: &name,
            arch,
            secs: now.as_secs(),
            micros: now.subsec_micros(),
        };
        let bodies = [media.treeinfo(), media.discinfo(), media.media_repo()];
        for (name, body) in MEDIA_FILES.iter().zip(bodies) {
            std::fs::write(dir.join(name), body).map_err(io)?;
        }
        files += MEDIA_FILES.len();
    }
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

/// The files this phase writes into each `os` tree and `source/tree`.
pub const MEDIA_FILES: [&str; 3] = [".treeinfo", ".discinfo", "media.repo"];

/// What a tree's `.treeinfo`, `.discinfo` and `media.repo` say (release `<name> 1`).
struct Media<'a> {
    name: &'a str,
    /// `x86_64`, or `src` for `source/tree`.
    arch: &'a str,
    secs: u64,
    micros: u32,
}

impl Media<'_> {
    /// productmd's treeinfo 1.2 with its compatibility section, as Pungi writes it.
    fn treeinfo(&self) -> String {
        let (name, arch, ts) = (self.name, self.arch, self.secs);
        format!(
            "[general]\n\
             ; WARNING.0 = This section provides compatibility with pre-productmd treeinfos.\n\
             ; WARNING.1 = Read productmd documentation for details about new format.\n\
             arch = {arch}\nfamily = {name}\nname = {name} 1\npackagedir = Packages\n\
             platforms = {arch}\nrepository = .\ntimestamp = {ts}\nvariant = {VARIANT}\n\
             variants = {VARIANT}\nversion = 1\n\n\
             [header]\ntype = productmd.treeinfo\nversion = 1.2\n\n\
             [release]\nname = {name}\nshort = {name}\nversion = 1\n\n\
             [tree]\narch = {arch}\nbuild_timestamp = {ts}\nplatforms = {arch}\nvariants = {VARIANT}\n\n\
             [variant-{VARIANT}]\nid = {VARIANT}\nname = {VARIANT}\npackages = Packages\n\
             repository = .\ntype = variant\nuid = {VARIANT}\n\n"
        )
    }

    fn stamp(&self) -> String {
        format!("{}.{:06}", self.secs, self.micros)
    }

    /// Four lines: timestamp, release, arch, disc numbers.
    fn discinfo(&self) -> String {
        format!("{}\n{} 1\n{}\nALL\n", self.stamp(), self.name, self.arch)
    }

    fn media_repo(&self) -> String {
        format!(
            "[InstallMedia]\nname={} 1\nmediaid={}\nmetadata_expire=-1\ngpgcheck=0\ncost=500\n\n",
            self.name,
            self.stamp()
        )
    }
}

pub(crate) fn compose_object(c: &Compose, compose_id: &str) -> Value {
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

pub(crate) fn nevra_full(p: &Package) -> String {
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
pub(crate) fn pretty<T: serde::Serialize>(v: &T) -> String {
    let mut buf = Vec::with_capacity(1 << 16);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("json");
    String::from_utf8(buf).expect("utf8")
}

pub(crate) fn sort_keys(v: &Value) -> Value {
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

/// productmd's `compose/metadata/modules.json` (format 1.2): per arch every module stream
/// with its metadata, where its modulemd is and its RPMs. Nothing when there are no modules.
pub fn write_modules(
    root: &Path,
    c: &Compose,
    compose_id: &str,
    set: &super::modules::ModuleSet,
    by_arch: &BTreeMap<String, Vec<super::modules::ArchStream>>,
) -> Result<usize, EngineError> {
    let mut arches = serde_json::Map::new();
    for (arch, streams) in by_arch {
        let mut entries = serde_json::Map::new();
        for s in streams {
            let m = &set.modules[s.module];
            entries.insert(
                m.nsvc(),
                json!({
                    "metadata": {
                        "uid": m.nsvc(),
                        "name": m.name,
                        "stream": m.stream,
                        "version": m.version,
                        "context": m.context,
                        "koji_tag": m.koji_tag,
                    },
                    "modulemd_path": {
                        "binary": format!("{VARIANT}/{arch}/os/{}", super::repodata::MODULES_HREF),
                    },
                    "rpms": s.rpms,
                }),
            );
        }
        arches.insert(arch.clone(), Value::Object(entries));
    }
    let doc = json!({
        "header": {"type": "productmd.modules", "version": "1.2"},
        "payload": {
            "compose": compose_object(c, compose_id),
            "modules": {VARIANT: arches},
        },
    });
    let meta = root.join("compose/metadata");
    std::fs::create_dir_all(&meta)
        .and_then(|_| std::fs::write(meta.join("modules.json"), pretty(&sort_keys(&doc))))
        .map_err(|e| EngineError(format!("{}: {e}", meta.display())))?;
    Ok(1)
}

/// One image of productmd's `images.json` (fields in its sorted order), and where it is
/// listed: under one binary arch, or under every arch for the source ISO (productmd maps source
/// images under the binary arches).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageRecord {
    pub arch: String,
    pub bootable: bool,
    pub checksums: BTreeMap<&'static str, String>,
    pub disc_count: u32,
    pub disc_number: u32,
    pub format: &'static str,
    pub implant_md5: Option<String>,
    /// composed's addition: the files that say what went into the image (productmd ignores
    /// keys it does not know).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<ManifestRecord>,
    pub mtime: i64,
    /// Relative to `compose/`.
    pub path: String,
    pub size: u64,
    pub subvariant: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub volume_id: Option<String>,
    #[serde(skip)]
    pub under: Option<String>,
}

/// A manifest of an image: `nevra` (the installed packages, one NEVRA a line) or `spdx-2.3`
/// (an SPDX JSON SBOM).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ManifestRecord {
    pub checksums: BTreeMap<&'static str, String>,
    pub format: &'static str,
    pub path: String,
    pub size: u64,
}

/// `compose/metadata/images.json` of `images`; nothing when there are none.
pub fn write_images(
    root: &Path,
    compose: &Compose,
    compose_id: &str,
    arches: &[String],
    images: &[ImageRecord],
) -> Result<usize, EngineError> {
    if images.is_empty() {
        return Ok(0);
    }
    let mut by_arch: BTreeMap<&str, Vec<&ImageRecord>> = BTreeMap::new();
    for a in arches {
        let mut list: Vec<&ImageRecord> = images
            .iter()
            .filter(|i| i.under.as_deref().is_none_or(|u| u == a))
            .collect();
        list.sort_by(|x, y| x.path.cmp(&y.path));
        if !list.is_empty() {
            by_arch.insert(a, list);
        }
    }
    let doc = json!({
        "header": {"type": "productmd.images", "version": "1.2"},
        "payload": {
            "compose": sort_keys(&compose_object(compose, compose_id)),
            "images": {VARIANT: by_arch},
        }
    });
    let path = root.join("compose/metadata/images.json");
    std::fs::write(&path, pretty(&doc))
        .map_err(|e| EngineError(format!("{}: {e}", path.display())))?;
    Ok(1)
}
