//! The review queue: open applications, manual review first then oldest first, with filters,
//! counts by state and keyset pagination. Filters are a plain GET form (works without
//! JavaScript; with it, the router navigates without a reload).
// The queue's server function takes one argument per filter (they are the query string); the
// generated client function repeats them, where an item-level allow does not reach.
#![allow(clippy::too_many_arguments)]

use lendscope_domain::review::{money, percent, QueueRow, QueueView, RISK_BANDS};
use lendscope_domain::{Area, Decision, ModelRole};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

use crate::components::{ErrorBox, Protected};
use crate::error::AppError;

pub const PAGE_SIZE: u64 = 25;

/// The query-string keys of the filters, in form order.
const FILTER_KEYS: [&str; 7] = ["recommended", "band", "role", "from", "to", "min", "max"];

#[server(prefix = "/rpc", endpoint = "queue", input = GetUrl)]
pub async fn fetch_queue(
    recommended: Option<String>,
    band: Option<String>,
    role: Option<String>,
    from: Option<String>,
    to: Option<String>,
    min: Option<String>,
    max: Option<String>,
    after: Option<String>,
) -> Result<QueueView, AppError> {
    use crate::ssr;
    use lendscope_service::review::QueueFilter;
    ssr::require(Area::Queue).await?;
    let filter = QueueFilter::parse(
        recommended.as_deref(),
        band.as_deref(),
        role.as_deref(),
        from.as_deref(),
        to.as_deref(),
        min.as_deref(),
        max.as_deref(),
    )
    .map_err(ssr::map_service_error)?;
    ssr::services()?
        .queue_view(
            &filter,
            after.as_deref().filter(|a| !a.is_empty()),
            PAGE_SIZE,
        )
        .await
        .map_err(ssr::map_service_error)
}

#[component]
pub fn QueuePage() -> impl IntoView {
    view! {
        <Title text="Review queue"/>
        <Protected area=Area::Queue>
            <Queue/>
        </Protected>
    }
    .into_any()
}

/// The text of a fixed notice after an action (never text taken from the URL).
fn done_message(code: &str) -> Option<&'static str> {
    match code {
        "approve" => Some("Decision recorded: approved. The application has left the queue."),
        "reject" => Some("Decision recorded: rejected. The application has left the queue."),
        "counteroffer" => Some("Decision recorded: counteroffer made. The application has left the queue."),
        "escalate" => Some("Sent to manual review: the application joins the manual-review cases at the top of the queue."),
        "release" => Some("Released: the application is back in the queue for everyone."),
        _ => None,
    }
}

#[component]
fn Queue() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        (FILTER_KEYS.map(&get), get("after"))
    };
    let page = Resource::new(params, |([rec, band, role, from, to, min, max], after)| {
        fetch_queue(rec, band, role, from, to, min, max, after)
    });
    let done = move || {
        query
            .read()
            .get("done")
            .and_then(|c| done_message(&c))
            .map(|m| view! { <p class="alert alert-success" role="status">{m}</p> })
    };
    view! {
        <h1>"Review queue"</h1>
        {done}
        <Filters/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { match page.await {
                Ok(view) => view! { <QueueBody view/> }.into_any(),
                Err(error) => view! { <ErrorBox error/> }.into_any(),
            } })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn Filters() -> impl IntoView {
    let query = use_query_map();
    let value = move |k: &'static str| move || query.read().get(k).unwrap_or_default();
    // Each option is (value, text).
    let select =
        move |k: &'static str, label: &'static str, options: Vec<(&'static str, &'static str)>| {
            let id = format!("f-{k}");
            let opts = options
                .into_iter()
                .map(|(o, text)| {
                    let selected = move || query.read().get(k).as_deref() == Some(o);
                    view! { <option value=o selected=selected>{text}</option> }
                })
                .collect_view();
            view! {
                <div class="field">
                    <label for=id.clone()>{label}</label>
                    <select id=id name=k>
                        <option value="">"Any"</option>
                        {opts}
                    </select>
                </div>
            }
        };
    view! {
        <Form method="GET" action="/queue" attr:class="filters" attr:aria-label="Filter the queue">
            {select("recommended", "Recommendation", Decision::ALL.iter().map(|d| (d.as_str(), d.label())).collect())}
            {select("band", "Risk band", RISK_BANDS.iter().map(|b| (*b, *b)).collect())}
            {select("role", "Model", ModelRole::ALL.iter().map(|r| (r.as_str(), r.as_str())).collect())}
            <div class="field">
                <label for="f-from">"Received from"</label>
                <input id="f-from" type="date" name="from" prop:value=value("from") value=value("from")/>
            </div>
            <div class="field">
                <label for="f-to">"to"</label>
                <input id="f-to" type="date" name="to" prop:value=value("to") value=value("to")/>
            </div>
            <div class="field">
                <label for="f-min">"Amount from ($)"</label>
                <input id="f-min" type="number" min="0" step="any" name="min" inputmode="decimal"
                    prop:value=value("min") value=value("min")/>
            </div>
            <div class="field">
                <label for="f-max">"to ($)"</label>
                <input id="f-max" type="number" min="0" step="any" name="max" inputmode="decimal"
                    prop:value=value("max") value=value("max")/>
            </div>
            <div class="field field-actions">
                <button type="submit" class="button button-small">"Filter"</button>
                <A href="/queue" attr:class="button button-small button-quiet">"Clear"</A>
            </div>
        </Form>
    }
    .into_any()
}

#[component]
fn QueueBody(view: QueueView) -> impl IntoView {
    let query = use_query_map();
    let counts = view.counts.clone();
    let summary = counts
        .open_by_recommendation
        .iter()
        .map(|(d, n)| {
            view! {
                <li>
                    <span class="count">{*n}</span>
                    " " {d.label().to_lowercase()} " recommended"
                </li>
            }
        })
        .collect_view();
    let next = view.next.clone().map(|cursor| {
        let href = crate::url::page_href(
            "/queue",
            &query.read_untracked(),
            &FILTER_KEYS,
            ("after", &cursor),
        );
        view! { <A href=href attr:class="button button-small" attr:rel="next">"Next page →"</A> }
    });
    let first = query
        .read_untracked()
        .get("after")
        .is_some()
        .then(|| view! { <A href="/queue" attr:class="button button-small button-quiet">"← First page"</A> });
    let empty = view.rows.is_empty();
    let rows = view
        .rows
        .into_iter()
        .map(|row| view! { <Row row/> })
        .collect_view();
    view! {
        <section class="counts" aria-label="Cases by state">
            <ul class="count-list" data-testid="queue-counts">
                <li><span class="count" data-testid="open-count">{counts.open()}</span>" open"</li>
                {summary}
                <li><span class="count">{counts.claimed}</span>" claimed"</li>
                <li><span class="count">{counts.decided}</span>" decided"</li>
            </ul>
        </section>
        {if empty {
            view! { <p class="card muted" data-testid="queue-empty">"No open applications match."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="table queue" data-testid="queue">
                        <caption class="sr-only">"Open applications, manual review first, then oldest first"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Application"</th>
                                <th scope="col">"Received (UTC)"</th>
                                <th scope="col">"Recommendation"</th>
                                <th scope="col" class="num">"Amount"</th>
                                <th scope="col" class="num">"PD"</th>
                                <th scope="col">"Band"</th>
                                <th scope="col">"Model"</th>
                                <th scope="col">"Claimed by"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            }.into_any()
        }}
        <nav class="pager" aria-label="Pages">{first}{next}</nav>
    }
    .into_any()
}

#[component]
fn Row(row: QueueRow) -> impl IntoView {
    let href = format!("/queue/{}", row.application_id);
    let short = row.application_id.chars().take(8).collect::<String>();
    view! {
        <tr data-recommended=row.recommended.as_str()>
            <td><A href=href attr:class="mono">{short}</A></td>
            <td>{row.received}</td>
            <td><span class=format!("pill pill-{}", row.recommended)>{row.recommended.label()}</span></td>
            <td class="num">{money(row.amount)}</td>
            <td class="num">{percent(row.probability_of_default, 1)}</td>
            <td>{row.risk_band}</td>
            <td>{format!("{} v{}", row.role, row.model_version)}</td>
            <td>{row.claimed_by.unwrap_or_else(|| "—".to_owned())}</td>
        </tr>
    }
    .into_any()
}
