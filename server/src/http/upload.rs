//! The admin upload form for models trained elsewhere (e.g. Python xgboost): a multipart post
//! of `model.json`, `schema.json` and an optional `card.json`, registered through the same
//! service call as `lendscope models register` (same checks, same messages).
//!
//! The CSRF layer checks the origin of this post but cannot read a token inside a multipart
//! body; this handler checks the session's token from the form itself before anything else.
//! The upload is bounded by the server's request body limit (`LENDSCOPE_MAX_BODY_BYTES`,
//! 1 MiB by default); `lendscope models register` takes artifacts up to 32 MiB.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use lendscope_domain::Area;
use lendscope_service::{AuditEvent, Outcome, RequestMeta, ServiceError, SessionUser};
use serde_json::json;

use super::{html_page_with_link, AppState};

pub const UPLOAD_PATH: &str = "/models/upload";

const FIELDS: [&str; 5] = ["csrf", "name", "model", "schema", "card"];

fn page(status: StatusCode, message: &str) -> Response {
    html_page_with_link(
        status,
        "Model not registered",
        &format!("{message} Nothing was registered."),
        "/models",
        "Back to the models",
    )
}

pub async fn upload(State(state): State<AppState>, req: Request) -> Response {
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    let Some(user) = req.extensions().get::<SessionUser>().cloned() else {
        discard_body(req).await;
        return Redirect::to("/login?next=%2Fmodels").into_response();
    };
    if !Area::Models.allows(user.role) {
        discard_body(req).await;
        let event = AuditEvent::new(user.actor(), "access", Outcome::Denied)
            .target(UPLOAD_PATH)
            .detail(json!({ "role": user.role.as_str() }));
        if let Err(e) = state.services.audit(&meta, event).await {
            tracing::error!(error = %e, "could not record an access denial");
        }
        return page(
            StatusCode::FORBIDDEN,
            "Your role does not give access to this.",
        );
    }
    let boundary = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let Some(boundary) = boundary else {
        return page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The form must be sent as multipart/form-data.",
        );
    };
    let mut form = multer::Multipart::new(req.into_body().into_data_stream(), boundary);
    let mut values: std::collections::HashMap<&'static str, String> = Default::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                // Reading the body fails when it grows past the request body limit.
                let too_large = matches!(e, multer::Error::StreamReadFailed(_));
                return if too_large {
                    page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "The files exceed the server's request size limit (LENDSCOPE_MAX_BODY_BYTES); \
                         register larger models with `lendscope models register`.",
                    )
                } else {
                    page(
                        StatusCode::BAD_REQUEST,
                        &format!("The form could not be read: {e}."),
                    )
                };
            }
        };
        let Some(name) = field
            .name()
            .and_then(|n| FIELDS.iter().find(|f| **f == n).copied())
        else {
            continue;
        };
        match field.text().await {
            Ok(text) => {
                values.insert(name, text);
            }
            Err(e) => {
                return page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("The file {name} could not be read ({e})."),
                )
            }
        }
    }
    if !values.get("csrf").is_some_and(|t| user.csrf_matches(t)) {
        let event = AuditEvent::new(user.actor(), "csrf", Outcome::Denied)
            .target(UPLOAD_PATH)
            .detail(json!({ "reason": "anti-CSRF token missing or wrong in the upload form" }));
        if let Err(e) = state.services.audit(&meta, event).await {
            tracing::error!(error = %e, "could not record a CSRF refusal");
        }
        return page(
            StatusCode::FORBIDDEN,
            "The form's anti-CSRF token does not match.",
        );
    }
    let text = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
    for required in ["name", "model", "schema"] {
        if text(required).trim().is_empty() {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("{required}: is required."),
            );
        }
    }
    let card = match text("card").trim() {
        "" => "{}",
        c => c,
    };
    match state
        .services
        .register_model(
            text("name"),
            text("model"),
            text("schema"),
            card,
            user.actor(),
        )
        .await
    {
        Ok(m) => Redirect::to(&format!("/models/{}?done=upload", m.id)).into_response(),
        Err(ServiceError::Invalid(f)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("{}: {}.", f.field, f.message),
        ),
        Err(ServiceError::Conflict(m)) => page(StatusCode::CONFLICT, &m),
        Err(e) => {
            let reference = uuid::Uuid::new_v4().simple().to_string();
            tracing::error!(%reference, error = %e, "model upload failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Something went wrong on our side (reference {reference})."),
            )
        }
    }
}

/// Reads and drops the body of a request refused before its form was read (bounded by the
/// body-limit layer). Answering while the client is still sending a large upload made the
/// server close the connection under it, and the client saw a reset instead of the answer.
async fn discard_body(req: Request) {
    let _ = axum::body::to_bytes(req.into_body(), usize::MAX).await;
}
