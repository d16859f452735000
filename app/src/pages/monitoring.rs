//! Monitoring (admins and compliance): the stored runs of the monitoring job, a run's alerts,
//! data drift per input (test, statistic, threshold, PSI, with PSI bars and overlaid
//! histograms), prediction drift, fairness per protected attribute (approval-rate bars) and
//! realized performance per model version and period (AUC over time, calibration) and
//! performance estimated before outcomes per version (CBPE, one chart each). A run can
//! be started from the page (a plain form post; works without JavaScript).

use lendscope_domain::monitoring::{
    AlertView, EstimatedView, FairnessView, FeatureDriftRow, MonitoringView, PerformanceView,
    RunListRow, RunView,
};
use lendscope_domain::review::percent;
use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::{CsrfField, ErrorBox, FormAlert, Protected};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "monitoring", input = GetUrl)]
pub async fn fetch_monitoring(run: Option<String>) -> Result<MonitoringView, AppError> {
    use crate::ssr;
    ssr::require(Area::Monitoring).await?;
    let run = match run.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Some(r.parse::<i64>().map_err(|_| AppError::NotFound)?),
        None => None,
    };
    ssr::services()?
        .monitoring_view(run)
        .await
        .map_err(ssr::map_service_error)
}

/// Starts a monitoring run now and shows it.
#[server(prefix = "/rpc", endpoint = "monitoring/run")]
pub async fn start_monitoring_run(csrf: String) -> Result<(), AppError> {
    use crate::ssr;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let user = ssr::require(Area::Monitoring)
        .await
        .map_err(ssr::fail_form)?;
    let id = ssr::services()?
        .run_monitoring(&user.username)
        .await
        .map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    leptos_axum::redirect(&format!("/monitoring?run={id}&done=1"));
    Ok(())
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "—".to_owned(), |x| format!("{x:.digits$}"))
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |x| percent(x, 1))
}

#[component]
pub fn MonitoringPage() -> impl IntoView {
    view! {
        <Title text="Monitoring"/>
        <Protected area=Area::Monitoring>
            <Monitoring/>
        </Protected>
    }
    .into_any()
}

#[component]
fn Monitoring() -> impl IntoView {
    let act = ServerAction::<StartMonitoringRun>::new();
    let query = use_query_map();
    let run = move || query.read().get("run");
    let data = Resource::new(
        move || (run(), act.version().get()),
        |(r, _)| fetch_monitoring(r),
    );
    let error = Signal::derive(move || act.value().get().and_then(|r| r.err()));
    let done = move || query.read().get("done").is_some();
    view! {
        <h1>"Monitoring"</h1>
        <FormAlert error/>
        {move || done().then(|| view! {
            <p class="alert alert-success" role="status">"The monitoring run finished and is stored."</p>
        })}
        <ActionForm action=act attr:class="inline-form" attr:id="run-form">
            <CsrfField/>
            <button type="submit" class="button">"Run monitoring now"</button>
        </ActionForm>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { match data.await {
                Ok(v) => view! { <MonitoringBody v/> }.into_any(),
                Err(error) => view! { <ErrorBox error/> }.into_any(),
            } })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn MonitoringBody(v: MonitoringView) -> impl IntoView {
    let schedule = if v.interval_secs == 0 {
        "Scheduled runs are off; runs start from this page.".to_owned()
    } else {
        let every = match v.interval_secs {
            s if s % 3600 == 0 => format!("{} h", s / 3600),
            s if s % 60 == 0 => format!("{} min", s / 60),
            s => format!("{s} s"),
        };
        format!(
            "The monitoring job runs every {every} over the newest {} decisions (at most half of all decisions).",
            v.window
        )
    };
    view! {
        <p class="muted small">{schedule}</p>
        {match v.selected {
            Some(run) => view! { <RunDetail run/> }.into_any(),
            None => view! {
                <section class="card"><p data-testid="no-runs">"No monitoring run yet. Start one with the button above."</p></section>
            }.into_any(),
        }}
        <RunList rows=v.runs/>
    }
    .into_any()
}

#[component]
fn RunDetail(run: RunView) -> impl IntoView {
    let s = run.summary.clone();
    // Each section's view type is erased (`into_any`): as one nested type the page overflowed
    // the compiler's query depth in the wasm-release build (the layout of `hydrate_async`).
    let facts = view! {
        <section class="card" aria-labelledby="run-h" data-testid="run">
            <h2 id="run-h">"Run #" {s.id} " · " {s.finished_at.clone()}</h2>
            <dl class="facts">
                <dt>"Started"</dt><dd>{if s.trigger == "schedule" { "by the schedule".to_owned() } else { format!("by {}", s.requested_by) }}</dd>
                <dt>"Champion"</dt><dd>{run.champion.clone()}</dd>
                <dt>"Reference"</dt><dd>{run.reference.clone()}</dd>
                <dt>"Current window"</dt><dd>{run.current.clone()}</dd>
            </dl>
            {run.notes.iter().map(|n| view! { <p class="muted">{n.clone()}</p> }).collect_view()}
        </section>
    }
    .into_any();
    let drift = view! {
        <section class="card" aria-labelledby="drift-h">
            <h2 id="drift-h">"Data drift"</h2>
            {run.dataset_verdict.clone().map(|t| view! { <p data-testid="dataset-verdict"><strong>{t}</strong></p> })}
            <p class="muted small">"Evidently's default tests: with a reference of at most 1,000 decisions, KS (p ≤ 0.05) for numbers with more than 5 values, chi-square or Z (p < 0.05) otherwise; with more, the Wasserstein distance normed by the reference's standard deviation or the Jensen–Shannon distance (≥ 0.1). PSI bands: 0.1 and 0.25."</p>
            {run.psi_svg.clone().map(|svg| view! {
                <figure class="chart" data-testid="psi-chart"><div class="svg" inner_html=svg></div>
                <figcaption>"PSI per input"</figcaption></figure>
            })}
            <FeatureTable rows=run.features.clone()/>
            <div class="chart-grid">
                {run.histograms.iter().map(|(col, svg)| view! {
                    <figure class="chart" data-testid="histogram"><div class="svg" inner_html=svg.clone()></div>
                    <figcaption>{col.clone()} ": reference and current window"</figcaption></figure>
                }).collect_view()}
            </div>
        </section>
    }
    .into_any();
    let prediction = view! {
        <section class="card" aria-labelledby="pred-h">
            <h2 id="pred-h">"Prediction drift"</h2>
            {match run.prediction.clone() {
                Some(p) => view! {
                    <FeatureTable rows=vec![p]/>
                    {run.prediction_svg.clone().map(|svg| view! {
                        <figure class="chart" data-testid="prediction-chart"><div class="svg" inner_html=svg></div>
                        <figcaption>"Probability of default: reference and current window"</figcaption></figure>
                    })}
                }.into_any(),
                None => view! { <p class="muted">"Not computable in this run (see the notes above)."</p> }.into_any(),
            }}
        </section>
    }
    .into_any();
    let fairness = view! {
        <section class="card" aria-labelledby="fair-h">
            <h2 id="fair-h">"Fairness"</h2>
            <p class="muted small">"Approval (recommendation) rates per group of each protected attribute in the current window; protected attributes are carried with applications and never used by the model. A gap of 10 percentage points or more raises an alert. With outcomes: equal opportunity and equalized odds differences (fairlearn's definitions)."</p>
            {run.fairness.iter().cloned().map(|f| view! { <Fairness f/> }).collect_view()}
        </section>
    }
    .into_any();
    let performance = view! {
        <section class="card" aria-labelledby="perf-h">
            <h2 id="perf-h">"Realized performance"</h2>
            <p class="muted small">"Per model version on decided applications with an outcome, served and shadow scores alike (so champion and challenger are compared on the same applications), overall and per " {run.period.clone()} "."</p>
            {run.performance_svg.clone().map(|svg| view! {
                <figure class="chart" data-testid="performance-chart"><div class="svg" inner_html=svg></div>
                <figcaption>"Realized AUC per version (per " {run.period.clone()} " once there are two)"</figcaption></figure>
            })}
            <PerformanceTable rows=run.performance.clone()/>
            <div class="chart-grid">
                {run.calibration.iter().map(|(m, svg)| view! {
                    <figure class="chart"><div class="svg" inner_html=svg.clone()></div>
                    <figcaption>"Calibration of " {m.clone()}</figcaption></figure>
                }).collect_view()}
            </div>
        </section>
    }
    .into_any();
    let estimated = view! {
        <section class="card" aria-labelledby="est-h">
            <h2 id="est-h">"Estimated performance (before outcomes)"</h2>
            <p class="muted small">"Confidence-based performance estimation (nannyml's CBPE): each version's ROC AUC and default rate on the loans made (applications whose final decision approved them: the population whose outcomes arrive), estimated from its probabilities alone, chunk by chunk, served and shadow scores alike. The estimator is fitted on the version's oldest labelled scores (isotonic calibration where it lowers the calibration error there); bands are ± 3 sampling errors, thresholds the reference chunks' mean ± 3 standard deviations, and an estimate outside them is marked and raises an alert for the newest chunk. Realized figures come from the chunk's loans that already have an outcome."</p>
            {if run.estimated.is_empty() {
                view! { <p class="muted" data-testid="no-estimates">"No version has scored a decision in this run's range."</p> }.into_any()
            } else {
                run.estimated.iter().cloned().map(|v| view! { <Estimated v/> }).collect_view().into_any()
            }}
        </section>
    }
    .into_any();
    view! {
        {facts}
        <Alerts alerts=run.alerts/>
        {drift}
        {prediction}
        {fairness}
        {performance}
        {estimated}
    }
    .into_any()
}

#[component]
fn Estimated(v: EstimatedView) -> impl IntoView {
    let band = |b: Option<(f64, f64)>| {
        b.map_or_else(String::new, |(lo, hi)| format!(" ({lo:.3}–{hi:.3})"))
    };
    let band_pct = |b: Option<(f64, f64)>| {
        b.map_or_else(String::new, |(lo, hi)| {
            format!(" ({}–{})", pct(Some(lo)), pct(Some(hi)))
        })
    };
    let rows = v
        .chunks
        .iter()
        .cloned()
        .map(|c| {
            let alert = c.auc_alert || c.default_rate_alert;
            view! {
                <tr class=if alert { "row-alert" } else { "" }>
                    <td>{c.decisions}</td>
                    <td class="num">{c.rows}</td>
                    <td class="num">{c.labelled}</td>
                    <td class="num">{num(c.auc, 3)} <span class="muted small">{band(c.auc_band)}</span>
                        {c.auc_alert.then(|| view! { " " <span class="pill pill-reject">"alert"</span> })}</td>
                    <td class="num">{num(c.realized_auc, 3)}</td>
                    <td class="num">{pct(c.default_rate)} <span class="muted small">{band_pct(c.default_rate_band)}</span>
                        {c.default_rate_alert.then(|| view! { " " <span class="pill pill-reject">"alert"</span> })}</td>
                    <td class="num">{pct(c.realized_default_rate)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="estimated" data-testid="estimated">
            <h3>{v.model.clone()}</h3>
            {match v.note.clone() {
                Some(n) if v.chunks.is_empty() => view! { <p class="muted">"Not estimated: " {n}</p> }.into_any(),
                _ => view! {
                    <p class="small">{v.basis.clone()} "; thresholds: " {v.thresholds.clone()}</p>
                    {v.svg.clone().map(|svg| view! {
                        <figure class="chart" data-testid="estimated-chart"><div class="svg" inner_html=svg></div>
                        <figcaption>"Estimated and realized ROC AUC and default rate of " {v.model.clone()}</figcaption></figure>
                    })}
                    <div class="table-wrap">
                        <table class="table" data-testid="estimated-table">
                            <thead><tr>
                                <th scope="col">"Decisions"</th><th scope="col">"Rows"</th><th scope="col">"Outcomes"</th>
                                <th scope="col">"Estimated ROC AUC (band)"</th><th scope="col">"Realized"</th>
                                <th scope="col">"Expected default rate (band)"</th><th scope="col">"Realized"</th>
                            </tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </div>
    }
    .into_any()
}

#[component]
fn Alerts(alerts: Vec<AlertView>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="alerts-h">
            <h2 id="alerts-h">"Alerts (" {alerts.len()} ")"</h2>
            {if alerts.is_empty() {
                view! { <p class="muted" data-testid="no-alerts">"No alert in this run."</p> }.into_any()
            } else {
                view! {
                    <ul class="alerts" data-testid="alerts">
                        {alerts.into_iter().map(|a| view! {
                            <li class=format!("alert alert-{}", if a.severity == "critical" { "error" } else { "warning" })>
                                <strong>{a.severity.as_str()} " · " {a.kind.replace('_', " ")} " · " {a.subject.clone()}</strong>
                                ": " {a.message.clone()}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn FeatureTable(rows: Vec<FeatureDriftRow>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|r| {
            let verdict = match (r.drifted, &r.note) {
                (Some(true), _) => view! { <span class="pill pill-reject">"drift"</span> }.into_any(),
                (Some(false), _) => view! { <span class="pill pill-approve">"no drift"</span> }.into_any(),
                (None, Some(n)) => view! { <span class="muted">"not computable: " {n.clone()}</span> }.into_any(),
                (None, None) => view! { <span class="muted">"—"</span> }.into_any(),
            };
            view! {
                <tr>
                    <th scope="row">{r.column}</th>
                    <td>{r.kind}</td>
                    <td>{r.test.unwrap_or_else(|| "—".to_owned())}</td>
                    <td class="num">{num(r.statistic, 4)}</td>
                    <td class="num">{num(r.threshold, 2)}</td>
                    <td>{verdict}</td>
                    <td class="num">{num(r.psi, 3)} " " <span class="muted small">{r.psi_band.unwrap_or_default()}</span></td>
                    <td class="num">{r.missing}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="drift-table">
                <thead><tr>
                    <th scope="col">"Input"</th><th scope="col">"Type"</th><th scope="col">"Test"</th>
                    <th scope="col">"Statistic"</th><th scope="col">"Threshold"</th><th scope="col">"Verdict"</th>
                    <th scope="col">"PSI"</th><th scope="col">"Missing (ref / cur)"</th>
                </tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Fairness(f: FairnessView) -> impl IntoView {
    let final_rate = |group: &str| {
        f.final_groups
            .iter()
            .find(|(g, _, _)| g == group)
            .map_or_else(
                || "—".to_owned(),
                |(_, n, rate)| format!("{} of {n}", percent(*rate, 1)),
            )
    };
    let groups = f
        .groups
        .iter()
        .map(|(g, n, rate)| view! { <tr><th scope="row">{g.clone()}</th><td class="num">{*n}</td><td class="num">{percent(*rate, 1)}</td><td class="num">{final_rate(g)}</td></tr> })
        .collect_view();
    view! {
        <div class="fairness" data-testid=format!("fairness-{}", f.attribute)>
            <h3>{f.attribute.replace('_', " ")} {f.alert.then(|| view! { " " <span class="pill pill-reject">"alert"</span> })}</h3>
            <div class="two-col">
                <div>
                    <table class="table">
                        <thead><tr><th scope="col">"Group"</th><th scope="col">"Applications"</th><th scope="col">"Recommended approval"</th><th scope="col">"Final approval (decided)"</th></tr></thead>
                        <tbody>{groups}</tbody>
                    </table>
                    <dl class="facts">
                        <dt>"Demographic parity difference"</dt><dd>{pct(f.parity_difference)}</dd>
                        <dt>"Parity difference, final decisions"</dt><dd data-testid="final-parity">{pct(f.final_parity_difference)} " on " {f.final_decided} " decided"</dd>
                        <dt>"Demographic parity ratio"</dt><dd>{num(f.parity_ratio, 3)} {f.four_fifths_violated.then_some(" (below four fifths)")}</dd>
                        <dt>"Equal opportunity difference"</dt><dd>{pct(f.equal_opportunity_difference)}</dd>
                        <dt>"Equalized odds difference"</dt><dd>{pct(f.equalized_odds_difference)}</dd>
                    </dl>
                </div>
                {f.svg.map(|svg| view! { <figure class="chart"><div class="svg" inner_html=svg></div></figure> })}
            </div>
            {f.notes.into_iter().map(|n| view! { <p class="muted small">{n}</p> }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn PerformanceTable(rows: Vec<PerformanceView>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted" data-testid="no-performance">"No decided application has an outcome yet."</p> }.into_any();
    }
    let body = rows
        .into_iter()
        .map(|p| {
            let overall = p.period == "all";
            view! {
                <tr class=if overall { "row-strong" } else { "" }>
                    <th scope="row">{p.model}</th>
                    <td>{if overall { "all".to_owned() } else { p.period }}</td>
                    <td class="num">{p.rows}</td>
                    <td class="num">{p.defaults}</td>
                    <td class="num">{num(p.auc, 3)}</td>
                    <td class="num">{num(p.ks, 3)}</td>
                    <td class="num">{num(p.gini, 3)}</td>
                    <td class="num">{num(p.brier, 4)}</td>
                    <td class="num">{pct(p.mean_pd)} " / " {pct(p.default_rate)}</td>
                    <td class="muted small">{p.note.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="performance-table">
                <thead><tr>
                    <th scope="col">"Version"</th><th scope="col">"Period"</th><th scope="col">"Outcomes"</th>
                    <th scope="col">"Defaults"</th><th scope="col">"AUC"</th><th scope="col">"KS"</th>
                    <th scope="col">"Gini"</th><th scope="col">"Brier"</th><th scope="col">"Mean PD / default rate"</th>
                    <th scope="col">"Note"</th>
                </tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn RunList(rows: Vec<RunListRow>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td><A href=format!("/monitoring?run={}", r.id)>"#" {r.id}</A></td>
                    <td>{r.finished_at}</td>
                    <td>{if r.trigger == "schedule" { "schedule".to_owned() } else { r.requested_by }}</td>
                    <td class="num">{r.reference_rows} " / " {r.current_rows}</td>
                    <td class="num">{r.drifted_features} " of " {r.tested_features}</td>
                    <td>{if r.dataset_drift { "yes" } else { "no" }}</td>
                    <td class="num">{r.alerts}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="runs-h">
            <h2 id="runs-h">"Runs"</h2>
            <div class="table-wrap">
                <table class="table" data-testid="runs-table">
                    <thead><tr>
                        <th scope="col">"Run"</th><th scope="col">"Finished"</th><th scope="col">"Started by"</th>
                        <th scope="col">"Reference / current"</th><th scope="col">"Drifted inputs"</th>
                        <th scope="col">"Dataset drift"</th><th scope="col">"Alerts"</th>
                    </tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
