//! A POST's rows on PostgreSQL (the compose, its generate job and its state message) in **one**
//! statement that the connection keeps prepared.
//!
//! Why: on PostgreSQL every statement is a network round trip, and diesel never keeps an
//! `INSERT` of an `Insertable` struct prepared (each of its values may render as `DEFAULT`, so
//! the text is not fixed): each such insert was a `Parse` round trip and an `Execute` round trip.
//! A POST was six round trips (compose, job, outbox) plus the batch's `BEGIN`/`COMMIT`, and under
//! the issue-19 mix (about 1,900 POSTs/s) the one committing connection could not keep up, so
//! POSTs queued (p99 29 ms). Here the three rows are one data-modifying `WITH`, bound in full
//! (`NULL` where the struct has `None`: those columns have no default but `NULL`), with a static
//! query id, so it is prepared once per connection and then one round trip.
//!
//! The state message's body holds the compose's id, which the server assigns. It is rendered
//! with a stand-in id (a random 19-digit number, [`MessageTemplate`]) that the statement
//! replaces by the new id. A request whose own text holds the stand-in (it is random per
//! message, so only by chance) cannot use the template: [`MessageTemplate::new`] finds that by
//! rendering twice, and the caller then writes the message as a second statement.
//!
//! SQLite keeps diesel's inserts: a statement there is a function call, not a round trip.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

use chrono::NaiveDateTime;

use super::models::{Compose, NewCompose, NewJob};

/// The state message of a compose not stored yet: its body with a stand-in for the id.
pub struct MessageTemplate {
    pub message_id: String,
    pub topic: &'static str,
    pub body: String,
    pub stand_in: String,
    pub created_at: NaiveDateTime,
}

impl MessageTemplate {
    /// `render(compose)` is the body of the message of `new` once stored with `compose.id`.
    /// `None` when the request's own text holds the stand-in.
    pub fn new(
        new: &NewCompose,
        topic: &'static str,
        message_id: String,
        render: impl Fn(&Compose) -> String,
    ) -> Option<Self> {
        let stand_in =
            || 1_000_000_000_000_000_000 + rand::random::<u64>() % 8_000_000_000_000_000_000;
        let (a, b) = (stand_in(), stand_in());
        let body = render(&stored(new, a as i64));
        // Every occurrence of the stand-in is the id's exactly when a second stand-in puts
        // the same text in the same places.
        let (a, b_text) = (a.to_string(), b.to_string());
        if a == b_text || render(&stored(new, b as i64)).replace(&b_text, &a) != body {
            return None;
        }
        Some(Self {
            message_id,
            topic,
            body,
            stand_in: a,
            created_at: new.time_submitted,
        })
    }
}

/// The row `new` becomes when stored with `id` (the columns it does not set are `NULL`).
fn stored(new: &NewCompose, id: i64) -> Compose {
    let n = new.clone();
    Compose {
        id,
        owner: n.owner,
        source_type: n.source_type,
        source: n.source,
        state: n.state,
        state_reason: n.state_reason,
        time_to_expire: n.time_to_expire,
        time_submitted: n.time_submitted,
        flags: n.flags,
        results: n.results,
        sigkeys: n.sigkeys,
        koji_event: n.koji_event,
        packages: n.packages,
        builds: n.builds,
        arches: n.arches,
        multilib_arches: n.multilib_arches,
        multilib_method: n.multilib_method,
        lookaside_repos: n.lookaside_repos,
        modular_koji_tags: n.modular_koji_tags,
        module_defaults_url: n.module_defaults_url,
        label: n.label,
        compose_type: n.compose_type,
        target_dir: n.target_dir,
        scratch_modules: n.scratch_modules,
        parent_pungi_compose_ids: n.parent_pungi_compose_ids,
        scratch_build_tasks: n.scratch_build_tasks,
        modules: n.modules,
        respin_of: n.respin_of,
        base_module_br_name: n.base_module_br_name,
        base_module_br_stream: n.base_module_br_stream,
        base_module_br_stream_version_lte: n.base_module_br_stream_version_lte,
        base_module_br_stream_version_gte: n.base_module_br_stream_version_gte,
        pungi_config_dump: n.pungi_config_dump,
        traceparent: n.traceparent,
        ..Compose::default()
    }
}

/// `WITH c AS (INSERT INTO composes … RETURNING *), j AS (INSERT INTO jobs … FROM c)
/// [, o AS (INSERT INTO outbox … FROM c)] SELECT * FROM c`: the stored compose, its job and
/// (with a template) its state message, inserted with its id.
struct ComposeWithJob<'a> {
    compose: &'a NewCompose,
    job: &'a NewJob,
    message: Option<&'a MessageTemplate>,
}

impl QueryId for ComposeWithJob<'_> {
    type QueryId = ();
    // The text depends on `message`, so the id cannot be static; diesel then keys its
    // prepared statements by the SQL text (two texts, two statements per connection).
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for ComposeWithJob<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for ComposeWithJob<'_> {}

/// Pushes `$value` as a bind of SQL type `$ty` for each pair, comma-separated.
macro_rules! binds {
    ($out:ident; $ty:ty => $value:expr $(, $rest_ty:ty => $rest:expr)* $(,)?) => {{
        $out.push_bind_param::<$ty, _>($value)?;
        $(
            $out.push_sql(", ");
            $out.push_bind_param::<$rest_ty, _>($rest)?;
        )*
    }};
}

impl QueryFragment<Pg> for ComposeWithJob<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let c = self.compose;
        let j = self.job;
        out.push_sql(
            "WITH c AS (INSERT INTO composes (owner, source_type, source, state, state_reason, \
             time_to_expire, time_submitted, flags, results, sigkeys, koji_event, packages, \
             builds, arches, multilib_arches, multilib_method, lookaside_repos, \
             modular_koji_tags, module_defaults_url, label, compose_type, target_dir, \
             scratch_modules, parent_pungi_compose_ids, scratch_build_tasks, modules, respin_of, \
             base_module_br_name, base_module_br_stream, base_module_br_stream_version_lte, \
             base_module_br_stream_version_gte, pungi_config_dump, traceparent) VALUES (",
        );
        binds!(out;
            Text => &c.owner,
            Integer => &c.source_type,
            Text => &c.source,
            Integer => &c.state,
            Nullable<Text> => &c.state_reason,
            Timestamp => &c.time_to_expire,
            Timestamp => &c.time_submitted,
            Integer => &c.flags,
            Integer => &c.results,
            Text => &c.sigkeys,
            Nullable<BigInt> => &c.koji_event,
            Nullable<Text> => &c.packages,
            Nullable<Text> => &c.builds,
            Text => &c.arches,
            Text => &c.multilib_arches,
            Integer => &c.multilib_method,
            Nullable<Text> => &c.lookaside_repos,
            Nullable<Text> => &c.modular_koji_tags,
            Nullable<Text> => &c.module_defaults_url,
            Nullable<Text> => &c.label,
            Nullable<Text> => &c.compose_type,
            Nullable<Text> => &c.target_dir,
            Nullable<Text> => &c.scratch_modules,
            Nullable<Text> => &c.parent_pungi_compose_ids,
            Nullable<Text> => &c.scratch_build_tasks,
            Nullable<Text> => &c.modules,
            Nullable<Text> => &c.respin_of,
            Nullable<Text> => &c.base_module_br_name,
            Nullable<Text> => &c.base_module_br_stream,
            Nullable<BigInt> => &c.base_module_br_stream_version_lte,
            Nullable<BigInt> => &c.base_module_br_stream_version_gte,
            Nullable<Text> => &c.pungi_config_dump,
            Nullable<Text> => &c.traceparent,
        );
        out.push_sql(
            ") RETURNING *), j AS (INSERT INTO jobs (kind, compose_id, queue, state, attempts, \
             max_attempts, run_after, created_at, updated_at, dedup_key) SELECT ",
        );
        binds!(out; Text => &j.kind);
        out.push_sql(", c.id, ");
        binds!(out;
            Text => &j.queue,
            Text => &j.state,
            Integer => &j.attempts,
            Integer => &j.max_attempts,
            Timestamp => &j.run_after,
            Timestamp => &j.created_at,
            Timestamp => &j.updated_at,
            Nullable<Text> => &j.dedup_key,
        );
        out.push_sql(" FROM c)");
        if let Some(m) = self.message {
            out.push_sql(
                ", o AS (INSERT INTO outbox (message_id, topic, body, created_at) SELECT ",
            );
            binds!(out; Text => &m.message_id, Text => &m.topic);
            out.push_sql(", replace(");
            binds!(out; Text => &m.body, Text => &m.stand_in);
            out.push_sql(", c.id::text), ");
            binds!(out; Timestamp => &m.created_at);
            out.push_sql(" FROM c)");
        }
        out.push_sql(" SELECT * FROM c");
        Ok(())
    }
}

/// Inserts `compose`, `job` (whose `compose_id` is ignored: the new compose's id is used) and
/// the state message of `message` in one statement; returns the stored compose.
pub fn insert_with_job(
    conn: &mut PgConnection,
    compose: &NewCompose,
    job: &NewJob,
    message: Option<&MessageTemplate>,
) -> QueryResult<Compose> {
    ComposeWithJob {
        compose,
        job,
        message,
    }
    .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_compose() -> NewCompose {
        NewCompose {
            owner: "me".into(),
            source: "f26".into(),
            label: Some("RC-1".into()),
            ..NewCompose::default()
        }
    }

    #[test]
    fn the_template_holds_the_stand_in_wherever_the_id_is() {
        let render = |c: &Compose| {
            format!(
                "{{\"id\": {0}, \"url\": \"odcs-{0}/x\", \"label\": {1:?}}}",
                c.id, c.label
            )
        };
        let t = MessageTemplate::new(&new_compose(), "t", "m".into(), render).unwrap();
        assert_eq!(t.stand_in.len(), 19);
        assert_eq!(t.body.matches(&t.stand_in).count(), 2, "{}", t.body);
        assert_eq!(
            t.body.replace(&t.stand_in, "42"),
            render(&stored(&new_compose(), 42))
        );
    }

    #[test]
    fn a_body_that_shows_the_id_otherwise_has_no_template() {
        // The id as something else than its digits (here the next id) cannot be replaced in
        // SQL: the caller writes the message from the stored row instead.
        let render = |c: &Compose| format!("{} {}", c.id, c.id + 1);
        assert!(MessageTemplate::new(&new_compose(), "t", "m".into(), render).is_none());
    }

    #[test]
    fn the_stored_row_has_the_new_values_and_nothing_else() {
        let n = new_compose();
        let c = stored(&n, 7);
        assert_eq!(
            (c.id, c.owner.as_str(), c.label.as_deref()),
            (7, "me", Some("RC-1"))
        );
        assert_eq!(
            (c.time_started, c.koji_task_id, c.reused_id),
            (None, None, None)
        );
        assert_eq!(c.time_submitted, n.time_submitted);
    }
}
