//! Periodic cleanup (contract §2.7, §7.2): expired done/failed composes become removed and
//! their directories are deleted; composes waiting too long are failed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::config::Settings;
use crate::db::composes as q;
use crate::db::models::Compose;
use crate::db::{DbError, DbPool, write_tx};
use crate::domain::State;

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub removed: Vec<i64>,
    pub failed_stuck: Vec<i64>,
}

/// The directory a compose's data lives in.
pub fn compose_dir(c: &Compose, settings: &Settings) -> std::path::PathBuf {
    let base = c
        .target_dir
        .as_ref()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| settings.composes.target_dir.clone());
    base.join(format!("odcs-{}", c.id))
}

fn removal_reason(c: &Compose) -> String {
    let tail = match &c.removed_by {
        Some(by) => format!("Removed by {by}."),
        None => "Compose is expired.".to_string(),
    };
    match &c.state_reason {
        Some(prev) => format!("{prev}\n{tail}"),
        None => tail,
    }
}

fn delete_dir(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if let Ok(target) = std::fs::read_link(path) {
                let target = path.parent().map(|p| p.join(&target)).unwrap_or(target);
                if let Err(e) = std::fs::remove_dir_all(&target)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(dir = %target.display(), error = %e, "Cannot remove some files");
                }
            }
            let _ = std::fs::remove_file(path);
        }
        Ok(_) => {
            if let Err(e) = std::fs::remove_dir_all(path) {
                tracing::warn!(dir = %path.display(), error = %e, "Cannot remove some files");
            }
        }
        Err(_) => tracing::debug!(dir = %path.display(), "compose directory already gone"),
    }
}

/// One cleanup round at time `now`.
pub fn run_once(pool: &DbPool, settings: &Settings, now: NaiveDateTime) -> Result<Report, DbError> {
    let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
    let mut report = Report::default();
    let mut to_delete = Vec::new();
    write_tx(&mut conn, |c| -> Result<(), DbError> {
        for compose in q::expired(c, now, 500)? {
            let removed = q::transition(
                c,
                &compose,
                State::Removed,
                Some(removal_reason(&compose)),
                now,
                &settings.composes,
            )?;
            report.removed.push(removed.id);
            // Data of a reused compose stays while a compose reusing it is alive.
            let live_users = q::reusing(c, compose.id)?
                .iter()
                .any(|r| r.state != State::Removed.code());
            if compose.reused_id.is_none() && !live_users {
                to_delete.push(compose_dir(&compose, settings));
            }
        }
        let stuck_before = now - chrono::Duration::seconds(settings.worker.stuck_wait_secs);
        for compose in q::waiting_since(c, stuck_before)? {
            q::cancel_jobs(c, compose.id, now)?;
            let days = settings.worker.stuck_wait_secs as f64 / 86_400.0;
            let reason = format!("Compose stuck in 'wait' state for longer than {days} days.");
            q::transition(
                c,
                &compose,
                State::Failed,
                Some(reason),
                now,
                &settings.composes,
            )?;
            report.failed_stuck.push(compose.id);
        }
        Ok(())
    })?;
    for dir in to_delete {
        delete_dir(&dir);
    }
    Ok(report)
}

/// Runs [`run_once`] every `worker.cleanup_interval_secs`.
pub async fn run_forever(pool: DbPool, settings: Arc<Settings>) {
    let mut tick = tokio::time::interval(Duration::from_secs(
        settings.worker.cleanup_interval_secs.max(1),
    ));
    loop {
        tick.tick().await;
        let (p, s) = (pool.clone(), settings.clone());
        match tokio::task::spawn_blocking(move || run_once(&p, &s, crate::db::now())).await {
            Ok(Ok(r)) if r != Report::default() => {
                tracing::info!(removed = ?r.removed, failed = ?r.failed_stuck, "cleanup round")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cleanup round failed"),
            Err(e) => tracing::error!(error = %e, "cleanup task panicked"),
        }
    }
}
