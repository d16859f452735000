//! The role-aware shell: header, navigation, sign-out, and the guard of protected pages.

use lendscope_domain::Area;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::forms::ErrorBox;
use crate::session::{use_auth, CurrentUser};

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let auth = use_auth();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <A href="/" attr:class="brand">"Lendscope"</A>
            // The session is awaited inside `Suspend` rather than read with `.get()` in each of
            // several `Suspense` boundaries: Leptos 0.8's SSR can lose the wake-up of a boundary
            // that reads a resource another boundary reads too (leptos-rs/leptos#4851), which
            // hung a page render until the request timeout, now and then. Every page reads its
            // data the same way. A rarer hang remains with either pattern (measured: about 1 in
            // 15 runs of the absolute-timeout session test beside the access matrix, 35 page
            // renders each, with `.get()` or with `Suspend` alike); see leptos-rs/leptos#4698.
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(user)) => view! { <UserNav user/> }.into_any(),
                        Ok(None) => view! { <A href="/login" attr:class="button button-small">"Sign in"</A> }.into_any(),
                        Err(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </header>
        <main id="main" class="content">{children()}</main>
        <footer class="footer">
            <p>"Lendscope — explainable credit decisions for thin-file applicants."</p>
        </footer>
    }
}

#[component]
fn UserNav(user: CurrentUser) -> impl IntoView {
    let auth = use_auth();
    let links = user
        .role
        .areas()
        .map(|area| view! { <li><A href=area.path()>{area.title()}</A></li> })
        .collect_view();
    view! {
        <nav class="mainnav" aria-label="Main">
            <ul>{links}</ul>
        </nav>
        <div class="whoami">
            <span class="user-badge" data-testid="whoami">
                {user.username.clone()} <span class="role">{user.role.label()}</span>
            </span>
            <ActionForm action=auth.logout attr:class="inline-form">
                <input type="hidden" name="csrf" value=user.csrf.clone()/>
                <button type="submit" class="button button-small button-quiet">"Sign out"</button>
            </ActionForm>
        </div>
    }
}

/// Renders `children` only for a signed-in user whose role may use `area`. This is the
/// page-level view of the rule; the server enforces it on every request and server function.
#[component]
pub fn Protected(area: Area, children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(user)) if area.allows(user.role) => {
                        children.with_value(|c| c()).into_any()
                    }
                    Ok(Some(_)) => view! { <Forbidden/> }.into_any(),
                    Ok(None) => view! { <SignInPrompt/> }.into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="card narrow">
            <h1>"Access denied"</h1>
            <p>"Your role does not give access to this page. The attempt has been recorded."</p>
            <p><A href="/">"Back to the start page"</A></p>
        </section>
    }
}

#[component]
fn SignInPrompt() -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"Please sign in"</h1>
            <p><A href="/login">"Sign in"</A>" to continue."</p>
        </section>
    }
}
