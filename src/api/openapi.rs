//! The OpenAPI 3.1 document; committed as `openapi/openapi.json` (a test keeps it current).

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
        super::misc::about,
        super::misc::metrics,
        super::triggers::list_triggers,
    ),
    tags(
        (name = "composes", description = "Compose requests and their state"),
        (name = "server", description = "Server information"),
    )
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The committed rendering: pretty JSON with a final newline.
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&document()).expect("openapi serializes");
    s.push('\n');
    s
}

/// `GET /api/1/openapi.json`.
pub async fn openapi_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(document())
}
