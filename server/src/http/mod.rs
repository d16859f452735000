//! The HTTP stack: shared state, middleware and error responses.

pub mod csrf;
pub mod error;
pub mod gate;
pub mod headers;
pub mod metrics;
pub mod rpc;
pub mod session;
pub mod shed;
pub mod upload;

use lendscope_service::CookiePolicy;
use lendscope_service::Services;

pub use error::ApiError;

/// State shared by every handler and middleware.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub cookies: CookiePolicy,
    pub trust_forwarded_for: bool,
}

/// Whether a client prefers an HTML answer (a browser navigating) over JSON.
pub fn wants_html(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// A minimal, self-contained HTML page for answers produced outside the Leptos app (denials,
/// CSRF refusals). Escapes its text.
pub fn html_page(status: http::StatusCode, title: &str, message: &str) -> axum::response::Response {
    html_page_with_link(status, title, message, "/", "Back to the start page")
}

/// [`html_page`] with its own way back.
pub fn html_page_with_link(
    status: http::StatusCode,
    title: &str,
    message: &str,
    href: &str,
    label: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · Lendscope</title><link rel=\"stylesheet\" href=\"/pkg/lendscope.css\">\
         </head><body><main id=\"main\" class=\"content\"><section class=\"card narrow\">\
         <h1>{t}</h1><p>{m}</p><p><a href=\"{h}\">{l}</a></p>\
         </section></main></body></html>",
        t = esc(title),
        m = esc(message),
        h = esc(href),
        l = esc(label)
    );
    (status, axum::response::Html(body)).into_response()
}
