//! Resolves who is calling: the request's origin (client address, request id, user agent) and
//! the signed-in user behind the session cookie. Expired or forged cookies are cleared.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{SET_COOKIE, USER_AGENT};
use http::HeaderValue;
use lendscope_app::ssr::cookie_value;
use lendscope_service::RequestMeta;

use super::{error::unavailable, wants_html, AppState};

pub async fn resolve_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let meta = request_meta(&req, state.trust_forwarded_for);
    req.extensions_mut().insert(meta);

    let mut clear_cookie = false;
    if let Some(token) = cookie_value(req.headers(), state.cookies.name()) {
        match state.services.resolve_session(&token).await {
            Ok(Some(user)) => {
                req.extensions_mut().insert(user);
            }
            Ok(None) => clear_cookie = true,
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return unavailable(wants_html(req.headers()));
            }
        }
    }
    let mut res = next.run(req).await;
    if clear_cookie && !res.headers().contains_key(SET_COOKIE) {
        if let Ok(v) = HeaderValue::from_str(&state.cookies.clearing_cookie()) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

fn request_meta(req: &Request, trust_forwarded_for: bool) -> RequestMeta {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let forwarded = trust_forwarded_for
        .then(|| header("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    RequestMeta {
        client_ip: forwarded.or(peer),
        request_id: header("x-request-id"),
        user_agent: req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}
