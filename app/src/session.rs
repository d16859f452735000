//! Who is signed in: the session server functions and the context the pages read.

#[cfg(feature = "ssr")]
use lendscope_domain::Area;
use lendscope_domain::Role;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in staff member as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub username: String,
    pub role: Role,
    /// Anti-CSRF token of this session; every state-changing form sends it back.
    pub csrf: String,
}

/// Reactive access to the session, provided by the root component.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    /// A password change replaces the session (new id, new anti-CSRF token).
    pub password: ServerAction<ChangePassword>,
}

impl AuthContext {
    /// Creates the context: the user is re-read whenever someone signs in or out, or the
    /// session is replaced by a password change.
    pub fn provide() -> Self {
        let login = ServerAction::<Login>::new();
        let logout = ServerAction::<Logout>::new();
        let password = ServerAction::<ChangePassword>::new();
        let user = Resource::new(
            move || {
                (
                    login.version().get(),
                    logout.version().get(),
                    password.version().get(),
                )
            },
            |_| fetch_session(),
        );
        let ctx = Self {
            user,
            login,
            logout,
            password,
        };
        provide_context(ctx);
        ctx
    }
}

pub fn use_auth() -> AuthContext {
    use_context::<AuthContext>().unwrap_or_else(AuthContext::provide)
}

#[server(prefix = "/rpc", endpoint = "session", input = GetUrl)]
pub async fn fetch_session() -> Result<Option<CurrentUser>, AppError> {
    Ok(crate::ssr::session_user().map(|u| CurrentUser {
        username: u.username,
        role: u.role,
        csrf: u.csrf_token,
    }))
}

/// Signs in and redirects to `next` (a local path) or the home page.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
    csrf: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    if password.len() > 1024 {
        return Err(ssr::fail_form(AppError::InvalidCredentials));
    }
    let svc = ssr::services()?;
    let policy = ssr::cookie_policy()?;
    let previous = ssr::presented_session_token();
    let outcome = svc
        .login(
            &username,
            &password,
            &ssr::request_meta(),
            previous.as_deref(),
        )
        .await
        .map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    ssr::set_cookie(&policy.session_cookie(&outcome.session_token));
    let target = next
        .as_deref()
        .filter(|n| !n.is_empty())
        .and_then(ssr::safe_local_path)
        .unwrap_or_else(|| "/".to_owned());
    leptos_axum::redirect(&target);
    Ok(())
}

/// Ends the session on the server and clears the cookie.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<(), AppError> {
    use crate::ssr;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let svc = ssr::services()?;
    let policy = ssr::cookie_policy()?;
    if let Some(user) = ssr::session_user() {
        svc.logout(&user, &ssr::request_meta())
            .await
            .map_err(ssr::map_service_error)?;
    }
    ssr::set_cookie(&policy.clearing_cookie());
    leptos_axum::redirect("/login");
    Ok(())
}

/// Changes the signed-in user's password. Every session of theirs ends, and this browser gets
/// a new one.
#[server(prefix = "/rpc", endpoint = "account/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    repeat_password: String,
    csrf: String,
) -> Result<(), AppError> {
    use crate::ssr;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let me = ssr::require(Area::Account).await.map_err(ssr::fail_form)?;
    let invalid = |field: &str, message: &str| {
        ssr::fail_form(AppError::Invalid {
            field: field.into(),
            message: message.into(),
        })
    };
    if current_password.len() > 1024 {
        return Err(invalid("current_password", "is not your current password"));
    }
    if new_password != repeat_password {
        return Err(invalid(
            "repeat_password",
            "does not match the new password",
        ));
    }
    let policy = ssr::cookie_policy()?;
    let outcome = ssr::services()?
        .change_password(&me, &current_password, &new_password, &ssr::request_meta())
        .await
        .map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    ssr::set_cookie(&policy.session_cookie(&outcome.session_token));
    leptos_axum::redirect("/account?done=password");
    Ok(())
}
