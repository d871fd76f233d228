//! The change generation of the `composes` table: a number that moves past every committed
//! change of a compose row, so a reader can tell whether what it derived from the table earlier
//! is still current (the API's response cache, `crate::web::cache`); and, per compose, the
//! generation of its last change, so that what was derived from one row stays current while
//! only other rows change.
//!
//! Three sources move it, each naming the compose it changed:
//! - **this process's writes**: every function that writes a compose row calls
//!   [`touched_compose`] after its statement; inside [`crate::db::write_tx`] the bump waits for
//!   the commit, outside it happens at once. A bump never precedes the commit it reports, so a
//!   reader that took the generation before reading cannot store an old row under a new
//!   generation.
//! - **other processes on PostgreSQL**: a row trigger on `composes` notifies [`PG_CHANNEL`]
//!   with the row's id (delivered at commit; `TRUNCATE` notifies without one);
//!   [`spawn_watcher`] listens and bumps.
//! - **other processes on SQLite**: a trigger appends each changed id to `compose_changes`
//!   (which prunes itself to its last 10,000 rows); [`spawn_watcher`] polls
//!   `PRAGMA data_version`, which moves when another connection commits, and then reads the new
//!   rows.
//!
//! A change whose compose is unknown (a gap in `compose_changes`, a `TRUNCATE`, a deleted row,
//! the watcher (re)connecting) is a **reset**: everything derived before is stale.
//!
//! [`changed_since`] lists the composes changed after a generation, from a bounded log: what
//! the API's index of compose ids (`crate::web::cache`) is kept current with.
//!
//! A [`Watch`] says whether the cross-process source is live. While it is not (not yet
//! connected, the connection lost, or no look within [`FRESH`]), nothing may be served from a
//! cache.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use diesel::connection::Connection;
use diesel::{QueryableByName, RunQueryDsl};

use super::backend::Backend;
use super::listen::{pg_listen, pg_notified};

/// The PostgreSQL notification channel of compose changes (migration `change_notify`).
pub const PG_CHANNEL: &str = "composed_composes";

/// How often the watcher looks for other processes' changes: the bound on how long a change
/// committed by another process may go unseen by this one.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(2);

static GENERATION: AtomicU64 = AtomicU64::new(1);
/// Moves on every reset (a change whose compose is unknown).
static RESET: AtomicU64 = AtomicU64::new(1);

/// Compose id → the generation of its last change seen by this process.
type LastChange = HashMap<i64, u64, ahash::RandomState>;

fn last_change() -> &'static RwLock<LastChange> {
    static LAST: std::sync::OnceLock<RwLock<LastChange>> = std::sync::OnceLock::new();
    LAST.get_or_init(Default::default)
}

/// Past this many ids the map starts over (with a reset): a bound on its memory.
const MAX_TRACKED: usize = 1 << 20;

thread_local! {
    /// Depth of `write_tx` on this thread (a pooled connection is used by one thread at a time).
    static TX_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The composes the open write transaction changed.
    static TOUCHED: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
}

/// The current generation. Take it *before* reading what will be cached.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// The current reset epoch. Take it, with [`generation`], before reading.
pub fn reset_epoch() -> u64 {
    RESET.load(Ordering::Acquire)
}

/// A reset: everything derived before is stale.
pub fn bump() {
    RESET.fetch_add(1, Ordering::AcqRel);
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The last [`LOG_CAP`] compose changes in order, as (generation, compose id): what
/// [`changed_since`] answers from.
#[derive(Debug, Default)]
struct ChangeLog {
    entries: std::collections::VecDeque<(u64, i64)>,
    /// Every change of a generation above this one is in `entries`.
    floor: u64,
}

const LOG_CAP: usize = 1 << 16;

fn change_log() -> &'static std::sync::Mutex<ChangeLog> {
    static LOG: std::sync::OnceLock<std::sync::Mutex<ChangeLog>> = std::sync::OnceLock::new();
    LOG.get_or_init(Default::default)
}

/// The composes changed after generation `from`, and the generation that answer is current
/// at; `None` when the log no longer reaches back to `from` (then derive again from the table).
/// Resets are not in the log: a reader also compares [`reset_epoch`].
pub fn changed_since(from: u64) -> Option<(Vec<i64>, u64)> {
    let log = change_log().lock().unwrap_or_else(|e| e.into_inner());
    // Read under the lock that `compose_changed` moves it under: every change up to `now` is
    // in the log.
    let now = generation();
    if from >= now {
        return Some((vec![], now));
    }
    if log.floor > from {
        return None;
    }
    let start = log.entries.partition_point(|(g, _)| *g <= from);
    Some((log.entries.range(start..).map(|(_, id)| *id).collect(), now))
}

/// Compose `id` changed (committed): what was derived from its row before is stale, and so is
/// everything derived from the whole table (lists).
pub fn compose_changed(id: i64) {
    let g = {
        let mut log = change_log().lock().unwrap_or_else(|e| e.into_inner());
        let g = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
        if log.entries.len() == LOG_CAP
            && let Some((old, _)) = log.entries.pop_front()
        {
            log.floor = old;
        }
        log.entries.push_back((g, id));
        g
    };
    let mut m = last_change().write().unwrap_or_else(|e| e.into_inner());
    if m.len() >= MAX_TRACKED {
        m.clear();
        drop(m);
        bump();
        return;
    }
    m.insert(id, g);
}

/// Whether compose `id` is unchanged since generation `g` (and no reset happened since
/// `reset`): what was read from its row after taking both is still current.
pub fn compose_unchanged_since(id: i64, g: u64, reset: u64) -> bool {
    let unchanged = last_change()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .is_none_or(|c| *c <= g);
    // The reset epoch is read after the map: a reset that clears the map moves it first.
    unchanged && reset_epoch() == reset
}

/// Records that compose `id`'s row was just written on this thread: bumps now when no write
/// transaction is open, else when it ends.
pub fn touched_compose(id: i64) {
    if TX_DEPTH.get() == 0 {
        compose_changed(id);
    } else {
        TOUCHED.with_borrow_mut(|t| t.push(id));
    }
}

/// `write_tx` opens a transaction on this thread.
pub(crate) fn tx_begin() {
    TX_DEPTH.set(TX_DEPTH.get() + 1);
}

/// `write_tx`'s transaction ended (committed or rolled back): the outermost end bumps if a
/// compose row was written.
pub(crate) fn tx_end() {
    let depth = TX_DEPTH.get().saturating_sub(1);
    TX_DEPTH.set(depth);
    if depth == 0 {
        for id in TOUCHED.take() {
            compose_changed(id);
        }
    }
}

/// Whether changes made by other processes are being seen (see the module documentation).
///
/// Readers trust the watch only while its watcher is connected **and** has looked within
/// [`FRESH`]: a watcher that stalls (starved of CPU, stuck reconnecting) stops the cache instead
/// of letting it serve older answers. When no reader has asked for a second, the watcher looks
/// every [`IDLE_INTERVAL`] instead of every [`WATCH_INTERVAL`] (an idle service does not wake
/// 500 times a second); the first reader after that finds the watch stale, reads the database,
/// and wakes the watcher.
#[derive(Debug)]
pub struct Watch {
    live: AtomicBool,
    /// When the watcher last finished looking, in nanoseconds since `epoch`.
    looked_at: AtomicU64,
    /// When a reader last asked, in nanoseconds since `epoch` (updated at most every 100 ms).
    wanted_at: AtomicU64,
    thread: std::sync::OnceLock<std::thread::Thread>,
    epoch: std::time::Instant,
}

/// How recent the watcher's last look must be for readers to trust it: the bound on how long
/// another process's change can go unseen, when the watcher is late (starved of CPU). It looks
/// every [`WATCH_INTERVAL`]; a tighter bound turned the cache off under load (a 10 ms bound did,
/// in 1% of the list requests of the API benchmark at 64 connections).
pub const FRESH: Duration = Duration::from_millis(100);
/// How often an unwanted watcher looks.
pub const IDLE_INTERVAL: Duration = Duration::from_millis(200);
/// How long without readers before the watcher slows down.
const IDLE_AFTER: Duration = Duration::from_secs(1);

impl Default for Watch {
    fn default() -> Self {
        Self {
            live: AtomicBool::new(false),
            looked_at: AtomicU64::new(0),
            wanted_at: AtomicU64::new(0),
            thread: std::sync::OnceLock::new(),
            epoch: std::time::Instant::now(),
        }
    }
}

impl Watch {
    fn nanos(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Whether a reader may trust what it derived at the current generation (see the type's
    /// documentation). Call before taking the generation.
    pub fn live(&self) -> bool {
        let now = self.nanos();
        if now.saturating_sub(self.wanted_at.load(Ordering::Relaxed)) > 100_000_000 {
            self.wanted_at.store(now, Ordering::Relaxed);
        }
        if !self.live.load(Ordering::Acquire) {
            return false;
        }
        // Acquire: the bumps of the look are seen by the generation read that follows.
        let looked = self.looked_at.load(Ordering::Acquire);
        if now.saturating_sub(looked) <= FRESH.as_nanos() as u64 {
            return true;
        }
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
        false
    }

    #[cfg(test)]
    pub fn set_live_for_tests(&self) {
        self.set_live(true);
        // A look "in the future": fresh for the whole test.
        self.looked_at.store(u64::MAX / 2, Ordering::Release);
    }

    fn set_live(&self, live: bool) {
        // Whatever was derived while nobody watched may be stale: drop it either way.
        bump();
        self.live.store(live, Ordering::Release);
        bump();
    }

    /// The watcher finished a look (after its bumps).
    fn looked(&self) {
        self.looked_at.store(self.nanos(), Ordering::Release);
    }

    /// The watcher's pause between two looks.
    fn pause(&self) {
        let idle = self
            .nanos()
            .saturating_sub(self.wanted_at.load(Ordering::Relaxed))
            > IDLE_AFTER.as_nanos() as u64;
        if idle {
            std::thread::park_timeout(IDLE_INTERVAL);
        } else {
            std::thread::sleep(WATCH_INTERVAL);
        }
    }
}

/// Runs `look` until `weak` has no owner, pausing as [`Watch::pause`] says; `look` returns an
/// error when the connection is lost.
fn watch_loop(
    weak: &Weak<Watch>,
    mut look: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    loop {
        let Some(w) = weak.upgrade() else {
            return Ok(());
        };
        look()?;
        w.looked();
        w.pause();
    }
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    data_version: i64,
}

#[derive(QueryableByName)]
struct Change {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    compose_id: i64,
}

/// Starts the thread that sees other processes' changes to `url`'s database, for as long as
/// `watch` has an owner. It reconnects with backoff after an error, and `watch` is not live
/// meanwhile.
pub fn spawn_watcher(backend: Backend, url: String, watch: &Arc<Watch>) {
    let weak = Arc::downgrade(watch);
    let handle = std::thread::Builder::new()
        .name("composes-watch".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(100);
            while weak.strong_count() > 0 {
                let r = match backend {
                    Backend::Sqlite => watch_sqlite(&url, &weak),
                    Backend::Postgres => watch_pg(&url, &weak),
                };
                if let Some(w) = weak.upgrade() {
                    w.set_live(false);
                }
                match r {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, "compose change watcher lost its connection; reconnecting"),
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        })
        .expect("spawn the compose change watcher");
    let _ = watch.thread.set(handle.thread().clone());
}

/// Polls `PRAGMA data_version` until `weak` has no owner.
fn watch_sqlite(path: &str, weak: &Weak<Watch>) -> Result<(), String> {
    let mut conn = diesel::SqliteConnection::establish(path).map_err(|e| e.to_string())?;
    let version = |c: &mut diesel::SqliteConnection| {
        diesel::sql_query("PRAGMA data_version")
            .get_result::<DataVersion>(c)
            .map(|v| v.data_version)
            .map_err(|e| e.to_string())
    };
    let changes_after = |c: &mut diesel::SqliteConnection, seq: i64| {
        diesel::sql_query(
            "SELECT seq, compose_id FROM compose_changes WHERE seq > ? ORDER BY seq LIMIT 20000",
        )
        .bind::<diesel::sql_types::BigInt, _>(seq)
        .load::<Change>(c)
        .map_err(|e| e.to_string())
    };
    let mut seen = version(&mut conn)?;
    let mut last_seq = diesel::sql_query(
        "SELECT COALESCE(MAX(seq), 0) AS seq, 0 AS compose_id FROM compose_changes",
    )
    .get_result::<Change>(&mut conn)
    .map_err(|e| e.to_string())?
    .seq;
    match weak.upgrade() {
        Some(w) => w.set_live(true),
        None => return Ok(()),
    }
    watch_loop(weak, || {
        let now = version(&mut conn)?;
        if now != seen {
            seen = now;
            let rows = changes_after(&mut conn, last_seq)?;
            // The log is contiguous; a hole means rows were pruned before this watcher read
            // them (or more than a batch came at once): which composes changed is unknown.
            if rows.first().is_some_and(|r| r.seq != last_seq + 1) || rows.len() == 20000 {
                bump();
            }
            for r in &rows {
                if r.compose_id == 0 {
                    // A deleted row (migration `delete_resets`): which ids remain is unknown.
                    bump();
                } else {
                    compose_changed(r.compose_id);
                }
            }
            if let Some(r) = rows.last() {
                last_seq = r.seq;
            }
        }
        Ok(())
    })
}

/// `LISTEN`s on [`PG_CHANNEL`] until `weak` has no owner.
fn watch_pg(url: &str, weak: &Weak<Watch>) -> Result<(), String> {
    let mut conn = pg_listen(url, PG_CHANNEL)?;
    match weak.upgrade() {
        Some(w) => w.set_live(true),
        None => return Ok(()),
    }
    let mut quiet_since = std::time::Instant::now();
    watch_loop(weak, || {
        for payload in pg_notified(&mut conn, &mut quiet_since, Duration::from_secs(5))? {
            match payload.parse() {
                Ok(id) => compose_changed(id),
                // `TRUNCATE` (or an older trigger's empty payload): any compose.
                Err(_) => bump(),
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_in_a_transaction_bumps_only_when_it_ends() {
        let (g0, r0) = (generation(), reset_epoch());
        tx_begin();
        touched_compose(-7);
        tx_begin();
        tx_end();
        // Other threads may bump too; this thread's write must not have yet.
        assert_eq!(
            TOUCHED.with_borrow(|t| t.clone()),
            vec![-7],
            "the write is remembered until the outermost end"
        );
        assert!(compose_unchanged_since(-7, g0, r0) || reset_epoch() != r0);
        tx_end();
        assert!(TOUCHED.with_borrow(|t| t.is_empty()));
        assert!(generation() > g0);
        assert!(!compose_unchanged_since(-7, g0, r0));
        let g1 = generation();
        touched_compose(-8);
        assert!(
            generation() > g1 && !compose_unchanged_since(-8, g1, reset_epoch()),
            "outside a transaction the bump is immediate"
        );
    }

    #[test]
    fn a_change_leaves_other_composes_current_and_a_reset_none() {
        let (g, r) = (generation(), reset_epoch());
        compose_changed(-11);
        assert!(!compose_unchanged_since(-11, g, r));
        // -12 did not change (unless another test reset meanwhile, which this one must see).
        assert_eq!(compose_unchanged_since(-12, g, r), reset_epoch() == r);
        bump();
        assert!(
            !compose_unchanged_since(-12, g, r),
            "a reset makes everything stale"
        );
    }

    #[test]
    fn the_change_log_names_the_composes_changed_since_a_generation() {
        let g = generation();
        compose_changed(-21);
        compose_changed(-22);
        let (ids, now) = changed_since(g).expect("the log reaches back to g");
        assert!(now >= g + 2);
        // Other tests may change composes meanwhile; these two are there, in order.
        let at = |x| ids.iter().position(|i| *i == x).expect("logged");
        assert!(at(-21) < at(-22));
        let (later, _) = changed_since(now).expect("current");
        assert!(!later.contains(&-21));
    }

    #[test]
    fn a_watch_whose_last_look_is_old_is_not_trusted() {
        let w = Watch::default();
        assert!(!w.live(), "not connected");
        w.set_live(true);
        w.looked();
        assert!(w.live(), "connected and just looked");
        w.looked_at.store(0, Ordering::Release);
        std::thread::sleep(FRESH + Duration::from_millis(5));
        assert!(!w.live(), "the last look is older than FRESH");
        w.looked();
        assert!(w.live(), "a new look makes it trusted again");
    }
}
