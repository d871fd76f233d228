//! What every phase of the engine stands on: the compose failure, the cancellation flag, the
//! progress recorder, the per-core fan-out, and readers of the compose row's fields.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::db::models::Compose;
use crate::domain::Flag;

/// A compose failure; the text becomes the compose's `state_reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

impl From<crate::koji::KojiError> for EngineError {
    fn from(e: crate::koji::KojiError) -> Self {
        EngineError(format!("Koji connection has failed: {e}"))
    }
}

pub(crate) fn fail<T>(m: impl Into<String>) -> Result<T, EngineError> {
    Err(EngineError(m.into()))
}

/// A cancellation flag shared by the worker (which sets it) and the engine (which checks it
/// between files, and never renames a canceled tree into place).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn check(&self) -> Result<(), EngineError> {
        if self.is_cancelled() {
            return fail("Compose generation was canceled.");
        }
        Ok(())
    }

    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        while !self.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One finished phase of one compose's generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseDone {
    pub compose: i64,
    /// `pkgset`, `gather`, `repodata`, `metadata`, `publish`.
    pub phase: &'static str,
    /// What the phase handed on: candidate RPM files, selected RPMs, repositories, files.
    pub items: usize,
    pub elapsed: Duration,
}

/// How much a note matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
}

/// Where the engine reports its progress; the caller decides what recording means.
pub trait Progress: Send + Sync {
    /// A phase of compose `compose` starts.
    fn phase_start(&self, compose: i64, phase: &'static str);
    fn phase_done(&self, done: &PhaseDone);
    /// A fact worth a line of the compose's log: what was resolved, what was tolerated.
    fn note(&self, compose: i64, level: Level, phase: &'static str, message: &str);
    /// The tree at `root` is complete and about to be renamed into place: the recorder may
    /// add its own files to it (the compose's log).
    fn publishing(&self, _root: &std::path::Path) -> Result<(), EngineError> {
        Ok(())
    }
}

/// Progress as log lines (`engine phase done`, with the compose, phase, items and ms).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogProgress;

impl Progress for LogProgress {
    fn phase_start(&self, compose: i64, phase: &'static str) {
        tracing::debug!(compose, phase, "engine phase starts");
    }

    fn phase_done(&self, d: &PhaseDone) {
        tracing::info!(
            compose = d.compose,
            phase = d.phase,
            items = d.items,
            ms = d.elapsed.as_millis() as u64,
            "engine phase done"
        );
    }

    fn note(&self, compose: i64, level: Level, phase: &'static str, message: &str) {
        match level {
            Level::Info => tracing::info!(compose, phase, "{message}"),
            Level::Warning => tracing::warn!(compose, phase, "{message}"),
        }
    }
}

/// Runs `f` on `items` cut into one chunk per core (at most 8), each on a scoped thread; the
/// chunks' results in order (`Err` for a chunk whose thread panicked).
pub(crate) fn on_every_core<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<std::thread::Result<R>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    })
}

pub(crate) fn has_flag(c: &Compose, f: Flag) -> bool {
    c.flags & f.code() != 0
}

/// A space-separated field as its words.
pub(crate) fn split(s: &Option<String>) -> Vec<String> {
    s.as_deref().map(words).unwrap_or_default()
}

pub(crate) fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}
