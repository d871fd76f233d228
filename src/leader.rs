//! One process at a time for work that must not run twice at once across processes (the
//! outbox relays: two relays would publish every state change twice). On PostgreSQL the
//! leader holds a session advisory lock on a connection of its own; when that connection dies
//! (the process dies, or PostgreSQL restarts) the lock is released and another process takes
//! over within `RETRY`. On SQLite (one host) every process runs the work.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;

use crate::config::Settings;

const RETRY: Duration = Duration::from_secs(3);

/// Advisory lock keys.
pub const FEDMSG_RELAY: i64 = 0x636f_6d70_0001;
pub const AMQP_RELAY: i64 = 0x636f_6d70_0002;
pub const NOTIFY_RELAY: i64 = 0x636f_6d70_0003;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

fn try_lock(url: &str, key: i64) -> Result<Option<diesel::PgConnection>, String> {
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    let got: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .get_result(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(got.locked.then_some(conn))
}

/// Runs `work` while this process is the leader for `key`; returns when `work` returns.
pub async fn run_as_leader<F, Fut>(settings: &Settings, key: i64, name: &str, work: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let url = settings.database.url.clone();
    if !url.starts_with("postgres") {
        work().await;
        return;
    }
    loop {
        let u = url.clone();
        let conn = match tokio::task::spawn_blocking(move || try_lock(&u, key)).await {
            Ok(Ok(Some(c))) => Arc::new(Mutex::new(c)),
            Ok(Ok(None)) => {
                tracing::debug!(name, "another process leads; standing by");
                tokio::time::sleep(RETRY).await;
                continue;
            }
            Ok(Err(e)) => {
                tracing::warn!(name, error = %e, "cannot reach the database for leadership");
                tokio::time::sleep(RETRY).await;
                continue;
            }
            Err(_) => return,
        };
        tracing::info!(name, "this process leads");
        let lost = async {
            loop {
                tokio::time::sleep(RETRY).await;
                let c = conn.clone();
                let alive = tokio::task::spawn_blocking(move || {
                    let mut c = c.lock().expect("leader connection");
                    diesel::sql_query("SELECT 1").execute(&mut *c).is_ok()
                })
                .await
                .unwrap_or(false);
                if !alive {
                    return;
                }
            }
        };
        tokio::select! {
            _ = work() => return,
            _ = lost => tracing::warn!(name, "leadership lost (database connection); stopping until re-elected"),
        }
    }
}
