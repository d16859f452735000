//! Model validation (admins and compliance): every registered version with a link to its
//! validation report (`/validation`), and one report in full (`/validation/:id`) — model
//! documentation in the order of SR 11-7 / OCC 2011-12, generated from stored facts only —
//! with its PDF (`/validation/:id/report.pdf`, served by the server, the same bytes for the same
//! facts).

use lendscope_domain::governance::{ModelRow, ReportSection, ValidationReport};
use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::components::{record_view, ErrorBox, Protected};
use crate::error::AppError;
use crate::pages::models::NO_VERSION;

#[server(prefix = "/rpc", endpoint = "validation/versions", input = GetUrl)]
pub async fn fetch_versions() -> Result<Vec<ModelRow>, AppError> {
    use crate::ssr;
    ssr::require(Area::Validation).await?;
    ssr::services()?
        .model_rows()
        .await
        .map_err(ssr::map_service_error)
}

#[server(prefix = "/rpc", endpoint = "validation/report", input = GetUrl)]
pub async fn fetch_report(id: String) -> Result<ValidationReport, AppError> {
    use crate::ssr;
    ssr::require(Area::Validation).await?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    ssr::services()?
        .validation_report(id)
        .await
        .map_err(ssr::map_service_error)
}

#[component]
pub fn ValidationPage() -> impl IntoView {
    let versions = Resource::new(|| (), |_| fetch_versions());
    view! {
        <Title text="Model validation"/>
        <Protected area=Area::Validation>
            <h1>"Model validation"</h1>
            <p class="muted">"One report per registered version, from stored facts only: purpose and limits, data, parameters and lineage, discrimination and calibration, estimated performance, stability, fairness, the promotion gate, open alerts and who approved each promotion."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move { match versions.await {
                    Ok(rows) => view! {
                        <div class="table-wrap"><table class="table" data-testid="validation-versions">
                            <thead><tr><th scope="col">"Version"</th><th scope="col">"Alias"</th>
                                <th scope="col">"Source"</th><th scope="col">"Registered"</th>
                                <th scope="col">"Report"</th></tr></thead>
                            <tbody>{rows.into_iter().map(|m| view! {
                                <tr><th scope="row">{format!("{} v{}", m.name, m.version)}</th>
                                    <td>{m.alias.unwrap_or_else(|| "—".to_owned())}</td>
                                    <td>{m.source}</td><td>{m.created_at}</td>
                                    <td><A href=format!("/validation/{}", m.id)>"Report"</A>
                                        " · " <a href=format!("/validation/{}/report.pdf", m.id) rel="external">"PDF"</a></td></tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    }.into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                } })}
            </Suspense>
        </Protected>
    }
    .into_any()
}

#[component]
pub fn ValidationReportPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let report = Resource::new(id, fetch_report);
    view! {
        <Title text="Validation report"/>
        <Protected area=Area::Validation>
            <p><A href="/validation">"← All versions"</A></p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    record_view(report.await, NO_VERSION, |r| view! { <Report r/> }.into_any())
                })}
            </Suspense>
        </Protected>
    }
    .into_any()
}

#[component]
fn Report(r: ValidationReport) -> impl IntoView {
    view! {
        <h1>"Validation report: " {r.model.clone()}</h1>
        <p class="muted" data-testid="as-of">"As of " {r.as_of.clone()} ". Generated from stored facts only. "
            <a href=format!("/validation/{}/report.pdf", r.model_id) rel="external" data-testid="report-pdf">"Download the PDF"</a></p>
        {r.sections.into_iter().map(|s| view! { <Section s/> }).collect_view()}
    }
    .into_any()
}

#[component]
fn Section(s: ReportSection) -> impl IntoView {
    view! {
        <section class="card" data-testid="report-section">
            <h2>{s.title}</h2>
            {s.paragraphs.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
            {(!s.facts.is_empty()).then(|| view! {
                <dl class="facts">{s.facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}</dl>
            })}
            {s.tables.into_iter().map(|t| view! {
                <div class="table-wrap"><table class="table">
                    <thead><tr>{t.header.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr></thead>
                    <tbody>{t.rows.into_iter().map(|row| view! {
                        <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                    }).collect_view()}</tbody>
                </table></div>
            }).collect_view()}
        </section>
    }
    .into_any()
}
