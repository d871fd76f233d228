//! PostgreSQL `LISTEN`/`NOTIFY` on a connection of its own: the queue's wake-ups and the
//! compose change watcher share it.

use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::Connection;

/// A PostgreSQL connection of its own that `LISTEN`s on `channel` (the queue's wake-ups, the
/// compose change watcher).
pub fn pg_listen(url: &str, channel: &str) -> Result<diesel::PgConnection, String> {
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query(format!("LISTEN {channel}"))
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Takes the notifications a [`pg_listen`] connection has received: their payloads (empty when
/// none came). After `ping_after` without any (counted from `quiet_since`), a `SELECT 1` round
/// trip notices a half-open connection. An error means the connection is lost.
pub fn pg_notified(
    conn: &mut diesel::PgConnection,
    quiet_since: &mut std::time::Instant,
    ping_after: Duration,
) -> Result<Vec<String>, String> {
    let mut got = Vec::new();
    for n in conn.notifications_iter() {
        got.push(n.map_err(|e| e.to_string())?.payload);
    }
    if !got.is_empty() {
        *quiet_since = std::time::Instant::now();
    } else if quiet_since.elapsed() >= ping_after {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map_err(|e| e.to_string())?;
        *quiet_since = std::time::Instant::now();
    }
    Ok(got)
}
