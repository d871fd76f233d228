//! Queries on composes and the rows that travel with them (jobs, outbox).
//! Every state change goes through [`transition`], which writes its outbox message in the
//! caller's transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::AnyConnection;
use super::models::{Compose, NewCompose};
use super::schema::{composes, outbox};
use crate::config::ComposeSettings;
use crate::domain::State;
use crate::views::state_changed_message;

type Backend = <AnyConnection as diesel::Connection>::Backend;

/// Topic of the state-change messages in the outbox.
pub const STATE_CHANGED_TOPIC: &str = "odcs.compose.state-changed";

/// One compose by id.
///
/// No `LIMIT` (the primary key selects one row at most): SQLite re-prepares a statement with a
/// bound `LIMIT ?` on every execution, which made this, the API's hottest read, parse its
/// 40-column SELECT every time.
pub fn get(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<Compose>> {
    composes::table
        .find(id)
        .select(Compose::as_select())
        .get_result(conn)
        .optional()
}

/// Every compose id, ascending (the API's index of the unfiltered list, `crate::web::cache`).
pub fn all_ids(conn: &mut AnyConnection) -> QueryResult<Vec<i64>> {
    composes::table
        .select(composes::id)
        .order(composes::id.asc())
        .load(conn)
}

/// The composes of `ids` that exist, in no particular order.
pub fn by_ids(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<Compose>> {
    composes::table
        .filter(composes::id.eq_any(ids))
        .select(Compose::as_select())
        .load(conn)
}

/// The compose, its row locked until the end of the transaction (PostgreSQL `FOR UPDATE`; a
/// SQLite write transaction holds the whole database already).
///
/// The lock order of the house: a transaction that changes a compose and its jobs locks the
/// compose row first, with this, and only then touches `jobs`. DELETE (cancel) and the
/// worker's start and result paths follow it; they deadlocked when one went jobs → compose and
/// the other compose → jobs.
pub fn get_for_update(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<Compose>> {
    match conn {
        AnyConnection::Postgresql(pg) => composes::table
            .find(id)
            .select(Compose::as_select())
            .for_update()
            .get_result(pg)
            .optional(),
        AnyConnection::Sqlite(_) => get(conn, id),
    }
}

/// A random message id (UUID v4 text).
pub fn new_message_id() -> String {
    let b: [u8; 16] = rand::random();
    let mut b = b;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn write_state_message(
    conn: &mut AnyConnection,
    c: &Compose,
    settings: &ComposeSettings,
    at: NaiveDateTime,
) -> QueryResult<()> {
    // Columns as `eq` values, not an `Insertable` struct: diesel keeps this statement prepared
    // then (a struct's values may render as `DEFAULT`, so its statement text is not fixed).
    diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq(new_message_id()),
            outbox::topic.eq(STATE_CHANGED_TOPIC),
            outbox::body.eq(state_changed_message(c, settings).to_string()),
            outbox::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Inserts a compose in `wait` with its generate job and its state message. Call inside a
/// write transaction.
pub fn insert(
    conn: &mut AnyConnection,
    new: &NewCompose,
    settings: &ComposeSettings,
) -> QueryResult<Compose> {
    let queue = crate::queue::queue_for(new.source_type, &new.arches, &settings.arch_queues);
    let job = crate::queue::new_job(
        crate::queue::KIND_GENERATE,
        None,
        &queue,
        None,
        new.time_submitted,
    );
    // The compose, and whether its state message is written with it.
    let (compose, message_written) = match conn {
        // One statement for the row and its stored values: SQLite ≥ 3.35 has `RETURNING`, and
        // a statement there is a call, not a round trip.
        AnyConnection::Sqlite(c) => {
            let compose: Compose = diesel::insert_into(composes::table)
                .values(new)
                .returning(Compose::as_returning())
                .get_result(c)?;
            let job = crate::db::models::NewJob {
                compose_id: Some(compose.id),
                ..job
            };
            crate::queue::enqueue(conn, &job)?;
            (compose, false)
        }
        // On PostgreSQL each statement is a round trip, and a POST's latency under load is
        // its round trips: the row, its job and its message are one prepared statement.
        AnyConnection::Postgresql(c) => {
            let message = super::pg_post::MessageTemplate::new(
                new,
                STATE_CHANGED_TOPIC,
                new_message_id(),
                |stored| state_changed_message(stored, settings).to_string(),
            );
            let compose = super::pg_post::insert_with_job(c, new, &job, message.as_ref())?;
            (compose, message.is_some())
        }
    };
    super::changes::touched_compose(compose.id);
    if !message_written {
        write_state_message(conn, &compose, settings, new.time_submitted)?;
    }
    Ok(compose)
}

/// Filters of the compose list (exact equality, AND-ed).
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub owner: Option<String>,
    pub source_type: Option<i32>,
    pub source: Option<String>,
    pub state: Option<i32>,
    pub koji_task_id: Option<i64>,
    pub pungi_compose_id: Option<String>,
    pub compose_type: Option<String>,
    pub label: Option<String>,
    /// The source contains this text (the web UI's search; `%` and `_` match themselves).
    pub source_contains: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    Id,
    Owner,
    SourceType,
    KojiEvent,
    State,
    TimeToExpire,
    TimeSubmitted,
    TimeDone,
    TimeRemoved,
}

impl OrderKey {
    pub const NAMES: &'static [&'static str] = &[
        "id",
        "owner",
        "source_type",
        "koji_event",
        "state",
        "time_to_expire",
        "time_submitted",
        "time_done",
        "time_removed",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Self::Id,
            "owner" => Self::Owner,
            // ODCS lists the misspelt `source_Type`; both are accepted.
            "source_type" | "source_Type" => Self::SourceType,
            "koji_event" => Self::KojiEvent,
            "state" => Self::State,
            "time_to_expire" => Self::TimeToExpire,
            "time_submitted" => Self::TimeSubmitted,
            "time_done" => Self::TimeDone,
            "time_removed" => Self::TimeRemoved,
            _ => return None,
        })
    }
}

fn filtered(f: &ListFilter) -> composes::BoxedQuery<'static, Backend> {
    let mut q = composes::table.into_boxed::<Backend>();
    if let Some(v) = &f.owner {
        q = q.filter(composes::owner.eq(v.clone()));
    }
    if let Some(v) = f.source_type {
        q = q.filter(composes::source_type.eq(v));
    }
    if let Some(v) = &f.source {
        q = q.filter(composes::source.eq(v.clone()));
    }
    if let Some(v) = f.state {
        q = q.filter(composes::state.eq(v));
    }
    if let Some(v) = f.koji_task_id {
        q = q.filter(composes::koji_task_id.eq(v));
    }
    if let Some(v) = &f.pungi_compose_id {
        q = q.filter(composes::pungi_compose_id.eq(v.clone()));
    }
    if let Some(v) = &f.compose_type {
        q = q.filter(composes::compose_type.eq(v.clone()));
    }
    if let Some(v) = &f.label {
        q = q.filter(composes::label.eq(v.clone()));
    }
    if let Some(v) = &f.source_contains {
        let escaped = v
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q = q.filter(composes::source.like(format!("%{escaped}%")).escape('\\'));
    }
    q
}

/// One page of composes and the total count of matches.
pub fn list(
    conn: &mut AnyConnection,
    f: &ListFilter,
    order: OrderKey,
    descending: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Compose>, i64)> {
    let total: i64 = filtered(f).count().get_result(conn)?;
    if limit == 0 || offset >= total {
        return Ok((vec![], total));
    }
    let q = filtered(f).select(Compose::as_select());
    macro_rules! ordered {
        ($col:expr) => {
            if descending {
                q.order(($col.desc(), composes::id.desc()))
            } else {
                q.order(($col.asc(), composes::id.asc()))
            }
        };
    }
    let q = match order {
        OrderKey::Id => {
            if descending {
                q.order(composes::id.desc())
            } else {
                q.order(composes::id.asc())
            }
        }
        OrderKey::Owner => ordered!(composes::owner),
        OrderKey::SourceType => ordered!(composes::source_type),
        OrderKey::KojiEvent => ordered!(composes::koji_event),
        OrderKey::State => ordered!(composes::state),
        OrderKey::TimeToExpire => ordered!(composes::time_to_expire),
        OrderKey::TimeSubmitted => ordered!(composes::time_submitted),
        OrderKey::TimeDone => ordered!(composes::time_done),
        OrderKey::TimeRemoved => ordered!(composes::time_removed),
    };
    let items = Paged {
        query: q,
        limit,
        offset,
    }
    .load(conn)?;
    Ok((items, total))
}

/// `query LIMIT ?+0 OFFSET ?`. The `+0` keeps the statement in the prepared-statement cache on
/// SQLite, which otherwise re-prepares a statement with a bound `LIMIT ?` on every execution (its
/// planner reads the bound value); PostgreSQL takes the expression as it is.
#[derive(Debug, Clone)]
struct Paged<Q> {
    query: Q,
    limit: i64,
    offset: i64,
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Paged<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> diesel::query_builder::QueryId for Paged<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, C> RunQueryDsl<C> for Paged<Q> {}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for Paged<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    DB: diesel::sql_types::HasSqlType<BigInt>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql("+0 OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.offset)?;
        Ok(())
    }
}

/// Composes that reuse `id`.
pub fn reusing(conn: &mut AnyConnection, id: i64) -> QueryResult<Vec<Compose>> {
    composes::table
        .filter(composes::reused_id.eq(id))
        .select(Compose::as_select())
        .order(composes::id.asc())
        .load(conn)
}

pub fn save(conn: &mut AnyConnection, c: &Compose) -> QueryResult<()> {
    diesel::update(composes::table.find(c.id))
        .set(c)
        .execute(conn)?;
    super::changes::touched_compose(c.id);
    Ok(())
}

/// Moves a compose to `to` with `reason` at time `at` (contract §2.1): time fields, TTL re-base
/// on done/failed, one outbox message, and the cascade to composes reusing it.
pub fn transition(
    conn: &mut AnyConnection,
    compose: &Compose,
    to: State,
    reason: Option<String>,
    at: NaiveDateTime,
    settings: &ComposeSettings,
) -> QueryResult<Compose> {
    let mut c = compose.clone();
    let changed = c.state != to.code();
    c.state = to.code();
    c.state_reason = reason.clone();
    match to {
        State::Generating => c.time_started = Some(at),
        State::Done => c.time_done = Some(at),
        State::Removed => c.time_removed = Some(at),
        _ => {}
    }
    if matches!(to, State::Done | State::Failed) {
        let ttl = compose.time_to_expire - compose.time_submitted;
        c.time_to_expire = at + ttl;
    }
    save(conn, &c)?;
    if changed {
        write_state_message(conn, &c, settings, at)?;
    }
    if matches!(to, State::Done | State::Failed) {
        let cascade_at = c.time_done.unwrap_or(at);
        let mut until = c.time_to_expire;
        let mut followers = Vec::new();
        for r in reusing(conn, c.id)? {
            if matches!(
                State::from_code(r.state),
                Some(State::Wait | State::Generating)
            ) {
                let r = transition(conn, &r, to, reason.clone(), cascade_at, settings)?;
                until = until.max(r.time_to_expire);
                followers.push(r.id);
            }
        }
        // A compose and those that followed it live as long as the longest of them (§2.3).
        if !followers.is_empty() {
            followers.push(c.id);
            diesel::update(composes::table.filter(composes::id.eq_any(&followers)))
                .set(composes::time_to_expire.eq(until))
                .execute(conn)?;
            for id in &followers {
                super::changes::touched_compose(*id);
            }
            c.time_to_expire = until;
        }
    }
    Ok(c)
}

/// Marks the queued and running jobs of a compose cancelled (a running job's worker notices
/// at its next heartbeat and stops).
pub fn cancel_jobs(
    conn: &mut AnyConnection,
    compose_id: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    crate::queue::cancel_for_compose(conn, compose_id, at)
}

/// `time_to_expire := max(current, until)` for the compose, the compose it reuses and every
/// compose reusing it (PATCH extend, contract §1.7).
pub fn extend_expiry(
    conn: &mut AnyConnection,
    c: &Compose,
    until: NaiveDateTime,
) -> QueryResult<()> {
    let mut ids = vec![c.id];
    ids.extend(c.reused_id);
    ids.extend(reusing(conn, c.id)?.iter().map(|r| r.id));
    for id in ids {
        diesel::update(
            composes::table
                .find(id)
                .filter(composes::time_to_expire.lt(until)),
        )
        .set(composes::time_to_expire.eq(until))
        .execute(conn)?;
        super::changes::touched_compose(id);
    }
    Ok(())
}

/// Admin delete: expire now and record who asked (the cleanup job removes it).
pub fn mark_for_removal(
    conn: &mut AnyConnection,
    id: i64,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(composes::table.find(id))
        .set((composes::time_to_expire.eq(at), composes::removed_by.eq(by)))
        .execute(conn)?;
    super::changes::touched_compose(id);
    Ok(())
}

/// Done or failed composes whose `time_to_expire` has passed.
pub fn expired(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Compose>> {
    composes::table
        .filter(composes::state.eq_any([State::Done.code(), State::Failed.code()]))
        .filter(composes::time_to_expire.lt(now))
        .select(Compose::as_select())
        .order(composes::id.asc())
        .limit(limit)
        .load(conn)
}

/// Composes waiting since before `before`.
pub fn waiting_since(conn: &mut AnyConnection, before: NaiveDateTime) -> QueryResult<Vec<Compose>> {
    composes::table
        .filter(composes::state.eq(State::Wait.code()))
        .filter(composes::time_submitted.lt(before))
        .select(Compose::as_select())
        .order(composes::id.asc())
        .load(conn)
}

/// Composes generating since before `before` (by `time_started`).
pub fn generating_since(
    conn: &mut AnyConnection,
    before: NaiveDateTime,
) -> QueryResult<Vec<Compose>> {
    composes::table
        .filter(composes::state.eq(State::Generating.code()))
        .filter(composes::time_started.lt(before))
        .select(Compose::as_select())
        .order(composes::id.asc())
        .load(conn)
}

/// Generating composes that reuse another compose, with the compose they reuse.
pub fn reusing_generating(conn: &mut AnyConnection) -> QueryResult<Vec<(Compose, Compose)>> {
    let reusing: Vec<Compose> = composes::table
        .filter(composes::state.eq(State::Generating.code()))
        .filter(composes::reused_id.is_not_null())
        .select(Compose::as_select())
        .order(composes::id.asc())
        .load(conn)?;
    let mut out = Vec::with_capacity(reusing.len());
    for r in reusing {
        if let Some(target) = get(conn, r.reused_id.expect("filtered"))? {
            out.push((r, target));
        }
    }
    Ok(out)
}

/// Count of composes per (source_type, state).
pub fn counts(conn: &mut AnyConnection) -> QueryResult<Vec<(i32, i32, i64)>> {
    composes::table
        .group_by((composes::source_type, composes::state))
        .select((
            composes::source_type,
            composes::state,
            diesel::dsl::count_star(),
        ))
        .load(conn)
}

/// Messages of the outbox not yet sent, oldest first.
pub fn pending_messages(
    conn: &mut AnyConnection,
    limit: i64,
) -> QueryResult<Vec<super::models::OutboxMessage>> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .order(outbox::id.asc())
        .limit(limit)
        .select(super::models::OutboxMessage::as_select())
        .load(conn)
}

pub fn count_pending_messages(conn: &mut AnyConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .count()
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::{Connection, RunQueryDsl};

    struct Sql(Arc<Mutex<Vec<String>>>);

    impl Instrumentation for Sql {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                self.0.lock().unwrap().push(query.to_string());
            }
        }
    }

    /// A migrated SQLite database in a temporary directory (kept alive by the returned guard).
    fn sqlite() -> (tempfile::TempDir, crate::db::DbConn) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
        let (pool, _) = crate::db::connect(&url, 1, std::time::Duration::from_secs(5)).unwrap();
        crate::db::migrate(&pool).unwrap();
        let conn = pool.get().unwrap();
        (dir, conn)
    }

    /// Records the SQL of every statement `conn` runs from now on.
    fn record_sql(conn: &mut crate::db::DbConn) -> Arc<Mutex<Vec<String>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        conn.set_instrumentation(Sql(seen.clone()));
        seen
    }

    /// SQLite re-prepares a statement with a bound `LIMIT ?` on every execution; the API's read
    /// by id must not carry one (a 7x slower read when it did).
    #[test]
    fn read_by_id_has_no_bound_limit() {
        let (_dir, mut conn) = sqlite();
        let seen = record_sql(&mut conn);
        assert!(super::get(&mut conn, 1).unwrap().is_none());
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("FROM `composes`"), "{}", seen[0]);
        assert!(!seen[0].contains("LIMIT"), "{}", seen[0]);
    }

    /// The list's page clause is `LIMIT ?+0` for the same reason, and pages still page.
    #[test]
    fn list_pages_with_an_expression_limit() {
        let (_dir, mut conn) = sqlite();
        for i in 0..5 {
            diesel::sql_query(format!(
                "INSERT INTO composes (owner, source_type, source, state, time_to_expire, time_submitted, arches) \
                 VALUES ('o{i}', 1, 'f40', 0, '2030-01-01 00:00:00', '2026-01-01 00:00:00', 'x86_64')"
            ))
            .execute(&mut *conn)
            .unwrap();
        }
        let seen = record_sql(&mut conn);
        let f = super::ListFilter::default();
        let (items, total) = super::list(&mut conn, &f, super::OrderKey::Id, true, 2, 2).unwrap();
        assert_eq!(total, 5);
        assert_eq!(items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![3, 2]);
        let seen = seen.lock().unwrap();
        assert!(
            seen.iter().any(|q| q.contains("LIMIT ?+0 OFFSET ?")),
            "{seen:?}"
        );
    }
}
