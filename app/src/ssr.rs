//! Server-only glue between server functions and the service layer: getting the services and
//! the caller from the request, mapping service errors, cookies.

use http::header::{ACCEPT, COOKIE, REFERER, SET_COOKIE};
use http::request::Parts;
use http::HeaderValue;
use lendscope_domain::Area;
use lendscope_service::{AuditEvent, Outcome, RequestMeta, ServiceError, Services, SessionUser};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::AppError;

/// How the session cookie is set. Provided in context by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    /// Set `Secure` and use the `__Host-` prefix (when served over TLS).
    pub secure: bool,
    /// Cookie lifetime in seconds (the absolute session timeout).
    pub max_age_secs: i64,
}

impl CookiePolicy {
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-lendscope_session"
        } else {
            "lendscope_session"
        }
    }

    /// The `Set-Cookie` value that carries a new session id.
    pub fn session_cookie(&self, token: &str) -> String {
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            self.name(),
            self.max_age_secs,
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clearing_cookie(&self) -> String {
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            self.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }
}

/// The value of cookie `name` in a request's headers.
pub fn cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

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

/// Maps a service error to what the client may see. Internal causes are logged with a
/// reference id that the client gets instead of the details.
pub fn map_service_error(err: ServiceError) -> AppError {
    match err {
        ServiceError::Invalid(e) => e.into(),
        ServiceError::Unauthenticated => AppError::Unauthenticated,
        ServiceError::InvalidCredentials => AppError::InvalidCredentials,
        ServiceError::Throttled { retry_after_secs } => AppError::Throttled { retry_after_secs },
        ServiceError::Forbidden => AppError::Forbidden,
        ServiceError::NotFound(_) => AppError::NotFound,
        ServiceError::Conflict(message) => AppError::Conflict { message },
        ServiceError::Unavailable(message) => AppError::Unavailable { message },
        e if e.is_connection_failure() => {
            tracing::warn!(error = %e, "database unreachable");
            AppError::Unavailable {
                message: "the database cannot be reached".into(),
            }
        }
        e @ (ServiceError::Database(_) | ServiceError::Internal(_)) => internal(e),
    }
}

fn internal(cause: impl std::fmt::Display) -> AppError {
    let reference = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(%reference, error = %cause, "server function failed");
    AppError::Internal { reference }
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

    #[test]
    fn cookies_are_http_only_lax_and_secure_when_asked() {
        let plain = CookiePolicy {
            secure: false,
            max_age_secs: 60,
        };
        assert_eq!(
            plain.session_cookie("t"),
            "lendscope_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        let tls = CookiePolicy {
            secure: true,
            max_age_secs: 60,
        };
        assert!(tls
            .session_cookie("t")
            .starts_with("__Host-lendscope_session=t;"));
        assert!(tls.session_cookie("t").ends_with("; Secure"));
        assert!(tls.clearing_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn cookie_values_are_found_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; lendscope_session=xyz; b=2"),
        );
        assert_eq!(
            cookie_value(&headers, "lendscope_session"),
            Some("xyz".into())
        );
        assert_eq!(cookie_value(&headers, "missing"), None);
    }
}
