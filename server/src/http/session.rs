//! Resolves who is calling: the request's origin (client address, request id, user agent) and
//! the signed-in user behind the session cookie. Expired or forged cookies are cleared.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{SET_COOKIE, USER_AGENT};
use http::HeaderValue;
use lendscope_service::cookie_value;
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

/// The client address our proxy saw: the *last* `X-Forwarded-For` entry, the one the trusted
/// proxy appended. Earlier entries are whatever the client sent and could be made up to dodge
/// the per-client sign-in throttle. Anything but an IP address there is ignored.
fn forwarded_client(headers: &http::HeaderMap) -> Option<String> {
    let last_header = headers.get_all("x-forwarded-for").iter().next_back()?;
    let last = last_header.to_str().ok()?.rsplit(',').next()?.trim();
    last.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

fn request_meta(req: &Request, trust_forwarded_for: bool) -> RequestMeta {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let forwarded = trust_forwarded_for
        .then(|| forwarded_client(req.headers()))
        .flatten();
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

#[cfg(test)]
mod tests {
    use super::forwarded_client;
    use http::{HeaderMap, HeaderValue};

    fn client(values: &[&'static str]) -> Option<String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        forwarded_client(&h)
    }

    #[test]
    fn the_address_the_proxy_appended_is_the_client() {
        assert_eq!(client(&["203.0.113.7"]).as_deref(), Some("203.0.113.7"));
        // The client made up the first entries; the proxy appended the last one.
        assert_eq!(
            client(&["1.2.3.4, 5.6.7.8, 203.0.113.7"]).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(&["1.2.3.4", "203.0.113.7"]).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(&["1.2.3.4, 2001:db8::1 "]).as_deref(),
            Some("2001:db8::1")
        );
    }

    #[test]
    fn anything_but_an_address_is_ignored() {
        assert_eq!(client(&[]), None);
        assert_eq!(client(&["not-an-ip"]), None);
        assert_eq!(client(&["203.0.113.7, "]), None);
    }
}
