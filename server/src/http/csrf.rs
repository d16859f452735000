//! Cross-site request forgery protection for everything a browser session can change.
//!
//! Every state-changing request (not GET/HEAD/OPTIONS) outside the bearer-token JSON API must:
//! 1. not be marked cross-site by the browser (`Sec-Fetch-Site`),
//! 2. come from this origin when it names one (`Origin`),
//! 3. when it carries a session, echo the session's anti-CSRF token, in the `X-CSRF-Token`
//!    header or the `csrf` form field.
//!
//! Refusals are answered 403 and recorded in the audit trail.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, HOST, ORIGIN};
use http::{HeaderMap, StatusCode};
use lendscope_service::{Actor, AuditEvent, Outcome, RequestMeta, SessionUser};
use serde_json::json;

use super::{html_page, wants_html, AppState};

pub const TOKEN_HEADER: &str = "x-csrf-token";
pub const TOKEN_FIELD: &str = "csrf";

pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method().is_safe() || req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    if let Some(reason) = cross_site(req.headers(), state.cookies.secure) {
        let refused = refusal(&req, reason);
        return refuse(&state, refused).await;
    }
    let Some(user) = req.extensions().get::<SessionUser>().cloned() else {
        return next.run(req).await;
    };
    if req.uri().path() == super::upload::UPLOAD_PATH && is_multipart(req.headers()) {
        // The upload handler reads the token from the multipart form before anything else.
        return next.run(req).await;
    }
    let header_token = req
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (token, req) = match header_token {
        Some(t) => (Some(t), req),
        None if is_form(req.headers()) => {
            // The body is already bounded by the body-limit layer.
            let (parts, body) = req.into_parts();
            let Ok(bytes) = to_bytes(body, usize::MAX).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
            };
            (
                form_token(&bytes),
                Request::from_parts(parts, Body::from(bytes)),
            )
        }
        None => (None, req),
    };
    match token {
        Some(t) if user.csrf_matches(&t) => next.run(req).await,
        Some(_) => {
            let refused = refusal(&req, "anti-CSRF token does not match the session");
            refuse(&state, refused).await
        }
        None => {
            let refused = refusal(&req, "anti-CSRF token missing");
            refuse(&state, refused).await
        }
    }
}

/// Why a request is cross-site, if it is: by the browser's own `Sec-Fetch-Site`, or by an
/// `Origin` that is not this site.
pub fn cross_site(headers: &HeaderMap, https: bool) -> Option<&'static str> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(http::HeaderName::from_static("sec-fetch-site")) {
        if !matches!(site, "same-origin" | "none") {
            return Some("cross-site request (Sec-Fetch-Site)");
        }
    }
    if let Some(origin) = text(ORIGIN) {
        let Some(host) = text(HOST) else {
            return Some("Origin given without Host");
        };
        let expected = format!("{}://{host}", if https { "https" } else { "http" });
        if !origin.eq_ignore_ascii_case(&expected) {
            return Some("request from another origin (Origin)");
        }
    }
    None
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

fn form_token(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == TOKEN_FIELD)
        .map(|(_, v)| v)
}

/// Prepares the audit record of a refusal (synchronously: `&Request` must not live across an
/// await, as the body is not `Sync`).
fn refusal(req: &Request, reason: &'static str) -> Refusal {
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    let actor = req
        .extensions()
        .get::<SessionUser>()
        .map_or(Actor::Anonymous, SessionUser::actor);
    let path = req.uri().path().to_owned();
    let html = wants_html(req.headers());
    let event = AuditEvent::new(actor, "csrf", Outcome::Denied)
        .target(path.clone())
        .detail(json!({ "reason": reason, "method": req.method().as_str() }));
    Refusal {
        meta,
        event,
        path,
        reason,
        html,
    }
}

struct Refusal {
    meta: RequestMeta,
    event: AuditEvent,
    path: String,
    reason: &'static str,
    html: bool,
}

async fn refuse(state: &AppState, refusal: Refusal) -> Response {
    let Refusal {
        meta,
        event,
        path,
        reason,
        html,
    } = refusal;
    if let Err(e) = state.services.audit(&meta, event).await {
        tracing::error!(error = %e, "could not record a CSRF refusal");
    }
    tracing::warn!(%path, reason, "refused a cross-site request");
    if html {
        html_page(StatusCode::FORBIDDEN, "Request refused", reason)
    } else {
        (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "error": { "code": "csrf", "message": reason } })),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_requests_pass() {
        let h = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(cross_site(&h, false), None);
        // Non-browser clients send neither header.
        assert_eq!(cross_site(&headers(&[("host", "x")]), false), None);
    }

    #[test]
    fn cross_site_requests_are_named() {
        let h = headers(&[("host", "a"), ("sec-fetch-site", "cross-site")]);
        assert!(cross_site(&h, false).is_some());
        let h = headers(&[("host", "a"), ("origin", "http://evil.example")]);
        assert!(cross_site(&h, false).is_some());
        let h = headers(&[("host", "a"), ("origin", "http://a")]);
        assert!(cross_site(&h, true).is_some(), "scheme must match too");
        let h = headers(&[("host", "a"), ("origin", "null")]);
        assert!(cross_site(&h, false).is_some());
    }

    #[test]
    fn tokens_are_read_from_form_bodies() {
        assert_eq!(form_token(b"a=1&csrf=tok%2Bx&b=2"), Some("tok+x".into()));
        assert_eq!(form_token(b"a=1"), None);
    }
}
