//! The OpenAPI 3.1 document; committed as `openapi/openapi.json` (a test keeps it current).

use serde_json::{Value, json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "composed",
        description = "On-demand composes from Koji content; wire-compatible with ODCS REST API v1."
    ),
    paths(
        super::composes::list_composes,
        super::composes::get_compose,
        super::composes::create_compose,
        super::composes::renew_compose,
        super::composes::delete_compose,
        super::events::compose_events,
        super::diff::compose_diff,
        super::composes::compose_notifications,
        super::misc::about,
        super::misc::metrics,
        super::triggers::list_triggers,
    ),
    components(schemas(super::diff::DiffFormat)),
    tags(
        (name = "composes", description = "Compose requests and their state"),
        (name = "server", description = "Server information"),
    )
)]
pub struct ApiDoc;

/// The document the derive macros make, before [`document`] puts in what they cannot say.
fn derived() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The OpenAPI document: the derived one with the request bodies of `schema.rs` and the exact
/// query parameters (enums, bounds, no control characters).
pub fn document() -> &'static Value {
    static DOC: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        let mut doc = serde_json::to_value(derived()).expect("openapi serializes");
        let schemas = &mut doc["components"]["schemas"];
        schemas["ComposeRequestBody"] = super::schema::compose_request();
        schemas["RenewBody"] = super::schema::renew_request();
        // An empty PATCH body renews with the defaults.
        doc["paths"]["/api/1/composes/{id}"]["patch"]["requestBody"]["required"] = json!(false);
        patch_params(&mut doc["paths"]["/api/1/composes/"]["get"], list_param);
        patch_params(&mut doc["paths"]["/api/1/triggers/"]["get"], trigger_param);
        doc
    });
    &DOC
}

fn patch_params(op: &mut Value, schema_of: fn(&str) -> Option<Value>) {
    if let Some(params) = op["parameters"].as_array_mut() {
        for p in params {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            if let Some(schema) = schema_of(&name) {
                p["schema"] = schema;
            }
        }
    }
}

use super::schema::NO_CONTROL;

fn text_param(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": NO_CONTROL})
}

fn int_param(min: i64, max: i64) -> Value {
    json!({"type": "integer", "format": "int64", "minimum": min, "maximum": max})
}

/// A code filter: its name, its integer code, or empty (no filter).
fn code_param(names: Vec<&'static str>, codes: Vec<i32>) -> Value {
    let mut names: Vec<Value> = names.into_iter().map(Value::from).collect();
    names.push(json!(""));
    json!({"anyOf": [
        {"type": "string", "enum": names},
        {"type": "integer", "enum": codes},
    ]})
}

fn list_param(name: &str) -> Option<Value> {
    use crate::db::composes::OrderKey;
    use crate::domain::{SourceType, State, limits};
    Some(match name {
        "source" | "owner" | "pungi_compose_id" | "compose_type" | "label" => {
            text_param(limits::STRING_CHARS)
        }
        "source_type" => code_param(
            SourceType::ALL.iter().map(|t| t.name()).collect(),
            SourceType::ALL.iter().map(|t| t.code()).collect(),
        ),
        "state" => code_param(
            State::ALL.iter().map(|t| t.name()).collect(),
            State::ALL.iter().map(|t| t.code()).collect(),
        ),
        "order_by" => {
            let mut keys: Vec<String> = vec![String::new()];
            for k in OrderKey::NAMES {
                keys.push(k.to_string());
                keys.push(format!("-{k}"));
            }
            json!({"type": "string", "enum": keys})
        }
        "koji_task_id" | "page" | "per_page" => int_param(i64::MIN, i64::MAX),
        _ => return None,
    })
}

fn trigger_param(name: &str) -> Option<Value> {
    Some(match name {
        "rule" => text_param(crate::domain::limits::STRING_CHARS),
        "compose_id" => int_param(i64::MIN, i64::MAX),
        "limit" => int_param(1, 1000),
        _ => return None,
    })
}

/// The committed rendering: pretty JSON with a final newline.
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(document()).expect("openapi serializes");
    s.push('\n');
    s
}

/// `GET /api/1/openapi.json`.
pub async fn openapi_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(document())
}
