//! The HTTP API. Every route is in [`configure`]; handlers are grouped by resource.

pub mod cache;
pub mod composes;
pub mod error;
pub mod misc;
pub mod openapi;
pub mod triggers;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, guard, web};
use serde::Serialize;

use crate::app::AppState;
use crate::db::AnyConnection;
use error::ApiError;

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

/// 308 to the same path with a trailing slash (absolute `Location`, query kept).
async fn add_slash(req: HttpRequest) -> HttpResponse {
    let mut location = format!("{}{}/", request_base_url(&req), req.path());
    if !req.query_string().is_empty() {
        location.push('?');
        location.push_str(req.query_string());
    }
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Unknown routes: 404 with the JSON envelope (ODCS answers 500 here; see docs/odcs-compat.md).
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "The requested URL {} was not found on the server.",
        req.path()
    )))
}

fn method_not_allowed(
    allowed: &'static [Method],
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
    move |req: HttpRequest| {
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if req.method() == Method::OPTIONS {
            return std::future::ready(
                HttpResponse::Ok()
                    .insert_header((header::ALLOW, allow))
                    .finish(),
            );
        }
        let mut resp = actix_web::ResponseError::error_response(&ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "The method {} is not allowed for {}; allowed: {allow}.",
                req.method(),
                req.path()
            ),
        ));
        if let Ok(v) = header::HeaderValue::from_str(&allow) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        std::future::ready(resp)
    }
}

fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every route of the service.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    serve_composes: Option<(String, std::path::PathBuf)>,
) {
    cfg.service(
        web::resource("/api/1/composes/")
            .route(get_or_head().to(composes::list_composes))
            .route(web::post().to(composes::create_compose))
            .default_service(web::to(method_not_allowed(&[
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::OPTIONS,
            ]))),
    )
    .service(
        web::resource("/api/1/composes/{id:[0-9]+}")
            .route(get_or_head().to(composes::get_compose))
            .route(web::patch().to(composes::renew_compose))
            .route(web::delete().to(composes::delete_compose))
            .default_service(web::to(method_not_allowed(&[
                Method::GET,
                Method::HEAD,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ]))),
    )
    .service(
        web::resource("/api/1/about/")
            .route(get_or_head().to(misc::about))
            .default_service(web::to(method_not_allowed(&[
                Method::GET,
                Method::HEAD,
                Method::OPTIONS,
            ]))),
    )
    .service(
        web::resource("/api/1/triggers/")
            .route(get_or_head().to(triggers::list_triggers))
            .default_service(web::to(method_not_allowed(&[
                Method::GET,
                Method::HEAD,
                Method::OPTIONS,
            ]))),
    )
    .service(
        web::resource("/api/1/metrics/")
            .route(get_or_head().to(misc::metrics))
            .default_service(web::to(method_not_allowed(&[
                Method::GET,
                Method::HEAD,
                Method::OPTIONS,
            ]))),
    )
    .route("/api/1/composes", web::to(add_slash))
    .route("/api/1/about", web::to(add_slash))
    .route("/api/1/metrics", web::to(add_slash))
    .route("/api/1/triggers", web::to(add_slash))
    .route("/api/1/openapi.json", web::get().to(misc::openapi_json))
    .route("/api/1/", web::get().to(misc::api_docs_page))
    .route("/", web::get().to(misc::index))
    .service(
        utoipa_swagger_ui::SwaggerUi::new("/api/1/docs/{_:.*}")
            .url("/api/1/docs/openapi.json", openapi::document()),
    );
    if let Some((mount, dir)) = serve_composes {
        cfg.service(
            actix_files::Files::new(&mount, dir)
                .show_files_listing()
                .use_hidden_files(),
        );
    }
    cfg.default_service(web::to(not_found));
}
