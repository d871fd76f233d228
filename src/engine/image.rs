//! Phase 8, images (results `raw`, `qcow2` and `oci`; composed's addition): per arch, Debian's
//! dnf installs the request's packages (every binary package of the `os` tree when the request
//! names none) from the compose's own `os` repository into a staging root inside the tree
//! being built; then
//! - `raw`: an ext4 file system of that root, made without root privileges (`mke2fs -d`);
//! - `qcow2`: the same converted by `qemu-img`;
//! - `oci`: an OCI image archive (`oci-archive`: `oci-layout`, `index.json`, blobs) of one
//!   gzip layer and a config carrying the compose's labels, written here (tar + flate2);
//!
//! each in `Temporary/<arch>/images/` with two manifests beside it: `<image>.manifest`, the
//! installed NEVRAs as the root's rpm database lists them, and `<image>.spdx.json`, an SPDX 2.3
//! SBOM of those packages with the SHA-256 of their RPM files and their licenses. The staging
//! root is removed before the tree is published.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::Digest;

use super::base::{Cancel, EngineError, fail, run_tool, sha256_file};
use super::gather::Selected;
use super::metadata::{ImageRecord, ManifestRecord};
use super::tree::{Plan, VARIANT};
use crate::db::models::Compose;

/// Which images a compose asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kinds {
    pub raw: bool,
    pub qcow2: bool,
    pub oci: bool,
}

impl Kinds {
    pub fn any(self) -> bool {
        self.raw || self.qcow2 || self.oci
    }
}

/// What the images are made from.
pub struct Input<'a> {
    pub compose: &'a Compose,
    /// The staging root of the compose (`work/<arch>/` holds the install roots).
    pub root: &'a Path,
    pub variant: &'a Path,
    pub plan: &'a Plan<'a>,
    pub compose_id: &'a str,
    pub kinds: Kinds,
    /// Free space in a disk image beyond its files.
    pub free_mib: u64,
    /// `composes.target_dir_url`: the SBOMs' namespaces start with it.
    pub url_base: &'a str,
}

/// One installed package, as the root's rpm database lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Installed {
    name: String,
    epoch: String,
    version: String,
    release: String,
    arch: String,
    license: String,
}

impl Installed {
    fn nevra(&self) -> String {
        format!(
            "{}-{}:{}-{}.{}",
            self.name, self.epoch, self.version, self.release, self.arch
        )
    }
}

/// Makes the requested images of every arch; their records for images.json.
pub fn make_all(input: &Input<'_>, cancel: &Cancel) -> Result<Vec<ImageRecord>, EngineError> {
    let mut out = Vec::new();
    for a in &input.plan.arches {
        cancel.check()?;
        let work = input.root.join("work").join(a.arch).join("image");
        let result = make_arch(input, a.arch, &a.os.pkgs, &work, cancel);
        // The install root is never published, whatever happened.
        let _ = std::fs::remove_dir_all(&work);
        out.extend(result?);
    }
    Ok(out)
}

fn make_arch(
    input: &Input<'_>,
    arch: &str,
    os_pkgs: &[&Selected],
    work: &Path,
    cancel: &Cancel,
) -> Result<Vec<ImageRecord>, EngineError> {
    let io = |p: &Path, e: std::io::Error| EngineError(format!("{}: {e}", p.display()));
    let sysroot = work.join("root");
    std::fs::create_dir_all(&sysroot).map_err(|e| io(&sysroot, e))?;
    let packages = wanted_packages(input.compose, os_pkgs);
    if packages.is_empty() {
        return fail(format!(
            "image {arch}: nothing to install: the compose's {arch}/os repository holds no packages"
        ));
    }
    install(
        &sysroot,
        &input.variant.join(arch).join("os"),
        work,
        &packages,
        cancel,
    )?;
    let installed = query_installed(&sysroot, cancel)?;
    cancel.check()?;

    let dir = input.variant.join(arch).join("images");
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let rel_dir = format!("{VARIANT}/{arch}/images");
    let base = format!("{}-{VARIANT}-{arch}", input.compose_id);
    let by_nevra: HashMap<String, &Selected> = os_pkgs.iter().map(|s| (nevra_of(s), *s)).collect();

    let mut made: Vec<(PathBuf, &'static str, &'static str)> = Vec::new();
    if input.kinds.raw || input.kinds.qcow2 {
        let raw = if input.kinds.raw {
            dir.join(format!("{base}.raw"))
        } else {
            work.join("disk.raw")
        };
        make_ext4(&sysroot, &raw, input.free_mib, cancel)?;
        if input.kinds.qcow2 {
            let qcow2 = dir.join(format!("{base}.qcow2"));
            run_tool(
                &format!("image {arch} qcow2"),
                Command::new("qemu-img")
                    .args(["convert", "-f", "raw", "-O", "qcow2"])
                    .arg(&raw)
                    .arg(&qcow2),
                cancel,
            )?;
            made.push((qcow2, "qcow2", "qcow2"));
        }
        if input.kinds.raw {
            made.push((raw, "raw", "raw"));
        }
    }
    if input.kinds.oci {
        let archive = dir.join(format!("{base}.ociarchive"));
        write_oci_archive(&sysroot, &archive, work, input, arch, cancel)?;
        made.push((archive, "container", "ociarchive"));
    }

    let mut records = Vec::new();
    for (path, kind, format) in made {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let manifest_path = dir.join(format!("{file}.manifest"));
        let nevras: Vec<String> = installed.iter().map(Installed::nevra).collect();
        std::fs::write(&manifest_path, nevras.join("\n") + "\n")
            .map_err(|e| io(&manifest_path, e))?;
        let spdx_path = dir.join(format!("{file}.spdx.json"));
        let doc = spdx(&file, input, &installed, &by_nevra);
        std::fs::write(
            &spdx_path,
            serde_json::to_string_pretty(&doc).expect("json") + "\n",
        )
        .map_err(|e| io(&spdx_path, e))?;
        let manifests = [(manifest_path, "nevra"), (spdx_path, "spdx-2.3")]
            .into_iter()
            .map(|(p, format)| {
                let (sha, size) = sha256_file(&p)?;
                Ok(ManifestRecord {
                    checksums: BTreeMap::from([("sha256", sha)]),
                    format,
                    path: format!("{rel_dir}/{}", p.file_name().unwrap().to_string_lossy()),
                    size,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let (sha256, size) = sha256_file(&path)?;
        records.push(ImageRecord {
            arch: arch.to_string(),
            bootable: false,
            checksums: BTreeMap::from([("sha256", sha256)]),
            disc_count: 1,
            disc_number: 1,
            format,
            implant_md5: None,
            manifests,
            mtime: chrono::Utc::now().timestamp(),
            path: format!("{rel_dir}/{file}"),
            size,
            subvariant: VARIANT,
            kind,
            volume_id: None,
            under: Some(arch.to_string()),
        });
    }
    Ok(records)
}

/// The request's packages, or every binary package name of the `os` tree.
fn wanted_packages(c: &Compose, os_pkgs: &[&Selected]) -> Vec<String> {
    let requested = super::base::split(&c.packages);
    if !requested.is_empty() {
        return requested;
    }
    os_pkgs
        .iter()
        .map(|s| s.pkg.name().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn nevra_of(s: &Selected) -> String {
    format!(
        "{}-{}:{}-{}.{}",
        s.pkg.name(),
        s.pkg.epoch(),
        s.pkg.version(),
        s.pkg.release(),
        s.pkg.arch()
    )
}

/// dnf installs `packages` into `sysroot` from the `os` repository at `repo` (and nothing else:
/// no system repositories, no plugins, no weak dependencies).
fn install(
    sysroot: &Path,
    repo: &Path,
    work: &Path,
    packages: &[String],
    cancel: &Cancel,
) -> Result<(), EngineError> {
    let mut dnf = Command::new("dnf");
    dnf.arg(format!("--installroot={}", sysroot.display()))
        .arg(format!(
            "--setopt=cachedir={}",
            work.join("dnf-cache").display()
        ))
        .arg(format!("--repofrompath=compose,file://{}", repo.display()))
        .args([
            "--repo=compose",
            "--releasever=1",
            "--setopt=reposdir=/dev/null",
            "--setopt=install_weak_deps=False",
            "--setopt=keepcache=False",
            "--nogpgcheck",
            "--noplugins",
            "--assumeyes",
            "install",
        ])
        .args(packages)
        .env("LC_ALL", "C.UTF-8");
    run_tool("image install (dnf)", &mut dnf, cancel).map(|_| ())
}

/// The packages of the root's rpm database, sorted by NEVRA.
fn query_installed(sysroot: &Path, cancel: &Cancel) -> Result<Vec<Installed>, EngineError> {
    let text = run_tool(
        "image manifest (rpm -qa)",
        Command::new("rpm").arg("--root").arg(sysroot).args([
            "-qa",
            "--qf",
            "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{LICENSE}\\n",
        ]),
        cancel,
    )?;
    let mut out: Vec<Installed> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 6 && f[0] != "gpg-pubkey").then(|| Installed {
                name: f[0].into(),
                epoch: f[1].into(),
                version: f[2].into(),
                release: f[3].into(),
                arch: f[4].into(),
                license: f[5].into(),
            })
        })
        .collect();
    out.sort_by_key(Installed::nevra);
    Ok(out)
}

/// Bytes the files below `dir` take, and how many entries there are.
fn usage(dir: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let (mut bytes, mut entries) = (0u64, 0u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let m = e.metadata()?;
            entries += 1;
            bytes += m.blocks() * 512;
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    Ok((bytes, entries))
}

/// An ext4 file system holding `sysroot`, by `mke2fs -d` (no mount, no root privileges).
fn make_ext4(
    sysroot: &Path,
    out: &Path,
    free_mib: u64,
    cancel: &Cancel,
) -> Result<(), EngineError> {
    let (bytes, entries) =
        usage(sysroot).map_err(|e| EngineError(format!("{}: {e}", sysroot.display())))?;
    // Room for the journal and metadata, the files plus a fifth, the free space asked for.
    let mib = (bytes * 6 / 5).div_ceil(1 << 20) + free_mib + 16;
    let inodes = entries * 2 + 4096;
    let _ = std::fs::remove_file(out);
    run_tool(
        "image raw (mke2fs)",
        Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4", "-L", "composed", "-N"])
            .arg(inodes.to_string())
            .args(["-E", "root_owner=0:0", "-d"])
            .arg(sysroot)
            .arg(out)
            .arg(format!("{mib}M")),
        cancel,
    )
    .map(|_| ())
}

/// A writer that hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hash: sha2::Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: sha2::Sha256::new(),
            size: 0,
        }
    }

    fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hash.clone().finalize()))
    }
}

/// The OCI architecture name of an RPM arch.
fn oci_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i386" => "386",
        "armv7hl" => "arm",
        other => other,
    }
}

/// The layer: every entry of `sysroot` in path order (directories, files, symbolic links;
/// owners and modes as they are), gzip-compressed. Returns (diff id, digest, size) and leaves
/// the blob at `blob`.
fn write_layer(
    sysroot: &Path,
    blob: &Path,
    cancel: &Cancel,
) -> Result<(String, String, u64), EngineError> {
    let io = |e: std::io::Error| EngineError(format!("image oci layer: {e}"));
    let file = std::fs::File::create(blob).map_err(io)?;
    let compressed = Hashing::new(std::io::BufWriter::new(file));
    let gz = flate2::write::GzEncoder::new(compressed, flate2::Compression::fast());
    let mut tar = tar::Builder::new(Hashing::new(gz));
    tar.follow_symlinks(false);
    let mut entries = Vec::new();
    let mut stack = vec![sysroot.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(io)? {
            let e = e.map_err(io)?;
            if e.file_type().map_err(io)?.is_dir() {
                stack.push(e.path());
            }
            entries.push(e.path());
        }
    }
    entries.sort();
    for (i, path) in entries.iter().enumerate() {
        if i % 256 == 0 {
            cancel.check()?;
        }
        let rel = path.strip_prefix(sysroot).expect("below the root");
        let meta = std::fs::symlink_metadata(path).map_err(io)?;
        let t = meta.file_type();
        if t.is_dir() || t.is_file() || t.is_symlink() {
            tar.append_path_with_name(path, rel).map_err(io)?;
        }
    }
    let hashing_tar = tar.into_inner().map_err(io)?;
    let diff_id = hashing_tar.digest();
    let mut compressed = hashing_tar.inner.finish().map_err(io)?;
    compressed.flush().map_err(io)?;
    Ok((diff_id, compressed.digest(), compressed.size))
}

/// The labels of the image config: OCI's annotations keys and the compose's own.
fn labels(input: &Input<'_>) -> BTreeMap<String, String> {
    let c = input.compose;
    let mut l = BTreeMap::from([
        (
            "org.opencontainers.image.title".to_string(),
            crate::layout::compose_name(c.id),
        ),
        (
            "org.opencontainers.image.version".to_string(),
            input.compose_id.to_string(),
        ),
        (
            "org.opencontainers.image.created".to_string(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        ("io.composed.compose.id".to_string(), c.id.to_string()),
        (
            "io.composed.compose.source_type".to_string(),
            crate::domain::SourceType::from_code(c.source_type)
                .map(|t| t.name().to_string())
                .unwrap_or_default(),
        ),
        ("io.composed.compose.source".to_string(), c.source.clone()),
    ]);
    if let Some(label) = &c.label {
        l.insert("io.composed.compose.label".into(), label.clone());
    }
    if let Some(e) = c.koji_event {
        l.insert("io.composed.compose.koji_event".into(), e.to_string());
    }
    l
}

/// An `oci-archive`: a tar of an OCI image layout with one manifest of one layer.
fn write_oci_archive(
    sysroot: &Path,
    archive: &Path,
    work: &Path,
    input: &Input<'_>,
    arch: &str,
    cancel: &Cancel,
) -> Result<(), EngineError> {
    let io = |e: std::io::Error| EngineError(format!("image oci: {e}"));
    let layer_blob = work.join("layer.tar.gz");
    let (diff_id, layer_digest, layer_size) = write_layer(sysroot, &layer_blob, cancel)?;
    let labels = labels(input);
    let created = labels["org.opencontainers.image.created"].clone();
    let config = serde_json::to_vec(&json!({
        "architecture": oci_arch(arch),
        "os": "linux",
        "created": created,
        "config": {"Labels": labels, "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": format!("composed {}: dnf install", env!("CARGO_PKG_VERSION"))}],
    }))
    .expect("json");
    let digest = |b: &[u8]| format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)));
    let config_digest = digest(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}],
        "annotations": labels,
    }))
    .expect("json");
    let manifest_digest = digest(&manifest);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "platform": {"architecture": oci_arch(arch), "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": crate::layout::compose_name(input.compose.id)},
        }],
    }))
    .expect("json");
    let blob_name = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let file = std::fs::File::create(archive).map_err(io)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let mut add = |name: &str, data: &[u8]| -> std::io::Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(chrono::Utc::now().timestamp() as u64);
        tar.append_data(&mut h, name, data)
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)?;
    add("index.json", &index).map_err(io)?;
    add(&blob_name(&manifest_digest), &manifest).map_err(io)?;
    add(&blob_name(&config_digest), &config).map_err(io)?;
    tar.append_path_with_name(&layer_blob, blob_name(&layer_digest))
        .map_err(io)?;
    tar.into_inner().map_err(io)?.flush().map_err(io)?;
    let _ = std::fs::remove_file(&layer_blob);
    Ok(())
}

/// SPDX license identifiers an RPM License tag is taken as when it is exactly one of them;
/// any other tag is kept verbatim as a `LicenseRef-` with its text, which is always valid.
const SPDX_IDS: &[&str] = &[
    "MIT",
    "ISC",
    "Zlib",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "Apache-2.0",
    "MPL-2.0",
    "CC0-1.0",
    "Unlicense",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
];

/// The SPDX 2.3 document of an image: one package per installed RPM, with the SHA-256 of its
/// file in the compose, its license and its purl.
fn spdx(
    image: &str,
    input: &Input<'_>,
    installed: &[Installed],
    by_nevra: &HashMap<String, &Selected>,
) -> Value {
    let mut extracted: BTreeMap<&str, String> = BTreeMap::new();
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    for (i, p) in installed.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}", i + 1);
        let license = if SPDX_IDS.contains(&p.license.as_str()) {
            p.license.clone()
        } else {
            let n = extracted.len() + 1;
            extracted
                .entry(p.license.as_str())
                .or_insert_with(|| format!("LicenseRef-rpm-license-{n}"))
                .clone()
        };
        let epoch = if p.epoch == "0" {
            String::new()
        } else {
            format!("&epoch={}", p.epoch)
        };
        let mut pkg = json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": format!("{}-{}", p.version, p.release),
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": license,
            "copyrightText": "NOASSERTION",
            "supplier": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": format!("pkg:rpm/{}@{}-{}?arch={}{epoch}", p.name, p.version, p.release, p.arch),
            }],
        });
        if let Some(s) = by_nevra.get(&p.nevra()) {
            if let rpmrepo_metadata::Checksum::Sha256(v) = s.pkg.checksum() {
                pkg["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": v}]);
            }
            pkg["packageFileName"] = json!(s.pkg.location_href().rsplit('/').next());
        }
        packages.push(pkg);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": id,
        }));
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": image,
        "documentNamespace": format!(
            "{}/{}/spdx/{image}-{}",
            input.url_base.trim_end_matches('/'),
            crate::layout::compose_name(input.compose.id),
            hex::encode(rand::random::<[u8; 8]>())
        ),
        "creationInfo": {
            "created": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "creators": [format!("Tool: composed-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = extracted
            .into_iter()
            .map(|(text, id)| json!({"licenseId": id, "extractedText": text, "name": text}))
            .collect::<Vec<_>>()
            .into();
    }
    doc
}
