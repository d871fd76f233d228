//! Handlers of `/api/1/composes/`: list, get, request (POST), renew (PATCH), delete.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, NaiveDateTime};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Identity, policy};
use crate::db::composes::{self as q, ListFilter, OrderKey};
use crate::db::models::{Compose, NewCompose};
use crate::db::write_tx;
use crate::domain::{self, SourceType, State, requested_seconds_to_live, string_list, ttl_bounds};
use crate::views::ComposeView;
use crate::web::cache::{Key, cached};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::input::{first_param, int_param, parse_json_body, query_pairs};
use crate::web::request::request_base_url;
use crate::web::state::{AppState, db, db_read};

/// Pagination metadata of the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    pub page: i64,
    pub pages: i64,
    pub per_page: i64,
    pub total: i64,
    pub first: String,
    pub last: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComposeList {
    pub items: Vec<ComposeView>,
    pub meta: PageMeta,
}

/// Body of the 202 answers of DELETE.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub status: u16,
    pub message: String,
}

/// Query parameters of the compose list. Filters are exact matches; empty values are ignored.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    owner: Option<String>,
    /// Integer code or name (`tag`, `module`, …).
    source_type: Option<String>,
    /// The whole stored source string.
    source: Option<String>,
    /// Integer code or name (`wait`, `done`, …).
    state: Option<String>,
    koji_task_id: Option<i64>,
    pungi_compose_id: Option<String>,
    compose_type: Option<String>,
    label: Option<String>,
    /// `id`, `owner`, `source_type`, `koji_event`, `state`, `time_to_expire`, `time_submitted`,
    /// `time_done`, `time_removed`; a leading `-` sorts descending. Default `-id`.
    order_by: Option<String>,
    /// Page number, from 1 (default 1).
    page: Option<i64>,
    /// Items per page (default 10).
    per_page: Option<i64>,
}

fn parse_code(
    field: &str,
    value: &str,
    by_name: impl Fn(&str) -> Option<i32>,
    valid: impl Fn(i32) -> bool,
) -> Result<i32, ApiError> {
    if let Ok(n) = value.parse::<i32>() {
        if valid(n) {
            return Ok(n);
        }
    } else if let Some(n) = by_name(value) {
        return Ok(n);
    }
    Err(ApiError::bad_request(format!(
        "Invalid value \"{value}\" for \"{field}\""
    )))
}

/// `GET /api/1/composes/`
#[utoipa::path(
    get,
    path = "/api/1/composes/",
    tag = "composes",
    params(ListParams),
    responses(
        (status = 200, description = "A page of composes", body = ComposeList),
        (status = 400, description = "Invalid filter or order", body = ErrorBody),
    )
)]
pub async fn list_composes(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // The links in the body embed the base URL, so it is part of the key.
    let base_url = request_base_url(&req);
    if let Some(cache) = state.cache.as_deref()
        && let Some(body) = indexed_list(&req, &base_url, &state, cache).await?
    {
        return Ok(crate::web::cache::json_ok(body));
    }
    let key = || Key::List(format!("{base_url}?{}", req.query_string()).into());
    cached(state.cache.as_deref(), key, || {
        list_body(&req, &base_url, &state)
    })
    .await
}

/// `page` and `per_page` as the list reads them: unparsable is a 400 (ODCS ignores it);
/// numbers keep ODCS's clamping.
fn paging(params: &[(String, String)], max_per_page: i64) -> Result<(i64, i64), ApiError> {
    let page = int_param(params, "page", i64::MIN..=i64::MAX)?
        .unwrap_or(1)
        .max(1);
    let per_page = match int_param(params, "per_page", i64::MIN..=i64::MAX)? {
        None => 10,
        Some(n) if n < 0 => 20,
        Some(n) => n.min(max_per_page),
    };
    Ok((page, per_page))
}

/// The pagination metadata of a page of `total` items; `extra` is the query the links keep.
fn page_meta(
    base_url: &str,
    params: &[(String, String)],
    page: i64,
    per_page: i64,
    total: i64,
) -> PageMeta {
    let pages = if per_page == 0 {
        0
    } else {
        (total + per_page - 1) / per_page
    };
    let base = format!("{base_url}/api/1/composes/");
    let extra: String = {
        let mut seen = std::collections::HashSet::new();
        params
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "page" | "per_page" | "endpoint") && !k.starts_with('_')
            })
            .filter(|(k, _)| seen.insert(k.clone()))
            .map(|(k, v)| {
                format!(
                    "&{}={}",
                    url::form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect()
    };
    let link = |p: i64| format!("{base}?page={p}&per_page={per_page}{extra}");
    PageMeta {
        page,
        pages,
        per_page,
        total,
        first: link(1),
        // An empty list has one (empty) page: its `last` is page 1, like `first`.
        last: link(pages.max(1)),
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
    }
}

/// The unfiltered list ordered by id (what QA dashboards and the `odcs` client page through),
/// from the cache's index of compose ids and its per-compose item bodies: a POST adds one id
/// and leaves every other item cached, where a cached page would be stale. `None` when the
/// request has anything else (filters, another order) or the cache cannot answer now; then
/// the general path answers.
///
/// The body is byte for byte what [`list_body`] serializes for the same rows.
async fn indexed_list(
    req: &HttpRequest,
    base_url: &str,
    state: &web::Data<AppState>,
    cache: &crate::web::cache::ResponseCache,
) -> Result<Option<bytes::Bytes>, ApiError> {
    use crate::web::cache::IdPage;
    let params = query_pairs(req)?;
    let plain = params
        .iter()
        .all(|(k, _)| matches!(k.as_str(), "page" | "per_page" | "order_by"));
    let descending = match first_param(&params, "order_by") {
        None | Some("-id") => true,
        Some("id") => false,
        Some(_) => return Ok(None),
    };
    if !plain {
        return Ok(None);
    }
    let (page, per_page) = paging(&params, state.settings.server.max_per_page)?;
    let offset = page.saturating_sub(1).saturating_mul(per_page);
    let mut loaded = false;
    let (ids, total, ticket) = loop {
        match cache.id_page(descending, offset, per_page) {
            IdPage::Page { ids, total, ticket } => break (ids, total, ticket),
            IdPage::Off => return Ok(None),
            // Loaded once already: a reset came in between; the general path answers.
            IdPage::Load(_) if loaded => return Ok(None),
            IdPage::Load(ticket) => {
                let all = db_read(state, |c| Ok(q::all_ids(c)?)).await?;
                cache.load_index(ticket, all);
                loaded = true;
            }
        }
    };
    let mut bodies = cache.items(ticket, &ids);
    let missing: Vec<i64> = ids
        .iter()
        .zip(&bodies)
        .filter(|(_, b)| b.is_none())
        .map(|(id, _)| *id)
        .collect();
    if !missing.is_empty() {
        let rows = db_read(state, move |c| Ok(q::by_ids(c, &missing)?)).await?;
        let settings = &state.settings.composes;
        for row in &rows {
            let body = json_bytes(&ComposeView::new(row, settings, false))?;
            cache.store(Key::ListItem(row.id), ticket, body.clone());
            if let Some(at) = ids.iter().position(|id| *id == row.id) {
                bodies[at] = Some(body);
            }
        }
        if bodies.iter().any(Option::is_none) {
            // A compose of the index is gone (deleted under it): read everything again.
            cache.forget_index();
            return Ok(None);
        }
    }
    let meta = page_meta(base_url, &params, page, per_page, total);
    let len: usize = bodies.iter().flatten().map(|b| b.len() + 1).sum();
    let mut out = Vec::with_capacity(len + 400);
    out.extend_from_slice(b"{\"items\":[");
    for (i, b) in bodies.iter().flatten().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b);
    }
    out.extend_from_slice(b"],\"meta\":");
    serde_json::to_writer(&mut out, &meta)
        .map_err(|e| ApiError::internal(format!("cannot serialize the response: {e}")))?;
    out.push(b'}');
    Ok(Some(out.into()))
}

/// The list's body (see [`list_composes`]); `base_url` is the request's.
async fn list_body(
    req: &HttpRequest,
    base_url: &str,
    state: &web::Data<AppState>,
) -> Result<bytes::Bytes, ApiError> {
    let params = query_pairs(req)?;
    let first = |name: &str| first_param(&params, name);
    let mut filter = ListFilter {
        owner: first("owner").map(str::to_string),
        source: first("source").map(str::to_string),
        pungi_compose_id: first("pungi_compose_id").map(str::to_string),
        compose_type: first("compose_type").map(str::to_string),
        label: first("label").map(str::to_string),
        ..Default::default()
    };
    if let Some(v) = first("source_type") {
        filter.source_type = Some(parse_code(
            "source_type",
            v,
            |n| SourceType::from_name(n).map(SourceType::code),
            |c| SourceType::from_code(c).is_some(),
        )?);
    }
    if let Some(v) = first("state") {
        filter.state = Some(parse_code(
            "state",
            v,
            |n| State::from_name(n).map(State::code),
            |c| State::from_code(c).is_some(),
        )?);
    }
    filter.koji_task_id = int_param(&params, "koji_task_id", i64::MIN..=i64::MAX)?;
    let order_by = first("order_by").unwrap_or("-id");
    let (descending, key) = match order_by.strip_prefix('-') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, order_by),
    };
    let order = OrderKey::parse(key).ok_or_else(|| {
        ApiError::bad_request(format!(
            "An invalid order_by key was supplied: \"{order_by}\"; allowed keys are: {}",
            OrderKey::NAMES.join(", ")
        ))
    })?;
    let (page, per_page) = paging(&params, state.settings.server.max_per_page)?;
    let offset = page.saturating_sub(1).saturating_mul(per_page);
    let f = filter.clone();
    let (rows, total) = db_read(state, move |c| {
        Ok(q::list(c, &f, order, descending, per_page, offset)?)
    })
    .await?;
    let settings = &state.settings.composes;
    let body = ComposeList {
        items: rows
            .iter()
            .map(|c| ComposeView::new(c, settings, false))
            .collect(),
        meta: page_meta(base_url, &params, page, per_page, total),
    };
    json_bytes(&body)
}

/// Parses the `{id}` path segment; ids beyond the integer range simply do not exist.
fn compose_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok()
}

/// `GET /api/1/composes/{id}`
#[utoipa::path(
    get,
    path = "/api/1/composes/{id}",
    tag = "composes",
    params(("id" = i64, Path, description = "Compose id")),
    responses(
        (status = 200, description = "The compose, with `pungi_config_dump`", body = ComposeView),
        (status = 404, description = "No such compose", body = ErrorBody),
    )
)]
pub async fn get_compose(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found("No such compose found.");
    let id = compose_id(&path).ok_or_else(not_found)?;
    cached(
        state.cache.as_deref(),
        || Key::Compose(id),
        || async {
            let compose = db_read(&state, move |c| Ok(q::get(c, id)?))
                .await?
                .ok_or_else(not_found)?;
            json_bytes(&ComposeView::new(&compose, &state.settings.composes, true))
        },
    )
    .await
}

/// A response body serialized once (to send it and to keep it in the response cache).
fn json_bytes<T: serde::Serialize>(body: &T) -> Result<bytes::Bytes, ApiError> {
    serde_json::to_vec(body)
        .map(bytes::Bytes::from)
        .map_err(|e| ApiError::internal(format!("cannot serialize the response: {e}")))
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than the limit of {limit} bytes"),
        )
    };
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(too_large());
    }
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("Failed to read the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Request body of POST (documentation only; the handler validates the raw JSON in ODCS order).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ComposeRequestBody {
    /// `{"type": "tag"|"module"|"repo"|"pulp"|"raw_config"|"build"|"pungi_compose", "source": "...",
    /// "packages": [...], "builds": [...], "sigkeys": [...], "koji_event": 1, ...}`
    #[schema(value_type = Object)]
    source: Value,
    seconds_to_live: Option<i64>,
    flags: Option<Vec<String>>,
    results: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    multilib_arches: Option<Vec<String>>,
    multilib_method: Option<Vec<String>>,
    lookaside_repos: Option<Vec<String>>,
    label: Option<String>,
    compose_type: Option<String>,
    target_dir: Option<String>,
    parent_pungi_compose_ids: Option<Vec<String>>,
    respin_of: Option<String>,
}

/// `POST /api/1/composes/`
#[utoipa::path(
    post,
    path = "/api/1/composes/",
    tag = "composes",
    request_body = ComposeRequestBody,
    responses(
        (status = 200, description = "The new compose, in state wait", body = ComposeView),
        (status = 400, description = "Invalid request; the message names the field", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub async fn create_compose(
    req: HttpRequest,
    payload: web::Payload,
    identity: Identity,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Who may POST is decided before the body is read (and again with it).
    identity.require_scope(&state.settings, "new-compose")?;
    policy::require_allowed_client(&identity, &state.settings.auth)?;
    let bytes = read_body(&req, payload, state.settings.server.max_body_bytes).await?;
    let body = parse_json_body(&bytes)?;
    let compose = create_from_body(&body, &identity, &state).await?;
    Ok(HttpResponse::Ok().json(ComposeView::new(&compose, &state.settings.composes, false)))
}

/// A POST's body (parsed) → the stored compose in `wait`, through every check of the API
/// (scope, allowed clients, the validation pipeline, servability, policy). The web UI's form
/// comes here too.
pub async fn create_from_body(
    body: &Value,
    identity: &Identity,
    state: &web::Data<AppState>,
) -> Result<crate::db::models::Compose, ApiError> {
    identity.require_scope(&state.settings, "new-compose")?;
    policy::require_allowed_client(identity, &state.settings.auth)?;
    let request = domain::parse_compose_request(body, &state.settings.composes)?;
    servable(
        request.source_type,
        request.modular_koji_tags.is_some(),
        &state.settings,
    )?;
    // composed's addition: the request's own notification targets (docs/notifications.md).
    let notify = crate::notify::parse_request(
        body.get("notify"),
        body.get("notify_states"),
        &state.settings.notifications,
    )
    .map_err(ApiError::bad_request)?;
    policy::check_compose(
        identity,
        &state.settings.auth,
        &state.settings.composes,
        &policy::attrs_of_request(&request),
    )?;
    let now = crate::db::now();
    let row = crate::db::new_row::new_compose_row(
        &request,
        identity.owner(),
        now,
        &state.settings.composes,
    );
    let settings = state.settings.clone();
    // Concurrent POSTs share one transaction and one commit (group commit); each is answered
    // after the commit that holds its row.
    let compose = state
        .writer
        .write(move |c| {
            let compose = q::insert(c, &row, &settings.composes)?;
            if let Some(n) = &notify {
                crate::notify::store_request(c, compose.id, n)?;
            }
            Ok(compose)
        })
        .await?;
    crate::queue::wake_local();
    tracing::info!(compose = compose.id, owner = %compose.owner, source_type = compose.source_type, source = %compose.source, "compose requested");
    Ok(compose)
}

/// A request this deployment cannot generate is refused at once, naming the missing setting,
/// rather than accepted and failed by the worker later (`repo` sources are checked against
/// `composes.repo_dirs` by the validation pipeline).
fn servable(
    source_type: SourceType,
    modular_koji_tags: bool,
    settings: &crate::config::Settings,
) -> Result<(), ApiError> {
    let needs_koji = matches!(
        source_type,
        SourceType::Tag | SourceType::Build | SourceType::Module | SourceType::PungiCompose
    );
    if needs_koji && settings.koji.hub_url.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Source type \"{}\" needs a Koji hub, and this server has none configured (koji.hub_url)",
            source_type.name()
        )));
    }
    // Modules come from MBS, or from the Koji modular tags given with the request.
    if source_type == SourceType::Module && !modular_koji_tags && settings.mbs.url.is_empty() {
        return Err(ApiError::bad_request(
            "Source type \"module\" needs a Module Build Service, and this server has none \
             configured (mbs.url); give source.modular_koji_tags to take the modules from Koji tags"
                .to_string(),
        ));
    }
    Ok(())
}

/// Body of PATCH (all optional; an empty body renews with the defaults).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct RenewBody {
    seconds_to_live: Option<i64>,
    label: Option<String>,
    sigkeys: Option<Vec<String>>,
    /// Only `modules` and `builds` are read.
    #[schema(value_type = Object)]
    source: Option<Value>,
}

/// `PATCH /api/1/composes/{id}`: extend a done compose, or regenerate a removed/failed one (or
/// one whose label, sigkeys, modules or builds change) as a new compose.
#[utoipa::path(
    patch,
    path = "/api/1/composes/{id}",
    tag = "composes",
    params(("id" = i64, Path, description = "Compose id")),
    request_body = RenewBody,
    responses(
        (status = 200, description = "The extended compose, or the new copy", body = ComposeView),
        (status = 400, description = "Invalid body", body = ErrorBody),
        (status = 404, description = "No done, failed or removed compose with that id", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub async fn renew_compose(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    identity: Identity,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    identity.require_scope(&state.settings, "renew-compose")?;
    policy::require_allowed_client(&identity, &state.settings.auth)?;
    let bytes = read_body(&req, payload, state.settings.server.max_body_bytes).await?;
    let body: Map<String, Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match parse_json_body(&bytes)? {
            Value::Object(m) => m,
            other => {
                return Err(ApiError::bad_request(format!(
                    "The request body must be a JSON object, but got {}",
                    domain::show(&other)
                )));
            }
        }
    };
    renew_with(body, path.into_inner(), &identity, &state).await
}

/// PATCH with a parsed body: the renewal (or the new copy) through every check of the API.
/// The web UI's Renew button comes here too.
pub async fn renew_with(
    body: Map<String, Value>,
    path: String,
    identity: &Identity,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    identity.require_scope(&state.settings, "renew-compose")?;
    policy::require_allowed_client(identity, &state.settings.auth)?;
    domain::validate_generic(&body)?;
    let not_found = || ApiError::not_found(format!("No compose with id {} found", path.as_str()));
    let id = compose_id(&path).ok_or_else(not_found)?;
    let old = db(state, move |c| Ok(q::get(c, id)?))
        .await?
        .ok_or_else(not_found)?;
    if !matches!(
        State::from_code(old.state),
        Some(State::Done | State::Failed | State::Removed)
    ) {
        return Err(not_found());
    }
    let sigkeys = match string_list(&body, "sigkeys", "")? {
        Some(k) => k.join(" "),
        None => old.sigkeys.clone(),
    };
    let label = match body.get("label") {
        Some(Value::String(l)) if !l.is_empty() => Some(l.clone()),
        Some(Value::String(_)) | None => old.label.clone(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "label should be a string, but got {}",
                domain::show(other)
            )));
        }
    };
    let source = match body.get("source") {
        Some(Value::Object(s)) => s.clone(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "source should be an object, but got {}",
                domain::show(other)
            )));
        }
        None => Map::new(),
    };
    let modules = string_list(&source, "modules", "source.")?;
    let builds = string_list(&source, "builds", "source.")?;
    let raw_key = (old.source_type == SourceType::RawConfig.code())
        .then(|| old.source.split('#').next().unwrap_or("").to_string());
    let (default_ttl, max_ttl) = ttl_bounds(&state.settings.composes, raw_key.as_deref());
    let ttl =
        domain::effective_seconds_to_live(requested_seconds_to_live(&body)?, default_ttl, max_ttl)?;

    policy::check_compose(
        identity,
        &state.settings.auth,
        &state.settings.composes,
        &policy::attrs_of_compose(&old),
    )?;
    let copy = old.state != State::Done.code()
        || label != old.label
        || sigkeys != old.sigkeys
        || modules.is_some()
        || builds.is_some();
    let now = crate::db::now();
    let settings = state.settings.clone();
    let owner = identity.owner();
    let compose = db(state, move |c| {
        Ok(write_tx(
            c,
            |c| -> Result<Compose, diesel::result::Error> {
                if copy {
                    let row = renewed_copy(&old, owner, sigkeys, label, modules, builds, now, ttl);
                    q::insert(c, &row, &settings.composes)
                } else {
                    q::extend_expiry(c, &old, now + Duration::seconds(ttl))?;
                    q::get(c, old.id)?.ok_or(diesel::result::Error::NotFound)
                }
            },
        )?)
    })
    .await?;
    if copy {
        crate::queue::wake_local();
    }
    tracing::info!(compose = compose.id, from = id, copy, "compose renewed");
    Ok(HttpResponse::Ok().json(ComposeView::new(&compose, &state.settings.composes, false)))
}

#[allow(clippy::too_many_arguments)]
fn renewed_copy(
    old: &Compose,
    owner: String,
    sigkeys: String,
    label: Option<String>,
    modules: Option<Vec<String>>,
    builds: Option<Vec<String>>,
    now: NaiveDateTime,
    ttl: i64,
) -> NewCompose {
    let non_empty = |v: Option<Vec<String>>| v.filter(|v| !v.is_empty()).map(|v| v.join(" "));
    NewCompose {
        owner,
        source_type: old.source_type,
        source: old.source.clone(),
        state: State::Wait.code(),
        state_reason: None,
        time_to_expire: now + Duration::seconds(ttl),
        time_submitted: now,
        flags: old.flags,
        results: old.results,
        sigkeys,
        koji_event: old.koji_event,
        packages: old.packages.clone(),
        builds: non_empty(builds).or_else(|| old.builds.clone()),
        arches: old.arches.clone(),
        multilib_arches: old.multilib_arches.clone(),
        multilib_method: old.multilib_method,
        lookaside_repos: old.lookaside_repos.clone(),
        modular_koji_tags: old.modular_koji_tags.clone(),
        module_defaults_url: old.module_defaults_url.clone(),
        label,
        compose_type: old.compose_type.clone(),
        target_dir: old.target_dir.clone(),
        scratch_modules: old.scratch_modules.clone(),
        parent_pungi_compose_ids: old.parent_pungi_compose_ids.clone(),
        scratch_build_tasks: old.scratch_build_tasks.clone(),
        modules: non_empty(modules).or_else(|| old.modules.clone()),
        respin_of: old.pungi_compose_id.clone(),
        base_module_br_name: old.base_module_br_name.clone(),
        base_module_br_stream: old.base_module_br_stream.clone(),
        base_module_br_stream_version_lte: old.base_module_br_stream_version_lte,
        base_module_br_stream_version_gte: old.base_module_br_stream_version_gte,
        pungi_config_dump: old.pungi_config_dump.clone(),
        traceparent: None,
    }
}

enum DeleteOutcome {
    Canceled,
    Accepted,
}

/// `DELETE /api/1/composes/{id}`: cancel a waiting or generating compose (owner or admin), or
/// mark a done or failed compose for removal (admin).
#[utoipa::path(
    delete,
    path = "/api/1/composes/{id}",
    tag = "composes",
    params(("id" = i64, Path, description = "Compose id")),
    responses(
        (status = 202, description = "Canceled, or accepted for removal", body = Accepted),
        (status = 400, description = "Not in a removable state", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such compose", body = ErrorBody),
    )
)]
pub async fn delete_compose(
    path: web::Path<String>,
    identity: Identity,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    identity.require_scope(&state.settings, "delete-compose")?;
    let not_found = || ApiError::not_found("No such compose found.");
    let id = compose_id(&path).ok_or_else(not_found)?;
    let is_admin = identity.is_admin(&state.settings.auth);
    let actor = identity.actor();
    let settings = state.settings.clone();
    let outcome = db(&state, move |c| {
        write_tx(c, |c| -> Result<DeleteOutcome, ApiError> {
            let compose = q::get_for_update(c, id)?.ok_or_else(not_found)?;
            let now = crate::db::now();
            match State::from_code(compose.state) {
                // Cancel: a waiting compose, or (composed's addition) a generating one, whose
                // worker notices at its next heartbeat and stops the engine.
                Some(State::Wait | State::Generating) => {
                    if !is_admin && identity.username.as_deref() != Some(compose.owner.as_str()) {
                        return Err(ApiError::forbidden(format!(
                            "Compose (id={id}) can not be canceled, it's owned by someone else."
                        )));
                    }
                    q::cancel_jobs(c, id, now)?;
                    q::transition(c, &compose, State::Failed, Some(format!("Canceled by {actor}")), now, &settings.composes)?;
                    Ok(DeleteOutcome::Canceled)
                }
                st => {
                    if !is_admin {
                        return Err(ApiError::forbidden(format!("User {actor} is not in role admins.")));
                    }
                    if !matches!(st, Some(State::Done | State::Failed)) {
                        return Err(ApiError::bad_request(format!(
                            "Compose (id={id}) can not be removed, its state need to be in ['done', 'failed']. It is {}.",
                            domain::state_name(compose.state)
                        )));
                    }
                    q::mark_for_removal(c, id, &actor, now)?;
                    Ok(DeleteOutcome::Accepted)
                }
            }
        })
    })
    .await?;
    let message = match outcome {
        DeleteOutcome::Canceled => format!("Compose (id={id}) has been canceled"),
        DeleteOutcome::Accepted => format!(
            "The delete request for compose (id={id}) has been accepted and will be processed by backend later."
        ),
    };
    tracing::info!(compose = id, %message, "compose delete");
    Ok(HttpResponse::Accepted().json(json!({"status": 202, "message": message})))
}

/// `GET /api/1/composes/{id}/notifications`: the deliveries of the compose's state changes by
/// email and webhook (composed's addition), oldest first.
#[utoipa::path(
    get,
    path = "/api/1/composes/{id}/notifications",
    tag = "composes",
    params(("id" = i64, Path, description = "Compose id")),
    responses(
        (status = 200, description = "Each delivery with its status (pending, sent, failed), attempts and last error", body = crate::notify::DeliveryList),
        (status = 404, description = "No such compose", body = ErrorBody),
    )
)]
pub async fn compose_notifications(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found("No such compose found.");
    let id = compose_id(&path).ok_or_else(not_found)?;
    let list = db_read(&state, move |c| {
        if q::get(c, id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(crate::notify::list(c, id)?))
    })
    .await?
    .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(crate::notify::DeliveryList { items: list }))
}
