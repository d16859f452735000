//! Request body limits: the configured limit everywhere, a larger one for the model upload.
//! A body announced larger than the limit is refused from its header alone; a body that
//! grows past it fails while being read (handlers then answer 413).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::upload::{MAX_UPLOAD_BYTES, UPLOAD_PATH};

pub async fn body_limit(State(max): State<usize>, req: Request, next: Next) -> Response {
    let limit = if req.uri().path() == UPLOAD_PATH {
        MAX_UPLOAD_BYTES.max(max)
    } else {
        max
    };
    let announced = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response();
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}
