//! Compliance reads the audit trail, newest first, filtered by action or actor.

use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{ErrorBox, Protected};
use crate::error::AppError;

pub const PAGE_SIZE: u64 = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: String,
    pub client_ip: String,
}

#[server(prefix = "/rpc", endpoint = "audit", input = GetUrl)]
pub async fn audit_page(
    before: Option<i64>,
    action: Option<String>,
    actor: Option<String>,
) -> Result<Vec<AuditRow>, AppError> {
    use crate::ssr;
    ssr::require(Area::Audit).await?;
    let records = ssr::services()?
        .audit_page(lendscope_service::AuditQuery {
            before_id: before,
            action,
            actor,
            limit: PAGE_SIZE,
        })
        .await
        .map_err(ssr::map_service_error)?;
    Ok(records
        .into_iter()
        .map(|r| AuditRow {
            id: r.id,
            occurred_at: r.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            actor: match r.actor {
                Some(name) => format!("{name} ({})", r.actor_kind),
                None => r.actor_kind,
            },
            action: r.action,
            target: r.target.unwrap_or_default(),
            outcome: r.outcome,
            detail: r.detail.to_string(),
            client_ip: r.client_ip.unwrap_or_default(),
        })
        .collect())
}

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Protected area=Area::Audit>
            <AuditLog/>
        </Protected>
    }
    .into_any()
}

#[component]
fn AuditLog() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        let text = |k: &str| q.get(k).filter(|v| !v.is_empty());
        (
            text("before").and_then(|v| v.parse::<i64>().ok()),
            text("action"),
            text("actor"),
        )
    };
    let rows = Resource::new(params, |(before, action, actor)| {
        audit_page(before, action, actor)
    });
    let action_value = move || query.read().get("action").unwrap_or_default();
    let actor_value = move || query.read().get("actor").unwrap_or_default();
    view! {
        <h1>"Audit trail"</h1>
        <p><a href="/audit/decisions">"Look up a decision: which model, approved by whom, decided it →"</a></p>
        <Form method="GET" action="/audit" attr:class="filters">
            <label for="f-action">"Action"</label>
            <input id="f-action" name="action" prop:value=action_value value=action_value
                placeholder="e.g. login"/>
            <label for="f-actor">"Actor"</label>
            <input id="f-actor" name="actor" prop:value=actor_value value=actor_value/>
            <button type="submit" class="button button-small">"Filter"</button>
        </Form>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { match rows.await {
                Ok(rows) => view! { <AuditTable rows/> }.into_any(),
                Err(error) => view! { <ErrorBox error/> }.into_any(),
            } })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn AuditTable(rows: Vec<AuditRow>) -> impl IntoView {
    let query = use_query_map();
    let next = (rows.len() as u64 == PAGE_SIZE)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            crate::url::page_href(
                "/audit",
                &query.read_untracked(),
                &["action", "actor"],
                ("before", &last.to_string()),
            )
        });
    let empty = rows.is_empty();
    let body = rows
        .into_iter()
        .map(|r| {
            let row_class = format!("outcome-{}", r.outcome);
            view! {
                <tr class=row_class>
                    <td>{r.id}</td>
                    <td>{r.occurred_at}</td>
                    <td>{r.actor}</td>
                    <td>{r.action}</td>
                    <td>{r.target}</td>
                    <td>{r.outcome}</td>
                    <td class="mono">{r.detail}</td>
                    <td>{r.client_ip}</td>
                </tr>
            }
        })
        .collect_view();
    let table = if empty {
        view! { <p class="muted">"No events match."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="table" data-testid="audit-table">
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">"When"</th>
                            <th scope="col">"Actor"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Target"</th>
                            <th scope="col">"Outcome"</th>
                            <th scope="col">"Detail"</th>
                            <th scope="col">"Client"</th>
                        </tr>
                    </thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        {table}
        {next.map(|href| view! { <p><a class="button button-small" href=href>"Older events"</a></p> })}
    }
    .into_any()
}
