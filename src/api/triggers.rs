//! `GET /api/1/triggers/`: what made each event-driven or scheduled compose (composed's
//! addition; ODCS has no triggers). Newest first.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::triggers;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::input::{first_param, int_param, query_pairs};
use crate::web::state::{AppState, db_read};

fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `GET /api/1/triggers/`
#[utoipa::path(get, path = "/api/1/triggers/", tag = "server",
    params(
        ("rule" = Option<String>, Query, description = "Only this rule's records"),
        ("compose_id" = Option<i64>, Query, description = "Only the record of this compose"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "At most this many records (1-1000, default 100)"),
    ),
    responses(
        (status = 200, description = "Trigger records, newest first: rule, topics, coalesced message ids, events, first receipt, compose", body = Object),
        (status = 400, description = "Invalid query", body = ErrorBody),
    ))]
pub async fn list_triggers(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_pairs(&req)?;
    let rule = first_param(&params, "rule").map(str::to_string);
    let compose_id = int_param(&params, "compose_id", i64::MIN..=i64::MAX)?;
    let limit = int_param(&params, "limit", 1..=1000)?.unwrap_or(100);
    let rows = db_read(&state, move |c| {
        let mut sel = triggers::table.into_boxed();
        if let Some(r) = rule {
            sel = sel.filter(triggers::rule.eq(r));
        }
        if let Some(id) = compose_id {
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
