//! The validation report of a model version: model documentation in the order of SR 11-7 /
//! OCC 2011-12, generated only from stored facts — the version's artifact, card and lineage,
//! its training run, its promotion requests with the gate as it stood and who resolved them,
//! its alias history, and the newest monitoring run (realized and estimated performance,
//! stability, fairness, alerts). Nothing is recomputed from live traffic and nothing carries
//! the time of generation, so the same stored facts give the same report, and the PDF the same
//! bytes.

use lendscope_domain::governance::{
    GateCheck, ModelDetail, ReportSection, ReportTable, ValidationReport,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use super::versions::stamp;
use crate::entity::{model, promotion_request, promotion_resolution};
use crate::error::ServiceResult;
use crate::monitoring::MonitoringReport;
use crate::Services;

/// A stored promotion request of the version, with its resolution if any.
struct Request {
    row: promotion_request::Model,
    resolution: Option<promotion_resolution::Model>,
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "—".to_owned(), |x| format!("{x:.digits$}"))
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn section(title: &str) -> ReportSection {
    ReportSection {
        title: title.to_owned(),
        paragraphs: Vec::new(),
        facts: Vec::new(),
        tables: Vec::new(),
    }
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> ReportTable {
    ReportTable {
        header: header.iter().map(|h| (*h).to_owned()).collect(),
        rows,
    }
}

fn lineage<'a>(d: &'a ModelDetail, label: &str) -> &'a str {
    d.lineage
        .iter()
        .find(|(k, _)| k == label)
        .map_or("—", |(_, v)| v.as_str())
}

/// The report, from the facts read (pure).
fn build(
    d: &ModelDetail,
    feature_set: Option<&str>,
    requests: &[Request],
    run: Option<(i64, chrono::DateTime<chrono::Utc>, &MonitoringReport)>,
) -> ValidationReport {
    let model = format!("{} v{}", d.row.name, d.row.version);
    let mut sections = Vec::new();

    let mut s = section("1. Purpose, intended use and limits");
    s.paragraphs = vec![
        "Purpose: the probability that an applicant for a small loan ($500 to $5,000) with a thin credit file defaults, from alternative data (employment, payment patterns for rent, utilities and telecom, digital footprint, banking behaviour). The decision policy turns it into a recommendation (approve, manual review, reject); a loan officer reviews and decides, and the applicant is told the principal reasons, derived from the model's exact SHAP values.".to_owned(),
        "Intended use: scoring applications with the inputs of the feature set below, as champion or challenger behind the promotion gate and four-eyes approval. Protected attributes (gender, age band) are carried with applications for fairness monitoring and are never model inputs.".to_owned(),
        format!(
            "Limits: outcomes are observed only for loans that were made, so labelled performance describes approved applicants; declined applicants enter training only through reject inference ({}). Probabilities are calibrated on the training population; performance before outcomes arrive is an estimate (section 5). Training data named \"generated\" comes from the synthetic applicant generator, not from real applicants.",
            lineage(d, "Reject inference")
        ),
    ];
    s.facts = vec![
        ("Model version".to_owned(), model.clone()),
        (
            "Current alias".to_owned(),
            d.row.alias.clone().unwrap_or_else(|| "none".to_owned()),
        ),
        (
            "Status".to_owned(),
            if d.row.archived {
                "archived"
            } else {
                "registered"
            }
            .to_owned(),
        ),
        (
            "Feature set".to_owned(),
            feature_set.unwrap_or("—").to_owned(),
        ),
        ("Model features".to_owned(), d.features.to_string()),
        ("Trees".to_owned(), d.trees.to_string()),
        ("Artifact SHA-256".to_owned(), d.sha256.clone()),
    ];
    sections.push(s);

    let mut s = section("2. Data");
    for label in [
        "Data file",
        "Training data rows",
        "Train / validation / test rows",
        "Training data SHA-256",
        "Target",
        "Registered",
        "Training run",
    ] {
        s.facts
            .push((label.to_owned(), lineage(d, label).to_owned()));
    }
    sections.push(s);

    let mut s = section("3. Parameters and lineage");
    for label in [
        "Source",
        "Retrained from",
        "Reject inference",
        "Code version",
        "XGBoost version",
    ] {
        s.facts
            .push((label.to_owned(), lineage(d, label).to_owned()));
    }
    s.tables.push(table(
        &["Parameter", "Value"],
        d.parameters
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect(),
    ));
    sections.push(s);

    let mut s = section("4. Discrimination and calibration");
    s.paragraphs.push(
        "On the training card's validation and test parts (held out from training); and realized on the decided applications with an outcome, rescored by this version from their stored inputs. A retrained version was trained on such applications too, so for it the realized figures are partly in-sample.".to_owned(),
    );
    s.tables.push(table(
        &["Metric", "Validation", "Test"],
        d.metrics
            .iter()
            .map(|m| vec![m.label.clone(), num(m.validation, 4), num(m.test, 4)])
            .collect(),
    ));
    match &d.realized {
        Some(r) => s.tables.push(table(
            &["Realized", "Value"],
            vec![
                vec![
                    "Outcomes (defaulted)".to_owned(),
                    format!("{} ({})", r.rows, r.positives),
                ],
                vec!["AUC".to_owned(), format!("{:.4}", r.auc)],
                vec!["KS".to_owned(), format!("{:.4}", r.ks)],
                vec!["Gini".to_owned(), format!("{:.4}", r.gini)],
                vec!["Brier score".to_owned(), format!("{:.4}", r.brier)],
            ],
        )),
        None => s.paragraphs.push(format!(
            "Realized: {}",
            d.realized_note
                .clone()
                .unwrap_or_else(|| "none yet".to_owned())
        )),
    }
    sections.push(s);

    let mut estimated = section("5. Estimated performance (before outcomes)");
    let mut stability = section("6. Stability");
    let mut fairness = section("7. Fairness per protected group");
    let mut alerts = section("9. Open alerts");
    match run {
        None => {
            for s in [&mut estimated, &mut stability, &mut fairness, &mut alerts] {
                s.paragraphs
                    .push("No monitoring run is stored yet.".to_owned());
            }
        }
        Some((id, at, r)) => {
            let from = format!("From monitoring run #{id} ({}).", stamp(at));
            match r.estimated.iter().find(|v| v.model_id == d.row.id) {
                Some(v) if !v.chunks.is_empty() => {
                    estimated.paragraphs.push(format!(
                        "{from} Confidence-based performance estimation on the loans scored by this version: fitted on its oldest {} labelled scores ({} defaulted); calibration {}; chunks of {} loans.",
                        v.reference_rows,
                        v.reference_defaults,
                        if v.calibrated { "isotonic" } else { "not needed" },
                        v.chunk_size
                    ));
                    let t = |x: Option<lendscope_model::cbpe::Thresholds>| {
                        x.map_or_else(
                            || "—".to_owned(),
                            |t| format!("{}–{}", num(t.lower, 3), num(t.upper, 3)),
                        )
                    };
                    estimated.facts.push((
                        "Thresholds".to_owned(),
                        format!(
                            "ROC AUC {}; default rate {}",
                            t(v.roc_auc_thresholds),
                            t(v.default_rate_thresholds)
                        ),
                    ));
                    estimated.tables.push(table(
                        &[
                            "Decisions",
                            "Loans",
                            "Est. ROC AUC",
                            "Realized",
                            "Exp. default rate",
                            "Realized",
                            "Alert",
                        ],
                        v.chunks
                            .iter()
                            .map(|c| {
                                let e = &c.estimate;
                                vec![
                                    format!("#{}–#{}", c.first_seq, c.last_seq),
                                    e.rows.to_string(),
                                    num(e.roc_auc.value, 3),
                                    num(e.roc_auc.realized, 3),
                                    num(e.default_rate.value, 3),
                                    num(e.default_rate.realized, 3),
                                    if e.roc_auc.alert || e.default_rate.alert {
                                        "yes".to_owned()
                                    } else {
                                        "no".to_owned()
                                    },
                                ]
                            })
                            .collect(),
                    ));
                }
                Some(v) => estimated.paragraphs.push(format!(
                    "{from} Not estimated: {}",
                    v.note.clone().unwrap_or_default()
                )),
                None => estimated.paragraphs.push(format!(
                    "{from} This version scored none of the decisions the run read."
                )),
            }
            let served = format!(
                "These figures describe the applications scored and the recommendations served by the champion of the run ({}){}.",
                r.champion.as_deref().unwrap_or("none"),
                if r.champion.as_deref() == Some(model.as_str()) {
                    ", this version"
                } else {
                    ", not this version's own"
                }
            );
            stability.paragraphs.push(format!(
                "{from} Population stability of the inputs and of the served probability of default: reference {}; current {}. {served}",
                r.reference.description, r.current.description
            ));
            if let Some(p) = &r.prediction_drift {
                stability.facts.push((
                    "PSI of the probability of default".to_owned(),
                    num(p.psi, 4),
                ));
            }
            if let Some(dd) = &r.data_drift {
                let mut cols: Vec<_> = dd.columns.iter().filter(|c| c.psi.is_some()).collect();
                cols.sort_by(|a, b| {
                    b.psi
                        .unwrap_or(0.0)
                        .total_cmp(&a.psi.unwrap_or(0.0))
                        .then(a.column.cmp(&b.column))
                });
                stability.facts.push((
                    "Inputs drifted".to_owned(),
                    format!("{} of {}", dd.drifted_columns, dd.tested_columns),
                ));
                stability.tables.push(table(
                    &["Input (largest PSI first)", "PSI", "Drift"],
                    cols.iter()
                        .take(10)
                        .map(|c| {
                            vec![
                                c.column.clone(),
                                num(c.psi, 4),
                                match c.drifted {
                                    Some(true) => "yes".to_owned(),
                                    Some(false) => "no".to_owned(),
                                    None => "—".to_owned(),
                                },
                            ]
                        })
                        .collect(),
                ));
            }
            fairness.paragraphs.push(format!(
                "{from} Approval rates of the recommendations per group over the current window; a gap of 10 points or more alerts. {served}"
            ));
            for f in &r.fairness {
                match &f.report {
                    Some(rep) => {
                        fairness.facts.push((
                            f.attribute.clone(),
                            format!(
                                "parity difference {}, ratio {:.3}{}",
                                pct(rep.demographic_parity_difference),
                                rep.demographic_parity_ratio,
                                if rep.four_fifths_violated {
                                    " (four-fifths rule violated)"
                                } else {
                                    ""
                                }
                            ),
                        ));
                        fairness.tables.push(table(
                            &[&f.attribute, "Applications", "Approval rate"],
                            rep.groups
                                .iter()
                                .map(|g| {
                                    vec![
                                        g.group.clone(),
                                        g.members.to_string(),
                                        pct(g.selection_rate),
                                    ]
                                })
                                .collect(),
                        ));
                    }
                    None => fairness
                        .facts
                        .push((f.attribute.clone(), f.notes.join("; "))),
                }
            }
            // This version's own alerts and those about the whole population.
            let concern: Vec<_> = r
                .alerts
                .iter()
                .filter(|a| {
                    a.subject == model
                        || matches!(
                            a.kind.as_str(),
                            "data_drift"
                                | "feature_drift"
                                | "psi"
                                | "prediction_drift"
                                | "fairness"
                        )
                })
                .collect();
            alerts.paragraphs.push(format!(
                "{from} {} of its {} alerts concern this version or the whole population (drift, fairness); they stand until a later run no longer raises them.",
                concern.len(),
                r.alerts.len()
            ));
            if !concern.is_empty() {
                alerts.tables.push(table(
                    &["Kind", "Severity", "Subject", "Message"],
                    concern
                        .iter()
                        .map(|a| {
                            vec![
                                a.kind.clone(),
                                a.severity.as_str().to_owned(),
                                a.subject.clone(),
                                a.message.clone(),
                            ]
                        })
                        .collect(),
                ));
            }
        }
    }
    sections.push(estimated);
    sections.push(stability);
    sections.push(fairness);

    let mut s = section("8. Champion comparison and the promotion gate");
    if requests.is_empty() {
        s.paragraphs.push(
            "No promotion or share of live decisions has been requested for this version."
                .to_owned(),
        );
    }
    for r in requests {
        let stored: Value = serde_json::from_str(&r.row.gate_json).unwrap_or(Value::Null);
        let gate: Vec<GateCheck> =
            serde_json::from_value(stored["gate"].clone()).unwrap_or_default();
        let what = match r.row.challenger_share {
            Some(p) => format!("a {p} % share of live decisions"),
            None => "promotion to champion".to_owned(),
        };
        let outcome = match &r.resolution {
            Some(x) => format!(
                "{} by {} at {}{}",
                match x.resolution.as_str() {
                    "approve" => "approved",
                    "reject" => "rejected",
                    "cancel" => "cancelled",
                    other => other,
                },
                x.resolved_by,
                stamp(x.resolved_at),
                if x.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", x.note)
                }
            ),
            None => format!(
                "not resolved (it expires, or expired, at {})",
                stamp(r.row.expires_at)
            ),
        };
        s.paragraphs.push(format!(
            "Request #{}: {what}, against champion model {}, requested by {} at {} (\"{}\"); {outcome}. The gate as it stood when requested:",
            r.row.id,
            r.row.champion_id,
            r.row.requested_by,
            stamp(r.row.requested_at),
            r.row.reason
        ));
        s.tables.push(table(
            &["Check", "Result", "Measured", "Bound"],
            gate.iter()
                .map(|g| {
                    vec![
                        g.name.clone(),
                        if g.passed { "passes" } else { "fails" }.to_owned(),
                        g.measured.clone(),
                        g.bound.clone(),
                    ]
                })
                .collect(),
        ));
    }
    sections.push(s);
    sections.push(alerts);

    let mut s = section("10. Aliases, requests and approvals");
    s.tables.push(table(
        &["Alias", "From", "To", "Set by", "Requested / approved by"],
        d.periods
            .iter()
            .map(|p| {
                vec![
                    p.alias.clone(),
                    p.from.clone(),
                    p.to.clone().unwrap_or_else(|| "now".to_owned()),
                    p.set_by.clone(),
                    p.approved_by.clone().unwrap_or_else(|| "—".to_owned()),
                ]
            })
            .collect(),
    ));
    sections.push(s);

    let mut times = vec![d.row.created_at.clone()];
    for p in &d.periods {
        times.push(p.from.clone());
        times.extend(p.to.clone());
    }
    if let Some((_, at, _)) = run {
        times.push(stamp(at));
    }
    for r in requests {
        times.push(stamp(r.row.requested_at));
        if let Some(x) = &r.resolution {
            times.push(stamp(x.resolved_at));
        }
    }
    ValidationReport {
        model_id: d.row.id,
        model,
        as_of: times.into_iter().max().unwrap_or_default(),
        sections,
    }
}

/// The report as a PDF: the same sections, facts and tables, in the same order; a pure
/// function of the report.
pub fn report_pdf(r: &ValidationReport) -> Vec<u8> {
    use crate::pdf::Block;
    let mut b = vec![
        Block::Title(format!("Validation report: {}", r.model)),
        Block::Small(format!(
            "As of {}. Generated from stored facts only (model documentation in the order of SR 11-7 / OCC 2011-12).",
            r.as_of
        )),
    ];
    for s in &r.sections {
        b.push(Block::Space(4.0));
        b.push(Block::Heading(s.title.clone()));
        for p in &s.paragraphs {
            b.push(Block::Text(p.clone()));
        }
        for (k, v) in &s.facts {
            b.push(Block::Item("•".to_owned(), format!("{k}: {v}")));
        }
        for t in &s.tables {
            b.push(Block::Small(t.header.join(" | ")));
            for row in &t.rows {
                b.push(Block::Item("–".to_owned(), row.join(" | ")));
            }
        }
    }
    crate::pdf::render(&b, &format!("Lendscope validation report · {}", r.model))
}

impl Services {
    /// The validation report of version `id` (404 for an unknown id).
    pub async fn validation_report(&self, id: i64) -> ServiceResult<ValidationReport> {
        let detail = self.model_detail(id).await?;
        let rows = promotion_request::Entity::find()
            .filter(promotion_request::Column::ModelId.eq(id))
            .order_by_asc(promotion_request::Column::Id)
            .all(self.db())
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut resolutions = promotion_resolution::Entity::find()
            .filter(promotion_resolution::Column::RequestId.is_in(ids))
            .all(self.db())
            .await?;
        let requests: Vec<Request> = rows
            .into_iter()
            .map(|row| {
                let resolution = resolutions
                    .iter()
                    .position(|x| x.request_id == row.id)
                    .map(|k| resolutions.swap_remove(k));
                Request { row, resolution }
            })
            .collect();
        let run = self.monitoring_report(None).await?;
        let feature_set = model::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .and_then(|m| m.feature_set);
        Ok(build(
            &detail,
            feature_set.as_deref(),
            &requests,
            run.as_ref().map(|(s, r)| (s.id, s.finished_at, r)),
        ))
    }

    /// The validation report as a PDF, with the file name it is served under.
    pub async fn validation_pdf(&self, id: i64) -> ServiceResult<(String, Vec<u8>)> {
        let report = self.validation_report(id).await?;
        let name = format!(
            "validation-{}.pdf",
            report
                .model
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
        );
        Ok((name, report_pdf(&report)))
    }
}
