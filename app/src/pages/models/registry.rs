//! The registry page (`/models`): what serves now and the challenger's traffic share,
//! promotion requests, versions with their actions, training runs, and the upload of a model
//! trained elsewhere.

use lendscope_domain::governance::{EmergencyView, ModelRow, PromotionView, RegistryView, RunRow};
use lendscope_domain::{Area, RejectInference};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::{fmt3, ModelAction, RegistryAction};
use crate::components::{CsrfField, ErrorBox, FormAlert, Protected};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "models", input = GetUrl)]
pub async fn fetch_registry() -> Result<RegistryView, AppError> {
    use crate::ssr;
    let admin = ssr::require(Area::Models).await?;
    let mut view = ssr::services()?
        .registry_view()
        .await
        .map_err(ssr::map_service_error)?;
    view.viewer = admin.username;
    Ok(view)
}

#[component]
pub fn ModelsPage() -> impl IntoView {
    view! {
        <Title text="Models"/>
        <Protected area=Area::Models>
            <Registry/>
        </Protected>
    }
    .into_any()
}

#[component]
fn Registry() -> impl IntoView {
    let act = ServerAction::<RegistryAction>::new();
    let view = Resource::new(move || act.version().get(), |_| fetch_registry());
    let error = Signal::derive(move || act.value().get().and_then(|r| r.err()));
    let query = use_query_map();
    let done = move || {
        query
            .read()
            .get("done")
            .and_then(|d| ModelAction::parse(&d))
            .map(ModelAction::done_text)
    };
    // While a training run is running, refresh the page's data every two seconds (browser only).
    Effect::new(move |_| {
        let running = view
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|v| v.runs.iter().any(|r| r.state == "running"));
        if running {
            set_timeout(move || view.refetch(), std::time::Duration::from_secs(2));
        }
    });
    view! {
        <h1>"Models"</h1>
        <FormAlert error/>
        {move || done().map(|t| view! { <p class="alert alert-success" role="status">{t}</p> })}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { match view.await {
                Ok(v) => view! { <RegistryBody v act/> }.into_any(),
                Err(error) => view! { <ErrorBox error/> }.into_any(),
            } })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn RegistryBody(v: RegistryView, act: ServerAction<RegistryAction>) -> impl IntoView {
    let champion = v
        .models
        .iter()
        .find(|m| m.alias.as_deref() == Some("champion"))
        .cloned();
    let challenger = v
        .models
        .iter()
        .find(|m| m.alias.as_deref() == Some("challenger"))
        .cloned();
    let label = |m: &Option<ModelRow>| {
        m.as_ref().map_or_else(
            || "none".to_owned(),
            |m| format!("{} v{}", m.name, m.version),
        )
    };
    let open: Vec<PromotionView> = v
        .promotions
        .iter()
        .filter(|p| p.state == "open")
        .cloned()
        .collect();
    let viewer = v.viewer.clone();
    view! {
        <section class="card" aria-labelledby="serving-h">
            <h2 id="serving-h">"Serving now"</h2>
            <dl class="facts">
                <dt>"Champion"</dt><dd data-testid="champion">{label(&champion)}</dd>
                <dt>"Challenger"</dt><dd data-testid="challenger">{label(&challenger)}</dd>
                <dt>"Challenger's share"</dt>
                <dd data-testid="share">{v.challenger_share} "% of applicants"
                    {if v.challenger_share == 0 { " (shadow: the challenger scores every application and decides none)" }
                     else { " (the challenger decides for them; the champion for the rest and in the shadow)" }}</dd>
            </dl>
            {challenger.is_some().then(|| view! {
                <ActionForm action=act attr:class="form" attr:id="share-form">
                    <CsrfField/>
                    <input type="hidden" name="action" value=ModelAction::Share.as_str()/>
                    <label for="share-percent">"Live share for the challenger (%)"</label>
                    <input id="share-percent" name="percent" type="number" min="1" max="100" step="1"
                        required value="20"/>
                    <label for="share-reason">"Why let it decide? (the promotion gate must pass; another admin approves)"</label>
                    <input id="share-reason" name="note" required maxlength="2000"/>
                    <button type="submit" class="button button-small">"Request share"</button>
                </ActionForm>
            })}
            {(v.challenger_share > 0).then(|| view! {
                <ActionForm action=act attr:class="inline-form" attr:id="shadow-form">
                    <CsrfField/>
                    <input type="hidden" name="action" value=ModelAction::Shadow.as_str()/>
                    <button type="submit" class="button button-small button-quiet">"Return to shadow (0 %)"</button>
                </ActionForm>
            })}
            <ActionForm action=act attr:class="inline-form" attr:id="retrain-form">
                <CsrfField/>
                <input type="hidden" name="action" value=ModelAction::Retrain.as_str()/>
                <label for="reject-inference">"Declined applicants (reject inference)"</label>
                <select id="reject-inference" name="reject_inference">
                    {RejectInference::ALL.iter().map(|m| view! {
                        <option value=m.as_str()>{m.label()}</option>
                    }).collect_view()}
                </select>
                <button type="submit" class="button button-small button-quiet">
                    "Retrain a challenger on the base data plus labelled decisions"
                </button>
            </ActionForm>
            {challenger.is_some().then(|| view! {
                <p><A href="/models/compare">"Compare champion and challenger, see the promotion gate, request promotion →"</A></p>
            })}
        </section>
        <section class="card" aria-labelledby="promo-h">
            <h2 id="promo-h">"Promotion requests"</h2>
            {if open.is_empty() {
                view! { <p class="muted">"No request is waiting for approval."</p> }.into_any()
            } else {
                open.into_iter().map(|p| view! { <OpenRequest p viewer=viewer.clone() act/> }).collect_view().into_any()
            }}
            <PromotionTable rows=v.promotions.clone()/>
        </section>
        <EmergencyTable rows=v.emergencies.clone()/>
        <section class="card" aria-labelledby="versions-h">
            <h2 id="versions-h">"Versions"</h2>
            <VersionTable rows=v.models.clone() act/>
        </section>
        <section class="card" aria-labelledby="runs-h">
            <h2 id="runs-h">"Training runs"</h2>
            <RunTable rows=v.runs/>
        </section>
        <UploadForm/>
    }
    .into_any()
}

/// Registers a model trained elsewhere. A plain multipart post (files cannot travel in a
/// server function's form encoding); the server checks it like `lendscope models register`.
#[component]
fn UploadForm() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="upload-h">
            <h2 id="upload-h">"Register a model trained elsewhere"</h2>
            <p class="muted small">"XGBoost JSON (binary:logistic) and its feature schema for the Lendscope feature set; unknown inputs, another objective or other category encodings are refused with the reason."</p>
            <form method="post" action="/models/upload" enctype="multipart/form-data" class="form" id="upload-form">
                <CsrfField/>
                <label for="upload-name">"Model name"</label>
                <input id="upload-name" name="name" required maxlength="128" pattern="[A-Za-z0-9._-]+"/>
                <label for="upload-model">"model.json"</label>
                <input id="upload-model" name="model" type="file" accept=".json,application/json" required/>
                <label for="upload-schema">"schema.json"</label>
                <input id="upload-schema" name="schema" type="file" accept=".json,application/json" required/>
                <label for="upload-card">"card.json (optional: lineage and metrics)"</label>
                <input id="upload-card" name="card" type="file" accept=".json,application/json"/>
                <button type="submit" class="button">"Upload and register"</button>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn OpenRequest(
    p: PromotionView,
    viewer: String,
    act: ServerAction<RegistryAction>,
) -> impl IntoView {
    let own = p.requested_by == viewer;
    let id = p.id.to_string();
    let approve = if p.challenger_share.is_some() {
        "Approve share"
    } else {
        "Approve promotion"
    };
    let ask = match p.challenger_share {
        Some(share) => format!(
            ": let {} decide for {share} % of applicants (champion {}).",
            p.model, p.champion
        ),
        None => format!(": make {} champion in place of {}.", p.model, p.champion),
    };
    let form = move |action: ModelAction, label: &'static str, class: &'static str| {
        let id = id.clone();
        view! {
            <ActionForm action=act attr:class="form">
                <CsrfField/>
                <input type="hidden" name="action" value=action.as_str()/>
                <input type="hidden" name="request" value=id/>
                <label for=format!("note-{}", action.as_str())>"Note"</label>
                <input id=format!("note-{}", action.as_str()) name="note" maxlength="2000"/>
                <button type="submit" class=class>{label}</button>
            </ActionForm>
        }
    };
    view! {
        <div class="alert alert-info" data-testid="open-request">
            <p>
                <strong>"Request #" {p.id}</strong> {ask} " Requested by " {p.requested_by.clone()}
                " at " {p.requested_at.clone()} "; expires " {p.expires_at.clone()} "."
            </p>
            <p>"Reason: " {p.reason}</p>
            {if own {
                view! {
                    <p class="muted">"Another admin must approve or reject your request (four eyes)."</p>
                    {form(ModelAction::Cancel, "Cancel my request", "button button-quiet")}
                }.into_any()
            } else {
                view! {
                    <div class="two-col">
                        {form(ModelAction::Approve, approve, "button")}
                        {form(ModelAction::Reject, "Reject", "button button-quiet")}
                    </div>
                }.into_any()
            }}
        </div>
    }
    .into_any()
}

#[component]
fn PromotionTable(rows: Vec<PromotionView>) -> impl IntoView {
    if rows.is_empty() {
        return ().into_any();
    }
    let body = rows
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <td>"#" {p.id}</td>
                    <td>{p.model} <br/><span class="muted small">{p.challenger_share.map_or_else(
                        || "champion".to_owned(), |s| format!("live share {s} %"))}</span></td>
                    <td>{p.champion}</td>
                    <td>{p.requested_by} <br/><span class="muted small">{p.requested_at}</span></td>
                    <td><span class=format!("pill pill-{}", p.state)>{p.state.clone()}</span></td>
                    <td>{p.resolved_by.unwrap_or_default()} <br/>
                        <span class="muted small">{p.resolved_at.unwrap_or_default()}</span></td>
                    <td>{p.note.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="promotions">
                <thead><tr>
                    <th scope="col">"Request"</th><th scope="col">"Version"</th>
                    <th scope="col">"Replacing"</th><th scope="col">"Requested by"</th>
                    <th scope="col">"State"</th><th scope="col">"Resolved by"</th>
                    <th scope="col">"Note"</th>
                </tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Alias and share changes made outside four eyes (the command line's emergency bypass).
#[component]
fn EmergencyTable(rows: Vec<EmergencyView>) -> impl IntoView {
    if rows.is_empty() {
        return ().into_any();
    }
    let body = rows
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td>{e.at}</td><td>{e.actor}</td><td>{e.change}</td><td>{e.reason}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="emergency-h">
            <h2 id="emergency-h">"Emergency changes"</h2>
            <p class="muted small">"Made on the command line with --emergency, outside the promotion gate and four eyes; each is in the audit log."</p>
            <div class="table-wrap">
                <table class="table" data-testid="emergencies">
                    <thead><tr>
                        <th scope="col">"When"</th><th scope="col">"By"</th>
                        <th scope="col">"Change"</th><th scope="col">"Reason"</th>
                    </tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn VersionTable(rows: Vec<ModelRow>, act: ServerAction<RegistryAction>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|m| {
            let id = m.id.to_string();
            let serving = m.alias.is_some();
            let action = move |action: ModelAction, label: &'static str, note: bool| {
                let id = id.clone();
                view! {
                    <ActionForm action=act attr:class="inline-form">
                        <CsrfField/>
                        <input type="hidden" name="action" value=action.as_str()/>
                        <input type="hidden" name="model" value=id/>
                        {note.then(|| view! {
                            <input name="note" required maxlength="2000" placeholder="Why?"
                                aria-label=format!("Reason to {}", action.as_str())/>
                        })}
                        <button type="submit" class="button button-small button-quiet">{label}</button>
                    </ActionForm>
                }
            };
            let actions = if m.archived {
                view! { <span class="muted">"archived"</span> }.into_any()
            } else {
                view! {
                    {(!serving).then(|| action(ModelAction::Challenger, "Make challenger", false))}
                    {(m.was_champion && m.alias.as_deref() != Some("champion"))
                        .then(|| action(ModelAction::Rollback, "Roll back to this", true))}
                    {(!serving).then(|| action(ModelAction::Archive, "Archive", true))}
                }
                .into_any()
            };
            view! {
                <tr data-model=m.id.to_string()>
                    <td><A href=format!("/models/{}", m.id)>{format!("{} v{}", m.name, m.version)}</A></td>
                    <td>{m.alias.clone().map(|a| view! { <span class=format!("pill pill-{a}")>{a.clone()}</span> })}</td>
                    <td>{m.source.clone()}</td>
                    <td>{m.parent.clone().unwrap_or_else(|| "—".into())}</td>
                    <td class="num">{fmt3(m.test_auc)}</td>
                    <td>{m.created_at.clone()} <br/><span class="muted small">"by " {m.created_by.clone()}</span></td>
                    <td class="actions-cell">{actions}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="versions">
                <thead><tr>
                    <th scope="col">"Version"</th><th scope="col">"Alias"</th>
                    <th scope="col">"Source"</th><th scope="col">"Retrained from"</th>
                    <th scope="col" class="num">"Test AUC"</th><th scope="col">"Registered"</th>
                    <th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn RunTable(rows: Vec<RunRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No training run is recorded yet."</p> }.into_any();
    }
    let body = rows
        .into_iter()
        .map(|r| {
            let progress = if r.state == "running" {
                format!("running: round {} of {}", r.round, r.rounds)
            } else {
                r.state.clone()
            };
            let params = r
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <tr data-run=r.id.to_string()>
                    <td>"#" {r.id}</td>
                    <td>{r.kind}</td>
                    <td data-testid="run-state">{progress}
                        {r.error.map(|e| view! { <br/><span class="small">{e}</span> })}</td>
                    <td>{r.started_at} <br/><span class="muted small">"by " {r.requested_by}</span></td>
                    <td class="num">{r.seconds.map(|s| format!("{s:.1} s")).unwrap_or_default()}</td>
                    <td class="small">{params}</td>
                    <td class="small mono">{r.data_sha256.map(|h| h.chars().take(12).collect::<String>()).unwrap_or_default()}</td>
                    <td class="num">{r.data_rows.map(|n| n.to_string()).unwrap_or_default()}
                        {r.labelled_rows.map(|n| format!(" (+{n} labelled decisions)"))}</td>
                    <td class="num">{fmt3(r.test_auc)}</td>
                    <td class="num">{fmt3(r.test_ks)}</td>
                    <td>{match (r.model, r.model_id) {
                        (Some(name), Some(id)) => view! { <A href=format!("/models/{id}")>{name}</A> }.into_any(),
                        _ => view! { <span class="muted">"not registered"</span> }.into_any(),
                    }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="runs">
                <thead><tr>
                    <th scope="col">"Run"</th><th scope="col">"Kind"</th><th scope="col">"State"</th>
                    <th scope="col">"Started"</th><th scope="col" class="num">"Took"</th>
                    <th scope="col">"Parameters"</th><th scope="col">"Data SHA-256"</th>
                    <th scope="col" class="num">"Rows"</th><th scope="col" class="num">"Test AUC"</th>
                    <th scope="col" class="num">"Test KS"</th><th scope="col">"Model"</th>
                </tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}
