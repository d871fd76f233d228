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
    let script = script_name(req.headers()).unwrap_or_default();
    format!("{scheme}://{host}{script}")
}

/// The mount prefix a reverse proxy names in `X-Script-Name`, without a trailing slash
/// (`None` when absent, empty or `/`).
pub fn script_name(headers: &header::HeaderMap) -> Option<String> {
    headers
        .get("x-script-name")
        .and_then(|v| v.to_str().ok())
        .map(|p| p.trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty())
}

/// Strips the `X-Script-Name` prefix a reverse proxy may also leave on the path (it mounts the
/// service at `/odcs` and forwards `/odcs/api/1/composes/`), before routing, as ODCS's
/// middleware does. A path that does not start with the prefix is left alone.
pub fn strip_script_name(req: &mut actix_web::dev::ServiceRequest) {
    let Some(prefix) = script_name(req.headers()).filter(|p| p.starts_with('/')) else {
        return;
    };
    let path = req.path();
    let rest = match path.strip_prefix(prefix.as_str()) {
        Some("") => "/",
        Some(r) if r.starts_with('/') => r,
        _ => return,
    };
    let mut target = rest.to_string();
    if let Some(q) = req.uri().query() {
        target.push('?');
        target.push_str(q);
    }
    let mut parts = req.uri().clone().into_parts();
    let Ok(pq) = target.parse() else {
        return;
    };
    parts.path_and_query = Some(pq);
    let Ok(uri) = actix_web::http::Uri::from_parts(parts) else {
        return;
    };
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
}

/// The answer to a method a resource does not have: 200 with `Allow` for OPTIONS, otherwise
/// 405 in the error envelope with `Allow` (`allow`: `"GET, HEAD, OPTIONS"`).
pub fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    if req.method() == actix_web::http::Method::OPTIONS {
        return HttpResponse::Ok()
            .insert_header((header::ALLOW, allow.to_string()))
            .finish();
    }
    let mut resp = actix_web::ResponseError::error_response(&crate::web::error::ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "The method {} is not allowed for {}; allowed: {allow}.",
            req.method(),
            req.path()
        ),
    ));
    if let Ok(v) = header::HeaderValue::from_str(allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// `s` safe in HTML text and in a double- or single-quoted attribute value.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}
