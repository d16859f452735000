//! `/api/v1/applications`: scoring, reading, notices and outcomes, for API clients.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use lendscope_domain::AppError;
use lendscope_service::scoring::request::{strict_json, MAX_BODY_BYTES};
use serde::Deserialize;
use serde_json::json;

use super::ApiKey;
use crate::http::{ApiError, AppState};

/// Reads a JSON body: the right content type, within the size limit.
fn json_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError(AppError::UnsupportedMediaType {
            expected: "application/json".into(),
        }));
    }
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError(AppError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            })
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError(AppError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }));
    }
    Ok(bytes)
}

/// `POST /api/v1/applications`: 201 with the decision, or 200 with the stored one when an
/// Idempotency-Key is repeated with the same body.
#[tracing::instrument(skip_all, fields(client = %client.name))]
pub async fn create(
    State(state): State<AppState>,
    ApiKey(client): ApiKey,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = json_body(&headers, body)?;
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError(AppError::Invalid {
                field: "Idempotency-Key".into(),
                message: "must be visible ASCII".into(),
            })
        })?),
        None => None,
    };
    let scored = state
        .services
        .score_application(&client.name, key, &bytes)
        .await?;
    let status = if scored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut res = (status, Json(scored.response)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/applications/{}", scored.application_id))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /api/v1/applications/{id}`.
pub async fn get(
    State(state): State<AppState>,
    ApiKey(client): ApiKey,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_id(&id)?;
    Ok(Json(
        state.services.application_view(&id, &client.name).await?,
    ))
}

/// `GET /api/v1/applications/{id}/notice`: the applicant notice and its public link.
pub async fn notice(
    State(state): State<AppState>,
    ApiKey(client): ApiKey,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_id(&id)?;
    let (notice, token) = state
        .services
        .notice_for_application(&id, &client.name)
        .await?;
    let mut body =
        serde_json::to_value(&notice).map_err(|e| ApiError::bad_request(e.to_string()))?;
    body["notice_url"] = json!(lendscope_service::scoring::notice_url(&token));
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    outcome: String,
    observed_at: String,
}

/// `POST /api/v1/applications/{id}/outcome`: 201 when recorded, 200 when the same outcome
/// was recorded before, 409 when a different one was.
pub async fn outcome(
    State(state): State<AppState>,
    ApiKey(client): ApiKey,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let bytes = json_body(&headers, body)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        ApiError(AppError::Invalid {
            field: "body".into(),
            message: "the request body is not valid UTF-8".into(),
        })
    })?;
    let parsed: OutcomeBody = strict_json(text)?;
    let observed_at = chrono::DateTime::parse_from_rfc3339(parsed.observed_at.trim())
        .map_err(|_| {
            ApiError(AppError::Invalid {
                field: "observed_at".into(),
                message: "must be an RFC 3339 timestamp, e.g. 2026-11-25T10:00:00Z".into(),
            })
        })?
        .with_timezone(&chrono::Utc);
    let (created, view) = state
        .services
        .record_outcome(&id, &client.name, parsed.outcome.trim(), observed_at)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)).into_response())
}

/// `GET /notice/{token}/notice.pdf`: the applicant's notice as a PDF to keep, behind the same
/// unguessable link as the notice page (no login). Rendered from the stored record each time;
/// the same record gives the same bytes.
pub async fn notice_pdf(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (application_id, pdf) = state.services.notice_pdf_by_token(&token).await?;
    Ok(pdf_response(
        &format!("lendscope-notice-{application_id}.pdf"),
        pdf,
    ))
}

/// A PDF shown in the browser under `file_name`, never cached.
pub(super) fn pdf_response(file_name: &str, pdf: Vec<u8>) -> Response {
    let mut res = pdf.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
