//! The login pages under `oidc` with `[auth.oidc.login]`: `GET /login` sends the browser to
//! the provider, `GET /login/callback` finishes the login and sets the session cookie,
//! `GET /logout` asks, `POST /logout` (CSRF-checked) ends the session. The flow and the cookies
//! are `auth::login`'s.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::pages::{
    base, common, csrf, csrf_ok, csrf_refused, error_page, form_pairs, html, render,
};
use super::viewer::Viewer;
use crate::auth::login::{LOGIN_COOKIE, LOGIN_SECS, OidcLogin, SESSION_COOKIE, local_path};
use crate::web::error::ApiError;
use crate::web::state::AppState;

/// `HttpOnly; Secure; SameSite=Lax`, under the mount prefix.
fn cookie(name: &'static str, value: String, path: String, max_age: i64) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .max_age(Duration::seconds(max_age))
        .finish()
}

fn no_login(req: &HttpRequest, state: &AppState) -> HttpResponse {
    error_page(
        req,
        state,
        ApiError::not_found(format!(
            "There is no login here: with auth.backend = {:?} the identity comes from {}.",
            state.settings.auth.backend,
            match state.settings.auth.backend.as_str() {
                "proxy" => "the front proxy",
                "oidc" => "Bearer tokens only (set [auth.oidc.login] for the pages' login)",
                _ => "nowhere: everybody may do everything",
            }
        )),
    )
}

fn param(req: &HttpRequest, key: &str) -> Option<String> {
    let pairs = crate::web::input::query_pairs(req).ok()?;
    crate::web::input::first_param(&pairs, key).map(str::to_string)
}

/// `GET /login?next=/path`: to the provider (code flow with PKCE).
pub async fn login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(login) = req.app_data::<web::Data<OidcLogin>>().cloned() else {
        return no_login(&req, &state);
    };
    let next = local_path(&param(&req, "next").unwrap_or_default());
    let redirect = login.redirect_url(&crate::web::request::request_base_url(&req));
    match login.begin(&redirect, &next).await {
        Ok(b) => {
            let mut resp = HttpResponse::Found()
                .insert_header((header::LOCATION, b.authorize_url))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
            let _ = resp.add_cookie(&cookie(
                LOGIN_COOKIE,
                b.cookie,
                format!("{}/login", base(&req)),
                LOGIN_SECS,
            ));
            resp
        }
        Err(e) => error_page(&req, &state, e),
    }
}

/// `GET /login/callback?code=…&state=…` (or `?error=…` when the provider refused).
pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(login) = req.app_data::<web::Data<OidcLogin>>().cloned() else {
        return no_login(&req, &state);
    };
    if let Some(err) = param(&req, "error") {
        let detail = param(&req, "error_description")
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return error_page(
            &req,
            &state,
            ApiError::unauthorized(format!("The provider refused the login: {err}{detail}.")),
        );
    }
    // RFC 9207: an answer that names another issuer is not this provider's (mix-up).
    if let Some(iss) = param(&req, "iss")
        && iss != state.settings.auth.oidc.issuer
    {
        return error_page(
            &req,
            &state,
            ApiError::unauthorized(format!(
                "The login answer comes from issuer {iss:?}, not {:?}.",
                state.settings.auth.oidc.issuer
            )),
        );
    }
    let (Some(code), Some(st)) = (param(&req, "code"), param(&req, "state")) else {
        return error_page(
            &req,
            &state,
            ApiError::bad_request("The callback needs the provider's code and state parameters."),
        );
    };
    let pending = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string());
    let done = match login.finish(pending.as_deref(), &code, &st).await {
        Ok(d) => d,
        Err(e) => return error_page(&req, &state, e),
    };
    if let Some(u) = &done.identity.username
        && let Err(e) = crate::auth::record_user(&state, u).await
    {
        return error_page(&req, &state, e);
    }
    tracing::info!(user = ?done.identity.username, "logged in to the web UI");
    let prefix = base(&req);
    let mut resp = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{prefix}{}", done.next)))
        .finish();
    let _ = resp.add_cookie(&cookie(
        SESSION_COOKIE,
        done.cookie,
        format!("{prefix}/"),
        login.session_secs(),
    ));
    let _ = resp.add_removal_cookie(&cookie(
        LOGIN_COOKIE,
        String::new(),
        format!("{prefix}/login"),
        0,
    ));
    resp
}

/// `GET /logout`: the confirmation (a form, so that no link elsewhere logs anybody out).
pub async fn logout_form(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> HttpResponse {
    if viewer.identity.is_none() {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}/", base(&req))))
            .finish();
    }
    let (token, set) = csrf(&req);
    match render("logout.html", common(&req, &state), json!({"csrf": token})) {
        Ok(body) => {
            let mut resp = html(StatusCode::OK, body);
            if let Some(c) = set {
                let _ = resp.add_cookie(&c);
            }
            resp
        }
        Err(e) => error_page(&req, &state, e),
    }
}

/// `POST /logout`: the session cookie removed.
pub async fn logout(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !csrf_ok(&req, &form_pairs(&body)) {
        return csrf_refused(&req, &state);
    }
    let prefix = base(&req);
    let mut resp = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{prefix}/")))
        .finish();
    let _ = resp.add_removal_cookie(&cookie(
        SESSION_COOKIE,
        String::new(),
        format!("{prefix}/"),
        0,
    ));
    resp
}
