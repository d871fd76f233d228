//! `/api/1/about/`, `/api/1/metrics/`, the landing page and the API documentation.

use std::fmt::Write;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{SourceType, State};
use crate::web::error::ApiError;
use crate::web::request::cors_ok;
use crate::web::state::{AppState, db};

/// Server information.
#[derive(Debug, Serialize, ToSchema)]
pub struct About {
    pub version: String,
    pub auth_backend: String,
    #[schema(value_type = Object)]
    pub allowed_clients: serde_json::Value,
    #[schema(value_type = Object)]
    pub raw_config_urls: serde_json::Value,
    pub sigkeys: Vec<String>,
}

/// `GET /api/1/about/`
#[utoipa::path(get, path = "/api/1/about/", tag = "server",
    responses((status = 200, description = "Server information", body = About)))]
pub async fn about(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let s = &state.settings;
    Ok(cors_ok(&About {
        version: env!("CARGO_PKG_VERSION").to_string(),
        auth_backend: s.auth.backend.clone(),
        allowed_clients: serde_json::to_value(&s.auth.allowed_clients)
            .map_err(|e| ApiError::internal(e.to_string()))?,
        raw_config_urls: serde_json::to_value(&s.composes.raw_config_urls)
            .map_err(|e| ApiError::internal(e.to_string()))?,
        sigkeys: s.composes.sigkeys.clone(),
    }))
}

/// Prometheus text for the current database contents.
pub fn render_metrics(counts: &[(i32, i32, i64)], outbox_pending: i64) -> String {
    let mut out = String::new();
    out.push_str("# HELP composes_total Total number of composes\n# TYPE composes_total gauge\n");
    for st in SourceType::ALL {
        for state in State::ALL {
            let n = counts
                .iter()
                .find(|(t, s, _)| *t == st.code() && *s == state.code())
                .map(|c| c.2)
                .unwrap_or(0);
            let _ = writeln!(
                out,
                "composes_total{{source_type=\"{}\",state=\"{}\"}} {n}",
                st.name(),
                state.name()
            );
        }
    }
    out.push_str("# HELP composed_outbox_pending State-change messages not yet published\n# TYPE composed_outbox_pending gauge\n");
    let _ = writeln!(out, "composed_outbox_pending {outbox_pending}");
    out
}

/// `GET /api/1/metrics/`
#[utoipa::path(get, path = "/api/1/metrics/", tag = "server",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let amqp = !state.settings.messaging.amqp_url.is_empty();
    let (counts, pending, jobs, bus) = db(&state, move |c| {
        let counts = crate::db::composes::counts(c)?;
        let pending = crate::db::composes::count_pending_messages(c)?;
        let jobs = crate::queue::counts(c)?;
        let mut bus = crate::bus::counters::render(c, amqp)?;
        bus.push_str(&crate::db::phases::render(c)?);
        Ok((counts, pending, jobs, bus))
    })
    .await?;
    let mut body = render_metrics(&counts, pending);
    body.push_str(&render_job_metrics(&jobs));
    body.push_str(&bus);
    if let Some(cache) = &state.cache {
        let (hits, misses, bypassed) = cache.counts();
        let _ = write!(
            body,
            "# HELP composed_response_cache_hits_total Reads answered from the response cache\n\
             # TYPE composed_response_cache_hits_total counter\n\
             composed_response_cache_hits_total {hits}\n\
             # HELP composed_response_cache_misses_total Cacheable reads that went to the database\n\
             # TYPE composed_response_cache_misses_total counter\n\
             composed_response_cache_misses_total {misses}\n\
             # HELP composed_response_cache_bypassed_total Cacheable reads that went to the database because the change watcher was disconnected or late\n\
             # TYPE composed_response_cache_bypassed_total counter\n\
             composed_response_cache_bypassed_total {bypassed}\n"
        );
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

/// `composed_jobs{queue,state}`: the job queue by queue and state.
fn render_job_metrics(jobs: &[(String, String, i64)]) -> String {
    let mut out = String::from(
        "# HELP composed_jobs Jobs in the queue by queue and state.\n# TYPE composed_jobs gauge\n",
    );
    for (queue, state, n) in jobs {
        out.push_str(&format!(
            "composed_jobs{{queue=\"{queue}\",state=\"{state}\"}} {n}\n"
        ));
    }
    out
}

pub async fn api_docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            "<!doctype html><html><head><title>composed API</title></head><body>\
         <h1>On Demand Compose Service API v1</h1>\
         <p><a href=\"/api/1/docs/\">Interactive documentation</a> · \
         <a href=\"/api/1/openapi.json\">OpenAPI document</a></p></body></html>",
        )
}

/// `/favicon.ico`, as ODCS serves one (browsers and proxies' health checks ask for it).
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/vnd.microsoft.icon")
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=86400",
        ))
        .body(&include_bytes!("assets/favicon.ico")[..])
}
