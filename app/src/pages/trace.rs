//! Compliance: find a decision by application id or day and trace it — the model version and
//! who authorised it, the policy, the shadow model, every officer action, the hash chain.

use lendscope_domain::governance::{DecisionTrace, TraceRow};
use lendscope_domain::Area;
use lendscope_domain::Decision;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{record_view, ErrorBox, Protected};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "audit/decisions", input = GetUrl)]
pub async fn find_decisions(q: String) -> Result<Vec<TraceRow>, AppError> {
    use crate::ssr;
    ssr::require(Area::Audit).await?;
    ssr::services()?
        .find_decisions(&q)
        .await
        .map_err(ssr::map_service_error)
}

#[server(prefix = "/rpc", endpoint = "audit/decision", input = GetUrl)]
pub async fn fetch_trace(id: String) -> Result<DecisionTrace, AppError> {
    use crate::ssr;
    ssr::require(Area::Audit).await?;
    ssr::services()?
        .decision_trace(&id)
        .await
        .map_err(ssr::map_service_error)
}

#[component]
pub fn DecisionSearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let rows = Resource::new(q, |q| async move {
        if q.is_empty() {
            Ok(Vec::new())
        } else {
            find_decisions(q).await
        }
    });
    view! {
        <Title text="Decision lookup"/>
        <Protected area=Area::Audit>
            <h1>"Decision lookup"</h1>
            <p class="muted">"Which model, approved by whom, decided an application — with its policy, shadow result, officer actions and the hash chain."</p>
            <Form method="GET" action="/audit/decisions" attr:class="filters">
                <label for="trace-q">"Application id or date (YYYY-MM-DD)"</label>
                <input id="trace-q" name="q" prop:value=q value=q required maxlength="64"/>
                <button type="submit" class="button button-small">"Find"</button>
            </Form>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move { match rows.await {
                    Ok(rows) if rows.is_empty() && !q().is_empty() => view! { <p class="muted">"No decision matches."</p> }.into_any(),
                    Ok(rows) => view! { <TraceTable rows/> }.into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                } })}
            </Suspense>
        </Protected>
    }
    .into_any()
}

#[component]
fn TraceTable(rows: Vec<TraceRow>) -> impl IntoView {
    if rows.is_empty() {
        return ().into_any();
    }
    let body = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td><A href=format!("/audit/decisions/{}", r.application_id)>{r.application_id.clone()}</A></td>
                    <td>{r.created_at}</td>
                    <td>{r.model} " (" {r.role.as_str()} ")"</td>
                    <td>{r.decision.label()}</td>
                    <td class="num">{format!("{:.4}", r.probability_of_default)}</td>
                    <td>{r.policy_version}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="trace-results">
                <thead><tr><th scope="col">"Application"</th><th scope="col">"Decided"</th>
                    <th scope="col">"Model"</th><th scope="col">"Recommendation"</th>
                    <th scope="col" class="num">"PD"</th><th scope="col">"Policy"</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn DecisionTracePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let trace = Resource::new(id, fetch_trace);
    view! {
        <Title text="Decision trace"/>
        <Protected area=Area::Audit>
            <p><A href="/audit/decisions">"← Decision lookup"</A></p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    record_view(
                        trace.await,
                        ("No such decision", "No decision has this application id."),
                        |t| view! { <TraceBody t/> }.into_any(),
                    )
                })}
            </Suspense>
        </Protected>
    }
    .into_any()
}

#[component]
fn TraceBody(t: DecisionTrace) -> impl IntoView {
    let actions = t
        .actions
        .iter()
        .map(|a| {
            view! {
                <tr><td>{a.at.clone()}</td><td>{a.officer.clone()}</td>
                    <td>{a.action.label()}{a.overrode.then_some(" (override)")}</td>
                    <td>{a.note.clone().unwrap_or_default()}
                        {(!a.reasons.is_empty()).then(|| format!(" Reasons stated: {}.", a.reasons.join("; ")))}</td>
                    <td>{if a.model_shown.is_some() { "yes" } else { "no" }}</td></tr>
            }
        })
        .collect_view();
    let reasons = t
        .reasons
        .iter()
        .map(|r| view! { <li>{r.clone()}</li> })
        .collect_view();
    view! {
        <h1>"Decision " <span class="mono">{t.row.application_id.clone()}</span></h1>
        <section class="card">
            <dl class="facts" data-testid="trace">
                <dt>"Decided"</dt><dd>{t.row.created_at.clone()} " (link " {t.seq} ", client " {t.api_client.clone()} ")"</dd>
                <dt>"Model"</dt><dd data-testid="trace-model">{t.row.model.clone()} " as " {t.row.role.as_str()}
                    " · SHA-256 " <span class="mono small">{t.model_sha256.clone()}</span></dd>
                <dt>"Model authorised"</dt><dd data-testid="trace-authorised">{t.model_authorised.clone()}</dd>
                <dt>"Recommendation"</dt><dd>{t.row.decision.label()} " (probability of default "
                    {format!("{:.4}", t.row.probability_of_default)} ", rule " {t.rule.clone()} ")"</dd>
                <dt>"Policy version"</dt><dd>{t.row.policy_version.clone()}</dd>
                <dt>"Shadow model"</dt><dd>{t.shadow.clone().unwrap_or_else(|| "none".into())}</dd>
                <dt>"Final decision"</dt><dd>{t.final_decision.map(Decision::label).unwrap_or("open (no officer decision yet)")}</dd>
                <dt>"This record"</dt><dd data-testid="trace-record">{if t.record_verified {
                    "verified: previous-hash, hash and columns agree".to_owned()
                } else {
                    format!("does not verify: {}", t.record_problem.clone().unwrap_or_default())
                }}</dd>
                <dt>"Hash chain"</dt><dd data-testid="trace-chain" class=if t.chain_intact { "" } else { "alert-error" }>{t.chain.clone()}</dd>
                <dt>"Record hash"</dt><dd class="mono small">{t.hash.clone()}</dd>
            </dl>
        </section>
        <section class="card"><h2>"Reasons given to the applicant"</h2><ol>{reasons}</ol></section>
        <section class="card"><h2>"Officer actions"</h2>
            {if t.actions.is_empty() {
                view! { <p class="muted">"No officer has acted on this application."</p> }.into_any()
            } else {
                view! {
                    <table class="table"><thead><tr><th scope="col">"When"</th><th scope="col">"Officer"</th>
                        <th scope="col">"Action"</th><th scope="col">"Note"</th>
                        <th scope="col">"Model output shown"</th></tr></thead>
                        <tbody>{actions}</tbody></table>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}
