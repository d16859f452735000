//! Areas whose capability has not been built yet. They exist so that navigation and access
//! control are complete; each says plainly that it is not available.

use lendscope_domain::Area;
use leptos::prelude::*;

use crate::components::Protected;

#[component]
pub fn PendingAreaPage(area: Area) -> impl IntoView {
    view! {
        <Protected area>
            <section>
                <h1>{area.title()}</h1>
                <p class="alert alert-info">
                    "This area is not available in this version of Lendscope yet."
                </p>
            </section>
        </Protected>
    }
}
