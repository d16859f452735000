//! `GET /validation/{id}/report.pdf`: a model version's validation report as a PDF (admins
//! and compliance; the page gate signs others in or refuses them, and the handler checks the
//! session's role again). Rendered from stored facts each time: the same facts give the same
//! bytes.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use lendscope_domain::{AppError, Area};
use lendscope_service::SessionUser;

use crate::http::{ApiError, AppState};

pub async fn report_pdf(
    State(state): State<AppState>,
    user: Option<Extension<SessionUser>>,
    Path(file): Path<(String,)>,
) -> Result<Response, ApiError> {
    match user {
        Some(Extension(u)) if Area::Validation.allows(u.role) => {}
        Some(_) => return Err(ApiError(AppError::Forbidden)),
        None => return Err(ApiError(AppError::Unauthenticated)),
    }
    let id = file.0.parse::<i64>().map_err(|_| ApiError::not_found())?;
    let (name, pdf) = state.services.validation_pdf(id).await?;
    Ok(super::applications::pdf_response(&name, pdf))
}
