//! Security headers on every response, error pages included. HTML pages replace the default
//! Content-Security-Policy with one that carries their nonce.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderName, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of every response that does not set its own.
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers set on every response, whatever produced it.
pub const FIXED: [(&str, &str); 6] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// The layer that sets fixed header number `i` of [`FIXED`].
pub fn fixed(i: usize) -> SetResponseHeaderLayer<HeaderValue> {
    let (name, value) = FIXED[i];
    SetResponseHeaderLayer::overriding(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// The default Content-Security-Policy, for responses that did not set one.
pub fn default_csp() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DEFAULT_CSP),
    )
}

/// `Strict-Transport-Security`, for sites served over TLS.
pub fn hsts() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    )
}

/// The nonce of one HTML page's scripts, chosen before the page renders.
#[derive(Debug, Clone)]
pub struct PageNonce(pub String);

/// Gives every page request a fresh nonce (the renderer reads it from the request) and sets
/// the page Content-Security-Policy that allows exactly the scripts carrying it. Done here,
/// around the renderer, so that every HTML answer gets the header whatever the page does.
pub async fn page_nonce(mut req: Request, next: Next) -> Response {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    req.extensions_mut().insert(PageNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        if let Ok(value) = HeaderValue::from_str(&page_csp(&nonce)) {
            res.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    res
}

/// Caching: browser assets may be cached; everything else (pages with personal data, API
/// answers) must not be stored.
pub async fn cache_control(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if is_asset {
            "public, max-age=3600"
        } else {
            "no-store"
        };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    res
}

/// The Content-Security-Policy of HTML pages: scripts only from this origin or carrying the
/// per-response nonce (the hydration bootstrap), WebAssembly compilation allowed, no inline
/// styles, no framing.
fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}
