//! The session cookie: its name and attributes, and how to read it from a request. Shared by
//! the HTTP middleware and the server functions, so both set and read the same cookie.

use http::header::COOKIE;

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

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
