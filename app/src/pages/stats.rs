//! Officer statistics: decisions per officer, override rate, and the share of decisions taken
//! with the model's output shown ("decisions aided"; the business goal is above 95 %).

use lendscope_domain::review::{percent, ratio, OfficerRow, AIDED_GOAL};
use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;

use crate::components::{ErrorBox, Protected};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "statistics", input = GetUrl)]
pub async fn fetch_officer_stats() -> Result<Vec<OfficerRow>, AppError> {
    use crate::ssr;
    ssr::require(Area::Statistics).await?;
    ssr::services()?
        .officer_stats()
        .await
        .map_err(ssr::map_service_error)
}

#[component]
pub fn StatisticsPage() -> impl IntoView {
    view! {
        <Title text="Officer statistics"/>
        <Protected area=Area::Statistics>
            <Statistics/>
        </Protected>
    }
    .into_any()
}

#[component]
fn Statistics() -> impl IntoView {
    let stats = Resource::new(|| (), |_| fetch_officer_stats());
    view! {
        <h1>"Officer statistics"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { match stats.await {
                Ok(rows) => view! { <StatsTable rows/> }.into_any(),
                Err(error) => view! { <ErrorBox error/> }.into_any(),
            } })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn StatsTable(rows: Vec<OfficerRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="card muted">"No officer has decided an application yet."</p> }
            .into_any();
    }
    let sum = |f: fn(&OfficerRow) -> u64| rows.iter().map(f).sum::<u64>();
    let total = OfficerRow {
        officer: "All officers".to_owned(),
        decisions: sum(|r| r.decisions),
        approvals: sum(|r| r.approvals),
        rejections: sum(|r| r.rejections),
        counteroffers: sum(|r| r.counteroffers),
        overrides: sum(|r| r.overrides),
        aided: sum(|r| r.aided),
    };
    let aided = total.aided_share();
    let goal_met = aided > AIDED_GOAL;
    let line = |r: &OfficerRow, strong: bool| {
        let cells = view! {
            <td class="num">{r.decisions}</td>
            <td class="num">{r.approvals}</td>
            <td class="num">{r.rejections}</td>
            <td class="num">{r.counteroffers}</td>
            <td class="num">{r.overrides} " (" {percent(r.override_rate(), 1)} ")"</td>
            <td class="num">{r.aided} " (" {percent(r.aided_share(), 1)} ")"</td>
        };
        if strong {
            view! { <tr class="total"><th scope="row">{r.officer.clone()}</th>{cells}</tr> }
                .into_any()
        } else {
            view! { <tr><td>{r.officer.clone()}</td>{cells}</tr> }.into_any()
        }
    };
    let body = rows.iter().map(|r| line(r, false)).collect_view();
    view! {
        <section class="counts" aria-label="Summary">
            <ul class="count-list">
                <li><span class="count">{total.decisions}</span>" decisions"</li>
                <li><span class="count">{percent(ratio(total.overrides, total.decisions), 1)}</span>" overrides"</li>
                <li>
                    <span class="count" data-testid="aided-share">{percent(aided, 1)}</span>
                    " decisions aided "
                    <span class=if goal_met { "pill pill-approve" } else { "pill pill-reject" }>
                        {if goal_met { "goal met (> 95%)" } else { "below the 95% goal" }}
                    </span>
                </li>
            </ul>
        </section>
        <div class="table-wrap">
            <table class="table" data-testid="officer-stats">
                <thead>
                    <tr>
                        <th scope="col">"Officer"</th>
                        <th scope="col" class="num">"Decisions"</th>
                        <th scope="col" class="num">"Approved"</th>
                        <th scope="col" class="num">"Rejected"</th>
                        <th scope="col" class="num">"Counteroffers"</th>
                        <th scope="col" class="num">"Overrides"</th>
                        <th scope="col" class="num">"Model output shown"</th>
                    </tr>
                </thead>
                <tbody>{body}{line(&total, true)}</tbody>
            </table>
        </div>
        <p class="muted small">
            "An override is a decision against the model's recommendation (approving a recommended "
            "reject or rejecting a recommended approve). A decision is aided when the officer "
            "decided from the application page with the model's output on screen."
        </p>
    }
    .into_any()
}
