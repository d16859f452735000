use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address."</p>
            <p><A href="/">"Back to the start page"</A></p>
        </section>
    }
    .into_any()
}
