//! Load shedding for the scoring API: at most `max_concurrent_scoring` applications are scored
//! at once; a request beyond that is answered at once with 503 and `Retry-After: 1` instead of
//! queueing, so accepted requests keep their latency and memory stays bounded however many
//! clients push. Shed requests are counted (`lendscope_http_shed_total`).
//!
//! The layer sits outside everything but the security headers: a refusal costs no request id,
//! tracing span, body handling or session lookup, so a flood of refused retries takes as little
//! as possible from the accepted requests.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;
use tokio::sync::Semaphore;

use super::AppState;

/// The permits of the scoring route, with the state the metrics need.
#[derive(Clone)]
pub struct Shedder {
    pub permits: Arc<Semaphore>,
    pub state: AppState,
}

/// The route whose requests are limited (POST only).
pub const SCORING_ROUTE: &str = "/api/v1/applications";

pub async fn limit(State(s): State<Shedder>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SCORING_ROUTE {
        return next.run(req).await;
    }
    match s.permits.clone().try_acquire_owned() {
        Ok(permit) => {
            let res = next.run(req).await;
            drop(permit);
            res
        }
        Err(_) => {
            s.state
                .services
                .metrics()
                .inc("lendscope_http_shed_total", &[("route", SCORING_ROUTE)]);
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": { "code": "overloaded",
                    "message": "too many applications are being scored right now; retry in a second" } })),
            )
                .into_response();
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            res.headers_mut().insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            );
            res
        }
    }
}
