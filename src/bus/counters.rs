//! Listener counters: counted in memory by the listening process, added to the `bus_counters`
//! table every half second (so `/api/1/metrics/` of any process shows them), rendered as
//! Prometheus text.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::{bus_counters, outbox};
use crate::db::{AnyConnection, DbPool};

/// `composed_bus_malformed_total{transport, reason}`.
pub const MALFORMED: &str = "malformed";
/// `composed_bus_messages_total{transport, outcome}`: every well-formed message, by outcome.
pub const MESSAGES: &str = "messages";

pub const TRANSPORTS: &[&str] = &["zmq", "amqp"];
pub const MALFORMED_REASONS: &[&str] = &[
    "frames",
    "oversized",
    "json",
    "not_object",
    "missing_field",
    "topic_mismatch",
];
pub const OUTCOMES: &[&str] = &["matched", "duplicate", "ignored"];

type Key = (&'static str, &'static str, &'static str);

/// Counts not yet written to the database.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pending: Arc<Mutex<HashMap<Key, i64>>>,
}

impl Counters {
    pub fn add(&self, metric: &'static str, transport: &'static str, reason: &'static str) {
        let mut m = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((metric, transport, reason)).or_default() += 1;
    }

    fn take(&self) -> HashMap<Key, i64> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn restore(&self, deltas: HashMap<Key, i64>) {
        let mut m = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in deltas {
            *m.entry(k).or_default() += v;
        }
    }

    /// Writes the counts gathered so far (kept for the next flush if the write fails).
    pub async fn flush(&self, pool: &DbPool) {
        let deltas = self.take();
        if deltas.is_empty() {
            return;
        }
        let p = pool.clone();
        let d = deltas.clone();
        let r = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let mut c = p.get().map_err(|e| e.to_string())?;
            crate::db::write_tx(&mut c, |c| {
                for ((metric, transport, reason), n) in &d {
                    add_row(c, metric, transport, reason, *n)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .map_err(|e| e.to_string())
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "bus counters not stored; retrying");
                self.restore(deltas);
            }
            Err(e) => {
                tracing::error!(error = %e, "bus counter task failed");
                self.restore(deltas);
            }
        }
    }

    /// Flushes every 500 ms until the process ends.
    pub async fn run_flusher(self, pool: DbPool) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            self.flush(&pool).await;
        }
    }
}

fn add_row(
    c: &mut AnyConnection,
    metric: &str,
    transport: &str,
    reason: &str,
    n: i64,
) -> QueryResult<usize> {
    const SQL_SQLITE: &str = "INSERT INTO bus_counters (metric, transport, reason, total) \
        VALUES (?, ?, ?, ?) ON CONFLICT (metric, transport, reason) \
        DO UPDATE SET total = bus_counters.total + excluded.total";
    const SQL_PG: &str = "INSERT INTO bus_counters (metric, transport, reason, total) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (metric, transport, reason) \
        DO UPDATE SET total = bus_counters.total + excluded.total";
    match c {
        AnyConnection::Sqlite(c) => diesel::sql_query(SQL_SQLITE)
            .bind::<Text, _>(metric)
            .bind::<Text, _>(transport)
            .bind::<Text, _>(reason)
            .bind::<BigInt, _>(n)
            .execute(c),
        AnyConnection::Postgresql(c) => diesel::sql_query(SQL_PG)
            .bind::<Text, _>(metric)
            .bind::<Text, _>(transport)
            .bind::<Text, _>(reason)
            .bind::<BigInt, _>(n)
            .execute(c),
    }
}

/// Prometheus text of the bus counters (every transport × reason, zeros included) and, when
/// AMQP publishing is on, the AMQP backlog.
pub fn render(c: &mut AnyConnection, amqp_enabled: bool) -> QueryResult<String> {
    let rows: Vec<(String, String, String, i64)> = bus_counters::table
        .select((
            bus_counters::metric,
            bus_counters::transport,
            bus_counters::reason,
            bus_counters::total,
        ))
        .load(c)?;
    let get = |m: &str, t: &str, r: &str| {
        rows.iter()
            .find(|x| x.0 == m && x.1 == t && x.2 == r)
            .map(|x| x.3)
            .unwrap_or(0)
    };
    let mut out = String::new();
    out.push_str("# HELP composed_bus_malformed_total Received bus messages dropped as malformed\n# TYPE composed_bus_malformed_total counter\n");
    for t in TRANSPORTS {
        for r in MALFORMED_REASONS {
            let _ = writeln!(
                out,
                "composed_bus_malformed_total{{transport=\"{t}\",reason=\"{r}\"}} {}",
                get(MALFORMED, t, r)
            );
        }
    }
    out.push_str("# HELP composed_bus_messages_total Well-formed bus messages received, by outcome\n# TYPE composed_bus_messages_total counter\n");
    for t in TRANSPORTS {
        for o in OUTCOMES {
            let _ = writeln!(
                out,
                "composed_bus_messages_total{{transport=\"{t}\",outcome=\"{o}\"}} {}",
                get(MESSAGES, t, o)
            );
        }
    }
    if amqp_enabled {
        let pending: i64 = outbox::table
            .filter(outbox::amqp_sent_at.is_null())
            .count()
            .get_result(c)?;
        out.push_str("# HELP composed_outbox_amqp_pending State-change messages not yet confirmed by the AMQP broker\n# TYPE composed_outbox_amqp_pending gauge\n");
        let _ = writeln!(out, "composed_outbox_amqp_pending {pending}");
    }
    Ok(out)
}
