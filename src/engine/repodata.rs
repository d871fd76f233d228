//! Phase 4, repodata: each repository of the plan gets its packages linked (on one thread) while
//! its `repodata/` is written (primary, filelists and other compressed each on its own thread by
//! the vendored `rpmrepo_metadata`, which records their open checksums while writing).

use std::path::Path;

use rpmrepo_metadata::{
    ChecksumType, CompressionType, Package, RepositoryOptions, RepositoryWriter,
};

use super::base::{Cancel, EngineError};
use super::gather::Selected;
use super::tree::{self, Plan};
use crate::config::EngineSettings;

/// Writes every repository of `plan` below `variant`; returns how many.
pub fn write_all(
    variant: &Path,
    plan: &Plan<'_>,
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
        write_repo(&variant.join(&repo.rel), &repo.pkgs, compression, cancel)?;
        n += 1;
    }
    Ok(n)
}

fn write_repo(
    dir: &Path,
    pkgs: &[&Selected],
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
    // Links in one thread while the metadata is written in this one.
    let linked = std::thread::scope(|scope| {
        let linker = scope.spawn(|| tree::link_packages(dir, &sorted, cancel));
        // Metadata in batches (primary, filelists and other on their own threads), checking
        // for cancellation between batches.
        let pkgs: Vec<&Package> = sorted.iter().map(|s| &*s.pkg).collect();
        let mut written = Ok(());
        for batch in pkgs.chunks(1024) {
            if let Err(e) = cancel.check() {
                written = Err(e);
                break;
            }
            if let Err(e) = w.add_packages(batch) {
                written = Err(err(&e));
                break;
            }
        }
        let links = linker
            .join()
            .unwrap_or_else(|_| Err(EngineError("linking thread panicked".into())));
        written.and(links)
    });
    linked?;
    w.finish().map_err(|e| err(&e))?;
    Ok(())
}
