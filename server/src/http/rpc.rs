//! Server functions answer errors with status 500 whatever the cause. This layer reads the
//! error they carry (an `AppError` as JSON) and gives the response the status that error
//! stands for, so that a missing argument is a 400 and a denial a 403, never a 500.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;
use lendscope_domain::AppError;

const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn error_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        super::error::error_headers(&err, &mut parts.headers);
    }
    Response::from_parts(parts, Body::from(bytes))
}
