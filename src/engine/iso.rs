//! Phase 7, createiso (results `iso` and `boot.iso`): Pungi's DVD ISOs of a finished tree
//! (pungi.md §5.4). For each arch `Temporary/<arch>/iso/<compose id>-Temporary-<arch>-dvd1.iso`
//! of the `os` tree, and `Temporary/source/iso/<compose id>-Temporary-source-dvd1.iso` of
//! `source/tree`: Rock Ridge and Joliet, isomd5sum's MD5 implanted, next to each ISO its
//! `.manifest` (the sorted file list) and BSD-style `.SHA256SUM`, and a `SHA256SUM` per
//! directory. The writer is `engine.iso_writer`: `native` (the default, `crate::iso9660`:
//! one pass over the tree, the implanted MD5 computed while writing) or `xorriso` (Debian's
//! `xorriso -as mkisofs`, then `implantisomd5`). The ISOs are made at once, one thread each;
//! a cancel stops the writer between files and kills the tools. `boot.iso` is made by the
//! configured external command.

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

/// Makes the DVD ISO of each `os` tree below `variant` and of `source/tree`.
pub fn make_all(
    variant: &Path,
    arches: &[String],
    compose_id: &str,
    release_short: &str,
    writer: Writer,
    cancel: &Cancel,
) -> Result<Vec<ImageRecord>, EngineError> {
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
    let made: Vec<Result<ImageRecord, EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = discs
            .iter()
            .map(|d| scope.spawn(move || make_one(d, writer, cancel)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(EngineError("createiso thread panicked".into())))
            })
            .collect()
    });
    let images = made.into_iter().collect::<Result<Vec<_>, _>>()?;
    // One SHA256SUM per directory, of the ISOs in it.
    let mut per_dir: BTreeMap<&Path, String> = BTreeMap::new();
    for (d, img) in discs.iter().zip(&images) {
        per_dir
            .entry(&d.iso_dir)
            .or_default()
            .push_str(&checksum_lines(&d.file_name, img));
    }
    for (dir, text) in per_dir {
        let p = dir.join("SHA256SUM");
        std::fs::write(&p, text).map_err(|e| EngineError(format!("{}: {e}", p.display())))?;
    }
    Ok(images)
}

/// `# <name>: <size> bytes` and `SHA256 (<name>) = <hex>`.
fn checksum_lines(name: &str, img: &ImageRecord) -> String {
    format!(
        "# {name}: {} bytes\nSHA256 ({name}) = {}\n",
        img.size, img.checksums["sha256"]
    )
}

fn make_one(d: &Disc, writer: Writer, cancel: &Cancel) -> Result<ImageRecord, EngineError> {
    let io = |p: &Path, e: std::io::Error| EngineError(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(&d.iso_dir).map_err(|e| io(&d.iso_dir, e))?;
    let iso = d.iso_dir.join(&d.file_name);
    let step = format!("createiso {}", d.file_name);
    let (implant_md5, sha256, size, manifest) = match writer {
        Writer::Native => {
            let opts = iso9660::Options {
                volume_id: &d.volume_id,
                system_id: "LINUX",
                application_id: "COMPOSED",
                implant_md5: true,
                created: chrono::Utc::now().timestamp(),
            };
            let written = iso9660::write(&d.tree, &iso, &opts, &|| cancel.is_cancelled());
            cancel.check()?;
            let w = written.map_err(|e| EngineError(format!("{step}: {e}")))?;
            let mut manifest = w.paths.join("\n");
            manifest.push('\n');
            (
                w.implanted_md5.unwrap_or_default(),
                w.sha256,
                w.size,
                manifest,
            )
        }
        Writer::Xorriso => {
            let implant_md5 = xorriso(d, &iso, &step, cancel)?;
            cancel.check()?;
            let (sha256, size) = sha256_file(&iso)?;
            (
                implant_md5,
                sha256,
                size,
                manifest(&d.tree).map_err(|e| io(&d.tree, e))?,
            )
        }
    };
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
