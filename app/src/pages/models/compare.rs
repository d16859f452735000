//! The champion-versus-challenger comparison (`/models/compare`): the promotion gate with the
//! promotion request form, live-traffic agreement, labelled outcomes and fairness.

use lendscope_domain::governance::{Comparison, GroupParity, Interval};
use lendscope_domain::review::percent;
use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{fmt3, ModelAction, RegistryAction};
use crate::components::{CsrfField, ErrorBox, FormAlert, Protected};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "models/compare", input = GetUrl)]
pub async fn fetch_comparison() -> Result<Comparison, AppError> {
    use crate::ssr;
    ssr::require(Area::Models).await?;
    ssr::services()?
        .compare_serving()
        .await
        .map_err(ssr::map_service_error)
}

#[component]
pub fn ComparePage() -> impl IntoView {
    let act = ServerAction::<RegistryAction>::new();
    let cmp = Resource::new(|| (), |_| fetch_comparison());
    let error = Signal::derive(move || act.value().get().and_then(|r| r.err()));
    view! {
        <Title text="Champion and challenger"/>
        <Protected area=Area::Models>
            <p><A href="/models">"← All models"</A></p>
            <h1>"Champion and challenger"</h1>
            <FormAlert error/>
            <Suspense fallback=|| view! { <p class="muted">"Comparing (re-scoring recent and labelled applications)…"</p> }>
                {move || Suspend::new(async move { match cmp.await {
                    Ok(c) => view! { <CompareBody c act/> }.into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                } })}
            </Suspense>
        </Protected>
    }
    .into_any()
}

fn interval_text(i: &Interval) -> String {
    format!("{:.3} ({:.3} to {:.3})", i.value, i.low, i.high)
}

#[component]
fn CompareBody(c: Comparison, act: ServerAction<RegistryAction>) -> impl IntoView {
    let gate_rows = c
        .gate
        .iter()
        .map(|g| {
            view! {
                <tr class=if g.passed { "gate-pass" } else { "gate-fail" }>
                    <th scope="row">{g.name.clone()}</th>
                    <td><span class=if g.passed { "pill pill-approve" } else { "pill pill-reject" }>
                        {if g.passed { "passes" } else { "fails" }}</span></td>
                    <td>{g.measured.clone()}</td>
                    <td>{g.bound.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let labelled = match (&c.auc, &c.ks) {
        (Some(auc), Some(ks)) => view! {
            <table class="table" data-testid="labelled"><thead><tr>
                <th scope="col">"On " {c.labelled_rows} " labelled decisions (" {c.labelled_positives} " defaulted)"</th>
                <th scope="col">"Champion"</th><th scope="col">"Challenger"</th>
                <th scope="col">"Challenger − champion"</th></tr></thead>
                <tbody>
                    <tr><th scope="row">"AUC (95% CI)"</th><td>{interval_text(&auc.0)}</td>
                        <td>{interval_text(&auc.1)}</td><td>{interval_text(&auc.2)}</td></tr>
                    <tr><th scope="row">"KS (95% CI)"</th><td>{interval_text(&ks.0)}</td>
                        <td>{interval_text(&ks.1)}</td><td>{interval_text(&ks.2)}</td></tr>
                </tbody></table>
            <p class="muted small">"Intervals: paired bootstrap over the same applications."</p>
        }
        .into_any(),
        _ => view! { <p class="muted">{c.labelled_note.clone().unwrap_or_default()}</p> }.into_any(),
    };
    let through_the_door = match c.through_the_door.clone() {
        Some(tt) => view! {
            <p class="muted small">{format!(
                "Labelled outcomes exist only for approved loans. Here both versions score {} applicants from the synthetic generator (seed {}), which knows every applicant's outcome; each approves its least risky {} — the champion's approval rate on the recent applications. The challenger's training treated declined applicants by: {}.",
                tt.rows, tt.seed, percent(tt.approval_rate, 1), c.challenger_reject_inference)}</p>
            <table class="table"><thead><tr><th scope="col"></th><th scope="col">"Champion"</th>
                <th scope="col">"Challenger"</th><th scope="col">"Challenger − champion"</th></tr></thead>
                <tbody>
                    <tr><th scope="row">"ROC AUC"</th><td>{format!("{:.4}", tt.champion_auc)}</td>
                        <td>{format!("{:.4}", tt.challenger_auc)}</td>
                        <td>{format!("{:+.4}", tt.challenger_auc - tt.champion_auc)}</td></tr>
                    <tr><th scope="row">"Bad rate of the approved"</th><td>{percent(tt.champion_bad_rate, 2)}</td>
                        <td>{percent(tt.challenger_bad_rate, 2)}</td>
                        <td>{format!("{:+.2} points", (tt.challenger_bad_rate - tt.champion_bad_rate) * 100.0)}</td></tr>
                </tbody></table>
        }
        .into_any(),
        None => view! { <p class="muted">{c.through_the_door_note.clone().unwrap_or_default()}</p> }.into_any(),
    };
    let fairness = c
        .fairness
        .iter()
        .map(|f| view! { <FairnessTable f=f.clone()/> })
        .collect_view();
    let final_fairness = c
        .final_fairness
        .iter()
        .map(|f| view! { <FairnessTable f=f.clone()/> })
        .collect_view();
    view! {
        <p>"Champion " <A href=format!("/models/{}", c.champion.id)>{format!("{} v{}", c.champion.name, c.champion.version)}</A>
           ", challenger " <A href=format!("/models/{}", c.challenger.id)>{format!("{} v{}", c.challenger.name, c.challenger.version)}</A>
           " on " {c.challenger_share} "% of applicants."</p>
        <section class="card" aria-labelledby="gate-h">
            <h2 id="gate-h">"Promotion gate "
                <span data-testid="gate" class=if c.gate_passed { "pill pill-approve" } else { "pill pill-reject" }>
                    {if c.gate_passed { "passes" } else { "does not pass" }}</span></h2>
            <table class="table"><thead><tr><th scope="col">"Check"</th><th scope="col">"Result"</th>
                <th scope="col">"Measured"</th><th scope="col">"Bound"</th></tr></thead>
                <tbody>{gate_rows}</tbody></table>
            {if c.gate_passed {
                view! {
                    <ActionForm action=act attr:class="form" attr:id="request-form">
                        <CsrfField/>
                        <input type="hidden" name="action" value=ModelAction::Request.as_str()/>
                        <label for="request-reason">"Why promote? (another admin approves)"</label>
                        <textarea id="request-reason" name="note" rows="2" required maxlength="2000"></textarea>
                        <button type="submit" class="button">"Request promotion"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! { <p class="muted">"Promotion can be requested once every check passes."</p> }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="live-h">
            <h2 id="live-h">"Live traffic"</h2>
            <ul class="count-list">
                <li><span class="count" data-testid="agreement">{percent(c.agreement, 1)}</span>
                    " agreement of recommendations on the last " {c.window} " applications"</li>
                <li><span class="count">{c.shadow_compared}</span>" scored live with the other in the shadow, "
                    {c.shadow_disagreements} " disagreed"</li>
                <li><span class="count">{format!("{:.4}", c.mean_abs_pd_difference)}</span>" mean |Δ probability of default| in the shadow"</li>
                <li><span class="count">{fmt3(c.psi)}</span>" PSI of the scores"</li>
            </ul>
            <figure class="chart" data-testid="distributions"><div class="svg" inner_html=c.distribution_svg.clone()></div>
                <figcaption>"Probability of default of the same recent applications under each version"</figcaption></figure>
        </section>
        <section class="card" aria-labelledby="labelled-h">
            <h2 id="labelled-h">"Labelled outcomes"</h2>
            {labelled}
        </section>
        <section class="card" aria-labelledby="ttd-h" data-testid="through-the-door">
            <h2 id="ttd-h">"Through the door (generated applicants, declined included)"</h2>
            {through_the_door}
        </section>
        <section class="card" aria-labelledby="fair-h">
            <h2 id="fair-h">"Fairness of the challenger's recommendations"</h2>
            <p class="muted small">"What the gate judges: the challenger's recommendations on the recent applications."</p>
            {fairness}
        </section>
        <section class="card" aria-labelledby="final-fair-h" data-testid="final-fairness">
            <h2 id="final-fair-h">"Fairness of the final decisions"</h2>
            <p class="muted small">{format!(
                "What applicants were told: the officer's decision where one was made, else the automated one, on {} of the same applications (manual reviews still open are left out), whichever version served them.",
                c.final_decided)}</p>
            {final_fairness}
        </section>
    }
    .into_any()
}

#[component]
fn FairnessTable(f: GroupParity) -> impl IntoView {
    let rows = f
        .groups
        .iter()
        .map(|(g, n, r)| view! { <tr><td>{g.clone()}</td><td class="num">{*n}</td><td class="num">{percent(*r, 1)}</td></tr> })
        .collect_view();
    view! {
        <h3>{f.attribute.clone()}</h3>
        {match (f.difference, f.ratio) {
            (Some(d), Some(r)) => view! {
                <p>"Approval-rate gap " {percent(d, 1)} ", ratio " {format!("{r:.3}")}</p>
                {f.note.clone().map(|n| view! { <p class="muted small">{n}</p> })}
                <table class="table"><thead><tr><th scope="col">"Group"</th>
                    <th scope="col" class="num">"Applications"</th>
                    <th scope="col" class="num">"Approval rate"</th></tr></thead>
                    <tbody>{rows}</tbody></table>
            }.into_any(),
            _ => view! { <p class="muted">{f.note.clone().unwrap_or_default()}</p> }.into_any(),
        }}
    }
    .into_any()
}
