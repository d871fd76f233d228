//! Phase 4, repodata: the `repodata/` of each repository of the plan (primary, filelists and
//! other compressed each on its own thread by the vendored `rpmrepo_metadata`, which records
//! their open checksums while writing), from each package's XML rendered once per process. The
//! packages are linked by the tree phase meanwhile ([`super::tree::link_all`]). A repository
//! of a compose with modules also gets its `modules.yaml` as the `modules` record, as
//! `modifyrepo_c --mdtype=modules` adds it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rpmrepo_metadata::{
    ChecksumType, CompressionType, PackageXml, RepomdRecord, RepositoryOptions, RepositoryWriter,
};

use super::base::{Cancel, EngineError, on_every_core};
use super::gather::Selected;
use super::tree::Plan;
use crate::config::EngineSettings;

/// Where a repository's `modules.yaml` goes (below the repository).
pub const MODULES_HREF: &str = "repodata/modules.yaml.gz";
/// The directory of a repository's metadata.
pub const DIR: &str = "repodata";

/// Writes every repository of `plan` below `variant`, with the `modules.yaml` text of the
/// repositories `modules` names (by their path below the variant); returns how many.
pub fn write_all(
    variant: &Path,
    plan: &Plan<'_>,
    modules: &BTreeMap<String, String>,
    settings: &EngineSettings,
    cancel: &Cancel,
) -> Result<usize, EngineError> {
    rpmrepo_metadata::utils::set_compression_level(settings.repodata_compression_level);
    let compression = if settings.repodata_compression == "zstd" {
        CompressionType::Zstd
    } else {
        CompressionType::Gzip
    };
    let mut n = 0;
    for repo in plan.repos() {
        write_repo(
            &variant.join(&repo.rel),
            &repo.pkgs,
            modules.get(&repo.rel).map(String::as_str),
            compression,
            cancel,
        )?;
        n += 1;
    }
    Ok(n)
}

/// The XML of each package, in order.
fn rendered<'a>(pkgs: &[&'a Selected]) -> Result<Vec<&'a PackageXml>, EngineError> {
    let parts = on_every_core(pkgs, |part| {
        part.iter()
            .map(|s| s.pkg.xml().map_err(EngineError))
            .collect::<Result<Vec<_>, _>>()
    });
    let mut out = Vec::with_capacity(pkgs.len());
    for p in parts {
        out.extend(p.map_err(|_| EngineError("metadata renderer panicked".into()))??);
    }
    Ok(out)
}

fn write_repo(
    dir: &Path,
    pkgs: &[&Selected],
    modules_yaml: Option<&str>,
    compression: CompressionType,
    cancel: &Cancel,
) -> Result<(), EngineError> {
    let err = |e: &dyn std::fmt::Display| EngineError(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir.join("Packages")).map_err(|e| err(&e))?;
    let opts = RepositoryOptions::default()
        .compression_type(compression)
        .checksum_type(ChecksumType::Sha256);
    let mut w = RepositoryWriter::new_with_options(dir, pkgs.len(), opts).map_err(|e| err(&e))?;
    let mut sorted: Vec<&Selected> = pkgs.to_vec();
    sorted.sort_by_key(|s| s.pkg.nvra());
    // Each package's XML, rendered once per process (on every core the first time), then
    // copied in batches, checking for cancellation between batches.
    let xml = rendered(&sorted)?;
    for batch in xml.chunks(1024) {
        cancel.check()?;
        w.add_rendered(batch).map_err(|e| err(&e))?;
    }
    if let Some(text) = modules_yaml {
        let path = dir.join(MODULES_HREF);
        std::fs::create_dir_all(dir.join(DIR)).map_err(|e| err(&e))?;
        let f = std::fs::File::create(&path).map_err(|e| err(&e))?;
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        gz.write_all(text.as_bytes()).map_err(|e| err(&e))?;
        gz.finish().map_err(|e| err(&e))?;
        let record = RepomdRecord::new(
            "modules",
            Path::new(MODULES_HREF),
            dir,
            ChecksumType::Sha256,
        )
        .map_err(|e| err(&e))?;
        w.repomd_mut().add_record(record);
    }
    w.finish().map_err(|e| err(&e))?;
    Ok(())
}
