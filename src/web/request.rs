//! Small request/response helpers shared by the handlers.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

/// 200 JSON with `Access-Control-Allow-Origin: *` (successful GETs only, as ODCS).
pub fn cors_ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(body)
}

/// `scheme://host[/script-name]` of the request, honouring `X-Scheme`, `X-Forwarded-Host` and
/// `X-Script-Name` set by a reverse proxy.
pub fn request_base_url(req: &HttpRequest) -> String {
    let h = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .filter(|v| !v.is_empty())
    };
    let info = req.connection_info();
    let scheme = h("x-scheme").unwrap_or_else(|| info.scheme().to_string());
    let host = h("x-forwarded-host").unwrap_or_else(|| info.host().to_string());
    let script = h("x-script-name").unwrap_or_default();
    format!("{scheme}://{host}{}", script.trim_end_matches('/'))
}
