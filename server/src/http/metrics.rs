//! Request metrics for Prometheus: latency per route, method and status class; error answers
//! per route and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lendscope_service::metrics::LATENCY_BUCKETS;

use super::AppState;

pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let class = format!("{}xx", status / 100);
    let m = state.services.metrics();
    m.observe(
        "lendscope_http_request_duration_seconds",
        LATENCY_BUCKETS,
        &[("route", &route), ("method", &method), ("status", &class)],
        started.elapsed().as_secs_f64(),
    );
    if status >= 400 {
        m.inc(
            "lendscope_http_errors_total",
            &[("route", &route), ("status", &status.to_string())],
        );
    }
    res
}

/// `GET /metrics`.
pub async fn export(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.services.metrics().render(),
    )
}
