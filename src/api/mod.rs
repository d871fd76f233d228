//! The HTTP API. Every route is in [`configure`]; handlers are grouped by resource.

pub mod composes;
pub mod diff;
pub mod events;
pub mod files;
pub mod misc;
pub mod openapi;
pub mod schema;
pub mod triggers;

use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, guard, web};

use crate::web::error::ApiError;
use crate::web::request::request_base_url;

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
        std::future::ready(crate::web::request::method_not_allowed(&req, &allow))
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
        web::resource("/api/1/composes/{id:[0-9]+}/events")
            .route(web::get().to(events::compose_events))
            .default_service(web::to(method_not_allowed(&[Method::GET, Method::OPTIONS]))),
    )
    .service(
        web::resource("/api/1/composes/{id:[0-9]+}/notifications")
            .route(get_or_head().to(composes::compose_notifications))
            .default_service(web::to(method_not_allowed(&[
                Method::GET,
                Method::HEAD,
                Method::OPTIONS,
            ]))),
    )
    .service(
        web::resource("/api/1/composes/{a:[0-9]+}/diff/{b:[0-9]+}")
            .route(get_or_head().to(diff::compose_diff))
            .default_service(web::to(method_not_allowed(&[
                Method::GET,
                Method::HEAD,
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
    .route("/api/1/openapi.json", web::get().to(openapi::openapi_json))
    .route("/api/1/", web::get().to(misc::api_docs_page))
    .route("/favicon.ico", get_or_head().to(misc::favicon))
    .service(
        utoipa_swagger_ui::SwaggerUi::new("/api/1/docs/{_:.*}")
            .config(utoipa_swagger_ui::Config::new(["/api/1/openapi.json"])),
    );
    if let Some((mount, dir)) = serve_composes {
        cfg.service(files::service(&mount, dir));
    }
    cfg.default_service(web::to(not_found));
}
