//! The log of a compose's generation: one line per fact, written while the compose runs and
//! served at `<toplevel_url>/pungi-stderr.log` from its first line on (the `odcs --watch`
//! client tails that URL with Range requests). The worker writes it through the engine's
//! [`Progress`] recorder; the API reads it back ([`parse`]) for the events stream.
//!
//! While the compose generates, and after it failed, the file is `.odcs-<N>.log` beside the
//! compose directories ([`layout::live_log`]); just before the tree is renamed into place the
//! same file is linked in as `odcs-<N>/pungi-stderr.log`, so lines written later (the final
//! state) land in both, and the `.odcs-<N>.log` name is dropped once the compose is done.
//!
//! Each line is `<UTC time, RFC 3339 with milliseconds> <LEVEL> [<topic>] <message>`; levels
//! are `INFO`, `WARNING` and `ERROR`; topics are the engine's phases (`pkgset`, `gather`,
//! `tree`, `repodata`, `metadata`, `publish`), `state` and `reuse`. A phase writes
//! `start` when it begins and `done: <items> <what> in <ms> ms` when it ends
//! (`docs/compose-log.md`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::engine::{EngineError, Level, LogProgress, PhaseDone, Progress};
use crate::layout;

/// The log file of one compose, open for appending.
pub struct ComposeLog {
    id: i64,
    path: PathBuf,
    file: Mutex<std::fs::File>,
    /// Each finished phase and how long it took, in order (for the metrics).
    phases: Mutex<Vec<(&'static str, Duration)>>,
}

/// What each phase's `items` count.
fn unit(phase: &str) -> &'static str {
    match phase {
        "pkgset" => "RPM files",
        "gather" => "RPMs selected",
        "tree" => "RPMs linked",
        "repodata" => "repositories",
        "metadata" => "files",
        "publish" => "RPMs",
        _ => "items",
    }
}

impl ComposeLog {
    /// Opens (creating, or appending to a previous attempt's) the log of compose `id` whose
    /// directory goes into `base`.
    pub fn open(base: &Path, id: i64) -> std::io::Result<Self> {
        std::fs::create_dir_all(base)?;
        let path = layout::live_log(base, id);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Self {
            id,
            path,
            file: Mutex::new(file),
            phases: Mutex::new(Vec::new()),
        })
    }

    /// Appends one line per line of `message` (each with the time, level and topic).
    pub fn line(&self, level: &str, topic: &str, message: &str) {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let mut text = String::new();
        for part in message.lines() {
            text.push_str(&format!("{now} {level} [{topic}] {part}\n"));
        }
        if text.is_empty() {
            text = format!("{now} {level} [{topic}]\n");
        }
        // One write per call (O_APPEND): a reader never sees half of a line written by two
        // writers interleaved. A full disk loses log lines, never the compose.
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = f.write_all(text.as_bytes()) {
            tracing::warn!(compose = self.id, error = %e, "cannot write the compose's log");
        }
    }

    pub fn info(&self, topic: &str, message: &str) {
        self.line("INFO", topic, message);
    }

    pub fn warning(&self, topic: &str, message: &str) {
        self.line("WARNING", topic, message);
    }

    pub fn error(&self, topic: &str, message: &str) {
        self.line("ERROR", topic, message);
    }

    /// The phases finished so far and their durations.
    pub fn phases(&self) -> Vec<(&'static str, Duration)> {
        self.phases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The compose is done and its directory holds the log: the `.odcs-<N>.log` name goes
    /// (the file lives on as `odcs-<N>/pungi-stderr.log`).
    pub fn published(&self, compose_dir: &Path) {
        if compose_dir.join(layout::LOG_NAME).exists() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Progress for ComposeLog {
    fn phase_start(&self, compose: i64, phase: &'static str) {
        LogProgress.phase_start(compose, phase);
        self.info(phase, "start");
    }

    fn phase_done(&self, d: &PhaseDone) {
        LogProgress.phase_done(d);
        self.phases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((d.phase, d.elapsed));
        self.info(
            d.phase,
            &format!(
                "done: {} {} in {} ms",
                d.items,
                unit(d.phase),
                d.elapsed.as_millis()
            ),
        );
    }

    fn note(&self, compose: i64, level: Level, phase: &'static str, message: &str) {
        LogProgress.note(compose, level, phase, message);
        match level {
            Level::Info => self.info(phase, message),
            Level::Warning => self.warning(phase, message),
        }
    }

    fn publishing(&self, root: &Path) -> Result<(), EngineError> {
        let to = root.join(layout::LOG_NAME);
        std::fs::hard_link(&self.path, &to)
            .or_else(|_| std::fs::copy(&self.path, &to).map(|_| ()))
            .map_err(|e| EngineError(format!("cannot put the log into {}: {e}", to.display())))
    }
}

/// One parsed line of a compose's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub time: &'a str,
    pub level: &'a str,
    pub topic: &'a str,
    pub message: &'a str,
}

/// A phase boundary a line records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseEvent {
    Start,
    Done { items: u64, ms: u64 },
}

/// The parts of a log line, `None` for a line not in the format.
pub fn parse(line: &str) -> Option<Line<'_>> {
    let (time, rest) = line.split_once(' ')?;
    let (level, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix('[')?;
    let (topic, message) = rest.split_once(']')?;
    Some(Line {
        time,
        level,
        topic,
        message: message.strip_prefix(' ').unwrap_or(message),
    })
}

impl Line<'_> {
    /// The phase boundary of a phase's line (`start`, `done: <items> <what> in <ms> ms`).
    pub fn phase_event(&self) -> Option<PhaseEvent> {
        if !matches!(
            self.topic,
            "pkgset" | "gather" | "tree" | "repodata" | "metadata" | "publish"
        ) {
            return None;
        }
        if self.message == "start" {
            return Some(PhaseEvent::Start);
        }
        let rest = self.message.strip_prefix("done: ")?;
        let (items, rest) = rest.split_once(' ')?;
        let ms = rest.strip_suffix(" ms")?.rsplit_once(" in ")?.1;
        Some(PhaseEvent::Done {
            items: items.parse().ok()?,
            ms: ms.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_written_parse_back_with_their_phase_events() {
        let dir = tempfile::tempdir().unwrap();
        let log = ComposeLog::open(dir.path(), 7).unwrap();
        log.phase_start(7, "pkgset");
        log.note(
            7,
            Level::Warning,
            "gather",
            "2 unresolved\nsecond line of it",
        );
        log.phase_done(&PhaseDone {
            compose: 7,
            phase: "repodata",
            items: 3,
            elapsed: Duration::from_millis(1234),
        });
        let text = std::fs::read_to_string(dir.path().join(".odcs-7.log")).unwrap();
        let lines: Vec<Line> = text.lines().map(|l| parse(l).unwrap()).collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(
            (lines[0].level, lines[0].topic, lines[0].message),
            ("INFO", "pkgset", "start")
        );
        assert_eq!(lines[0].phase_event(), Some(PhaseEvent::Start));
        assert_eq!(
            (lines[2].level, lines[2].message),
            ("WARNING", "second line of it")
        );
        assert_eq!(lines[1].phase_event(), None);
        assert_eq!(
            lines[3].message, "done: 3 repositories in 1234 ms",
            "{text}"
        );
        assert_eq!(
            lines[3].phase_event(),
            Some(PhaseEvent::Done { items: 3, ms: 1234 })
        );
        assert!(chrono::DateTime::parse_from_rfc3339(lines[0].time).is_ok());
        assert_eq!(
            log.phases(),
            vec![("repodata", Duration::from_millis(1234))]
        );
        assert_eq!(parse("not a log line"), None);
    }

    #[test]
    fn the_log_is_linked_into_the_tree_and_keeps_growing_there() {
        let dir = tempfile::tempdir().unwrap();
        let log = ComposeLog::open(dir.path(), 3).unwrap();
        log.info("state", "generating");
        let tree = dir.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        log.publishing(&tree).unwrap();
        log.info("state", "done");
        let published = std::fs::read_to_string(tree.join(layout::LOG_NAME)).unwrap();
        assert!(published.contains("[state] generating") && published.contains("[state] done"));
        log.published(&tree);
        assert!(!layout::live_log(dir.path(), 3).exists());
    }
}
