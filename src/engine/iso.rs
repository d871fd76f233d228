//! Phase 7, createiso (results `iso` and `boot.iso`): Pungi's DVD ISOs of a finished tree
//! (pungi.md §5.4). For each arch `Temporary/<arch>/iso/<compose id>-Temporary-<arch>-dvd1.iso`
//! of the `os` tree, and `Temporary/source/iso/<compose id>-Temporary-source-dvd1.iso` of
//! `source/tree`: Rock Ridge and Joliet, isomd5sum's MD5 implanted, next to each ISO its
//! `.manifest` (the sorted file list) and BSD-style `.SHA256SUM`, and a `SHA256SUM` per
//! directory. The writer is `engine.iso_writer`: `native` (the default, `crate::iso9660`,
//! the implanted MD5 computed while writing) or `xorriso` (Debian's `xorriso -as mkisofs`,
//! then `implantisomd5`). The native ISOs are started in the tree phase ([`start_all`]: the
//! volume descriptors and the packages' data, while the links, repodata and metadata are
//! made) and finished here with the rest of the tree; an ISO whose tree turned out
//! otherwise is written again in one pass. The ISOs are made at once, one thread each; a
//! cancel stops the writers between files and kills the tools. `boot.iso` is made by the
//! configured external command (and with it the ISOs are made after it, in one pass).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::base::{Cancel, EngineError, run_tool, sha256_file};
use super::metadata::ImageRecord;
use super::tree::VARIANT;
use crate::iso9660;

/// Padding after the file system: isomd5sum 1.2.3's `checkisomd5` fails images under about
/// 700 KiB (its last fragment runs into the skipped sectors), so every ISO is at least 1 MiB.
const PADDING: &str = "1m";

/// ISO 9660 volume ids have at most 32 characters.
const VOLID_MAX: usize = 32;

/// One ISO to make.
struct Disc {
    /// The tree put on the disc.
    tree: PathBuf,
    /// Where the ISO goes.
    iso_dir: PathBuf,
    file_name: String,
    volume_id: String,
    /// `x86_64`, or `src`.
    arch: String,
    /// Path of `iso_dir` relative to `compose/`.
    rel_dir: String,
    under: Option<String>,
}

/// `<release short>-<version> Temporary.<arch>`, cut to 32 characters.
pub fn volume_id(release_short: &str, arch: &str) -> String {
    format!("{release_short}-1 {VARIANT}.{arch}")
        .chars()
        .take(VOLID_MAX)
        .collect()
}

/// Which program writes the ISOs (`engine.iso_writer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Native,
    Xorriso,
}

impl Writer {
    /// The setting's value; `None` for anything but `native` and `xorriso`.
    pub fn parse(s: &str) -> Option<Writer> {
        match s {
            "native" => Some(Writer::Native),
            "xorriso" => Some(Writer::Xorriso),
            _ => None,
        }
    }
}

/// The DVD ISOs of a compose: of each `os` tree below `variant` and of `source/tree`.
fn discs(variant: &Path, arches: &[String], compose_id: &str, release_short: &str) -> Vec<Disc> {
    let mut discs: Vec<Disc> = arches
        .iter()
        .map(|a| Disc {
            tree: variant.join(a).join("os"),
            iso_dir: variant.join(a).join("iso"),
            file_name: format!("{compose_id}-{VARIANT}-{a}-dvd1.iso"),
            volume_id: volume_id(release_short, a),
            arch: a.clone(),
            rel_dir: format!("{VARIANT}/{a}/iso"),
            under: Some(a.clone()),
        })
        .collect();
    discs.push(Disc {
        tree: variant.join("source/tree"),
        iso_dir: variant.join("source/iso"),
        file_name: format!("{compose_id}-{VARIANT}-source-dvd1.iso"),
        volume_id: volume_id(release_short, "src"),
        arch: "src".into(),
        rel_dir: format!("{VARIANT}/source/iso"),
        under: None,
    });
    discs
}

/// Makes the DVD ISO of each `os` tree below `variant` and of `source/tree`.
pub fn make_all(
    variant: &Path,
    arches: &[String],
    compose_id: &str,
    release_short: &str,
    writer: Writer,
    cancel: &Cancel,
) -> Result<Vec<ImageRecord>, EngineError> {
    let discs = discs(variant, arches, compose_id, release_short);
    let images = at_once(discs.iter(), |d| make_one(d, writer, cancel))?;
    sum_dirs(&discs, &images)?;
    Ok(images)
}

/// `make` of each item at once, one thread each.
fn at_once<I: Send, T: Send>(
    items: impl IntoIterator<Item = I>,
    make: impl Fn(I) -> Result<T, EngineError> + Sync,
) -> Result<Vec<T>, EngineError> {
    let make = &make;
    let made: Vec<Result<T, EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|d| scope.spawn(move || make(d)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(EngineError("createiso thread panicked".into())))
            })
            .collect()
    });
    made.into_iter().collect()
}

/// The ISOs of a tree still being made (results `iso`, the native writer): each started
/// with the packages of its tree as soon as the tree's plan is known, while the tree's links,
/// repodata and metadata are written, and finished by [`Early::finish`] once the tree is
/// whole.
pub struct Early {
    discs: Vec<(Disc, iso9660::Started)>,
}

/// Starts the ISO of each `os` tree of `plan` and of its `source/tree` with the packages
/// each will hold. The volume descriptors need the image's size before the repodata
/// exists: it is allowed 64 KiB and a quarter of the packages' header bytes (createrepo_c's
/// repodata of 2,000 rpmbuild-made RPMs is a tenth of them); a tree that needs more is
/// written again in full by [`Early::finish`].
pub fn start_all(
    variant: &Path,
    plan: &super::tree::Plan<'_>,
    compose_id: &str,
    release_short: &str,
    cancel: &Cancel,
) -> Result<Early, EngineError> {
    let arches: Vec<String> = plan.arches.iter().map(|a| a.arch.to_string()).collect();
    let mut started = Vec::new();
    for d in discs(variant, &arches, compose_id, release_short) {
        let repo = plan
            .arches
            .iter()
            .find(|a| a.arch == d.arch)
            .map_or(&plan.source, |a| &a.os);
        let mut early = Vec::with_capacity(repo.pkgs.len());
        let mut headers = 0;
        for s in &repo.pkgs {
            let (size, mtime) = s.cand.stat.as_ref().map_or_else(
                || (s.pkg.size_package(), s.pkg.time_file()),
                |st| (st.size, st.mtime),
            );
            early.push(iso9660::Early {
                rel: s.pkg.location_href().to_string(),
                disk: s.cand.path.clone(),
                size,
                mtime: mtime as i64,
            });
            let r = s.pkg.rpm_header_range();
            headers += r.end.saturating_sub(r.start);
        }
        // What the tree phases add besides the packages: the repodata directory and the
        // media files of the metadata phase.
        let expected = iso9660::Expected {
            dirs: &[super::repodata::DIR],
            files: &super::metadata::MEDIA_FILES,
            late_bytes: 64 * 1024 + headers / 4,
        };
        std::fs::create_dir_all(&d.iso_dir)
            .map_err(|e| EngineError(format!("{}: {e}", d.iso_dir.display())))?;
        let flag = cancel.clone();
        let s = iso9660::start(
            &d.iso_dir.join(&d.file_name),
            &native_options(&d),
            early,
            &expected,
            std::sync::Arc::new(move || flag.is_cancelled()),
        )
        .map_err(|e| EngineError(format!("createiso {}: {e}", d.file_name)))?;
        started.push((d, s));
    }
    Ok(Early { discs: started })
}

impl Early {
    /// Completes each ISO with its whole tree, at once; an ISO whose tree differs from the
    /// one it was started with is written again in full (and said in the returned notes).
    pub fn finish(self, cancel: &Cancel) -> Result<(Vec<ImageRecord>, Vec<String>), EngineError> {
        let made = at_once(self.discs, |(d, started)| {
            let step = format!("createiso {}", d.file_name);
            let finished = started.finish(&d.tree, &|| cancel.is_cancelled());
            cancel.check()?;
            let (image, note) = match finished.map_err(|e| EngineError(format!("{step}: {e}")))? {
                iso9660::Finished::Written(w) => (native_record(&d, w)?, None),
                iso9660::Finished::Differs(why) => (
                    make_one(&d, Writer::Native, cancel)?,
                    Some(format!("{}: written again in full ({why})", d.file_name)),
                ),
            };
            Ok((d, image, note))
        })?;
        let mut discs = Vec::new();
        let mut images = Vec::new();
        let mut notes = Vec::new();
        for (d, image, note) in made {
            discs.push(d);
            images.push(image);
            notes.extend(note);
        }
        sum_dirs(&discs, &images)?;
        Ok((images, notes))
    }
}

/// One `SHA256SUM` per ISO directory, of the ISOs in it.
fn sum_dirs(discs: &[Disc], images: &[ImageRecord]) -> Result<(), EngineError> {
    let mut per_dir: BTreeMap<&Path, String> = BTreeMap::new();
    for (d, img) in discs.iter().zip(images) {
        per_dir
            .entry(&d.iso_dir)
            .or_default()
            .push_str(&checksum_lines(&d.file_name, img));
    }
    for (dir, text) in per_dir {
        let p = dir.join("SHA256SUM");
        std::fs::write(&p, text).map_err(|e| EngineError(format!("{}: {e}", p.display())))?;
    }
    Ok(())
}

/// `# <name>: <size> bytes` and `SHA256 (<name>) = <hex>`.
fn checksum_lines(name: &str, img: &ImageRecord) -> String {
    format!(
        "# {name}: {} bytes\nSHA256 ({name}) = {}\n",
        img.size, img.checksums["sha256"]
    )
}

fn native_options(d: &Disc) -> iso9660::Options {
    iso9660::Options {
        volume_id: d.volume_id.clone(),
        system_id: "LINUX".into(),
        application_id: "COMPOSED".into(),
        implant_md5: true,
        created: chrono::Utc::now().timestamp(),
    }
}

/// The record of an ISO the native writer wrote, its manifest and `.SHA256SUM` beside it.
fn native_record(d: &Disc, w: iso9660::Written) -> Result<ImageRecord, EngineError> {
    let mut manifest = w.paths.join("\n");
    manifest.push('\n');
    let implant_md5 = w.implanted_md5.unwrap_or_default();
    record(d, implant_md5, w.sha256, w.size, manifest)
}

fn make_one(d: &Disc, writer: Writer, cancel: &Cancel) -> Result<ImageRecord, EngineError> {
    let io = |p: &Path, e: std::io::Error| EngineError(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(&d.iso_dir).map_err(|e| io(&d.iso_dir, e))?;
    let iso = d.iso_dir.join(&d.file_name);
    let step = format!("createiso {}", d.file_name);
    match writer {
        Writer::Native => {
            let written =
                iso9660::write(&d.tree, &iso, &native_options(d), &|| cancel.is_cancelled());
            cancel.check()?;
            native_record(d, written.map_err(|e| EngineError(format!("{step}: {e}")))?)
        }
        Writer::Xorriso => {
            let implant_md5 = xorriso(d, &iso, &step, cancel)?;
            cancel.check()?;
            let (sha256, size) = sha256_file(&iso)?;
            let manifest = manifest(&d.tree).map_err(|e| io(&d.tree, e))?;
            record(d, implant_md5, sha256, size, manifest)
        }
    }
}

/// Writes the `.manifest` and `.SHA256SUM` of the ISO `d`; its record.
fn record(
    d: &Disc,
    implant_md5: String,
    sha256: String,
    size: u64,
    manifest: String,
) -> Result<ImageRecord, EngineError> {
    let io = |p: &Path, e: std::io::Error| EngineError(format!("{}: {e}", p.display()));
    let iso = d.iso_dir.join(&d.file_name);
    let mtime = std::fs::metadata(&iso)
        .and_then(|m| m.modified())
        .map_err(|e| io(&iso, e))?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_secs() as i64)
        .unwrap_or_default();
    let manifest_path = d.iso_dir.join(format!("{}.manifest", d.file_name));
    std::fs::write(&manifest_path, manifest).map_err(|e| io(&manifest_path, e))?;
    let img = ImageRecord {
        arch: d.arch.clone(),
        bootable: false,
        checksums: BTreeMap::from([("sha256", sha256)]),
        disc_count: 1,
        disc_number: 1,
        format: "iso",
        implant_md5: Some(implant_md5),
        manifests: vec![],
        mtime,
        path: format!("{}/{}", d.rel_dir, d.file_name),
        size,
        subvariant: VARIANT,
        kind: "dvd",
        volume_id: Some(d.volume_id.clone()),
        under: d.under.clone(),
    };
    let sum_path = d.iso_dir.join(format!("{}.SHA256SUM", d.file_name));
    std::fs::write(&sum_path, checksum_lines(&d.file_name, &img)).map_err(|e| io(&sum_path, e))?;
    Ok(img)
}

/// The ISO by `xorriso -as mkisofs` and `implantisomd5`; returns the MD5 implanted.
fn xorriso(d: &Disc, iso: &Path, step: &str, cancel: &Cancel) -> Result<String, EngineError> {
    let mut mkisofs = Command::new("xorriso");
    mkisofs
        .args(["-as", "mkisofs", "-untranslated-filenames", "-volid"])
        .arg(&d.volume_id)
        .args([
            "-J",
            "-joliet-long",
            "-rational-rock",
            "-input-charset",
            "utf-8",
            "-o",
        ])
        .arg(iso)
        .arg(&d.tree)
        .args(["--", "-padding", PADDING]);
    run_tool(step, &mut mkisofs, cancel)?;
    run_tool(step, Command::new("implantisomd5").arg(iso), cancel)?;
    let printed = run_tool(
        step,
        Command::new("checkisomd5").arg("--md5sumonly").arg(iso),
        cancel,
    )?;
    printed
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .filter(|m| m.len() == 32 && m.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| EngineError(format!("{step}: checkisomd5 printed no MD5: {printed}")))
}

/// Every directory and file of `tree` as `/<path>`, sorted bytewise, one a line: what
/// `isoinfo -R -f` lists of the ISO made from it (Pungi's manifest; no `TRANS.TBL` files, as
/// xorriso writes none).
pub fn manifest(tree: &Path) -> std::io::Result<String> {
    let mut paths = Vec::new();
    let mut stack = vec![(tree.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = format!("{rel}/{name}");
            if e.file_type()?.is_dir() {
                stack.push((e.path(), path.clone()));
            }
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = paths.join("\n");
    out.push('\n');
    Ok(out)
}

/// `boot.iso` of each arch by the configured command (`composes.boot_iso_command`), called
/// as `<command...> <os tree> <output iso> <volume id>`; it must write the ISO, and a non-zero
/// exit fails the compose with its last lines. The ISO goes to `Temporary/<arch>/os/images/`.
pub fn make_boot_isos(
    command: &[String],
    variant: &Path,
    arches: &[String],
    release_short: &str,
    cancel: &Cancel,
) -> Result<Vec<ImageRecord>, EngineError> {
    let Some((program, args)) = command.split_first() else {
        return Err(EngineError(
            "boot.iso: composes.boot_iso_command is not set".into(),
        ));
    };
    let mut out = Vec::new();
    for a in arches {
        let tree = variant.join(a).join("os");
        let images = tree.join("images");
        std::fs::create_dir_all(&images)
            .map_err(|e| EngineError(format!("{}: {e}", images.display())))?;
        let iso = images.join("boot.iso");
        let volume_id = volume_id(release_short, a);
        run_tool(
            &format!("buildinstall {a}"),
            Command::new(program)
                .args(args)
                .arg(&tree)
                .arg(&iso)
                .arg(&volume_id),
            cancel,
        )?;
        if !iso.is_file() {
            return Err(EngineError(format!(
                "buildinstall {a}: {program} exited 0 but wrote no {}",
                iso.display()
            )));
        }
        let (sha256, size) = sha256_file(&iso)?;
        out.push(ImageRecord {
            arch: a.clone(),
            bootable: true,
            checksums: BTreeMap::from([("sha256", sha256)]),
            disc_count: 1,
            disc_number: 1,
            format: "iso",
            implant_md5: None,
            manifests: vec![],
            mtime: chrono::Utc::now().timestamp(),
            path: format!("{VARIANT}/{a}/os/images/boot.iso"),
            size,
            subvariant: VARIANT,
            kind: "boot",
            volume_id: Some(volume_id),
            under: Some(a.clone()),
        });
    }
    Ok(out)
}
