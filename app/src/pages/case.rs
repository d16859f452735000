//! The application page: the applicant's data, both models' outputs, the SHAP waterfall, the
//! reasons the applicant will read, the history, and the officer's actions.
// The review server function takes one argument per form field (four of them reasons); the
// generated client function repeats them, where an item-level allow does not reach.
#![allow(clippy::too_many_arguments)]

use lendscope_domain::review::{percent, CaseFile, Contribution, HistoryEntry, ModelView};
use lendscope_domain::{Area, ReviewAction};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::components::{record_view, CsrfField, FormAlert, Protected};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "case", input = GetUrl)]
pub async fn fetch_case(id: String) -> Result<CaseFile, AppError> {
    use crate::ssr;
    ssr::require(Area::Queue).await?;
    ssr::services()?
        .case_file(&id)
        .await
        .map_err(ssr::map_service_error)
}

/// An officer's action on a case. `version` is the case version the page showed (optimistic
/// concurrency), `shown` the token of the model output it showed; `reason_1`…`reason_4` the
/// principal reasons of a rejection (codes of the case's reason choices; ignored otherwise).
#[server(prefix = "/rpc", endpoint = "case/review")]
pub async fn review_case(
    id: String,
    action: ReviewAction,
    version: String,
    note: Option<String>,
    shown: Option<String>,
    reason_1: Option<String>,
    reason_2: Option<String>,
    reason_3: Option<String>,
    reason_4: Option<String>,
    csrf: String,
) -> Result<(), AppError> {
    use crate::ssr;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let officer = ssr::require(Area::Queue).await.map_err(ssr::fail_form)?;
    let version = version.trim().parse::<i32>().map_err(|_| {
        ssr::fail_form(ssr::map_service_error(
            lendscope_service::ServiceError::invalid("version", "is not a case version"),
        ))
    })?;
    let reasons: Vec<String> = [reason_1, reason_2, reason_3, reason_4]
        .into_iter()
        .flatten()
        .collect();
    ssr::services()?
        .review(
            &id,
            &officer.username,
            action,
            version,
            note.as_deref(),
            shown.as_deref(),
            &reasons,
            &ssr::request_meta(),
        )
        .await
        .map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    let target = match action {
        ReviewAction::Claim => format!("/queue/{id}"),
        other => format!("/queue?done={}", other.as_str()),
    };
    leptos_axum::redirect(&target);
    Ok(())
}

#[component]
pub fn CasePage() -> impl IntoView {
    view! {
        <Title text="Application"/>
        <Protected area=Area::Queue>
            <Case/>
        </Protected>
    }
    .into_any()
}

#[component]
fn Case() -> impl IntoView {
    let params = use_params_map();
    let review = ServerAction::<ReviewCase>::new();
    let claim = ServerAction::<ReviewCase>::new();
    let case = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                review.version().get() + claim.version().get(),
            )
        },
        |(id, _)| fetch_case(id),
    );
    let error = Signal::derive(move || {
        let failed = |a: ServerAction<ReviewCase>| a.value().get().and_then(|r| r.err());
        failed(review).or_else(|| failed(claim))
    });
    view! {
        <p><A href="/queue">"← Review queue"</A></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                record_view(
                    case.await,
                    ("Application not found", "There is no application with this reference."),
                    |file| view! { <CaseView file review claim error/> }.into_any(),
                )
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn CaseView(
    file: CaseFile,
    review: ServerAction<ReviewCase>,
    claim: ServerAction<ReviewCase>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let served = file.served.clone();
    let groups = file
        .groups
        .iter()
        .map(|g| {
            let facts = g
                .facts
                .iter()
                .map(|f| view! { <dt>{f.label.clone()}</dt><dd>{f.value.clone()}</dd> })
                .collect_view();
            view! {
                <section class="card facts">
                    <h3>{g.title.clone()}</h3>
                    <dl>{facts}</dl>
                </section>
            }
        })
        .collect_view();
    let state_text = match (decided_label(&file), &file.claimed_by) {
        (Some(d), _) => format!("Decided: {d}"),
        (None, Some(who)) => format!("Open, claimed by {who}"),
        (None, None) => "Open, not claimed".to_owned(),
    };
    let short = file.application_id.chars().take(8).collect::<String>();
    view! {
        <header class="case-head">
            <h1>"Application " <span class="mono">{short}</span></h1>
            <p class="muted">
                "Applicant " {file.applicant_id.clone()} " · received " {file.received.clone()}
                " · " <span data-testid="case-state">{state_text}</span>
            </p>
        </header>
        <FormAlert error/>
        <div class="case-grid">
            <section class="card verdict" aria-labelledby="verdict-h">
                <h2 id="verdict-h">"Model output"</h2>
                <Verdict model=served.clone()/>
                <p><strong>"Rule: "</strong>{file.rule_text.clone()}
                    <span class="muted">" (policy " {file.policy_version.clone()} ")"</span></p>
                <Shadow served=served.clone() shadow=file.shadow.clone()/>
            </section>
            <Actions file=file.clone() review claim/>
        </div>
        <section class="card" aria-labelledby="why-h">
            <h2 id="why-h">"Why: the SHAP waterfall"</h2>
            <p class="muted small">
                "From the average applicant (base value) through each factor's contribution, "
                "largest first, to this application's log-odds of default. Red raises the risk, "
                "green lowers it."
            </p>
            <figure class="waterfall" data-testid="waterfall">
                <div role="img" aria-label="SHAP waterfall chart; the same figures are in the table below"
                    inner_html=file.waterfall_svg.clone()></div>
                <figcaption class="sr-only">"SHAP waterfall of this application"</figcaption>
            </figure>
            <ContributionTable base=file.base_value margin=file.margin rows=file.contributions.clone()/>
        </section>
        <div class="two-col">
            <section class="card" aria-labelledby="reasons-h">
                <h2 id="reasons-h">"Reasons the applicant receives if declined"</h2>
                {if file.reasons.is_empty() {
                    view! { <p class="muted">"No factor raised the risk."</p> }.into_any()
                } else {
                    view! {
                        <ol class="reasons" data-testid="case-reasons">
                            {file.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
                        </ol>
                    }.into_any()
                }}
                {file.counteroffer.clone().map(|(text, pd)| view! {
                    <h3>"Counteroffer"</h3>
                    <p data-testid="case-counteroffer">
                        "The model and policy in force approve " <strong>{text}</strong>
                        " (probability of default " {percent(pd, 1)} ", re-scored)."
                    </p>
                })}
                {(!file.recourse.is_empty()).then(|| view! {
                    <h3>"What would have changed the result"</h3>
                    <ul class="small" data-testid="case-recourse">
                        {file.recourse.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
                    </ul>
                })}
                <p><a href=file.notice_url.clone() target="_blank" rel="noopener">"Open the applicant's notice"</a></p>
            </section>
            <section class="card" aria-labelledby="history-h">
                <h2 id="history-h">"History"</h2>
                <History entries=file.history.clone() received=file.received.clone() model=served/>
            </section>
        </div>
        <h2>"Application data"</h2>
        <div class="facts-grid">{groups}</div>
    }
    .into_any()
}

/// How a decided case was decided: the deciding action's label ("Counteroffer" approves on
/// other terms than asked), else the final decision's.
fn decided_label(file: &CaseFile) -> Option<&'static str> {
    let d = file.final_decision?;
    Some(
        file.history
            .iter()
            .rev()
            .find(|e| e.action.decision().is_some())
            .map_or(d.label(), |e| e.action.label()),
    )
}

#[component]
fn Verdict(model: ModelView) -> impl IntoView {
    view! {
        <dl class="verdict-figures">
            <div><dt>"Recommendation"</dt>
                <dd><span class=format!("pill pill-{}", model.decision) data-testid="recommendation">
                    {model.decision.label()}</span></dd></div>
            <div><dt>"Probability of default"</dt><dd data-testid="pd">{percent(model.probability_of_default, 1)}</dd></div>
            <div><dt>"Score"</dt><dd>{model.score}</dd></div>
            <div><dt>"Risk band"</dt><dd>{model.risk_band.clone()}</dd></div>
            <div><dt>"Model"</dt><dd>{format!("{} v{} ({})", model.name, model.version, model.role)}</dd></div>
        </dl>
    }
    .into_any()
}

#[component]
fn Shadow(served: ModelView, shadow: Option<ModelView>) -> impl IntoView {
    match shadow {
        None => view! { <p class="muted small">"No shadow model ran for this application."</p> }
            .into_any(),
        Some(s) => {
            let agrees = s.decision == served.decision;
            view! {
                <p class="small" data-testid="shadow">
                    <strong>"Shadow (" {s.role.as_str()} " " {s.name.clone()} " v" {s.version} "): "</strong>
                    {s.decision.label()} ", PD " {percent(s.probability_of_default, 1)}
                    ", score " {s.score} ", band " {s.risk_band} " — "
                    {if agrees { "agrees" } else { "disagrees" }}
                </p>
            }.into_any()
        }
    }
}

#[component]
fn Actions(
    file: CaseFile,
    review: ServerAction<ReviewCase>,
    claim: ServerAction<ReviewCase>,
) -> impl IntoView {
    if let Some(label) = decided_label(&file) {
        return view! {
            <section class="card">
                <h2>"Decision"</h2>
                <p>"This application was decided: " <strong data-testid="final-decision">{label}</strong> "."</p>
            </section>
        }
        .into_any();
    }
    let recommended = file.served.decision;
    let (id, version) = (file.application_id.clone(), file.version.to_string());
    let claim_form = move |action: &'static str, label: &'static str| {
        view! {
            <ActionForm action=claim attr:class="inline-form">
                <CsrfField/>
                <input type="hidden" name="id" value=id.clone()/>
                <input type="hidden" name="version" value=version.clone()/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" class="button button-small button-quiet">{label}</button>
            </ActionForm>
        }
    };
    let claim_button = match &file.claimed_by {
        None => Some(claim_form("claim", "Claim this case")),
        Some(_) => Some(claim_form("release", "Release")),
    };
    let option = |value: &'static str, label: &'static str, hint: &'static str| {
        let id = format!("decide-{value}");
        view! {
            <div class="radio">
                <input type="radio" id=id.clone() name="action" value=value required/>
                <label for=id>{label}<span class="muted small">{hint}</span></label>
            </div>
        }
    };
    let override_hint = match recommended.as_str() {
        "approve" => "Rejecting goes against the recommendation: explain why in the note.",
        "reject" => "Approving goes against the recommendation: explain why in the note.",
        _ => "Note what you checked; it is kept with the decision.",
    };
    // Up to four reasons for a rejection, the model's for this applicant preselected in order;
    // the notice states exactly the ones chosen.
    let model_count = file.reason_choices.iter().filter(|c| c.from_model).count();
    let reason_fields = {
        let choices = &file.reason_choices;
        let selects = (1..=4usize)
            .map(|k| {
                let id = format!("reason-{k}");
                let preselected = (k <= model_count).then(|| choices[k - 1].code.clone());
                let options = |from_model: bool| {
                    choices
                        .iter()
                        .filter(|c| c.from_model == from_model)
                        .map(|c| {
                            let selected = preselected.as_deref() == Some(c.code.as_str());
                            view! { <option value=c.code.clone() selected=selected>{c.text.clone()}</option> }
                        })
                        .collect_view()
                };
                view! {
                    <label for=id.clone() class="small">{format!("Reason {k}")}</label>
                    <select id=id name=format!("reason_{k}") data-testid=format!("reason-{k}")>
                        <option value="">"—"</option>
                        <optgroup label="From the model's assessment of this applicant">{options(true)}</optgroup>
                        <optgroup label="From your review">{options(false)}</optgroup>
                    </select>
                }
            })
            .collect_view();
        view! {
            <fieldset class="reasons" aria-describedby="reasons-hint">
                <legend>"Principal reasons, if you reject"</legend>
                <p id="reasons-hint" class="muted small">
                    "One to four; the applicant's notice states exactly these. The model's reasons for this applicant come first."
                </p>
                {selects}
            </fieldset>
        }
    };
    view! {
        <section class="card actions" aria-labelledby="decide-h">
            <h2 id="decide-h">"Your decision"</h2>
            <div class="claim">{claim_button}</div>
            <ActionForm action=review attr:class="form" attr:id="decide-form">
                <CsrfField/>
                <input type="hidden" name="id" value=file.application_id.clone()/>
                <input type="hidden" name="version" value=file.version.to_string()/>
                <input type="hidden" name="shown" value=file.shown_token.clone()/>
                <fieldset>
                    <legend>"Decision"</legend>
                    {option("approve", "Approve", "")}
                    {option("reject", "Reject", " — the applicant receives the reasons you choose below")}
                    {file.counteroffer.is_some().then(|| option(
                        "counteroffer",
                        "Make the counteroffer",
                        " — the applicant is offered the terms above, with the model's reasons for the request as made",
                    ))}
                    {option("escalate", "Send to manual review", " — joins the manual-review cases at the top of the queue; claim released")}
                </fieldset>
                {reason_fields}
                <label for="decide-note">"Note"</label>
                <textarea id="decide-note" name="note" rows="3" maxlength="2000"
                    aria-describedby="note-hint"></textarea>
                <p id="note-hint" class="muted small">{override_hint}</p>
                <button type="submit" class="button">"Record decision"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn ContributionTable(base: f64, margin: f64, rows: Vec<Contribution>) -> impl IntoView {
    let mut rows = rows;
    rows.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    let body = rows
        .into_iter()
        .map(|c| {
            let class = if c.contribution > 0.0 {
                "risk-up"
            } else {
                "risk-down"
            };
            view! {
                <tr class=class>
                    <td>{c.label}</td>
                    <td>{c.value}</td>
                    <td class="num">{format!("{:+.3}", c.contribution)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="contrib">
            <summary>"All factors as a table"</summary>
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">"Factor"</th>
                        <th scope="col">"Value"</th>
                        <th scope="col" class="num">"Contribution (log-odds)"</th>
                    </tr>
                </thead>
                <tbody>
                    <tr><td>"Base value (average applicant)"</td><td></td><td class="num">{format!("{base:+.3}")}</td></tr>
                    {body}
                    <tr><th scope="row">"This application"</th><td></td><td class="num">{format!("{margin:+.3}")}</td></tr>
                </tbody>
            </table>
        </details>
    }
    .into_any()
}

#[component]
fn History(entries: Vec<HistoryEntry>, received: String, model: ModelView) -> impl IntoView {
    let items = entries
        .into_iter()
        .map(|e| {
            let label = e.action.label();
            let overrode = e.overrode.then(|| view! { <span class="pill pill-override">"override"</span> });
            let aided = if e.model_shown.is_some() { "" } else { " · model output not shown" };
            view! {
                <li data-action=e.action.as_str()>
                    <strong>{label}</strong> " by " {e.officer} " · " <time>{e.at}</time> {aided} " " {overrode}
                    {(!e.reasons.is_empty()).then(|| view! {
                        <ul class="reasons small" data-testid="action-reasons">
                            {e.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
                        </ul>
                    })}
                    {e.note.map(|n| view! { <blockquote>{n}</blockquote> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <ol class="history" data-testid="history">
            <li>
                <strong>"Scored"</strong> " · " <time>{received}</time> " · "
                {format!("{} v{} recommended {}", model.name, model.version, model.decision.label().to_lowercase())}
            </li>
            {items}
        </ol>
    }
    .into_any()
}
