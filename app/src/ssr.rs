//! Server-only glue between server functions and the service layer: getting the services and
//! the caller from the request, mapping service errors, cookies.

use http::header::{ACCEPT, REFERER, SET_COOKIE};
use http::request::Parts;
use http::HeaderValue;
use lendscope_domain::Area;
use lendscope_service::{AuditEvent, Outcome, RequestMeta, ServiceError, Services, SessionUser};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::AppError;

pub use lendscope_service::{cookie_value, CookiePolicy};

fn parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| internal("request parts missing from context"))
}

pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or_else(|| internal("services missing from context"))
}

pub fn cookie_policy() -> Result<CookiePolicy, AppError> {
    use_context::<CookiePolicy>().ok_or_else(|| internal("cookie policy missing from context"))
}

/// Where the request came from (filled in by the server's middleware).
pub fn request_meta() -> RequestMeta {
    use_context::<Parts>()
        .and_then(|p| p.extensions.get::<RequestMeta>().cloned())
        .unwrap_or_default()
}

/// The signed-in user, if any.
pub fn session_user() -> Option<SessionUser> {
    use_context::<Parts>().and_then(|p| p.extensions.get::<SessionUser>().cloned())
}

/// The raw session cookie presented with this request, if any.
pub fn presented_session_token() -> Option<String> {
    let policy = cookie_policy().ok()?;
    let parts = parts().ok()?;
    cookie_value(&parts.headers, policy.name())
}

/// The signed-in user, if their role may use `area`; otherwise an error, and a denial is
/// recorded in the audit trail.
pub async fn require(area: Area) -> Result<SessionUser, AppError> {
    let Some(user) = session_user() else {
        return Err(AppError::Unauthenticated);
    };
    if area.allows(user.role) {
        return Ok(user);
    }
    let svc = services()?;
    let event = AuditEvent::new(user.actor(), "access", Outcome::Denied)
        .target(area.path())
        .detail(serde_json::json!({ "role": user.role.as_str() }));
    svc.audit(&request_meta(), event)
        .await
        .map_err(map_service_error)?;
    Err(AppError::Forbidden)
}

/// Maps a service error to what the client may see (the one mapping of `lendscope-service`,
/// shared with the JSON API).
pub fn map_service_error(err: ServiceError) -> AppError {
    err.into()
}

fn internal(cause: impl std::fmt::Display) -> AppError {
    lendscope_service::error::internal_error(cause)
}

/// For a form posted without JavaScript, errors cannot be shown by the client: send the
/// browser back to the form with the error's code in the query string. With JavaScript the
/// error travels in the response body and this does nothing.
pub fn fail_form(err: AppError) -> AppError {
    let Ok(parts) = parts() else { return err };
    let plain_form_post = parts
        .headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !plain_form_post {
        return err;
    }
    let back = parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(local_path_and_query)
        .unwrap_or_else(|| "/".to_owned());
    let (path, query) = back.split_once('?').unwrap_or((&back, ""));
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "error" && k != "field")
            .collect();
    pairs.push(("error".into(), err.code().into()));
    if let Some(field) = err.field() {
        pairs.push(("field".into(), field.into()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    leptos_axum::redirect(&format!("{path}?{query}"));
    err
}

/// The path and query of a same-site URL (absolute or relative); `None` for anything that
/// could lead off the site.
pub fn local_path_and_query(url: &str) -> Option<String> {
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("/")
        }
        None => url,
    };
    safe_local_path(path)
}

/// Accepts only local absolute paths (`/x`), never `//host` or `/\host` or schemes.
pub fn safe_local_path(path: &str) -> Option<String> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control());
    ok.then(|| path.to_owned())
}

pub fn set_cookie(value: &str) {
    if let (Some(res), Ok(v)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(value),
    ) {
        res.append_header(SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(safe_local_path("/queue"), Some("/queue".into()));
        assert_eq!(safe_local_path("//evil.example"), None);
        assert_eq!(safe_local_path("/\\evil.example"), None);
        assert_eq!(safe_local_path("https://evil.example"), None);
        assert_eq!(safe_local_path("queue"), None);
        assert_eq!(
            local_path_and_query("http://127.0.0.1:3000/login?next=%2Fqueue"),
            Some("/login?next=%2Fqueue".into())
        );
        assert_eq!(local_path_and_query("http://host"), Some("/".into()));
    }
}
