//! Where composes live on the compose mount (contract §2.6): the target directory of a compose,
//! its `odcs-<N>` directory, and the temporary directories generations build in
//! (`.odcs-<N>.tmp-<host>-<pid>`), with the sweep of those a dead process left behind, and
//! where a compose's log is while it has no directory (`.odcs-<N>.log`).
//! Below the engine, the worker and the cleanup round, which all need the same names.

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::db::models::Compose;

/// The directory a compose is generated in: its own `target_dir` or `composes.target_dir`.
pub fn target_base(c: &Compose, settings: &Settings) -> PathBuf {
    c.target_dir
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| settings.composes.target_dir.clone())
}

/// `odcs-<N>`: the name of compose `id`'s directory.
pub fn compose_name(id: i64) -> String {
    format!("odcs-{id}")
}

/// The directory a compose's data lives in.
pub fn compose_dir(c: &Compose, settings: &Settings) -> PathBuf {
    target_base(c, settings).join(compose_name(c.id))
}

/// The name of a compose's log in its directory, where ODCS has Pungi's stderr.
pub const LOG_NAME: &str = "pungi-stderr.log";

/// `.odcs-<N>.log` beside the compose directories: the log of compose `id` while it
/// generates (the directory does not exist yet), and of a failed compose, which has none.
/// A done compose's `odcs-<N>/pungi-stderr.log` is the same file, linked in before the
/// rename.
pub fn live_log(base: &Path, id: i64) -> PathBuf {
    base.join(format!(".{}.log", compose_name(id)))
}

/// `.odcs-<N>.tmp-<host>-<pid>`: where this process builds compose `id` before the rename.
pub fn temporary_name(id: i64, host: &str) -> String {
    format!(".{}.tmp-{host}-{}", compose_name(id), std::process::id())
}

/// Removes temporary directories left by killed generations: of compose `compose_id` (called
/// by the worker that took over its job, so their owners are gone or lost the lease), or, when
/// `None`, those of dead processes of host `host` (called at worker start). Returns how many.
pub fn clean_leftovers(base: &Path, compose_id: Option<i64>, host: &str) -> usize {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some((compose, owner)) = n
            .strip_prefix(".odcs-")
            .and_then(|rest| rest.split_once(".tmp-"))
        else {
            continue;
        };
        let stale = match compose_id {
            Some(id) => compose == id.to_string(),
            None => owner
                .rsplit_once('-')
                .filter(|(h, _)| *h == host)
                .and_then(|(_, pid)| pid.parse::<u32>().ok())
                .is_some_and(|pid| {
                    pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
                }),
        };
        if stale && std::fs::remove_dir_all(e.path()).is_ok() {
            tracing::info!(dir = %e.path().display(), "removed a leftover temporary directory");
            removed += 1;
        }
    }
    removed
}
