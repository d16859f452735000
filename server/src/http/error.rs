//! JSON error answers: `{"error": {"code", "message", "field"?}}` with the matching status.
//! Internal errors are logged with a reference id; the client sees only the reference.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderValue, StatusCode};
use lendscope_domain::AppError;
use lendscope_service::ServiceError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError(pub AppError);

impl ApiError {
    pub fn not_found() -> Self {
        Self(AppError::NotFound)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self(AppError::BadRequest {
            message: message.into(),
        })
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e.into())
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

/// The JSON body of an error.
pub fn error_body(err: &AppError) -> serde_json::Value {
    let mut body = json!({ "code": err.code(), "message": err.to_string() });
    if let Some(field) = err.field() {
        body["field"] = json!(field);
    }
    json!({ "error": body })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(error_body(&self.0))).into_response();
        error_headers(&self.0, res.headers_mut());
        res
    }
}

/// Headers an error answer carries: `Retry-After` when throttled, the authentication scheme
/// when credentials are missing.
pub fn error_headers(err: &AppError, headers: &mut http::HeaderMap) {
    match err {
        AppError::Throttled { retry_after_secs } => {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                headers.insert(http::header::RETRY_AFTER, v);
            }
        }
        AppError::Unauthenticated => {
            headers.insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lendscope\""),
            );
        }
        AppError::Unavailable { .. } => {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        _ => {}
    }
}

/// 503 with `Retry-After`, for when the database cannot be reached.
pub fn unavailable(html: bool) -> Response {
    let mut res = if html {
        super::html_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "Lendscope cannot reach its database. Please try again in a moment.",
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": { "code": "unavailable",
                "message": "the service is temporarily unavailable; retry later" } })),
        )
            .into_response()
    };
    res.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}
