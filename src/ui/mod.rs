//! The web UI: server-rendered pages (minijinja templates in `ui/templates/`, HTML escaped
//! everywhere by the `.html` auto-escape), every asset served by composed (`ui/assets/`), and
//! a little JavaScript for the live parts only (the log and state of a compose from its events
//! stream, running rows of the list, the package filter). Forms go through the same
//! functions as the API (`api::composes::create_from_body`, `renew_with`, `delete_compose`)
//! and carry a CSRF token (a random value in an `HttpOnly; SameSite=Strict` cookie and in the
//! form, compared on POST).
//!
//! Pages: `/` (composes, filters, pages), `/compose/{id}`, `/new`, `/compose/{a}/diff/{b}`,
//! `/dashboard`, `/triggers`, and `/login`, `/login/callback`, `/logout` (the OpenID Connect
//! login of `auth::login`). Who looks at a page is the [`viewer::Viewer`]: the login
//! session's identity, or the API's (`noauth`, `proxy`); actions without one go to the login.

mod charts;
mod login;
mod pages;
mod viewer;

use actix_web::web;

/// Registers the pages and their assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::list))
        .route("/new", web::get().to(pages::new_form))
        .route("/new", web::post().to(pages::new_submit))
        .route("/compose/{id:[0-9]+}", web::get().to(pages::compose))
        .route("/compose/{id:[0-9]+}/delete", web::post().to(pages::delete))
        .route("/compose/{id:[0-9]+}/renew", web::post().to(pages::renew))
        .route(
            "/compose/{id:[0-9]+}/compare",
            web::get().to(pages::compare),
        )
        .route(
            "/compose/{a:[0-9]+}/diff/{b:[0-9]+}",
            web::get().to(pages::diff),
        )
        .route("/dashboard", web::get().to(pages::dashboard))
        .route("/triggers", web::get().to(pages::triggers))
        .route("/login", web::get().to(login::login))
        .route("/login/callback", web::get().to(login::callback))
        .route("/logout", web::get().to(login::logout_form))
        .route("/logout", web::post().to(login::logout))
        .route("/static/{file}", web::get().to(pages::asset));
}
