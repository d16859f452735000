use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{CsrfField, FormAlert};
use crate::session::use_auth;

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = Signal::derive(move || auth.login.value().get().and_then(|r| r.err()));
    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <FormAlert error/>
            <ActionForm action=auth.login attr:class="form" attr:id="login-form">
                <CsrfField/>
                <input type="hidden" name="next" prop:value=next value=next/>
                <label for="username">"User name"</label>
                <input
                    id="username"
                    name="username"
                    autocomplete="username"
                    autocapitalize="none"
                    spellcheck="false"
                    maxlength="64"
                    required
                />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    maxlength="1024"
                    required
                />
                <button type="submit" class="button" disabled=move || auth.login.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
        </section>
    }
    .into_any()
}
