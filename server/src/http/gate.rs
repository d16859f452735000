//! The page gate: protected areas require a session (else a redirect to sign-in) and a role
//! that the area allows (else 403, recorded in the audit trail). Server functions check the
//! same rule themselves; this covers the pages, including for browsers without JavaScript.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use lendscope_domain::Area;
use lendscope_service::{AuditEvent, Outcome, RequestMeta, SessionUser};
use serde_json::json;

use super::{html_page, AppState};

pub async fn guard_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.method().is_safe() {
        return next.run(req).await;
    }
    let Some(area) = Area::for_path(req.uri().path()) else {
        return next.run(req).await;
    };
    let Some(user) = req.extensions().get::<SessionUser>().cloned() else {
        let here = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let target = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
        return Redirect::to(&format!("/login?{target}")).into_response();
    };
    if area.allows(user.role) {
        return next.run(req).await;
    }
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    let event = AuditEvent::new(user.actor(), "access", Outcome::Denied)
        .target(req.uri().path().to_owned())
        .detail(json!({ "role": user.role.as_str(), "area": area.title() }));
    if let Err(e) = state.services.audit(&meta, event).await {
        tracing::error!(error = %e, "could not record an access denial");
    }
    html_page(
        StatusCode::FORBIDDEN,
        "Access denied",
        "Your role does not give access to this page. The attempt has been recorded.",
    )
}
