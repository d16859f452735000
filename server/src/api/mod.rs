//! The JSON API for machine clients, authenticated with API keys (`Authorization: Bearer`).

mod applications;
mod auth;
pub mod openapi;
mod validation;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::{ApiError, AppState};
pub use auth::ApiKey;

/// The API routes. Scoring is limited by the load-shedding layer around the whole server
/// (`crate::http::shed`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/whoami", get(whoami))
        .route(
            "/api/v1/applications",
            post(applications::create).layer(DefaultBodyLimit::max(
                lendscope_service::scoring::request::MAX_BODY_BYTES,
            )),
        )
        .route("/api/v1/applications/{id}", get(applications::get))
        .route(
            "/api/v1/applications/{id}/notice",
            get(applications::notice),
        )
        .route(
            "/api/v1/applications/{id}/outcome",
            post(applications::outcome).layer(DefaultBodyLimit::max(4096)),
        )
        .route("/notice/{token}/notice.pdf", get(applications::notice_pdf))
        .route("/validation/{id}/report.pdf", get(validation::report_pdf))
        .route("/api/{*rest}", axum::routing::any(not_found))
        .route("/rpc/{*rest}", axum::routing::any(not_found))
}

/// Which API client the presented key belongs to. Lets integrators check their key.
#[tracing::instrument(skip_all, fields(client = %client.name))]
async fn whoami(ApiKey(client): ApiKey) -> Json<Value> {
    Json(json!({ "client": client.name, "kind": "api_key" }))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}
