//! Koji answers that can never change, kept for the whole process: what a tag held at a Koji
//! event that has already happened is history, so `listTaggedRPMS(tag, event=E, …)` and
//! `getTag(tag, event=E)` answer the same for ever once `E` is at most the hub's last event.
//! Every compose of the process shares them (keyed by hub, method, tag, event and the query's
//! flags); the cache is bounded by the number of RPM rows it holds and forgets the least
//! recently used answer first.
//!
//! An answer for an event the client has not yet seen as the hub's last event (a client asking
//! for a future event) is never kept: later events could still change it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::types::{Build, Rpm, Tag};

/// `listTaggedRPMS` at an event: the RPM rows, the builds, and for each row the index of its
/// build in `builds` (`None` when the hub sent a row without its build).
#[derive(Debug, Default)]
pub struct TaggedRpms {
    pub rpms: Vec<Rpm>,
    pub builds: Vec<Build>,
    pub build_of: Vec<Option<usize>>,
}

impl TaggedRpms {
    pub fn new(rpms: Vec<Rpm>, builds: Vec<Build>) -> Self {
        let index: HashMap<i64, usize> =
            builds.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
        let build_of = rpms
            .iter()
            .map(|r| index.get(&r.build_id).copied())
            .collect();
        Self {
            rpms,
            builds,
            build_of,
        }
    }

    /// Each RPM with its build (rows without one skipped).
    pub fn pairs(&self) -> impl Iterator<Item = (&Rpm, &Build)> {
        self.rpms
            .iter()
            .zip(&self.build_of)
            .filter_map(|(r, b)| b.map(|b| (r, &self.builds[b])))
    }
}

/// What identifies an immutable answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub hub: String,
    pub method: &'static str,
    pub tag: String,
    pub event: i64,
    /// The query's other arguments, canonical (flags, arches).
    pub args: String,
}

#[derive(Clone)]
enum Answer {
    Tagged(Arc<TaggedRpms>),
    Tag(Option<Tag>),
}

impl Answer {
    /// What an answer costs against the bound: its rows (an answer is at least one).
    fn weight(&self) -> usize {
        match self {
            Answer::Tagged(t) => t.rpms.len().max(1),
            Answer::Tag(_) => 1,
        }
    }
}

struct Entry {
    answer: Answer,
    used: u64,
}

#[derive(Default)]
struct Store {
    entries: HashMap<Key, Entry>,
    weight: usize,
}

/// Hit and miss counts (for tests, benchmarks and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    pub rows: usize,
}

struct Cache {
    store: Mutex<Store>,
    capacity: AtomicUsize,
    clock: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    /// The highest `getLastEvent` each hub has answered this process (by hub URL).
    last_events: Mutex<HashMap<String, Arc<AtomicI64>>>,
}

/// Rows kept until `set_capacity` (the `koji.answer_cache_rows` default): a few Fedora-sized
/// tags' worth, each row a few hundred bytes.
pub const DEFAULT_CAPACITY: usize = 300_000;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Cache {
        store: Mutex::new(Store::default()),
        capacity: AtomicUsize::new(DEFAULT_CAPACITY),
        clock: AtomicU64::new(0),
        hits: AtomicU64::new(0),
        misses: AtomicU64::new(0),
        last_events: Mutex::new(HashMap::new()),
    })
}

/// Sets the bound (RPM rows); 0 turns the cache off. Shrinking evicts at once.
pub fn set_capacity(rows: usize) {
    let c = cache();
    c.capacity.store(rows, Ordering::Relaxed);
    let mut s = c.store.lock().expect("koji answer cache");
    evict(&mut s, rows);
}

/// Forgets every answer (benchmarks measure cold composes with it).
pub fn clear() {
    let mut s = cache().store.lock().expect("koji answer cache");
    s.entries.clear();
    s.weight = 0;
}

pub fn stats() -> Stats {
    let c = cache();
    let s = c.store.lock().expect("koji answer cache");
    Stats {
        hits: c.hits.load(Ordering::Relaxed),
        misses: c.misses.load(Ordering::Relaxed),
        entries: s.entries.len(),
        rows: s.weight,
    }
}

/// Records that `hub` answered `getLastEvent` with `event`.
pub(super) fn saw_last_event(hub: &str, event: i64) {
    last_event_cell(hub).fetch_max(event, Ordering::Relaxed);
}

/// Whether `event` has happened on `hub`, as far as this process has seen.
pub(super) fn is_past(hub: &str, event: i64) -> bool {
    event <= last_event_cell(hub).load(Ordering::Relaxed)
}

fn last_event_cell(hub: &str) -> Arc<AtomicI64> {
    let mut m = cache().last_events.lock().expect("koji last events");
    if let Some(cell) = m.get(hub) {
        return cell.clone();
    }
    let cell = Arc::new(AtomicI64::new(i64::MIN));
    m.insert(hub.to_string(), cell.clone());
    cell
}

fn get(key: &Key) -> Option<Answer> {
    let c = cache();
    let mut s = c.store.lock().expect("koji answer cache");
    let now = c.clock.fetch_add(1, Ordering::Relaxed);
    match s.entries.get_mut(key) {
        Some(e) => {
            e.used = now;
            c.hits.fetch_add(1, Ordering::Relaxed);
            Some(e.answer.clone())
        }
        None => {
            c.misses.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn put(key: Key, answer: Answer) {
    let c = cache();
    let capacity = c.capacity.load(Ordering::Relaxed);
    let w = answer.weight();
    if w > capacity {
        return;
    }
    let mut s = c.store.lock().expect("koji answer cache");
    let used = c.clock.fetch_add(1, Ordering::Relaxed);
    s.insert(key, answer, used, capacity);
}

impl Store {
    fn insert(&mut self, key: Key, answer: Answer, used: u64, capacity: usize) {
        let w = answer.weight();
        if let Some(old) = self.entries.insert(key, Entry { answer, used }) {
            self.weight -= old.answer.weight();
        }
        self.weight += w;
        evict(self, capacity);
    }
}

/// Drops least recently used answers until the store weighs at most `capacity`.
fn evict(s: &mut Store, capacity: usize) {
    while s.weight > capacity {
        let Some(oldest) = s
            .entries
            .iter()
            .min_by_key(|(_, e)| e.used)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        if let Some(e) = s.entries.remove(&oldest) {
            s.weight -= e.answer.weight();
        }
    }
}

pub(super) fn get_tagged(key: &Key) -> Option<Arc<TaggedRpms>> {
    match get(key)? {
        Answer::Tagged(t) => Some(t),
        Answer::Tag(_) => None,
    }
}

pub(super) fn put_tagged(key: Key, t: Arc<TaggedRpms>) {
    put(key, Answer::Tagged(t));
}

pub(super) fn get_tag(key: &Key) -> Option<Option<Tag>> {
    match get(key)? {
        Answer::Tag(t) => Some(t),
        Answer::Tagged(_) => None,
    }
}

pub(super) fn put_tag(key: Key, t: Option<Tag>) {
    put(key, Answer::Tag(t));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpm(id: i64, build_id: i64) -> Rpm {
        Rpm {
            id,
            build_id,
            name: format!("p{id}"),
            version: "1".into(),
            release: "1".into(),
            epoch: None,
            arch: "x86_64".into(),
            size: 1,
            payloadhash: String::new(),
            sigkey: None,
        }
    }

    fn key(tag: &str) -> Key {
        Key {
            hub: "h".into(),
            method: "listTaggedRPMS",
            tag: tag.into(),
            event: 1,
            args: String::new(),
        }
    }

    fn tagged(rows: i64) -> Answer {
        Answer::Tagged(Arc::new(TaggedRpms::new(
            (0..rows).map(|i| rpm(i, 1)).collect(),
            vec![],
        )))
    }

    #[test]
    fn the_least_recently_used_answer_goes_first_and_the_bound_holds() {
        let mut s = Store::default();
        s.insert(key("a"), tagged(4), 1, 10);
        s.insert(key("b"), tagged(4), 2, 10);
        s.entries.get_mut(&key("a")).unwrap().used = 3; // a read again
        s.insert(key("c"), tagged(4), 4, 10);
        assert!(s.entries.contains_key(&key("a")));
        assert!(!s.entries.contains_key(&key("b")));
        assert!(s.entries.contains_key(&key("c")));
        assert_eq!(s.weight, 8);
        // The same key again replaces, it does not add.
        s.insert(key("c"), tagged(2), 5, 10);
        assert_eq!(s.weight, 6);
        evict(&mut s, 0);
        assert!(s.entries.is_empty());
        assert_eq!(s.weight, 0);
    }

    #[test]
    fn rows_are_paired_with_their_builds_and_orphans_skipped() {
        let b = Build {
            id: 7,
            name: "b".into(),
            version: "1".into(),
            release: "1".into(),
            epoch: None,
            nvr: "b-1-1".into(),
            volume_name: "DEFAULT".into(),
            tag_name: None,
            create_event: None,
            extra: crate::koji::xmlrpc::Value::Nil,
        };
        let t = TaggedRpms::new(vec![rpm(1, 7), rpm(2, 8), rpm(3, 7)], vec![b]);
        let ids: Vec<i64> = t.pairs().map(|(r, b)| r.id * 10 + b.id).collect();
        assert_eq!(ids, vec![17, 37]);
    }
}
