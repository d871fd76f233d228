//! `GET /api/1/composes/{a}/diff/{b}`: what changed from compose `a` to compose `b`
//! (`compose_diff`), as JSON or, with `?format=text`, as a summary for a terminal.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::compose_diff;
use crate::db::composes as q;
use crate::db::models::Compose;
use crate::domain::State;
use crate::web::error::ApiError;
use crate::web::state::{AppState, db_read};

/// The diff's representations.
#[derive(utoipa::ToSchema)]
#[allow(non_camel_case_types, dead_code)]
pub enum DiffFormat {
    json,
    text,
}

/// `GET /api/1/composes/{a}/diff/{b}`
#[utoipa::path(
    get,
    path = "/api/1/composes/{a}/diff/{b}",
    tag = "composes",
    params(
        ("a" = i64, Path, description = "The earlier compose"),
        ("b" = i64, Path, description = "The later compose"),
        ("format" = Option<DiffFormat>, Query, description = "`json` (default) or `text`"),
    ),
    responses(
        (status = 200, description = "Added, removed, upgraded, downgraded and re-signed RPMs per arch and category, and the Koji events", body = Object),
        (status = 400, description = "An unknown format", body = crate::web::error::ErrorBody),
        (status = 404, description = "No such compose", body = crate::web::error::ErrorBody),
        (status = 409, description = "A compose without a package list (not done, or its data removed)", body = crate::web::error::ErrorBody)
    )
)]
pub async fn compose_diff(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = crate::web::input::query_pairs(&req)?;
    let text = match crate::web::input::first_param(&pairs, "format") {
        None | Some("json") => false,
        Some("text") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format: unknown value {other:?}; expected json or text"
            )));
        }
    };
    let (a, b) = path.into_inner();
    let id = |raw: &str| {
        raw.parse::<i64>()
            .map_err(|_| ApiError::not_found("No such compose found."))
    };
    let (a, b) = (id(&a)?, id(&b)?);
    if text {
        let (ca, cb, d, summary) = load(a, b, &state).await?;
        let side = |c: &Compose| match c.koji_event {
            Some(e) => format!("compose {} ({}, Koji event {e})", c.id, c.source),
            None => format!("compose {} ({})", c.id, c.source),
        };
        let title = format!("{} -> {}", side(&ca), side(&cb));
        return Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(compose_diff::render_text(&title, &d, &summary)));
    }
    Ok(HttpResponse::Ok().json(diff_json(a, b, &state).await?))
}

/// The two composes and what changed between them.
async fn load(
    a: i64,
    b: i64,
    state: &web::Data<AppState>,
) -> Result<(Compose, Compose, compose_diff::Diff, compose_diff::Summary), ApiError> {
    let (ca, cb) = db_read(state, move |c| Ok((q::get(c, a)?, q::get(c, b)?))).await?;
    let missing = |n: i64| ApiError::not_found(format!("No such compose found: {n}."));
    let ca = ca.ok_or_else(|| missing(a))?;
    let cb = cb.ok_or_else(|| missing(b))?;
    let settings = state.settings.clone();
    let (la, lb) =
        web::block(move || Ok::<_, ApiError>((listing(&ca, &settings)?, listing(&cb, &settings)?)))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??;
    let (d, summary) = compose_diff::diff(&la.1, &lb.1);
    Ok((la.0, lb.0, d, summary))
}

/// The diff's JSON (the API's body; the web UI renders it).
pub async fn diff_json(
    a: i64,
    b: i64,
    state: &web::Data<AppState>,
) -> Result<serde_json::Value, ApiError> {
    let (ca, cb, d, summary) = load(a, b, state).await?;
    let side = |c: &Compose| {
        serde_json::json!({
            "id": c.id,
            "source": c.source,
            "source_type": crate::domain::SourceType::from_code(c.source_type).map(|t| t.name()),
            "koji_event": c.koji_event,
            "pungi_compose_id": c.pungi_compose_id,
        })
    };
    Ok(serde_json::json!({
        "from": side(&ca),
        "to": side(&cb),
        "arches": d,
        "summary": summary,
    }))
}

/// Blocking: compose `c` with the RPMs its rpms.json lists.
fn listing(
    c: &Compose,
    settings: &crate::config::Settings,
) -> Result<(Compose, compose_diff::Listing), ApiError> {
    let conflict = |why: String| ApiError::new(StatusCode::CONFLICT, why);
    if c.state != State::Done.code() {
        return Err(conflict(format!(
            "Compose {} has no package list: it is {}.",
            c.id,
            crate::domain::state_name(c.state)
        )));
    }
    let path = crate::layout::target_base(c, settings)
        .join(crate::views::compose_name(c))
        .join("compose/metadata/rpms.json");
    let raw = std::fs::read(&path).map_err(|e| {
        conflict(format!(
            "Compose {} has no package list ({}: {e}).",
            c.id,
            path.display()
        ))
    })?;
    let doc: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::internal(format!("rpms.json of compose {}: {e}", c.id)))?;
    let l = compose_diff::listing(&doc)
        .map_err(|e| ApiError::internal(format!("rpms.json of compose {}: {e}", c.id)))?;
    Ok((c.clone(), l))
}
