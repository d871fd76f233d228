//! Phase durations of generated composes as cumulative histograms in `phase_histogram`: every
//! worker adds its composes' phases, `/api/1/metrics/` renders
//! `composed_phase_duration_seconds` from the table, so any API process shows every worker's.

use std::fmt::Write;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::AnyConnection;
use super::schema::phase_histogram;

/// Upper bounds of the buckets, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

fn add(c: &mut AnyConnection, phase: &str, le: &str, n: i64) -> QueryResult<usize> {
    const SQL_SQLITE: &str = "INSERT INTO phase_histogram (phase, le, total) VALUES (?, ?, ?) \
        ON CONFLICT (phase, le) DO UPDATE SET total = phase_histogram.total + excluded.total";
    const SQL_PG: &str = "INSERT INTO phase_histogram (phase, le, total) VALUES ($1, $2, $3) \
        ON CONFLICT (phase, le) DO UPDATE SET total = phase_histogram.total + excluded.total";
    match c {
        AnyConnection::Sqlite(c) => diesel::sql_query(SQL_SQLITE)
            .bind::<Text, _>(phase)
            .bind::<Text, _>(le)
            .bind::<BigInt, _>(n)
            .execute(c),
        AnyConnection::Postgresql(c) => diesel::sql_query(SQL_PG)
            .bind::<Text, _>(phase)
            .bind::<Text, _>(le)
            .bind::<BigInt, _>(n)
            .execute(c),
    }
}

fn le_label(b: f64) -> String {
    format!("{b}")
}

/// Adds one compose's phases. Call inside a write transaction. The rows are updated in one
/// order whatever order the phases ended in, so that two workers' transactions lock them
/// alike (no deadlock between them on PostgreSQL).
pub fn record(c: &mut AnyConnection, phases: &[(&str, Duration)]) -> QueryResult<()> {
    let mut phases = phases.to_vec();
    phases.sort_by_key(|(phase, _)| *phase);
    for (phase, d) in &phases {
        let secs = d.as_secs_f64();
        for b in BUCKETS.iter().filter(|b| secs <= **b) {
            add(c, phase, &le_label(*b), 1)?;
        }
        add(c, phase, "+Inf", 1)?;
        add(c, phase, "sum", d.as_millis() as i64)?;
    }
    Ok(())
}

/// The Prometheus text of `composed_phase_duration_seconds` (every bucket of every phase seen,
/// zeros included).
pub fn render(c: &mut AnyConnection) -> QueryResult<String> {
    let rows: Vec<(String, String, i64)> = phase_histogram::table
        .select((
            phase_histogram::phase,
            phase_histogram::le,
            phase_histogram::total,
        ))
        .order(phase_histogram::phase)
        .load(c)?;
    let mut out = String::from(
        "# HELP composed_phase_duration_seconds How long each engine phase of generated composes took.\n\
         # TYPE composed_phase_duration_seconds histogram\n",
    );
    let mut phases: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    phases.dedup();
    let get = |phase: &str, le: &str| {
        rows.iter()
            .find(|r| r.0 == phase && r.1 == le)
            .map_or(0, |r| r.2)
    };
    for phase in phases {
        for b in BUCKETS {
            let le = le_label(b);
            let _ = writeln!(
                out,
                "composed_phase_duration_seconds_bucket{{phase=\"{phase}\",le=\"{le}\"}} {}",
                get(phase, &le)
            );
        }
        let count = get(phase, "+Inf");
        let _ = writeln!(
            out,
            "composed_phase_duration_seconds_bucket{{phase=\"{phase}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "composed_phase_duration_seconds_sum{{phase=\"{phase}\"}} {}",
            get(phase, "sum") as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "composed_phase_duration_seconds_count{{phase=\"{phase}\"}} {count}"
        );
    }
    Ok(out)
}
