//! The cleanup round (contract §2.7, §7.2), run by a worker as a `cleanup` job that the
//! scheduler ([`crate::schedule`]) enqueues: expired done/failed composes become removed and
//! their directories are deleted (unless a live compose reuses them); composes waiting or
//! generating too long are failed; reusing composes left generating follow the compose they
//! reuse; running jobs whose lease expired go back to the queue.

use std::path::Path;

use chrono::NaiveDateTime;

use crate::config::Settings;
use crate::db::composes as q;
use crate::db::models::Compose;
use crate::db::{DbError, DbPool, write_tx};
use crate::domain::State;
use crate::layout::compose_dir;

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub removed: Vec<i64>,
    pub failed_stuck: Vec<i64>,
    pub followed_reused: Vec<i64>,
    pub reaped_jobs: Vec<i64>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        *self == Report::default()
    }
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
    let mut logs_to_delete = Vec::new();
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
            // A failed (or reusing) compose's log lives beside the directories.
            logs_to_delete.push(crate::layout::live_log(
                &crate::layout::target_base(&removed, settings),
                removed.id,
            ));
            // The data lives in the directory of the compose that generated it (the reused
            // one); it goes once that compose and every compose reusing it are removed.
            let owner = match compose.reused_id {
                Some(rid) => q::get(c, rid)?,
                None => Some(removed),
            };
            if let Some(owner) = owner
                && owner.state == State::Removed.code()
                && q::reusing(c, owner.id)?
                    .iter()
                    .all(|r| r.state == State::Removed.code())
            {
                to_delete.push(compose_dir(&owner, settings));
            }
        }
        let stuck_before = now - chrono::Duration::seconds(settings.worker.stuck_wait_secs);
        for compose in q::waiting_since(c, stuck_before)? {
            // Compose row first, then its jobs (the lock order of `q::get_for_update`).
            let Some(compose) =
                q::get_for_update(c, compose.id)?.filter(|c| c.state == State::Wait.code())
            else {
                continue;
            };
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
        let stuck_before = now - chrono::Duration::seconds(settings.worker.stuck_generating_secs);
        for compose in q::generating_since(c, stuck_before)? {
            q::cancel_jobs(c, compose.id, now)?;
            let reason = format!(
                "Compose stuck in 'generating' state for longer than {} seconds.",
                settings.worker.stuck_generating_secs
            );
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
        for (compose, reused) in q::reusing_generating(c)? {
            if let Some(to @ (State::Done | State::Failed | State::Removed)) =
                State::from_code(reused.state)
            {
                q::transition(
                    c,
                    &compose,
                    to,
                    reused.state_reason.clone(),
                    now,
                    &settings.composes,
                )?;
                report.followed_reused.push(compose.id);
            }
        }
        report.reaped_jobs = crate::queue::reap_expired_leases(c, now)?;
        Ok(())
    })?;
    for log in logs_to_delete {
        let _ = std::fs::remove_file(log);
    }
    for dir in to_delete {
        delete_dir(&dir);
    }
    Ok(report)
}
