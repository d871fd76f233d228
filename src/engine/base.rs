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

/// Runs an external tool of a phase (xorriso, implantisomd5, dnf, mke2fs, qemu-img) to its
/// end, in a process group of its own that is killed whole when `cancel` is set. Its standard
/// output is returned; a failure names `step` and carries the tool's last lines.
pub(crate) fn run_tool(
    step: &str,
    cmd: &mut std::process::Command,
    cancel: &Cancel,
) -> Result<String, EngineError> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| EngineError(format!("{step}: cannot run {program}: {e}")))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = loop {
        if cancel.is_cancelled() {
            if let Some(group) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            return fail("Compose generation was canceled.");
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return fail(format!("{step}: waiting for {program}: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let text = format!("{stderr}\n{stdout}");
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(8)..].join("\n");
        return fail(format!("{step} failed ({program}, {status}):\n{tail}"));
    }
    Ok(stdout)
}

/// The SHA-256 of a file, read in 1 MiB pieces; with its size.
pub(crate) fn sha256_file(path: &std::path::Path) -> Result<(String, u64), EngineError> {
    use sha2::Digest;
    use std::io::Read;
    let io = |e: std::io::Error| EngineError(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}
