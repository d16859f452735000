//! A model version's page (`/models/:id`): lineage, training parameters, metrics with the
//! ROC and calibration charts, realized performance and alias history.

use lendscope_domain::governance::ModelDetail;
use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{fmt3, NO_VERSION};
use crate::components::{record_view, Protected};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "models/version", input = GetUrl)]
pub async fn fetch_model(id: String) -> Result<ModelDetail, AppError> {
    use crate::ssr;
    ssr::require(Area::Models).await?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    ssr::services()?
        .model_detail(id)
        .await
        .map_err(ssr::map_service_error)
}

#[component]
pub fn ModelVersionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, fetch_model);
    let query = use_query_map();
    let uploaded = move || query.read().get("done").is_some_and(|d| d == "upload");
    view! {
        <Title text="Model version"/>
        <Protected area=Area::Models>
            <p><A href="/models">"← All models"</A></p>
            <Show when=uploaded>
                <p class="alert alert-success" role="status">"Registered. Make it the challenger from the model list to compare it with the champion."</p>
            </Show>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    record_view(detail.await, NO_VERSION, |d| view! { <VersionBody d/> }.into_any())
                })}
            </Suspense>
        </Protected>
    }
    .into_any()
}

#[component]
fn VersionBody(d: ModelDetail) -> impl IntoView {
    let facts = d
        .lineage
        .iter()
        .map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> })
        .collect_view();
    let params = d
        .parameters
        .iter()
        .map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> })
        .collect_view();
    let metrics = d
        .metrics
        .iter()
        .map(|m| {
            view! {
                <tr><th scope="row">{m.label.clone()}</th>
                    <td class="num">{fmt3(m.validation)}</td><td class="num">{fmt3(m.test)}</td></tr>
            }
        })
        .collect_view();
    let periods = d
        .periods
        .iter()
        .map(|p| {
            view! {
                <tr>
                    <td>{p.alias.clone()}</td><td>{p.from.clone()}</td>
                    <td>{p.to.clone().unwrap_or_else(|| "now".into())}</td>
                    <td>{p.set_by.clone()}</td>
                    <td>{p.approved_by.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h1>{format!("{} v{}", d.row.name, d.row.version)}
            {d.row.alias.clone().map(|a| view! { " " <span class=format!("pill pill-{a}")>{a.clone()}</span> })}
            {d.row.archived.then(|| view! { " " <span class="pill">"archived"</span> })}
        </h1>
        <p class="muted small mono">"SHA-256 " {d.sha256.clone()} " · " {d.features} " features · " {d.trees} " trees"</p>
        <div class="two-col">
            <section class="card"><h2>"Lineage"</h2><dl class="facts">{facts}</dl></section>
            <section class="card"><h2>"Training parameters"</h2>
                {if d.parameters.is_empty() {
                    view! { <p class="muted">"Not recorded (model trained elsewhere)."</p> }.into_any()
                } else {
                    view! { <dl class="facts">{params}</dl> }.into_any()
                }}
            </section>
        </div>
        <section class="card"><h2>"Metrics at training time"</h2>
            {if d.metrics.is_empty() {
                view! { <p class="muted">"The model card has no metrics."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="card-metrics"><thead><tr>
                        <th scope="col">"Metric"</th><th scope="col" class="num">"Validation"</th>
                        <th scope="col" class="num">"Test"</th></tr></thead>
                        <tbody>{metrics}</tbody></table>
                }.into_any()
            }}
            {d.card_calibration_svg.clone().map(|svg| view! {
                <figure class="chart"><div class="svg" inner_html=svg></div>
                    <figcaption>"Calibration on the held-out test set"</figcaption></figure>
            })}
        </section>
        <section class="card"><h2>"Realized performance (decided applications with outcomes)"</h2>
            {match (d.realized.clone(), d.realized_note.clone()) {
                (Some(r), _) => view! {
                    <p data-testid="realized">{r.rows} " applications, " {r.positives} " defaulted: AUC "
                        {format!("{:.3}", r.auc)} ", KS " {format!("{:.3}", r.ks)} ", Gini "
                        {format!("{:.3}", r.gini)} ", Brier " {format!("{:.4}", r.brier)}</p>
                    <div class="two-col">
                        <figure class="chart" data-testid="roc"><div class="svg" inner_html=r.roc_svg></div>
                            <figcaption>"ROC curve"</figcaption></figure>
                        <figure class="chart" data-testid="calibration"><div class="svg" inner_html=r.calibration_svg></div>
                            <figcaption>"Calibration by score decile"</figcaption></figure>
                    </div>
                }.into_any(),
                (None, note) => view! { <p class="muted">{note.unwrap_or_default()}</p> }.into_any(),
            }}
        </section>
        <section class="card"><h2>"Alias history"</h2>
            {if d.periods.is_empty() {
                view! { <p class="muted">"This version never served."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="periods"><thead><tr>
                        <th scope="col">"Alias"</th><th scope="col">"From"</th><th scope="col">"To"</th>
                        <th scope="col">"Set by"</th><th scope="col">"Promotion"</th></tr></thead>
                        <tbody>{periods}</tbody></table>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}
