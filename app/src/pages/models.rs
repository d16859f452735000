//! The model registry (admins): versions with lineage and aliases, the challenger's traffic
//! share, four-eyes promotion requests, rollback, archiving, training runs; a version page
//! with metrics, ROC and calibration charts; the champion-versus-challenger comparison with
//! the promotion gate. Every action is a plain form post (works without JavaScript) that
//! returns to the page it came from.

use lendscope_domain::governance::{
    Comparison, GroupParity, Interval, ModelDetail, ModelRow, PromotionView, RegistryView, RunRow,
};
use lendscope_domain::review::percent;
use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{CsrfField, ErrorBox, FormAlert, NotFoundCard, Protected};
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

#[server(prefix = "/rpc", endpoint = "models/compare", input = GetUrl)]
pub async fn fetch_comparison() -> Result<Comparison, AppError> {
    use crate::ssr;
    ssr::require(Area::Models).await?;
    ssr::services()?
        .compare_serving()
        .await
        .map_err(ssr::map_service_error)
}

/// Every registry action: `challenger`, `rollback`, `archive` (with `model`), `share` (with
/// `percent`), `request` (with `note` as the reason), `approve` / `reject` / `cancel` (with
/// `request`). Returns to `/models` (or the comparison page for requests) with `done=action`.
#[server(prefix = "/rpc", endpoint = "models/act")]
pub async fn registry_action(
    action: String,
    model: Option<String>,
    request: Option<String>,
    percent: Option<String>,
    note: Option<String>,
    csrf: String,
) -> Result<(), AppError> {
    use crate::ssr;
    use lendscope_service::governance::Resolution;
    use lendscope_service::ServiceError;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let admin = ssr::require(Area::Models).await.map_err(ssr::fail_form)?;
    let svc = ssr::services()?;
    let meta = ssr::request_meta();
    let note = note.unwrap_or_default();
    let id = |field: &str, v: &Option<String>| {
        v.as_deref()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| ServiceError::invalid(field, "is not a valid id"))
    };
    let who = admin.username.as_str();
    let result = match action.as_str() {
        "challenger" => match id("model", &model) {
            Ok(m) => svc.make_challenger(m, who, &meta).await,
            Err(e) => Err(e),
        },
        "rollback" => match id("model", &model) {
            Ok(m) => svc.rollback_champion(m, who, &note, &meta).await,
            Err(e) => Err(e),
        },
        "archive" => match id("model", &model) {
            Ok(m) => svc.archive_model(m, who, &note, &meta).await,
            Err(e) => Err(e),
        },
        "share" => match percent.as_deref().and_then(|p| p.trim().parse::<u8>().ok()) {
            Some(p) if p <= 100 => svc.set_challenger_share(p, admin.actor()).await,
            _ => Err(ServiceError::invalid(
                "percent",
                "must be a whole number from 0 to 100",
            )),
        },
        "request" => svc.request_promotion(who, &note, &meta).await.map(|_| ()),
        "retrain" => svc.start_retrain(who, None, &meta).await.map(|_| ()),
        other => match (Resolution::parse(other), id("request", &request)) {
            (Ok(r), Ok(req)) => svc.resolve_promotion(req, who, r, &note, &meta).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
    };
    result.map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    leptos_axum::redirect(&format!("/models?done={action}"));
    Ok(())
}

fn done_text(action: &str) -> Option<&'static str> {
    Some(match action {
        "challenger" => "The version is now the challenger.",
        "rollback" => "Rolled back: the version is champion again.",
        "archive" => "The version is archived.",
        "share" => "The challenger's traffic share is set.",
        "request" => "Promotion requested. Another admin must approve it.",
        "approve" => "Approved: the challenger is now the champion.",
        "reject" => "The promotion request was rejected.",
        "cancel" => "The promotion request was cancelled.",
        "retrain" => "Retraining started: its progress shows under Training runs; the result becomes the challenger.",
        _ => return None,
    })
}

fn fmt3(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |x| format!("{x:.3}"))
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
    let done = move || query.read().get("done").and_then(|d| done_text(&d));
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
                <dd data-testid="share">{v.challenger_share} "% of applicants (the champion scores the rest; the other model scores every application in the shadow)"</dd>
            </dl>
            <ActionForm action=act attr:class="inline-form" attr:id="share-form">
                <CsrfField/>
                <input type="hidden" name="action" value="share"/>
                <label for="share-percent">"Traffic share for the challenger (%)"</label>
                <input id="share-percent" name="percent" type="number" min="0" max="100" step="1"
                    required value=v.challenger_share.to_string()/>
                <button type="submit" class="button button-small">"Set share"</button>
            </ActionForm>
            <ActionForm action=act attr:class="inline-form" attr:id="retrain-form">
                <CsrfField/>
                <input type="hidden" name="action" value="retrain"/>
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
    let form = move |action: &'static str, label: &'static str, class: &'static str| {
        let id = id.clone();
        view! {
            <ActionForm action=act attr:class="form">
                <CsrfField/>
                <input type="hidden" name="action" value=action/>
                <input type="hidden" name="request" value=id/>
                <label for=format!("note-{action}")>"Note"</label>
                <input id=format!("note-{action}") name="note" maxlength="2000"/>
                <button type="submit" class=class>{label}</button>
            </ActionForm>
        }
    };
    view! {
        <div class="alert alert-info" data-testid="open-request">
            <p>
                <strong>"Request #" {p.id}</strong> ": make " <strong>{p.model.clone()}</strong>
                " champion in place of " {p.champion.clone()} ". Requested by " {p.requested_by.clone()}
                " at " {p.requested_at.clone()} "; expires " {p.expires_at.clone()} "."
            </p>
            <p>"Reason: " {p.reason}</p>
            {if own {
                view! {
                    <p class="muted">"Another admin must approve or reject your request (four eyes)."</p>
                    {form("cancel", "Cancel my request", "button button-quiet")}
                }.into_any()
            } else {
                view! {
                    <div class="two-col">
                        {form("approve", "Approve promotion", "button")}
                        {form("reject", "Reject", "button button-quiet")}
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
                    <td>{p.model}</td>
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

#[component]
fn VersionTable(rows: Vec<ModelRow>, act: ServerAction<RegistryAction>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|m| {
            let id = m.id.to_string();
            let serving = m.alias.is_some();
            let action = move |action: &'static str, label: &'static str, note: bool| {
                let id = id.clone();
                view! {
                    <ActionForm action=act attr:class="inline-form">
                        <CsrfField/>
                        <input type="hidden" name="action" value=action/>
                        <input type="hidden" name="model" value=id/>
                        {note.then(|| view! {
                            <input name="note" required maxlength="2000" placeholder="Why?"
                                aria-label=format!("Reason to {action}")/>
                        })}
                        <button type="submit" class="button button-small button-quiet">{label}</button>
                    </ActionForm>
                }
            };
            let actions = if m.archived {
                view! { <span class="muted">"archived"</span> }.into_any()
            } else {
                view! {
                    {(!serving).then(|| action("challenger", "Make challenger", false))}
                    {(m.was_champion && m.alias.as_deref() != Some("champion"))
                        .then(|| action("rollback", "Roll back to this", true))}
                    {(!serving).then(|| action("archive", "Archive", true))}
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
                {move || Suspend::new(async move { match detail.await {
                    Ok(d) => view! { <VersionBody d/> }.into_any(),
                    Err(AppError::NotFound) => view! {
                        <NotFoundCard title="No such model version"
                            text="There is no registered model version with this id."/>
                    }.into_any(),
                    Err(error) => view! { <ErrorBox error/> }.into_any(),
                } })}
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
    let fairness = c
        .fairness
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
                        <input type="hidden" name="action" value="request"/>
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
        <section class="card" aria-labelledby="fair-h">
            <h2 id="fair-h">"Fairness of the challenger's recommendations"</h2>
            {fairness}
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
