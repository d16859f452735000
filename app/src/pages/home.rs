use leptos::prelude::*;
use leptos_router::components::A;

use crate::session::use_auth;

/// The start page: what Lendscope is, and for staff the areas their role opens.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <section class="hero">
            <h1>"Fair, explainable credit for people with thin files"</h1>
            <p class="lead">
                "Lendscope scores small-loan applications from alternative data — employment "
                "records, rent, utility and telecom payments, digital footprint and banking "
                "behaviour — explains every score, and leaves the decision with a loan officer."
            </p>
        </section>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { match auth.user.await.ok().flatten() {
                Some(user) => {
                    let cards = user
                        .role
                        .areas()
                        .map(|area| {
                            view! {
                                <li class="card">
                                    <h2><A href=area.path()>{area.title()}</A></h2>
                                </li>
                            }
                        })
                        .collect_view();
                    view! {
                        <section>
                            <h2>"Welcome, " {user.username.clone()}</h2>
                            <p class="muted">"Signed in as " {user.role.label()} "."</p>
                            <ul class="cards">{cards}</ul>
                        </section>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <section class="card narrow">
                            <h2>"Applicants"</h2>
                            <p>
                                "Need $500 to $5,000? "
                                <A href="/apply" attr:class="button">"Apply for a loan"</A>
                            </p>
                        </section>
                        <section class="card narrow">
                            <h2>"Staff"</h2>
                            <p>
                                "Loan officers, administrators and compliance staff "
                                <A href="/login">"sign in here"</A>"."
                            </p>
                        </section>
                    }
                        .into_any()
                }
            }})}
        </Suspense>
    }
    .into_any()
}
