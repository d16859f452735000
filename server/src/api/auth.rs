//! The API-key extractor.

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use lendscope_domain::AppError;
use lendscope_service::ApiClient;

use crate::http::{ApiError, AppState};

/// A request authenticated by `Authorization: Bearer <API key>`. Missing, malformed, unknown
/// and revoked keys are all answered 401.
pub struct ApiKey(pub ApiClient);

impl<S> FromRequestParts<S> for ApiKey
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let presented = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError(AppError::Unauthenticated))?;
        state
            .services
            .resolve_api_key(presented)
            .await?
            .map(ApiKey)
            .ok_or(ApiError(AppError::Unauthenticated))
    }
}
