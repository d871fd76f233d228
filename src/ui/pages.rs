//! The handlers of the web UI's pages (see the module's documentation).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::viewer::Viewer;
use crate::api::composes as api;
use crate::auth::login::OidcLogin;
use crate::db::composes::{self as q, ListFilter, OrderKey};
use crate::db::models::Compose;
use crate::domain::{Flag, SourceType, State};
use crate::views::ComposeView;
use crate::web::error::ApiError;
use crate::web::state::{AppState, db_read};

const CSRF_COOKIE: &str = "composed_csrf";
const PER_PAGE: i64 = 50;
/// At most this much of a log is put into a page (the rest streams or is one click away).
const LOG_MAX: u64 = 1024 * 1024;

static ENV: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    for (name, text) in [
        ("base.html", include_str!("templates/base.html")),
        ("list.html", include_str!("templates/list.html")),
        ("compose.html", include_str!("templates/compose.html")),
        ("new.html", include_str!("templates/new.html")),
        ("diff.html", include_str!("templates/diff.html")),
        ("dashboard.html", include_str!("templates/dashboard.html")),
        ("triggers.html", include_str!("templates/triggers.html")),
        ("message.html", include_str!("templates/message.html")),
        ("logout.html", include_str!("templates/logout.html")),
    ] {
        env.add_template(name, text).expect("templates parse");
    }
    env
});

/// What every page knows: the mount prefix, the version, the compose directory, the viewer
/// (as the handler's [`Viewer`] found it) and whether there is a login.
pub(super) fn common(req: &HttpRequest, state: &AppState) -> Value {
    let viewer = Viewer::of(req);
    json!({
        "base": base(req),
        "version": env!("CARGO_PKG_VERSION"),
        "target_dir_url": state.settings.composes.target_dir_url,
        "user": viewer.as_ref().and_then(|v| v.identity.as_ref()).and_then(|u| u.username.clone()),
        "can_login": req.app_data::<web::Data<OidcLogin>>().is_some(),
        "path": req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"),
    })
}

/// Where an action without an identity goes: the login (then back to `back`), or a 401 page
/// when there is no login (`proxy` without its headers).
fn needs_login(req: &HttpRequest, state: &AppState, viewer: &Viewer, back: &str) -> HttpResponse {
    if viewer.can_login {
        let next: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}/login?next={next}", base(req))))
            .finish();
    }
    error_page(
        req,
        state,
        ApiError::unauthorized("This action needs an identity, and this request has none."),
    )
}

pub(super) fn base(req: &HttpRequest) -> String {
    crate::web::request::script_name(req.headers()).unwrap_or_default()
}

pub(super) fn render(name: &str, mut ctx: Value, extra: Value) -> Result<String, ApiError> {
    if let (Some(m), Value::Object(e)) = (ctx.as_object_mut(), extra) {
        m.extend(e);
    }
    ENV.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
        .map_err(|e| ApiError::internal(format!("cannot render {name}: {e}")))
}

pub(super) fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// An error as a page (the API's message, the API's status).
pub(super) fn error_page(req: &HttpRequest, state: &AppState, e: ApiError) -> HttpResponse {
    let title = e.status.canonical_reason().unwrap_or("Error").to_string();
    match render(
        "message.html",
        common(req, state),
        json!({"title": title, "message": e.message}),
    ) {
        Ok(b) => html(e.status, b),
        Err(e) => html(StatusCode::INTERNAL_SERVER_ERROR, e.message),
    }
}

/// A page, or its error as a page.
pub(super) fn page(
    req: &HttpRequest,
    state: &AppState,
    r: Result<HttpResponse, ApiError>,
) -> HttpResponse {
    r.unwrap_or_else(|e| error_page(req, state, e))
}

/// The CSRF token of this browser (its cookie's, or a new one with the cookie to set).
pub(super) fn csrf(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req.cookie(CSRF_COOKIE).filter(|c| c.value().len() == 32) {
        return (c.value().to_string(), None);
    }
    let b: [u8; 16] = rand::random();
    let token: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let secure = req.connection_info().scheme() == "https";
    let cookie = Cookie::build(CSRF_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    (token, Some(cookie))
}

/// Whether a POSTed form carries this browser's token.
pub(super) fn csrf_ok(req: &HttpRequest, form: &[(String, String)]) -> bool {
    let cookie = req.cookie(CSRF_COOKIE);
    let sent = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    matches!((cookie, sent), (Some(c), Some(s)) if c.value().len() == 32 && c.value() == s)
}

pub(super) fn csrf_refused(req: &HttpRequest, state: &AppState) -> HttpResponse {
    error_page(
        req,
        state,
        ApiError::forbidden(
            "The form's CSRF token is missing or does not match this browser's: reload the page and try again.",
        ),
    )
}

/// `application/x-www-form-urlencoded` pairs, repeated keys kept.
pub(super) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn ago(t: NaiveDateTime, now: NaiveDateTime) -> String {
    let s = (now - t).num_seconds();
    let (n, unit) = if s.abs() < 120 {
        (s, "s")
    } else if s.abs() < 7200 {
        (s / 60, "min")
    } else if s.abs() < 172_800 {
        (s / 3600, "h")
    } else {
        (s / 86_400, "d")
    };
    if n >= 0 {
        format!("{n} {unit} ago")
    } else {
        format!("in {} {unit}", -n)
    }
}

fn duration(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => {
            let ms = (b - a).num_milliseconds();
            if ms < 120_000 {
                format!("{:.1} s", ms as f64 / 1000.0)
            } else {
                format!("{} min", ms / 60_000)
            }
        }
        _ => String::new(),
    }
}

fn running(state: i32) -> bool {
    matches!(
        State::from_code(state),
        Some(State::Wait | State::Generating)
    )
}

/// `GET /`: the composes, newest first, filtered, 50 a page.
pub async fn list(req: HttpRequest, _viewer: Viewer, state: web::Data<AppState>) -> HttpResponse {
    page(&req, &state, list_page(&req, &state).await)
}

async fn list_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = crate::web::input::query_pairs(req)?;
    let get = |k: &str| {
        crate::web::input::first_param(&params, k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut filter = ListFilter {
        owner: get("owner"),
        label: get("label"),
        source_contains: get("q"),
        ..Default::default()
    };
    if let Some(s) = get("state") {
        filter.state = Some(
            State::from_name(&s)
                .ok_or_else(|| ApiError::bad_request(format!("state: unknown state {s:?}")))?
                .code(),
        );
    }
    if let Some(t) = get("source_type") {
        filter.source_type = Some(
            SourceType::from_name(&t)
                .ok_or_else(|| ApiError::bad_request(format!("source_type: unknown {t:?}")))?
                .code(),
        );
    }
    let page: i64 = get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let f = filter.clone();
    let (rows, total) = db_read(state, move |c| {
        Ok(q::list(
            c,
            &f,
            OrderKey::Id,
            true,
            PER_PAGE,
            (page - 1) * PER_PAGE,
        )?)
    })
    .await?;
    let now = crate::db::now();
    let composes: Vec<Value> = rows
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "state_name": crate::domain::state_name(c.state),
                "running": running(c.state),
                "source_type": SourceType::from_code(c.source_type).map(|t| t.name()),
                "source": c.source,
                "label": c.label,
                "owner": c.owner,
                "arches": c.arches,
                "age": ago(c.time_submitted, now),
                "time_submitted": crate::views::format_time(&c.time_submitted),
                "duration": duration(c.time_started, c.time_done.or(c.time_removed)),
                "expires": ago(c.time_to_expire, now),
                "time_to_expire": crate::views::format_time(&c.time_to_expire),
            })
        })
        .collect();
    let mut query = String::new();
    for k in ["state", "source_type", "owner", "label", "q"] {
        if let Some(v) = get(k) {
            query.push_str(&format!(
                "{k}={}&",
                percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
    }
    let body = render(
        "list.html",
        common(req, state),
        json!({
            "composes": composes,
            "total": total,
            "page": page,
            "pages": ((total + PER_PAGE - 1) / PER_PAGE).max(1),
            "query": query,
            "states": ["wait", "generating", "done", "removed", "failed"],
            "source_types": SourceType::ALL.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "f": {
                "state": get("state").unwrap_or_default(),
                "source_type": get("source_type").unwrap_or_default(),
                "owner": get("owner").unwrap_or_default(),
                "label": get("label").unwrap_or_default(),
                "q": get("q").unwrap_or_default(),
            },
        }),
    )?;
    Ok(html(StatusCode::OK, body))
}

/// The compose's log (at most [`LOG_MAX`] bytes of it) and its length.
fn read_log(c: &Compose, settings: &crate::config::Settings) -> (String, u64) {
    use std::io::Read;
    let base = crate::layout::target_base(c, settings);
    for p in [
        crate::layout::live_log(&base, c.id),
        base.join(crate::layout::compose_name(c.id))
            .join(crate::layout::LOG_NAME),
    ] {
        if let Ok(f) = std::fs::File::open(&p) {
            let mut buf = Vec::new();
            let _ = f.take(LOG_MAX).read_to_end(&mut buf);
            // Whole lines only: the events stream continues from this offset.
            let end = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            buf.truncate(end);
            return (String::from_utf8_lossy(&buf).into_owned(), end as u64);
        }
    }
    (String::new(), 0)
}

/// The RPMs of a done compose's rpms.json, sorted.
fn packages(c: &Compose, settings: &crate::config::Settings) -> Vec<Value> {
    if c.state != State::Done.code() {
        return vec![];
    }
    let path = crate::layout::target_base(c, settings)
        .join(crate::views::compose_name(c))
        .join("compose/metadata/rpms.json");
    let Some(listing) = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|d| crate::compose_diff::listing(&d).ok())
    else {
        return vec![];
    };
    let mut out = Vec::new();
    for (arch, cats) in listing {
        for (cat, rpms) in cats {
            for r in rpms {
                out.push(
                    json!({"nevra": r.nevra, "arch": arch, "category": cat, "sigkey": r.sigkey}),
                );
            }
        }
    }
    out.sort_by(|a, b| a["nevra"].as_str().cmp(&b["nevra"].as_str()));
    out
}

/// `GET /compose/{id}`.
pub async fn compose(
    req: HttpRequest,
    path: web::Path<i64>,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    page(
        &req,
        &state,
        compose_page(&req, *path, &viewer, &state).await,
    )
}

async fn compose_page(
    req: &HttpRequest,
    id: i64,
    viewer: &Viewer,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (c, trigger) = db_read(state, move |conn| {
        let c = q::get(conn, id)?;
        let t: Option<crate::bus::triggers::TriggerRecord> = {
            use diesel::prelude::*;
            crate::db::schema::triggers::table
                .filter(crate::db::schema::triggers::compose_id.eq(id))
                .select(crate::bus::triggers::TriggerRecord::as_select())
                .first(conn)
                .optional()?
        };
        Ok((c, t))
    })
    .await?;
    let c = c.ok_or_else(|| ApiError::not_found(format!("No compose {id}.")))?;
    let settings = state.settings.clone();
    let c2 = c.clone();
    let (log, offset, pkgs) = web::block(move || {
        let (log, offset) = read_log(&c2, &settings);
        (log, offset, packages(&c2, &settings))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let view = ComposeView::new(&c, &state.settings.composes, false);
    let v = serde_json::to_value(&view).expect("serializes");
    let list = |v: &Value| match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
        other => other
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| other.to_string()),
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    for (label, key) in [
        ("Owner", "owner"),
        ("Source", "source"),
        ("Packages", "packages"),
        ("Builds", "builds"),
        ("Sigkeys", "sigkeys"),
        ("Arches", "arches"),
        ("Flags", "flags"),
        ("Results", "results"),
        ("Koji event", "koji_event"),
        ("Label", "label"),
        ("Compose type", "compose_type"),
        ("Lookaside repos", "lookaside_repos"),
        ("Multilib arches", "multilib_arches"),
        ("Modular Koji tags", "modular_koji_tags"),
        ("Modules", "modules"),
        ("Pungi compose id", "pungi_compose_id"),
    ] {
        let text = list(&v[key]);
        if !text.is_empty() {
            fields.push((label.to_string(), text));
        }
    }
    fields.insert(
        1,
        (
            "Source type".into(),
            SourceType::from_code(c.source_type)
                .map(|t| t.name())
                .unwrap_or("?")
                .into(),
        ),
    );
    let fmt = |t: &Option<NaiveDateTime>| t.as_ref().map(crate::views::format_time);
    let mut timeline = vec![(
        "Submitted".to_string(),
        crate::views::format_time(&c.time_submitted),
    )];
    if let Some(t) = fmt(&c.time_started) {
        timeline.push((
            "Started".into(),
            format!(
                "{t} (waited {})",
                duration(Some(c.time_submitted), c.time_started)
            ),
        ));
    }
    if let Some(t) = fmt(&c.time_done) {
        timeline.push((
            "Done".into(),
            format!(
                "{t} (generated in {})",
                duration(c.time_started, c.time_done)
            ),
        ));
    }
    if let Some(t) = fmt(&c.time_removed) {
        timeline.push(("Removed".into(), t));
    }
    timeline.push((
        "Expires".into(),
        crate::views::format_time(&c.time_to_expire),
    ));
    let (token, cookie) = csrf(req);
    let st = State::from_code(c.state);
    let body = render(
        "compose.html",
        common(req, state),
        json!({
            "c": v,
            "fields": fields,
            "timeline": timeline,
            "log": log,
            "log_offset": offset,
            "final": !running(c.state),
            "packages": pkgs,
            "reused": c.reused_id,
            "trigger": trigger.map(|t| json!({"rule": t.rule, "topic": t.topic, "events": t.events})),
            "can_delete": matches!(st, Some(State::Wait | State::Generating | State::Done | State::Failed))
                && viewer.may_delete(&state.settings, &c.owner, running(c.state)),
            "can_renew": matches!(st, Some(State::Done | State::Failed | State::Removed))
                && viewer.may_renew(&state.settings),
            "login_to_act": viewer.identity.is_none() && viewer.can_login,
            "csrf": token,
            "images": Vec::<Value>::new(),
        }),
    )?;
    let mut resp = html(StatusCode::OK, body);
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// The form's text fields: (name, label, hint).
const FIELDS: [(&str, &str, &str); 8] = [
    (
        "source",
        "Source",
        "a Koji tag, builds' NVRs, N:S[:V[:C]] modules, or a directory",
    ),
    (
        "packages",
        "Packages",
        "space-separated; empty = all of the tag",
    ),
    ("builds", "Builds", "NVRs added to a tag compose"),
    (
        "sigkeys",
        "Sigkeys",
        "preferred signing keys, space-separated",
    ),
    ("arches", "Arches", "x86_64 aarch64 …"),
    ("results", "Results", "repository (default), iso, …"),
    (
        "seconds_to_live",
        "Lifetime (seconds)",
        "the server's default when empty",
    ),
    ("label", "Label", "e.g. Beta-1.2"),
];

fn new_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    values: Value,
    errors: Value,
) -> HttpResponse {
    let (token, cookie) = csrf(req);
    let fields: Vec<Value> = FIELDS
        .iter()
        .map(|(n, l, h)| json!({"name": n, "label": l, "hint": h}))
        .collect();
    let flags: Vec<&str> = Flag::ALL.iter().map(|f| f.name()).collect();
    match render(
        "new.html",
        common(req, state),
        json!({"fields": fields, "flags": flags, "v": values, "errors": errors, "csrf": token}),
    ) {
        Ok(b) => {
            let mut resp = html(status, b);
            if let Some(c) = cookie {
                let _ = resp.add_cookie(&c);
            }
            resp
        }
        Err(e) => error_page(req, state, e),
    }
}

/// `GET /new` (the login first, when there is one and nobody is logged in).
pub async fn new_form(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    if viewer.identity.is_none() && viewer.can_login {
        return needs_login(&req, &state, &viewer, "/new");
    }
    new_page(
        &req,
        &state,
        StatusCode::OK,
        json!({"source_type": "tag", "flags": []}),
        json!({}),
    )
}

/// The request body the form's fields make (empty fields left out).
fn body_of(form: &[(String, String)]) -> Result<Value, (String, String)> {
    let one = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let words = |k: &str| {
        one(k).map(|v| {
            v.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .map(|w| Value::String(w.to_string()))
                .collect::<Vec<_>>()
        })
    };
    let mut source = serde_json::Map::new();
    source.insert(
        "type".into(),
        one("source_type").unwrap_or_else(|| "tag".into()).into(),
    );
    if let Some(s) = one("source") {
        source.insert("source".into(), s.into());
    }
    for k in ["packages", "builds", "sigkeys"] {
        if let Some(w) = words(k) {
            source.insert(k.into(), Value::Array(w));
        }
    }
    let mut body = serde_json::Map::new();
    body.insert("source".into(), Value::Object(source));
    for k in ["arches", "results"] {
        if let Some(w) = words(k) {
            body.insert(k.into(), Value::Array(w));
        }
    }
    let flags: Vec<Value> = form
        .iter()
        .filter(|(k, _)| k == "flags")
        .map(|(_, v)| Value::String(v.clone()))
        .collect();
    if !flags.is_empty() {
        body.insert("flags".into(), Value::Array(flags));
    }
    if let Some(s) = one("seconds_to_live") {
        let n: i64 = s.parse().map_err(|_| {
            (
                "seconds_to_live".to_string(),
                format!("seconds_to_live should be a whole number of seconds, not {s:?}"),
            )
        })?;
        body.insert("seconds_to_live".into(), n.into());
    }
    if let Some(l) = one("label") {
        body.insert("label".into(), l.into());
    }
    Ok(Value::Object(body))
}

/// Which field an API message is about (the longest field name it mentions), else `_`.
fn field_of(message: &str) -> &'static str {
    let mut names: Vec<&'static str> = FIELDS.iter().map(|f| f.0).collect();
    names.push("flags");
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let lower = message.to_lowercase();
    names
        .into_iter()
        .find(|n| lower.contains(n) || lower.contains(&n.replace('_', " ")))
        .unwrap_or("_")
}

/// `POST /new`: the form through the API's POST; errors next to their field.
pub async fn new_submit(
    req: HttpRequest,
    body: web::Bytes,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    let form = form_pairs(&body);
    if !csrf_ok(&req, &form) {
        return csrf_refused(&req, &state);
    }
    let Some(identity) = viewer.identity.clone() else {
        return needs_login(&req, &state, &viewer, "/new");
    };
    let mut values: BTreeMap<String, Value> = form
        .iter()
        .filter(|(k, _)| k != "flags" && k != "csrf")
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    values.insert(
        "flags".into(),
        Value::Array(
            form.iter()
                .filter(|(k, _)| k == "flags")
                .map(|(_, v)| Value::String(v.clone()))
                .collect(),
        ),
    );
    let values = serde_json::to_value(values).expect("serializes");
    let request = match body_of(&form) {
        Ok(b) => b,
        Err((field, message)) => {
            return new_page(
                &req,
                &state,
                StatusCode::BAD_REQUEST,
                values,
                json!({ field: message }),
            );
        }
    };
    match api::create_from_body(&request, &identity, &state).await {
        Ok(c) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}/compose/{}", base(&req), c.id)))
            .finish(),
        Err(e) => {
            let status = e.status;
            new_page(
                &req,
                &state,
                status,
                values,
                json!({ field_of(&e.message): e.message }),
            )
        }
    }
}

/// `POST /compose/{id}/delete`: the API's DELETE.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !csrf_ok(&req, &form_pairs(&body)) {
        return csrf_refused(&req, &state);
    }
    let id = *path;
    let Some(identity) = viewer.identity.clone() else {
        return needs_login(&req, &state, &viewer, &format!("/compose/{id}"));
    };
    match api::delete_compose(web::Path::from(id.to_string()), identity, state.clone()).await {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}/compose/{id}", base(&req))))
            .finish(),
        Err(e) => error_page(&req, &state, e),
    }
}

/// `POST /compose/{id}/renew`: the API's PATCH with an empty body (the default lifetime).
pub async fn renew(
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !csrf_ok(&req, &form_pairs(&body)) {
        return csrf_refused(&req, &state);
    }
    let id = *path;
    let Some(identity) = viewer.identity.clone() else {
        return needs_login(&req, &state, &viewer, &format!("/compose/{id}"));
    };
    match api::renew_with(serde_json::Map::new(), id.to_string(), &identity, &state).await {
        Ok(resp) => {
            // The renewed compose, or the new copy of a removed one.
            let body = actix_web::body::to_bytes(resp.into_body())
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            let target = body.and_then(|b| b["id"].as_i64()).unwrap_or(id);
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("{}/compose/{target}", base(&req))))
                .finish()
        }
        Err(e) => error_page(&req, &state, e),
    }
}

/// `GET /compose/{id}/compare?with=N` → the diff page.
pub async fn compare(
    req: HttpRequest,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let params = crate::web::input::query_pairs(&req).unwrap_or_default();
    match crate::web::input::first_param(&params, "with").and_then(|w| w.trim().parse::<i64>().ok())
    {
        Some(other) => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("{}/compose/{}/diff/{other}", base(&req), *path),
            ))
            .finish(),
        None => error_page(
            &req,
            &state,
            ApiError::bad_request("with: the id of the compose to compare with"),
        ),
    }
}

/// `GET /compose/{a}/diff/{b}`: the API's diff, as a page.
pub async fn diff(
    req: HttpRequest,
    _viewer: Viewer,
    path: web::Path<(i64, i64)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (a, b) = *path;
    let resp = match crate::api::diff::diff_json(a, b, &state).await {
        Ok(v) => v,
        Err(e) => return error_page(&req, &state, e),
    };
    match render(
        "diff.html",
        common(&req, &state),
        json!({"a": a, "b": b, "arches": resp["arches"], "summary": resp["summary"]}),
    ) {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => error_page(&req, &state, e),
    }
}

/// `GET /dashboard`: composes per hour by final state, generation time percentiles and the
/// queue over the last day, as SVG drawn here.
pub async fn dashboard(
    req: HttpRequest,
    _viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    page(&req, &state, dashboard_page(&req, &state).await)
}

async fn dashboard_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let since = crate::db::now() - chrono::Duration::hours(24);
    let rows: Vec<(
        i32,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    )> = db_read(state, move |c| {
        use crate::db::schema::composes as t;
        use diesel::prelude::*;
        Ok(t::table
            .filter(t::time_submitted.ge(since))
            .select((t::state, t::time_submitted, t::time_started, t::time_done))
            .load(c)?)
    })
    .await?;
    let charts = super::charts::Charts::of(&rows, since);
    let body = render(
        "dashboard.html",
        common(req, state),
        json!({
            "per_hour": charts.per_hour_svg(),
            "percentiles": charts.percentiles(),
            "queue": charts.queue_svg(),
            "total": rows.len(),
        }),
    )?;
    Ok(html(StatusCode::OK, body))
}

/// `GET /triggers`: the trigger rules and the last events that made composes.
pub async fn triggers(
    req: HttpRequest,
    _viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    let recent = db_read(&state, move |c| {
        use crate::db::schema::triggers as t;
        use diesel::prelude::*;
        Ok(t::table
            .order(t::id.desc())
            .limit(100)
            .select(crate::bus::triggers::TriggerRecord::as_select())
            .load::<crate::bus::triggers::TriggerRecord>(c)?)
    })
    .await;
    let recent = match recent {
        Ok(r) => r,
        Err(e) => return error_page(&req, &state, e),
    };
    let rules: Vec<Value> = state
        .settings
        .triggers
        .rules
        .iter()
        .map(|r| {
            json!({"name": r.name, "tag": r.tag, "module": r.module, "cron": r.cron,
                   "events": r.events.join(" "), "source": r.source})
        })
        .collect();
    let events: Vec<Value> = recent
        .iter()
        .map(|t| {
            json!({"rule": t.rule, "topic": t.topic, "events": t.events,
                   "received_at": crate::views::format_time(&t.received_at), "compose_id": t.compose_id})
        })
        .collect();
    match render(
        "triggers.html",
        common(&req, &state),
        json!({"rules": rules, "recent": events}),
    ) {
        Ok(b) => html(StatusCode::OK, b),
        Err(e) => error_page(&req, &state, e),
    }
}

/// `GET /static/{file}`: the UI's own assets (no CDN).
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    let (body, kind): (&'static str, &str) = match path.as_str() {
        "composed.css" => (
            include_str!("assets/composed.css"),
            "text/css; charset=utf-8",
        ),
        "compose.js" => (
            include_str!("assets/compose.js"),
            "text/javascript; charset=utf-8",
        ),
        "list.js" => (
            include_str!("assets/list.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => {
            return HttpResponse::NotFound()
                .content_type("text/plain")
                .body("no such asset");
        }
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_errors_find_their_field() {
        let f = form_pairs(
            b"source=f41&packages=bash+vim&flags=no_deps&flags=check_deps&label=%3Cb%3E",
        );
        let b = body_of(&f).unwrap();
        assert_eq!(b["source"]["packages"], json!(["bash", "vim"]));
        assert_eq!(b["flags"], json!(["no_deps", "check_deps"]));
        assert_eq!(b["label"], "<b>");
        assert_eq!(
            field_of("seconds_to_live must be positive"),
            "seconds_to_live"
        );
        assert_eq!(field_of("Unknown flag \"x\" in flags"), "flags");
        assert_eq!(field_of("The request failed"), "_");
        assert!(body_of(&form_pairs(b"seconds_to_live=soon")).is_err());
    }
}
