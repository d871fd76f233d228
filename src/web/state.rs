//! The state every handler reaches, and the way handlers get a database connection.

use std::sync::Arc;

use actix_web::web;

use super::error::ApiError;
use crate::config::Settings;
use crate::db::{AnyConnection, Backend, DbPool};

/// What every handler can reach.
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub backend: Backend,
    /// The response cache of the hot reads (`server.response_cache_bytes`; off at 0).
    pub cache: Option<Arc<super::cache::ResponseCache>>,
    /// One permit per pooled connection: requests queue here, in order, before they take a
    /// blocking thread and a connection ([`db`]).
    pub db_permits: Arc<tokio::sync::Semaphore>,
    /// Where POSTs write: concurrent ones share a transaction (`crate::db::group_commit`).
    pub writer: crate::db::group_commit::GroupCommit,
}

/// Runs blocking database work on the blocking pool with a pooled connection. Requests wait
/// for a connection in a fair queue here (one permit per pooled connection), not in blocking
/// threads parked on the pool, whose wake-ups are not in order.
pub async fn db<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
{
    let _permit = state
        .db_permits
        .acquire()
        .await
        .map_err(|_| ApiError::internal("the database queue is closed"))?;
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = pool
            .get()
            .map_err(|e| ApiError::from(crate::db::DbError::Pool(e.to_string())))?;
        f(&mut conn)
    })
    .await?
}

/// Runs a short read. On SQLite it runs right here on the HTTP worker: a point read from the
/// embedded database takes microseconds and never waits for a writer (WAL), so the hop to the
/// blocking pool would cost more than the read. On PostgreSQL (network I/O) it goes through
/// [`db`].
pub async fn db_read<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
{
    if state.backend == crate::db::Backend::Sqlite {
        let mut conn = state
            .pool
            .get()
            .map_err(|e| ApiError::from(crate::db::DbError::Pool(e.to_string())))?;
        return f(&mut conn);
    }
    db(state, f).await
}
