//! The response cache of the two hot reads, `GET /api/1/composes/{id}` and the compose list:
//! their JSON bodies, kept while the `composes` table has not changed since they were read.
//!
//! Clients poll these endpoints (the `odcs` client waits for a compose by GETting it every few
//! seconds; dashboards page the list), and between two changes every answer is the same.
//! Validity comes from [`crate::db::changes`]: a compose's body is served while that compose
//! has not changed (and no reset happened) since it was read, so POSTs and other composes'
//! changes leave it cached; a list page is served only while the table's generation it was
//! read at is still current. A compose written by this process is never served stale, and one
//! written by another process at most
//! [`crate::db::changes::FRESH`] after its commit (typically one
//! [`crate::db::changes::WATCH_INTERVAL`]). Nothing is served while the cross-process watcher is
//! disconnected or has not looked recently.
//!
//! The cache is bounded by the bytes of its bodies; when full it starts over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::HttpResponse;
use actix_web::http::header;
use bytes::Bytes;

use crate::db::changes::{self, Watch};

/// What a cached body answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// `GET /api/1/composes/{id}`
    Compose(i64),
    /// The list: the request's base URL (its links embed it) and its query string.
    List(Box<str>),
    /// One compose as an item of the list (without `pungi_config_dump`).
    ListItem(i64),
}

/// Where a read stands against the cache.
#[derive(Debug)]
pub enum Lookup {
    /// A current body.
    Hit(Bytes),
    /// Read the database; store the body with [`ResponseCache::store`] and this ticket.
    Miss(Ticket),
    /// The cache cannot be trusted now (its watcher is not live): read, do not store.
    Off,
}

/// The generation and reset epoch a miss started at (taken before the database read).
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    generation: u64,
    reset: u64,
}

#[derive(Debug, Default)]
struct Inner {
    /// The reset epoch everything held was read at.
    reset: u64,
    /// The generation the list pages held were read at.
    lists_generation: u64,
    bytes: usize,
    /// Compose bodies (`true`: as `GET` by id answers them, `false`: as list items) with the
    /// generation each was read at.
    composes: HashMap<(i64, bool), (u64, Bytes)>,
    lists: HashMap<Box<str>, Bytes>,
}

impl Inner {
    fn clear(&mut self) {
        self.composes.clear();
        self.lists.clear();
        self.bytes = 0;
    }

    /// The body of compose `id` (`full` or as a list item) if it is current.
    fn row(&mut self, id: i64, full: bool, reset: u64) -> Option<Bytes> {
        match self.composes.get(&(id, full)) {
            Some((read_at, body)) if changes::compose_unchanged_since(id, *read_at, reset) => {
                Some(body.clone())
            }
            Some(_) => {
                if let Some((_, old)) = self.composes.remove(&(id, full)) {
                    self.bytes -= old.len();
                }
                None
            }
            None => None,
        }
    }
}

/// Every compose id, ascending, as of `generation`: the unfiltered list ordered by id needs
/// only this, its total and the items' bodies, so it stays cached while composes are added.
/// Composes are never deleted (one deleted under it, by hand or by a test, is noticed when its
/// row is missing, see [`ResponseCache::forget_index`]).
#[derive(Debug, Default)]
struct IdIndex {
    loaded: bool,
    reset: u64,
    generation: u64,
    ids: Vec<i64>,
}

/// What [`ResponseCache::id_page`] found.
#[derive(Debug)]
pub enum IdPage {
    /// The page's ids in the order asked, and the total, current at `ticket`.
    Page {
        ids: Vec<i64>,
        total: i64,
        ticket: Ticket,
    },
    /// Load every id ([`crate::db::composes::all_ids`]) and hand them to
    /// [`ResponseCache::load_index`] with this ticket.
    Load(Ticket),
    /// The cache cannot be trusted now: read the database.
    Off,
}

#[derive(Debug)]
pub struct ResponseCache {
    watch: Arc<Watch>,
    max_bytes: usize,
    inner: Mutex<Inner>,
    index: Mutex<IdIndex>,
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
}

impl ResponseCache {
    pub fn new(max_bytes: usize, watch: Arc<Watch>) -> Self {
        Self {
            watch,
            max_bytes,
            inner: Mutex::default(),
            index: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
        }
    }

    /// Whether the change watcher is live now: then a compose unchanged since a generation
    /// (`db::changes::compose_unchanged_since`) needs no read to be known unchanged.
    pub fn watcher_live(&self) -> bool {
        self.watch.live()
    }

    pub fn lookup(&self, key: &Key) -> Lookup {
        if !self.watch.live() {
            self.bypassed.fetch_add(1, Ordering::Relaxed);
            return Lookup::Off;
        }
        let ticket = Ticket {
            generation: changes::generation(),
            reset: changes::reset_epoch(),
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.reset != ticket.reset {
            // Everything held was read before a reset.
            inner.clear();
            inner.reset = ticket.reset;
        }
        let found = match key {
            Key::Compose(id) => inner.row(*id, true, ticket.reset),
            Key::ListItem(id) => inner.row(*id, false, ticket.reset),
            Key::List(q) => {
                if inner.lists_generation != ticket.generation {
                    // Every page held was read at an older generation of the table.
                    let held: usize = inner.lists.values().map(Bytes::len).sum();
                    inner.lists.clear();
                    inner.bytes -= held;
                    inner.lists_generation = ticket.generation;
                }
                inner.lists.get(q).cloned()
            }
        };
        match found {
            Some(body) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Lookup::Hit(body)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(ticket)
            }
        }
    }

    /// Keeps `body` for `key` if what it was read from did not change since `ticket` was
    /// taken. (A watcher that disconnects meanwhile resets, so its ticket no longer matches.)
    pub fn store(&self, key: Key, ticket: Ticket, body: Bytes) {
        if body.len() > self.max_bytes {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock that `lookup` clears under.
        if inner.reset != ticket.reset {
            return;
        }
        let current = match &key {
            Key::Compose(id) | Key::ListItem(id) => {
                changes::compose_unchanged_since(*id, ticket.generation, ticket.reset)
            }
            Key::List(_) => {
                changes::generation() == ticket.generation
                    && inner.lists_generation == ticket.generation
                    && changes::reset_epoch() == ticket.reset
            }
        };
        if !current {
            return;
        }
        if inner.bytes + body.len() > self.max_bytes {
            inner.clear();
        }
        inner.bytes += body.len();
        let old = match key {
            Key::Compose(id) => inner
                .composes
                .insert((id, true), (ticket.generation, body))
                .map(|(_, b)| b),
            Key::ListItem(id) => inner
                .composes
                .insert((id, false), (ticket.generation, body))
                .map(|(_, b)| b),
            Key::List(q) => inner.lists.insert(q, body),
        };
        if let Some(old) = old {
            inner.bytes -= old.len();
        }
    }

    /// The ids of the unfiltered list's page (`offset`, `limit`, by id ascending or
    /// descending) and the total, from the index of every id, brought up to date from
    /// [`changes::changed_since`].
    pub fn id_page(&self, descending: bool, offset: i64, limit: i64) -> IdPage {
        if !self.watch.live() {
            self.bypassed.fetch_add(1, Ordering::Relaxed);
            return IdPage::Off;
        }
        let reset = changes::reset_epoch();
        let mut ix = self.index.lock().unwrap_or_else(|e| e.into_inner());
        let load = |ix: &mut IdIndex| {
            ix.loaded = false;
            IdPage::Load(Ticket {
                generation: changes::generation(),
                reset,
            })
        };
        if !ix.loaded || ix.reset != reset {
            return load(&mut ix);
        }
        if ix.generation != changes::generation() {
            let Some((changed, now)) = changes::changed_since(ix.generation) else {
                return load(&mut ix);
            };
            for id in changed {
                // Ids only come (new composes take the next one), so this is mostly a push.
                if ix.ids.last().is_none_or(|last| *last < id) {
                    ix.ids.push(id);
                } else if let Err(at) = ix.ids.binary_search(&id) {
                    ix.ids.insert(at, id);
                }
            }
            ix.generation = now;
            if changes::reset_epoch() != reset {
                return load(&mut ix);
            }
        }
        let ticket = Ticket {
            generation: ix.generation,
            reset,
        };
        let total = ix.ids.len();
        let offset = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let end = offset.saturating_add(limit).min(total);
        let ids = if descending {
            ix.ids[total - end..total - offset]
                .iter()
                .rev()
                .copied()
                .collect()
        } else {
            ix.ids[offset..end].to_vec()
        };
        IdPage::Page {
            ids,
            total: total as i64,
            ticket,
        }
    }

    /// Keeps `ids` (every compose id, read after `ticket` was taken) as the index, unless a
    /// reset happened meanwhile.
    pub fn load_index(&self, ticket: Ticket, mut ids: Vec<i64>) {
        ids.sort_unstable();
        ids.dedup();
        let mut ix = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if changes::reset_epoch() != ticket.reset {
            return;
        }
        *ix = IdIndex {
            loaded: true,
            reset: ticket.reset,
            generation: ticket.generation,
            ids,
        };
    }

    /// The list-item bodies of `ids` held and current (`None` for the others), under one lock.
    pub fn items(&self, ticket: Ticket, ids: &[i64]) -> Vec<Option<Bytes>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.reset != ticket.reset {
            inner.clear();
            inner.reset = ticket.reset;
        }
        let found: Vec<Option<Bytes>> = ids
            .iter()
            .map(|id| inner.row(*id, false, ticket.reset))
            .collect();
        drop(inner);
        let missing = found.iter().filter(|b| b.is_none()).count() as u64;
        if missing == 0 {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// The index named a compose that is not there (deleted): read it again next time.
    pub fn forget_index(&self) {
        self.index.lock().unwrap_or_else(|e| e.into_inner()).loaded = false;
    }

    /// (hits, misses, bypassed: read while the cache could not be trusted) since the start,
    /// for the metrics.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.bypassed.load(Ordering::Relaxed),
        )
    }
}

/// 200 with a JSON body already serialized, as [`crate::web::request::cors_ok`] answers.
pub fn json_ok(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header(header::ContentType::json())
        .body(body)
}

/// Answers `key` from `cache` when it can; otherwise runs `read` (which yields the body to
/// send, or an error that is not cached) and keeps its body.
pub async fn cached<F, Fut, E>(
    cache: Option<&ResponseCache>,
    key: impl FnOnce() -> Key,
    read: F,
) -> Result<HttpResponse, E>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, E>>,
{
    let Some(cache) = cache else {
        return read().await.map(json_ok);
    };
    let key = key();
    match cache.lookup(&key) {
        Lookup::Hit(body) => Ok(json_ok(body)),
        Lookup::Off => read().await.map(json_ok),
        Lookup::Miss(ticket) => {
            let body = read().await?;
            cache.store(key, ticket, body.clone());
            Ok(json_ok(body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Arc<Watch> {
        let w = Arc::new(Watch::default());
        w.set_live_for_tests();
        w
    }

    #[test]
    fn a_body_is_served_until_the_table_changes() {
        let cache = ResponseCache::new(1 << 20, live());
        let Lookup::Miss(t) = cache.lookup(&Key::Compose(1)) else {
            panic!("empty cache")
        };
        cache.store(Key::Compose(1), t, Bytes::from_static(b"{\"id\":1}"));
        match cache.lookup(&Key::Compose(1)) {
            Lookup::Hit(b) => assert_eq!(&b[..], b"{\"id\":1}"),
            other => panic!("expected a hit, got {other:?}"),
        }
        changes::bump();
        assert!(matches!(cache.lookup(&Key::Compose(1)), Lookup::Miss(_)));
    }

    #[test]
    fn a_compose_stays_cached_while_only_others_change_and_lists_do_not() {
        // Ids of their own (unit tests share the process's change state).
        let (a, b) = (-1001, -1002);
        let cache = ResponseCache::new(1 << 20, live());
        let (Lookup::Miss(ta), Lookup::Miss(tl)) = (
            cache.lookup(&Key::Compose(a)),
            cache.lookup(&Key::List("p".into())),
        ) else {
            panic!("empty cache")
        };
        cache.store(Key::Compose(a), ta, Bytes::from_static(b"a"));
        cache.store(Key::List("p".into()), tl, Bytes::from_static(b"[a]"));
        let r = changes::reset_epoch();
        changes::compose_changed(b);
        if changes::reset_epoch() != r {
            return; // another test reset meanwhile: nothing to conclude
        }
        assert!(
            matches!(cache.lookup(&Key::Compose(a)), Lookup::Hit(_)),
            "another compose changed: a's body is current"
        );
        assert!(
            matches!(cache.lookup(&Key::List("p".into())), Lookup::Miss(_)),
            "the table changed: its list pages are not"
        );
        changes::compose_changed(a);
        assert!(matches!(cache.lookup(&Key::Compose(a)), Lookup::Miss(_)));
    }

    #[test]
    fn a_body_read_across_a_change_is_not_kept() {
        let cache = ResponseCache::new(1 << 20, live());
        let Lookup::Miss(t) = cache.lookup(&Key::List("x".into())) else {
            panic!("empty cache")
        };
        // A write commits while the body is being read.
        changes::bump();
        cache.store(Key::List("x".into()), t, Bytes::from_static(b"[]"));
        assert!(matches!(
            cache.lookup(&Key::List("x".into())),
            Lookup::Miss(_)
        ));
    }

    #[test]
    fn nothing_is_served_while_the_watcher_is_not_live() {
        let cache = ResponseCache::new(1 << 20, Arc::new(Watch::default()));
        assert!(matches!(cache.lookup(&Key::Compose(1)), Lookup::Off));
    }

    #[test]
    fn the_cache_starts_over_when_full() {
        let cache = ResponseCache::new(10, live());
        for id in 0..3 {
            let Lookup::Miss(t) = cache.lookup(&Key::Compose(id)) else {
                // Another test bumped the generation meanwhile: the entry was dropped anyway.
                continue;
            };
            cache.store(Key::Compose(id), t, Bytes::from_static(b"12345"));
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.bytes <= 10, "{} bytes held", inner.bytes);
    }
}
