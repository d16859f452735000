//! Load shedding for the scoring API: at most `max_concurrent_scoring` applications are scored
//! at once. A request beyond that waits for a slot, in arrival order, for at most
//! `scoring_queue_ms` (50 ms by default), then is answered 503 with `Retry-After: 1`: a short
//! stall (a slow commit, a burst of arrivals) delays a few requests by milliseconds instead of
//! sending their clients away for a second, while under sustained overload a request is
//! refused within the wait, so accepted requests keep their latency and memory stays bounded
//! however many clients push: by the requests in service and those that arrived within the
//! last wait (no more than the arrival rate × `scoring_queue_ms`). The wait must be shorter
//! than the request time-out (checked at start), which does not cover it. Requests that
//! waited are counted (`lendscope_http_queued_total`), as are shed ones
//! (`lendscope_http_shed_total`).
//!
//! The layer sits outside everything but the security headers: a refusal costs no request id,
//! tracing span, body handling or session lookup, so a flood of refused retries takes as little
//! as possible from the accepted requests.

use std::sync::Arc;
use std::time::Duration;

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
    /// How long a request waits for a permit before it is shed (zero: not at all).
    pub queue: Duration,
    pub state: AppState,
}

/// The route whose requests are limited (POST only).
pub const SCORING_ROUTE: &str = "/api/v1/applications";

pub async fn limit(State(s): State<Shedder>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SCORING_ROUTE {
        return next.run(req).await;
    }
    let permit = match s.permits.clone().try_acquire_owned() {
        Ok(permit) => Some(permit),
        Err(_) if s.queue.is_zero() => None,
        Err(_) => {
            s.state
                .services
                .metrics()
                .inc("lendscope_http_queued_total", &[("route", SCORING_ROUTE)]);
            // Tokio's semaphore is fair: waiters get permits in arrival order.
            match tokio::time::timeout(s.queue, s.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => Some(permit),
                // Timed out, or the semaphore closed (it never is).
                _ => None,
            }
        }
    };
    match permit {
        Some(permit) => {
            let res = next.run(req).await;
            drop(permit);
            res
        }
        None => {
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
