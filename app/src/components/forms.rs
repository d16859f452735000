//! Form helpers: the anti-CSRF field and error display that works with and without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::session::use_auth;

/// The hidden anti-CSRF field every state-changing form carries (named `csrf`, which is also
/// the argument name of the server functions).
#[component]
pub fn CsrfField() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let csrf = auth.user.await.ok().flatten().map(|u| u.csrf).unwrap_or_default();
                view! { <input type="hidden" name="csrf" prop:value=csrf.clone() value=csrf/> }
            })}
        </Suspense>
    }
}

/// Shows the error of the last submission: from the action's result (with JavaScript) or from
/// the `error` code in the URL (after a plain form post).
#[component]
pub fn FormAlert(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        error.get().map(|e| e.to_string()).or_else(|| {
            let q = query.read();
            q.get("error")
                .and_then(|code| AppError::message_for_code(&code, q.get("field").as_deref()))
        })
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="alert alert-error" role="alert">{message}</p>
        </Show>
    }
}

/// An error in place of content. On the server it also sets the page's status (a bad filter
/// is a 422, a missing record a 404), so the page never answers 200 for a failure.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(res), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(error.status()),
    ) {
        res.set_status(status);
    }
    view! { <p class="alert alert-error" role="alert">{error.to_string()}</p> }
}

/// What a page shows for a record it loaded: the record's own view, the not-found card
/// (`missing`: its title and explanation) when the record does not exist, the error box for any
/// other failure.
pub fn record_view<T>(
    loaded: Result<T, AppError>,
    missing: (&'static str, &'static str),
    body: impl FnOnce(T) -> AnyView,
) -> AnyView {
    match loaded {
        Ok(record) => body(record),
        Err(AppError::NotFound) => {
            view! { <NotFoundCard title=missing.0 text=missing.1/> }.into_any()
        }
        Err(error) => view! { <ErrorBox error/> }.into_any(),
    }
}

/// A record that does not exist: a 404 page with a title and an explanation.
#[component]
pub fn NotFoundCard(title: &'static str, text: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow">
            <h1>{title}</h1>
            <p>{text}</p>
        </section>
    }
}
