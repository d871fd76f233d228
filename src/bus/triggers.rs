//! The trigger engine: bus events and cron schedules → composes.
//!
//! Listeners (fedmsg SUBs, the AMQP consumer) send every well-formed message here. A message
//! is classified by topic suffix, matched against `[[triggers.rules]]`, de-duplicated by
//! message id (a bounded memory, seeded from the recent `triggers` rows at start) and added to
//! its rule's window: the first matching event opens the window, and when it closes after
//! `triggers.debounce_ms` one compose is requested for the rule, however many events arrived.
//! The compose goes through the POST validation and defaults and is written with its job,
//! its state message and a `triggers` row (rule, topics, message ids, first receipt) in one
//! transaction; AMQP deliveries are acknowledged after that commit. A cron firing requests a
//! compose at once. Every `triggers` row has a unique `dedup_key` (the cron slot, or the rule's
//! debounce slot in which its window opened), so several processes running the same schedule,
//! or listening to the same events, make one compose per slot.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::counters::{Counters, MALFORMED, MESSAGES};
use super::inbound::{Ack, Event, Inbound, classify};
use super::settings::TriggerRule;
use super::zmq_listen::{self, Mode};
use crate::config::Settings;
use crate::db::schema::triggers;
use crate::db::{AnyConnection, DbPool, composes as q, write_tx};

/// A stored trigger record.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = triggers)]
pub struct TriggerRecord {
    pub id: i64,
    pub rule: String,
    pub topic: String,
    pub message_ids: String,
    pub events: i32,
    pub received_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub compose_id: Option<i64>,
    pub dedup_key: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = triggers)]
struct NewTrigger {
    rule: String,
    topic: String,
    message_ids: String,
    events: i32,
    received_at: NaiveDateTime,
    created_at: NaiveDateTime,
    compose_id: Option<i64>,
    dedup_key: Option<String>,
}

/// The trigger records, oldest first (optionally of one rule).
pub fn list(c: &mut AnyConnection, rule: Option<&str>) -> QueryResult<Vec<TriggerRecord>> {
    let mut query = triggers::table.into_boxed();
    if let Some(r) = rule {
        query = query.filter(triggers::rule.eq(r.to_string()));
    }
    query
        .order(triggers::id.asc())
        .select(TriggerRecord::as_select())
        .load(c)
}

/// Starts the listeners, the engine, the counter flusher and the schedules; nothing when no
/// rule is configured.
pub fn spawn(pool: DbPool, settings: Arc<Settings>) -> Vec<tokio::task::JoinHandle<()>> {
    let t = &settings.triggers;
    if t.rules.is_empty() {
        return vec![];
    }
    let mut tasks = Vec::new();
    let (tx, rx) = mpsc::channel::<Inbound>(10_000);
    let (cron_tx, cron_rx) = mpsc::channel::<usize>(64);
    let counters = Counters::default();
    let engine = Engine::new(pool.clone(), settings.clone(), counters.clone());
    tasks.push(tokio::spawn(engine.run(rx, cron_rx)));
    let max = t.max_message_bytes;
    let backoff = settings.messaging.reconnect_max_ms;
    for ep in &t.fedmsg_endpoints {
        let (ep, tx, c) = (ep.clone(), tx.clone(), counters.clone());
        tasks.push(tokio::spawn(zmq_listen::run(
            Mode::Connect,
            ep,
            tx,
            c,
            max,
            backoff,
        )));
    }
    if !t.fedmsg_inbound_endpoint.is_empty() {
        let (ep, tx, c) = (
            t.fedmsg_inbound_endpoint.clone(),
            tx.clone(),
            counters.clone(),
        );
        tasks.push(tokio::spawn(zmq_listen::run(
            Mode::Bind,
            ep,
            tx,
            c,
            max,
            backoff,
        )));
    }
    #[cfg(feature = "amqp")]
    if !settings.messaging.amqp_url.is_empty() && !t.amqp_queue.is_empty() {
        let (s, tx, c) = (settings.clone(), tx.clone(), counters.clone());
        tasks.push(tokio::spawn(super::amqp::run_consumer(s, tx, c)));
    }
    drop(tx);
    tasks.push(tokio::spawn(counters.run_flusher(pool)));
    let crons: Vec<(usize, String)> = t
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.cron.is_empty())
        .map(|(i, r)| (i, r.cron.clone()))
        .collect();
    tasks.push(tokio::spawn(run_schedules(crons, cron_tx)));
    tasks
}

/// Runs the cron schedules (tokio-cron-scheduler, in memory, UTC); a firing sends the rule's
/// index to the engine.
async fn run_schedules(crons: Vec<(usize, String)>, tx: mpsc::Sender<usize>) {
    use tokio_cron_scheduler::{Job, JobScheduler};
    if crons.is_empty() {
        // Keep the sender (and so the engine's cron branch) alive.
        std::future::pending::<()>().await;
    }
    let sched = match JobScheduler::new().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the trigger scheduler");
            return;
        }
    };
    for (i, expr) in crons {
        let tx = tx.clone();
        let job = Job::new_async(expr.as_str(), move |_, _| {
            let tx = tx.clone();
            Box::pin(async move {
                let _ = tx.send(i).await;
            })
        });
        match job {
            Ok(job) => {
                if let Err(e) = sched.add(job).await {
                    tracing::error!(cron = %expr, error = %e, "cannot schedule a trigger rule");
                }
            }
            Err(e) => tracing::error!(cron = %expr, error = %e, "invalid cron expression"),
        }
    }
    if let Err(e) = sched.start().await {
        tracing::error!(error = %e, "cannot start the trigger scheduler");
        return;
    }
    std::future::pending::<()>().await;
}

/// Bounded set of recently seen message ids (oldest forgotten first).
struct Dedup {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Dedup {
    fn new(cap: usize) -> Self {
        Self {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// `false` when the id was already seen.
    fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(id.to_string());
        self.order.push_back(id.to_string());
        true
    }
}

/// The events of one rule waiting for their compose.
struct Window {
    deadline: Instant,
    first_received: NaiveDateTime,
    msg_ids: Vec<String>,
    topics: Vec<String>,
    events: i32,
    module_nsvc: Option<String>,
    acks: Vec<Ack>,
    dedup_key: Option<String>,
}

impl Window {
    fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            first_received: crate::db::now(),
            msg_ids: vec![],
            topics: vec![],
            events: 0,
            module_nsvc: None,
            acks: vec![],
            dedup_key: None,
        }
    }
}

struct Engine {
    pool: DbPool,
    settings: Arc<Settings>,
    counters: Counters,
    seen: Dedup,
    windows: HashMap<usize, Window>,
    events: Vec<Vec<String>>,
}

fn matches(rule: &TriggerRule, events: &[String], ev: &Event, settings: &Settings) -> bool {
    if !events.iter().any(|e| e == ev.kind()) {
        return false;
    }
    let t = &settings.triggers;
    match ev {
        Event::Tag { tag, instance, .. } => {
            !rule.tag.is_empty() && rule.tag == *tag && t.koji_instances.contains(instance)
        }
        Event::Module {
            name,
            stream,
            state_name,
            state,
            ..
        } => {
            !rule.module.is_empty()
                && rule.module == format!("{name}:{stream}")
                && t.module_states
                    .iter()
                    .any(|s| s == state_name || *s == state.to_string())
        }
    }
}

impl Engine {
    fn new(pool: DbPool, settings: Arc<Settings>, counters: Counters) -> Self {
        let events = settings.triggers.rules.iter().map(|r| r.events()).collect();
        Self {
            pool,
            seen: Dedup::new(settings.triggers.dedup_capacity),
            settings,
            counters,
            windows: HashMap::new(),
            events,
        }
    }

    /// Seeds the de-duplication memory from the trigger records of the last day.
    async fn load_seen(&mut self) {
        let p = self.pool.clone();
        let since = crate::db::now() - chrono::Duration::days(1);
        let cap = self.seen.cap as i64;
        let rows = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
            let mut c = p.get().map_err(|e| e.to_string())?;
            triggers::table
                .filter(triggers::created_at.gt(since))
                .order(triggers::id.desc())
                .limit(cap)
                .select(triggers::message_ids)
                .load::<String>(&mut c)
                .map_err(|e| e.to_string())
        })
        .await;
        let Ok(Ok(rows)) = rows else {
            tracing::warn!("cannot read recent trigger records; de-duplication starts empty");
            return;
        };
        let mut n = 0;
        for r in rows.iter().rev() {
            for id in serde_json::from_str::<Vec<String>>(r).unwrap_or_default() {
                self.seen.insert(&id);
                n += 1;
            }
        }
        tracing::debug!(ids = n, "de-duplication seeded from trigger records");
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Inbound>, mut cron_rx: mpsc::Receiver<usize>) {
        self.load_seen().await;
        tracing::info!(
            rules = self.settings.triggers.rules.len(),
            "trigger engine started"
        );
        loop {
            let next = self.windows.values().map(|w| w.deadline).min();
            let sleep_until = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                Some(m) = rx.recv() => self.handle(m).await,
                Some(i) = cron_rx.recv() => self.fire_cron(i).await,
                _ = tokio::time::sleep_until(sleep_until), if next.is_some() => self.fire_due().await,
                else => return,
            }
        }
    }

    async fn handle(&mut self, m: Inbound) {
        let transport = m.transport;
        let ev = match classify(&m.topic, &m.payload) {
            Err(bad) => {
                self.counters.add(MALFORMED, transport, bad.reason());
                tracing::warn!(topic = %m.topic, transport, reason = bad.reason(), "malformed bus message dropped");
                m.ack.ack().await;
                return;
            }
            Ok(None) => {
                self.counters.add(MESSAGES, transport, "ignored");
                m.ack.ack().await;
                return;
            }
            Ok(Some(ev)) => ev,
        };
        let s = self.settings.clone();
        let matched: Vec<usize> = s
            .triggers
            .rules
            .iter()
            .enumerate()
            .filter(|(i, r)| matches(r, &self.events[*i], &ev, &s))
            .map(|(i, _)| i)
            .collect();
        if matched.is_empty() {
            self.counters.add(MESSAGES, transport, "ignored");
            m.ack.ack().await;
            return;
        }
        let id = m.msg_id.clone().unwrap_or_else(q::new_message_id);
        if !self.seen.insert(&id) {
            self.counters.add(MESSAGES, transport, "duplicate");
            tracing::debug!(msg_id = %id, "duplicate bus message ignored");
            m.ack.ack().await;
            return;
        }
        self.counters.add(MESSAGES, transport, "matched");
        let debounce = Duration::from_millis(s.triggers.debounce_ms);
        let nsvc = match &ev {
            Event::Module {
                name,
                stream,
                version,
                context,
                ..
            } => Some(if context.is_empty() {
                format!("{name}:{stream}:{version}")
            } else {
                format!("{name}:{stream}:{version}:{context}")
            }),
            Event::Tag { .. } => None,
        };
        let mut ack = Some(m.ack);
        for i in matched {
            let w = self.windows.entry(i).or_insert_with(|| {
                tracing::debug!(rule = %s.triggers.rules[i].name, "trigger window opened");
                let mut w = Window::new(Instant::now() + debounce);
                // Processes that each saw events of this rule (every fedmsg listener sees all
                // of them; AMQP consumers share a queue) name their window by the debounce
                // slot it opened in, and the unique key lets one compose through per slot.
                let slot_ms = s.triggers.debounce_ms.max(1) as i64;
                w.dedup_key = Some(format!(
                    "window:{}:{}",
                    s.triggers.rules[i].name,
                    w.first_received.and_utc().timestamp_millis() / slot_ms
                ));
                w
            });
            w.msg_ids.push(id.clone());
            if !w.topics.contains(&m.topic) {
                w.topics.push(m.topic.clone());
            }
            w.events += 1;
            if nsvc.is_some() {
                w.module_nsvc = nsvc.clone();
            }
            // Acknowledged once the first matching rule's compose is stored.
            if let Some(a) = ack.take() {
                w.acks.push(a);
            }
        }
    }

    async fn fire_due(&mut self) {
        let now = Instant::now();
        let due: Vec<usize> = self
            .windows
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(i, _)| *i)
            .collect();
        for i in due {
            if let Some(w) = self.windows.remove(&i) {
                self.fire(i, w).await;
            }
        }
    }

    async fn fire_cron(&mut self, i: usize) {
        let rule = &self.settings.triggers.rules[i];
        let mut w = Window::new(Instant::now());
        w.topics.push("cron".into());
        w.dedup_key = Some(format!(
            "cron:{}:{}",
            rule.name,
            w.first_received.format("%Y-%m-%dT%H:%M:%S")
        ));
        self.fire(i, w).await;
    }

    /// Stores the rule's compose and the trigger record; on a database failure the window is
    /// kept and tried again a second later.
    async fn fire(&mut self, i: usize, mut w: Window) {
        let settings = self.settings.clone();
        let rule = settings.triggers.rules[i].clone();
        let record = NewTrigger {
            rule: rule.name.clone(),
            topic: w.topics.join(" "),
            message_ids: serde_json::to_string(&w.msg_ids).unwrap_or_else(|_| "[]".into()),
            events: w.events,
            received_at: w.first_received,
            created_at: crate::db::now(),
            compose_id: None,
            dedup_key: w.dedup_key.clone(),
        };
        let body = rule.request_body(w.module_nsvc.as_deref());
        let p = self.pool.clone();
        let s = settings.clone();
        let r = tokio::task::spawn_blocking(move || store(&p, &s, &body, record))
            .await
            .unwrap_or_else(|e| Err(Stored::Failed(e.to_string())));
        match r {
            Ok(compose_id) => {
                tracing::info!(rule = %rule.name, compose = compose_id, events = w.events, topics = %w.topics.join(" "), first_msg_id = w.msg_ids.first().map(String::as_str).unwrap_or(""), "compose triggered");
                for a in w.acks.drain(..) {
                    a.ack().await;
                }
            }
            Err(Stored::Duplicate) => {
                tracing::info!(rule = %rule.name, events = w.events, "compose of this window or schedule slot already made by another process");
                for a in w.acks.drain(..) {
                    a.ack().await;
                }
            }
            Err(Stored::Invalid(e)) => {
                // The rule was validated at start; a request that fails now cannot succeed
                // later either, so the events are dropped (and acknowledged).
                tracing::error!(rule = %rule.name, error = %e, "triggered compose request is invalid; events dropped");
                for a in w.acks.drain(..) {
                    a.ack().await;
                }
            }
            Err(Stored::Failed(e)) => {
                tracing::warn!(rule = %rule.name, error = %e, "triggered compose not stored; retrying");
                w.deadline = Instant::now() + Duration::from_secs(1);
                self.windows.insert(i, w);
            }
        }
    }
}

enum Stored {
    Duplicate,
    Invalid(String),
    Failed(String),
}

fn store(
    pool: &DbPool,
    settings: &Settings,
    body: &serde_json::Value,
    mut record: NewTrigger,
) -> Result<i64, Stored> {
    let request = crate::domain::parse_compose_request(body, &settings.composes)
        .map_err(|e| Stored::Invalid(e.to_string()))?;
    let now = crate::db::now();
    let row = crate::db::new_row::new_compose_row(
        &request,
        settings.triggers.owner.clone(),
        now,
        &settings.composes,
    );
    let has_key = record.dedup_key.is_some();
    let mut c = pool.get().map_err(|e| Stored::Failed(e.to_string()))?;
    write_tx(&mut c, |c| {
        let compose = q::insert(c, &row, &settings.composes)?;
        record.compose_id = Some(compose.id);
        diesel::insert_into(triggers::table)
            .values(&record)
            .execute(c)?;
        Ok::<_, diesel::result::Error>(compose.id)
    })
    .map_err(|e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) if has_key => Stored::Duplicate,
        e => Stored::Failed(e.to_string()),
    })
}
