//! `GET /api/1/triggers/`: what made each event-driven or scheduled compose (composed's
//! addition; ODCS has no triggers). Newest first.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::schema::triggers;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::state::{AppState, db_read};

#[derive(Debug, Deserialize)]
pub struct TriggerQuery {
    rule: Option<String>,
    compose_id: Option<i64>,
    limit: Option<i64>,
}

fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `GET /api/1/triggers/`
#[utoipa::path(get, path = "/api/1/triggers/", tag = "server",
    params(
        ("rule" = Option<String>, Query, description = "Only this rule's records"),
        ("compose_id" = Option<i64>, Query, description = "Only the record of this compose"),
        ("limit" = Option<i64>, Query, description = "At most this many records (1-1000, default 100)"),
    ),
    responses(
        (status = 200, description = "Trigger records, newest first: rule, topics, coalesced message ids, events, first receipt, compose", body = Object),
        (status = 400, description = "Invalid query", body = ErrorBody),
    ))]
pub async fn list_triggers(
    query: Result<web::Query<TriggerQuery>, actix_web::Error>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query
        .map_err(|e| ApiError::bad_request(format!("Invalid query: {e}")))?
        .into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and 1000, got {limit}"
        )));
    }
    let rows = db_read(&state, move |c| {
        let mut sel = triggers::table.into_boxed();
        if let Some(r) = q.rule {
            sel = sel.filter(triggers::rule.eq(r));
        }
        if let Some(id) = q.compose_id {
            sel = sel.filter(triggers::compose_id.eq(id));
        }
        Ok(sel
            .order(triggers::id.desc())
            .limit(limit)
            .select(crate::bus::triggers::TriggerRecord::as_select())
            .load(c)?)
    })
    .await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let ids: Value = serde_json::from_str(&r.message_ids).unwrap_or(Value::Null);
            json!({
                "id": r.id,
                "rule": r.rule,
                "topic": r.topic,
                "message_ids": ids,
                "events": r.events,
                "received_at": ts(r.received_at),
                "created_at": ts(r.created_at),
                "compose_id": r.compose_id,
            })
        })
        .collect();
    Ok(crate::web::request::cors_ok(&json!({ "items": items })))
}
