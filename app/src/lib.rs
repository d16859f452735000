//! Lendscope's pages and server functions (Leptos, SSR with hydration).
//!
//! Server functions are thin: they parse input into domain types, call the service layer
//! (`lendscope-service`, only in the `ssr` build) and map its errors to [`AppError`].

pub mod components;
pub mod error;
pub mod pages;
pub mod session;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod url;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub use error::AppError;

use components::Shell;
use pages::{
    account::AccountPage,
    apply::ApplyPage,
    audit::AuditPage,
    case::CasePage,
    home::HomePage,
    login::LoginPage,
    models::{ComparePage, ModelVersionPage, ModelsPage},
    monitoring::MonitoringPage,
    not_found::NotFoundPage,
    notice::NoticePage,
    queue::QueuePage,
    stats::StatisticsPage,
    trace::{DecisionSearchPage, DecisionTracePage},
    users::UsersPage,
    validation::{ValidationPage, ValidationReportPage},
};
use session::AuthContext;

/// The HTML document around the app, rendered on the server for every page.
/// (The server sets the page's Content-Security-Policy with the nonce it chose.)
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    AuthContext::provide();
    // Effects run only in the browser: this marks the page once hydration has happened, so
    // that browser tests (and curious people) can tell a live page from a static one.
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/lendscope.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "Lendscope".to_owned() } else { format!("{page} · Lendscope") }
        }/>
        <Router>
            <Shell>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/queue") view=QueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/queue/:id") view=CasePage ssr=SsrMode::Async/>
                    <Route path=path!("/statistics") view=StatisticsPage ssr=SsrMode::Async/>
                    <Route path=path!("/apply") view=ApplyPage ssr=SsrMode::Async/>
                    <Route path=path!("/models") view=ModelsPage ssr=SsrMode::Async/>
                    <Route path=path!("/models/compare") view=ComparePage ssr=SsrMode::Async/>
                    <Route path=path!("/models/:id") view=ModelVersionPage ssr=SsrMode::Async/>
                    <Route path=path!("/monitoring") view=MonitoringPage ssr=SsrMode::Async/>
                    <Route path=path!("/validation") view=ValidationPage ssr=SsrMode::Async/>
                    <Route path=path!("/validation/:id") view=ValidationReportPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit/decisions") view=DecisionSearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit/decisions/:id") view=DecisionTracePage ssr=SsrMode::Async/>
                    <Route path=path!("/notice/:token") view=NoticePage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                </Routes>
            </Shell>
        </Router>
    }
}
