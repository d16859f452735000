//! The monitoring job: data drift of every input between a reference window and the current
//! window of scored applications, prediction drift of the probability of default, fairness of
//! the recommendations per protected attribute, realized performance per model version and
//! period once outcomes exist, and the alerts they raise. Each run is stored (append-only)
//! and its figures are exported as Prometheus gauges. The scheduler in the server and the
//! monitoring page's button both call [`Services::run_monitoring`].
//!
//! Windows: the current window is the newest `window` decisions (at most half of all
//! decisions); the reference is the earliest decisions served by the current champion version
//! (its launch window, up to `window`) that are not in the current window.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lendscope_model::drift::{
    self, ColumnData, ColumnDrift, DriftColumn, DriftOptions, DriftReport,
};
use lendscope_model::fairness::{self, FairnessReport};
use lendscope_model::features::INPUTS;
use lendscope_model::metrics;
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use lendscope_domain::monitoring::{
    AlertView, FairnessView, FeatureDriftRow, MonitoringView, PerformanceView, RunListRow, RunView,
};

use crate::entity::{decision, monitoring_run, outcome};
use crate::error::{ServiceError, ServiceResult};
use crate::governance::{judged_groups, stored, Stored, PROTECTED_ATTRIBUTES};
use crate::scoring::registry::Role;
use crate::scoring::request::InputValue;
use crate::Services;

/// How the job picks its windows and when it alerts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonitoringSettings {
    /// Decisions in the current window (and at most in the reference).
    pub window: usize,
    /// Fewest decisions on each side for drift to be computed.
    pub min_rows: usize,
    /// Groups smaller than this are listed but raise no fairness alert.
    pub min_group_members: usize,
    /// Fewest labelled decisions with both outcomes for realized performance.
    pub min_labelled: usize,
    /// A version's realized AUC this far below its test AUC raises an alert.
    pub auc_drop_alert: f64,
    /// Most labelled decisions read for realized performance.
    pub max_labelled: u64,
    /// Seconds between scheduled runs (0: off); the server's scheduler uses it.
    pub interval_secs: u64,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        Self {
            window: 2000,
            min_rows: 50,
            min_group_members: 30,
            min_labelled: 20,
            auc_drop_alert: 0.05,
            max_labelled: 50_000,
            interval_secs: 3600,
        }
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub description: String,
    pub rows: usize,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeFairness {
    pub attribute: String,
    /// Approval parity over the current window (groups large enough to judge).
    pub report: Option<FairnessReport>,
    /// Equal opportunity / equalized odds over the window's decisions that have outcomes.
    pub with_outcomes: Option<FairnessReport>,
    pub notes: Vec<String>,
}

/// Realized performance of one version, overall (`period` "all") or in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceRow {
    pub model_id: i64,
    pub model: String,
    pub period: String,
    pub rows: usize,
    pub defaults: usize,
    pub auc: Option<f64>,
    pub ks: Option<f64>,
    pub gini: Option<f64>,
    pub brier: Option<f64>,
    pub mean_pd: Option<f64>,
    pub default_rate: Option<f64>,
    /// (mean predicted, observed default rate, count) per calibration bin (overall rows).
    pub calibration: Vec<(f64, f64, usize)>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `data_drift`, `feature_drift`, `prediction_drift`, `psi`, `fairness`, `performance`.
    pub kind: String,
    /// `warning` or `critical`.
    pub severity: String,
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringReport {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub trigger: String,
    pub requested_by: String,
    pub champion: Option<String>,
    pub reference: Window,
    pub current: Window,
    pub data_drift: Option<DriftReport>,
    pub prediction_drift: Option<ColumnDrift>,
    pub fairness: Vec<AttributeFairness>,
    /// Per version: the overall row first, then one row per period (oldest first).
    pub performance: Vec<PerformanceRow>,
    /// `day`, `week` or `month`.
    pub period: String,
    pub alerts: Vec<Alert>,
    pub notes: Vec<String>,
}

/// A stored run for the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub finished_at: DateTime<Utc>,
    pub trigger: String,
    pub requested_by: String,
    pub reference_rows: i64,
    pub current_rows: i64,
    pub dataset_drift: bool,
    pub drifted_features: i32,
    pub tested_features: i32,
    pub alerts: i32,
}

impl From<&monitoring_run::Model> for RunSummary {
    fn from(r: &monitoring_run::Model) -> Self {
        Self {
            id: r.id,
            finished_at: r.finished_at,
            trigger: r.trigger.clone(),
            requested_by: r.requested_by.clone(),
            reference_rows: r.reference_rows,
            current_rows: r.current_rows,
            dataset_drift: r.dataset_drift,
            drifted_features: r.drifted_features,
            tested_features: r.tested_features,
            alerts: r.alerts,
        }
    }
}

/// A decision as the job reads it.
struct Row {
    seq: i64,
    at: DateTime<Utc>,
    pd: f64,
    approved: bool,
    stored: Stored,
}

fn window_of(description: String, rows: &[Row]) -> Window {
    Window {
        description,
        rows: rows.len(),
        first_seq: rows.first().map(|r| r.seq),
        last_seq: rows.last().map(|r| r.seq),
        from: rows.first().map(|r| r.at),
        to: rows.last().map(|r| r.at),
    }
}

type DecisionTuple = (i64, DateTime<Utc>, f64, String, String);

fn rows_of(tuples: Vec<DecisionTuple>) -> ServiceResult<Vec<Row>> {
    tuples
        .into_iter()
        .map(|(seq, at, pd, decision, content)| {
            Ok(Row {
                seq,
                at,
                pd,
                approved: decision == "approve",
                stored: stored(&content)?,
            })
        })
        .collect()
}

/// The data-drift columns: every input of the feature set, typed as the feature set types it.
fn input_columns(reference: &[Row], current: &[Row]) -> Vec<DriftColumn> {
    INPUTS
        .iter()
        .enumerate()
        .map(|(k, input)| {
            let value = |r: &Row| r.stored.input.values.get(k).copied();
            let data = if input.categories.is_some() {
                let text = |r: &Row| match value(r) {
                    Some(InputValue::Category(c)) => Some(c),
                    _ => None,
                };
                ColumnData::categorical(reference.iter().map(text), current.iter().map(text))
            } else {
                let number = |r: &Row| match value(r) {
                    Some(InputValue::Number(x)) => x,
                    _ => f64::NAN,
                };
                ColumnData::Numeric {
                    reference: reference.iter().map(number).collect(),
                    current: current.iter().map(number).collect(),
                }
            };
            DriftColumn {
                name: input.name.to_owned(),
                data,
            }
        })
        .collect()
}

fn attribute_fairness(
    current: &[Row],
    labels: &BTreeMap<i64, bool>,
    s: &MonitoringSettings,
) -> Vec<AttributeFairness> {
    PROTECTED_ATTRIBUTES
        .iter()
        .map(|&attribute| {
            let mut notes = Vec::new();
            let (judged, small) = judged_groups(
                current.iter().map(|r| (&r.stored.input, r)),
                attribute,
                s.min_group_members,
            );
            if !small.is_empty() {
                notes.push(format!(
                    "groups with fewer than {} applications in the window are left out: {}",
                    s.min_group_members,
                    small.join(", ")
                ));
            }
            let groups: Vec<&str> = judged.iter().map(|(g, _)| *g).collect();
            let selected: Vec<bool> = judged.iter().map(|(_, r)| r.approved).collect();
            let report = match fairness::report(&groups, &selected, None) {
                Ok(r) => Some(r),
                Err(e) => {
                    notes.push(format!("approval parity not computable: {e}"));
                    None
                }
            };
            // Outcomes: favourable = repaid.
            let labelled: Vec<(&str, bool, bool)> = judged
                .iter()
                .filter_map(|(g, r)| labels.get(&r.seq).map(|&d| (*g, r.approved, !d)))
                .collect();
            let with_outcomes = if labelled.len() >= s.min_labelled {
                let g: Vec<&str> = labelled.iter().map(|x| x.0).collect();
                let sel: Vec<bool> = labelled.iter().map(|x| x.1).collect();
                let fav: Vec<bool> = labelled.iter().map(|x| x.2).collect();
                match fairness::report(&g, &sel, Some(&fav)) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        notes.push(format!("outcome-based fairness not computable: {e}"));
                        None
                    }
                }
            } else {
                notes.push(format!(
                    "{} decisions in the window have an outcome; equal opportunity needs {}",
                    labelled.len(),
                    s.min_labelled
                ));
                None
            };
            AttributeFairness {
                attribute: attribute.to_owned(),
                report,
                with_outcomes,
                notes,
            }
        })
        .collect()
}

/// One labelled score of one version.
struct Scored {
    model_id: i64,
    at: DateTime<Utc>,
    pd: f64,
    defaulted: bool,
}

fn period_unit(first: DateTime<Utc>, last: DateTime<Utc>) -> &'static str {
    let days = (last - first).num_days();
    if days <= 14 {
        "day"
    } else if days <= 120 {
        "week"
    } else {
        "month"
    }
}

fn period_key(at: DateTime<Utc>, unit: &str) -> String {
    match unit {
        "day" => at.format("%Y-%m-%d").to_string(),
        "week" => at.format("%G-W%V").to_string(),
        _ => at.format("%Y-%m").to_string(),
    }
}

fn performance_row(
    model_id: i64,
    model: &str,
    period: &str,
    scored: &[&Scored],
    s: &MonitoringSettings,
) -> PerformanceRow {
    let scores: Vec<f64> = scored.iter().map(|x| x.pd).collect();
    let labels: Vec<bool> = scored.iter().map(|x| x.defaulted).collect();
    let defaults = labels.iter().filter(|&&l| l).count();
    let n = scores.len();
    let mut row = PerformanceRow {
        model_id,
        model: model.to_owned(),
        period: period.to_owned(),
        rows: n,
        defaults,
        auc: None,
        ks: None,
        gini: None,
        brier: None,
        mean_pd: (n > 0).then(|| scores.iter().sum::<f64>() / n as f64),
        default_rate: (n > 0).then(|| defaults as f64 / n as f64),
        calibration: Vec::new(),
        note: None,
    };
    if n < s.min_labelled || defaults == 0 || defaults == n {
        row.note = Some(format!(
            "{n} outcomes ({defaults} defaulted): needs at least {} with both outcomes",
            s.min_labelled
        ));
        return row;
    }
    match metrics::summary(&scores, &labels) {
        Ok(m) => {
            row.auc = Some(m.auc);
            row.ks = Some(m.ks);
            row.gini = Some(m.gini);
            row.brier = Some(m.brier);
            row.calibration = m
                .calibration
                .iter()
                .map(|b| (b.mean_predicted, b.observed_rate, b.count))
                .collect();
        }
        Err(e) => row.note = Some(format!("not computable: {e}")),
    }
    row
}

/// Realized performance per version (served and shadow scores alike, so champion and
/// challenger are compared on the same applications), overall and per period.
fn performance(
    scored: &[Scored],
    names: &BTreeMap<i64, String>,
    s: &MonitoringSettings,
) -> (Vec<PerformanceRow>, String) {
    let (Some(first), Some(last)) = (
        scored.iter().map(|x| x.at).min(),
        scored.iter().map(|x| x.at).max(),
    ) else {
        return (Vec::new(), "day".to_owned());
    };
    let unit = period_unit(first, last);
    let mut by_model: BTreeMap<i64, Vec<&Scored>> = BTreeMap::new();
    for x in scored {
        by_model.entry(x.model_id).or_default().push(x);
    }
    let mut rows = Vec::new();
    for (id, xs) in by_model {
        let name = names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("model {id}"));
        rows.push(performance_row(id, &name, "all", &xs, s));
        let mut periods: BTreeMap<String, Vec<&Scored>> = BTreeMap::new();
        for x in xs {
            periods.entry(period_key(x.at, unit)).or_default().push(x);
        }
        for (p, v) in periods {
            let mut r = performance_row(id, &name, &p, &v, s);
            r.calibration.clear();
            rows.push(r);
        }
    }
    (rows, unit.to_owned())
}

fn alerts_of(
    report: &MonitoringReport,
    test_auc: &BTreeMap<i64, f64>,
    s: &MonitoringSettings,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let mut push = |kind: &str, severity: &str, subject: &str, message: String| {
        alerts.push(Alert {
            kind: kind.to_owned(),
            severity: severity.to_owned(),
            subject: subject.to_owned(),
            message,
        });
    };
    if let Some(d) = &report.data_drift {
        if d.dataset_drift {
            push(
                "data_drift",
                "critical",
                "dataset",
                format!(
                    "{} of {} inputs drifted (threshold: half)",
                    d.drifted_columns, d.tested_columns
                ),
            );
        }
        for c in &d.columns {
            if let (Some(true), Some(test), Some(stat)) = (c.drifted, c.test, c.statistic) {
                push(
                    "feature_drift",
                    "warning",
                    &c.column,
                    format!(
                        "{} {stat:.4} (threshold {})",
                        test.label(),
                        c.threshold.unwrap_or(0.0)
                    ),
                );
            }
            if let Some(psi) = c.psi.filter(|&p| p >= 0.25) {
                push(
                    "psi",
                    "warning",
                    &c.column,
                    format!("PSI {psi:.3} (≥ 0.25)"),
                );
            }
        }
    }
    if let Some(p) = &report.prediction_drift {
        if p.drifted == Some(true) || p.psi.is_some_and(|x| x >= 0.25) {
            push(
                "prediction_drift",
                "critical",
                "probability_of_default",
                format!(
                    "{} {:.4}, PSI {:.3}",
                    p.test.map_or("test", |t| t.label()),
                    p.statistic.unwrap_or(f64::NAN),
                    p.psi.unwrap_or(f64::NAN)
                ),
            );
        }
    }
    for f in &report.fairness {
        if let Some(r) = &f.report {
            if r.demographic_parity_difference >= fairness::ALERT_GAP {
                push(
                    "fairness",
                    "critical",
                    &f.attribute,
                    format!(
                        "approval rates differ by {:.1} percentage points across {} groups (ratio {:.2}{})",
                        r.demographic_parity_difference * 100.0,
                        f.attribute,
                        r.demographic_parity_ratio,
                        if r.four_fifths_violated { ", four-fifths rule violated" } else { "" }
                    ),
                );
            }
        }
        if let Some(r) = &f.with_outcomes {
            if let Some(eo) = r
                .equal_opportunity_difference
                .filter(|&x| x >= fairness::ALERT_GAP)
            {
                push(
                    "fairness",
                    "warning",
                    &f.attribute,
                    format!("equal opportunity difference {:.1} points", eo * 100.0),
                );
            }
        }
    }
    for p in report.performance.iter().filter(|p| p.period == "all") {
        if let (Some(auc), Some(test)) = (p.auc, test_auc.get(&p.model_id)) {
            if auc < test - s.auc_drop_alert {
                push(
                    "performance",
                    "critical",
                    &p.model,
                    format!(
                        "realized AUC {auc:.3} is more than {} below the test AUC {test:.3}",
                        s.auc_drop_alert
                    ),
                );
            }
        }
    }
    alerts
}

impl Services {
    pub fn monitoring_settings(&self) -> MonitoringSettings {
        self.inner.monitoring.read().map(|s| *s).unwrap_or_default()
    }

    pub fn set_monitoring_settings(&self, settings: MonitoringSettings) {
        if let Ok(mut s) = self.inner.monitoring.write() {
            *s = settings;
        }
    }

    async fn decision_rows(
        &self,
        filter: Option<sea_orm::Condition>,
        newest_first: bool,
        limit: u64,
    ) -> ServiceResult<Vec<Row>> {
        let mut q = decision::Entity::find().select_only().columns([
            decision::Column::Seq,
            decision::Column::CreatedAt,
            decision::Column::ProbabilityOfDefault,
            decision::Column::Decision,
            decision::Column::Content,
        ]);
        if let Some(f) = filter {
            q = q.filter(f);
        }
        q = if newest_first {
            q.order_by_desc(decision::Column::Seq)
        } else {
            q.order_by_asc(decision::Column::Seq)
        };
        let tuples = q
            .limit(limit)
            .into_tuple::<DecisionTuple>()
            .all(self.db())
            .await?;
        let mut rows = rows_of(tuples)?;
        rows.sort_by_key(|r| r.seq);
        Ok(rows)
    }

    /// Runs the monitoring job once and stores the run. `requested_by` is a user name for a
    /// run started from the page, `scheduler` for the scheduled one.
    pub async fn run_monitoring(&self, requested_by: &str) -> ServiceResult<i64> {
        let started_at = self.now();
        let s = self.monitoring_settings();
        let trigger = if requested_by == "scheduler" {
            "schedule"
        } else {
            "manual"
        };
        let total = decision::Entity::find().count(self.db()).await? as usize;
        let mut notes = Vec::new();
        let current_size = s.window.min(total / 2).max(1);
        let current = self.decision_rows(None, true, current_size as u64).await?;
        let pair = self.serving_pair().await.ok();
        let champion = pair.as_ref().map(|p| p.champion.meta.clone());
        let models = self.model_rows().await?;
        let names: BTreeMap<i64, String> = models
            .iter()
            .map(|m| (m.id, format!("{} v{}", m.name, m.version)))
            .collect();
        let test_auc: BTreeMap<i64, f64> = models
            .iter()
            .filter_map(|m| m.test_auc.map(|a| (m.id, a)))
            .collect();
        let first_current = current.first().map_or(i64::MAX, |r| r.seq);
        let reference = match &champion {
            Some(c) => {
                let cond = sea_orm::Condition::all()
                    .add(decision::Column::ModelId.eq(c.id))
                    .add(decision::Column::Role.eq(Role::Champion.as_str()))
                    .add(decision::Column::Seq.lt(first_current));
                self.decision_rows(Some(cond), false, s.window as u64)
                    .await?
            }
            None => Vec::new(),
        };
        let champion_name = champion.as_ref().map(|c| {
            names
                .get(&c.id)
                .cloned()
                .unwrap_or_else(|| format!("model {}", c.id))
        });
        let reference_window = window_of(
            format!(
                "the first {} decisions served by the champion {}",
                reference.len(),
                champion_name.as_deref().unwrap_or("(none)")
            ),
            &reference,
        );
        let current_window = window_of(format!("the newest {} decisions", current.len()), &current);
        // Outcomes of the current window (for fairness with outcomes).
        let labelled = self.labelled_scores(s.max_labelled).await?;
        let current_labels: BTreeMap<i64, bool> = {
            let seqs: std::collections::HashSet<i64> = current.iter().map(|r| r.seq).collect();
            labelled
                .iter()
                .filter(|l| seqs.contains(&l.0))
                .map(|l| (l.0, l.1))
                .collect()
        };
        let scored: Vec<Scored> = labelled.into_iter().flat_map(|l| l.2).collect();
        let options = DriftOptions::default();
        let enough = reference.len() >= s.min_rows && current.len() >= s.min_rows;
        if !enough {
            notes.push(format!(
                "drift needs at least {} decisions on each side: the reference has {}, the current window {}",
                s.min_rows,
                reference.len(),
                current.len()
            ));
        }
        let job_names = names.clone();
        let (data_drift, prediction_drift, fairness, (performance, period)) =
            tokio::task::spawn_blocking(move || {
                let (data, prediction) = if enough {
                    let data = drift::detect(&input_columns(&reference, &current), &options);
                    let pd = DriftColumn {
                        name: "probability_of_default".into(),
                        data: ColumnData::Numeric {
                            reference: reference.iter().map(|r| r.pd).collect(),
                            current: current.iter().map(|r| r.pd).collect(),
                        },
                    };
                    (Some(data), Some(drift::column_drift(&pd, &options)))
                } else {
                    (None, None)
                };
                let fairness = attribute_fairness(&current, &current_labels, &s);
                (
                    data,
                    prediction,
                    fairness,
                    performance(&scored, &job_names, &s),
                )
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("monitoring job: {e}")))?;
        let mut report = MonitoringReport {
            started_at,
            finished_at: self.now(),
            trigger: trigger.to_owned(),
            requested_by: requested_by.to_owned(),
            champion: champion_name,
            reference: reference_window,
            current: current_window,
            data_drift,
            prediction_drift,
            fairness,
            performance,
            period,
            alerts: Vec::new(),
            notes,
        };
        report.alerts = alerts_of(&report, &test_auc, &s);
        let id = self.store_run(&report).await?;
        self.export_gauges(&report);
        // Model staleness: when each serving version was registered.
        let mut trained = Vec::new();
        if let Some(p) = &pair {
            let serving = std::iter::once((Role::Champion, p.champion.meta.id))
                .chain(p.challenger.iter().map(|c| (Role::Challenger, c.meta.id)));
            for (role, id) in serving {
                if let Some(m) = crate::entity::model::Entity::find_by_id(id)
                    .one(self.db())
                    .await?
                {
                    trained.push((
                        vec![
                            ("role", role.as_str().to_owned()),
                            ("model", names.get(&id).cloned().unwrap_or_default()),
                        ],
                        m.created_at.timestamp() as f64,
                    ));
                }
            }
        }
        self.metrics()
            .set_gauges("lendscope_model_trained_timestamp_seconds", &trained);
        Ok(id)
    }

    /// Labelled decisions: (seq, defaulted, the labelled scores of every version that scored
    /// it — served and shadow).
    async fn labelled_scores(&self, limit: u64) -> ServiceResult<Vec<(i64, bool, Vec<Scored>)>> {
        let outcomes: Vec<(String, String)> = outcome::Entity::find()
            .select_only()
            .columns([outcome::Column::ApplicationId, outcome::Column::Outcome])
            .order_by_desc(outcome::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await?;
        let defaulted: BTreeMap<String, bool> = outcomes
            .into_iter()
            .map(|(a, o)| (a, o == "defaulted"))
            .collect();
        let ids: Vec<String> = defaulted.keys().cloned().collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<(String, i64, DateTime<Utc>, String)> = decision::Entity::find()
                .select_only()
                .columns([
                    decision::Column::ApplicationId,
                    decision::Column::Seq,
                    decision::Column::CreatedAt,
                    decision::Column::Content,
                ])
                .filter(decision::Column::ApplicationId.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.db())
                .await?;
            for (app, seq, at, content) in rows {
                let d = defaulted.get(&app).copied().unwrap_or(false);
                let st = stored(&content)?;
                let mut scores = Vec::new();
                if let (Some(m), Some(pd)) = (st.served_model, st.served_pd) {
                    scores.push(Scored {
                        model_id: m,
                        at,
                        pd,
                        defaulted: d,
                    });
                }
                if let (Some(m), Some(pd)) = (st.shadow_model, st.shadow_pd) {
                    scores.push(Scored {
                        model_id: m,
                        at,
                        pd,
                        defaulted: d,
                    });
                }
                out.push((seq, d, scores));
            }
        }
        out.sort_by_key(|x| x.0);
        Ok(out)
    }

    async fn store_run(&self, report: &MonitoringReport) -> ServiceResult<i64> {
        let (drifted, tested, dataset) = report.data_drift.as_ref().map_or((0, 0, false), |d| {
            (
                d.drifted_columns as i32,
                d.tested_columns as i32,
                d.dataset_drift,
            )
        });
        let row = monitoring_run::ActiveModel {
            id: NotSet,
            started_at: Set(report.started_at),
            finished_at: Set(report.finished_at),
            trigger: Set(report.trigger.clone()),
            requested_by: Set(report.requested_by.clone()),
            reference_rows: Set(report.reference.rows as i64),
            current_rows: Set(report.current.rows as i64),
            dataset_drift: Set(dataset),
            drifted_features: Set(drifted),
            tested_features: Set(tested),
            alerts: Set(report.alerts.len() as i32),
            report_json: Set(serde_json::to_string(report)
                .map_err(|e| ServiceError::Internal(format!("monitoring report: {e}")))?),
        };
        let saved = monitoring_run::Entity::insert(row).exec(self.db()).await?;
        Ok(saved.last_insert_id)
    }

    /// The newest runs (for the list), newest first.
    pub async fn monitoring_runs(&self, limit: u64) -> ServiceResult<Vec<RunSummary>> {
        Ok(monitoring_run::Entity::find()
            .order_by_desc(monitoring_run::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .iter()
            .map(RunSummary::from)
            .collect())
    }

    /// A stored run's report; `None` as id means the newest run.
    pub async fn monitoring_report(
        &self,
        id: Option<i64>,
    ) -> ServiceResult<Option<(RunSummary, MonitoringReport)>> {
        let row = match id {
            Some(id) => {
                monitoring_run::Entity::find_by_id(id)
                    .one(self.db())
                    .await?
            }
            None => {
                monitoring_run::Entity::find()
                    .order_by_desc(monitoring_run::Column::Id)
                    .one(self.db())
                    .await?
            }
        };
        match row {
            None if id.is_some() => Err(ServiceError::NotFound("monitoring run")),
            None => Ok(None),
            Some(r) => {
                let report: MonitoringReport =
                    serde_json::from_str(&r.report_json).map_err(|e| {
                        ServiceError::Internal(format!("stored monitoring run {}: {e}", r.id))
                    })?;
                Ok(Some((RunSummary::from(&r), report)))
            }
        }
    }

    /// Publishes a run's figures as Prometheus gauges (replacing the previous run's).
    pub fn export_gauges(&self, report: &MonitoringReport) {
        let m = self.metrics();
        let mut detected = Vec::new();
        let mut score = Vec::new();
        let mut psi = Vec::new();
        let drift_columns = report
            .data_drift
            .iter()
            .flat_map(|d| d.columns.iter())
            .chain(report.prediction_drift.iter());
        for c in drift_columns {
            let labels = vec![("feature", c.column.clone())];
            if let Some(d) = c.drifted {
                detected.push((labels.clone(), f64::from(u8::from(d))));
            }
            if let (Some(s), Some(t)) = (c.statistic, c.test) {
                let mut l = labels.clone();
                l.push(("test", enum_name(&t)));
                score.push((l, s));
            }
            if let Some(p) = c.psi {
                psi.push((labels, p));
            }
        }
        m.set_gauges("lendscope_drift_detected", &detected);
        m.set_gauges("lendscope_drift_score", &score);
        m.set_gauges("lendscope_feature_psi", &psi);
        m.set_gauges(
            "lendscope_dataset_drift_share",
            &report
                .data_drift
                .as_ref()
                .and_then(|d| d.drift_share)
                .map(|s| vec![(Vec::new(), s)])
                .unwrap_or_default(),
        );
        let (mut diff, mut ratio) = (Vec::new(), Vec::new());
        for f in &report.fairness {
            if let Some(r) = &f.report {
                diff.push((
                    vec![("attribute", f.attribute.clone())],
                    r.demographic_parity_difference,
                ));
                ratio.push((
                    vec![("attribute", f.attribute.clone())],
                    r.demographic_parity_ratio,
                ));
            }
        }
        m.set_gauges("lendscope_fairness_parity_difference", &diff);
        m.set_gauges("lendscope_fairness_parity_ratio", &ratio);
        let overall = report.performance.iter().filter(|p| p.period == "all");
        let (mut auc, mut ks) = (Vec::new(), Vec::new());
        for p in overall {
            let l = vec![("model", p.model.clone())];
            if let Some(a) = p.auc {
                auc.push((l.clone(), a));
            }
            if let Some(k) = p.ks {
                ks.push((l, k));
            }
        }
        m.set_gauges("lendscope_realized_auc", &auc);
        m.set_gauges("lendscope_realized_ks", &ks);
        let mut kinds: BTreeMap<&str, f64> = [
            "data_drift",
            "feature_drift",
            "prediction_drift",
            "psi",
            "fairness",
            "performance",
        ]
        .into_iter()
        .map(|k| (k, 0.0))
        .collect();
        for a in &report.alerts {
            *kinds.entry(a.kind.as_str()).or_default() += 1.0;
        }
        m.set_gauges(
            "lendscope_monitoring_alerts",
            &kinds
                .into_iter()
                .map(|(k, v)| (vec![("kind", k.to_owned())], v))
                .collect::<Vec<_>>(),
        );
        m.set_gauges(
            "lendscope_monitoring_last_run_timestamp_seconds",
            &[(Vec::new(), report.finished_at.timestamp() as f64)],
        );
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn list_row(r: &RunSummary) -> RunListRow {
    RunListRow {
        id: r.id,
        finished_at: stamp(r.finished_at),
        trigger: r.trigger.clone(),
        requested_by: r.requested_by.clone(),
        reference_rows: r.reference_rows,
        current_rows: r.current_rows,
        dataset_drift: r.dataset_drift,
        drifted_features: r.drifted_features,
        tested_features: r.tested_features,
        alerts: r.alerts,
    }
}

fn enum_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn feature_row(c: &ColumnDrift) -> FeatureDriftRow {
    FeatureDriftRow {
        column: c.column.clone(),
        kind: enum_name(&c.kind),
        test: c.test.map(|t| t.label().to_owned()),
        statistic: c.statistic,
        threshold: c.threshold,
        drifted: c.drifted,
        psi: c.psi,
        psi_band: c.psi_band.map(|b| enum_name(&b)),
        missing: format!("{} / {}", c.reference_missing, c.current_missing),
        note: c.not_computable.clone(),
    }
}

fn histogram_svg(c: &ColumnDrift) -> Option<String> {
    let bins = c.bins.as_ref()?;
    let desc = match (&bins.edges, bins.labels.first(), bins.labels.last()) {
        (Some(e), _, _) if e.len() >= 2 => format!(
            "{} ({} bins from {:.4} to {:.4})",
            c.column,
            e.len() - 1,
            e[0],
            e[e.len() - 1]
        ),
        (_, Some(first), Some(last)) => format!("{} ({} … {})", c.column, first, last),
        _ => c.column.clone(),
    };
    lendscope_charts::quality::overlaid_shares(
        ("reference", &bins.reference),
        ("current", &bins.current),
        &desc,
        520,
        260,
    )
    .ok()
}

fn run_view(summary: &RunSummary, r: &MonitoringReport) -> RunView {
    use lendscope_charts::monitoring::{bars, over_periods, Bar};
    let window_text = |w: &Window| match (w.from, w.to) {
        (Some(a), Some(b)) => format!("{} ({} to {})", w.description, stamp(a), stamp(b)),
        _ => w.description.clone(),
    };
    let features: Vec<FeatureDriftRow> = r
        .data_drift
        .iter()
        .flat_map(|d| d.columns.iter())
        .map(feature_row)
        .collect();
    let psi_svg = r.data_drift.as_ref().and_then(|d| {
        let items: Vec<Bar> = d
            .columns
            .iter()
            .filter_map(|c| {
                c.psi.map(|p| Bar {
                    label: c.column.clone(),
                    value: p,
                    flagged: p >= 0.25 || c.drifted == Some(true),
                })
            })
            .collect();
        bars(
            &items,
            &[(0.1, "0.1"), (0.25, "0.25")],
            "PSI (red: drift or PSI ≥ 0.25)",
            false,
            640,
        )
        .ok()
    });
    let mut by_psi: Vec<&ColumnDrift> = r
        .data_drift
        .iter()
        .flat_map(|d| d.columns.iter())
        .filter(|c| c.psi.is_some())
        .collect();
    by_psi.sort_by(|a, b| b.psi.unwrap_or(0.0).total_cmp(&a.psi.unwrap_or(0.0)));
    let histograms = by_psi
        .iter()
        .take(6)
        .filter_map(|c| histogram_svg(c).map(|svg| (c.column.clone(), svg)))
        .collect();
    let fairness = r
        .fairness
        .iter()
        .map(|f| {
            let rep = f.report.as_ref();
            let groups: Vec<(String, usize, f64)> = rep
                .map(|r| {
                    r.groups
                        .iter()
                        .map(|g| (g.group.clone(), g.members, g.selection_rate))
                        .collect()
                })
                .unwrap_or_default();
            let alert = rep.is_some_and(|r| r.demographic_parity_difference >= fairness::ALERT_GAP);
            let svg = rep.and_then(|r| {
                let max = r
                    .groups
                    .iter()
                    .map(|g| g.selection_rate)
                    .fold(0.0, f64::max);
                let items: Vec<Bar> = r
                    .groups
                    .iter()
                    .map(|g| Bar {
                        label: format!("{} ({})", g.group, g.members),
                        value: g.selection_rate,
                        flagged: max - g.selection_rate >= fairness::ALERT_GAP,
                    })
                    .collect();
                let floor = (max - fairness::ALERT_GAP).max(0.0);
                bars(
                    &items,
                    &[(floor, "10-point gap")],
                    "approval rate",
                    true,
                    560,
                )
                .ok()
            });
            let outcomes = f.with_outcomes.as_ref();
            FairnessView {
                attribute: f.attribute.clone(),
                groups,
                parity_difference: rep.map(|r| r.demographic_parity_difference),
                parity_ratio: rep.map(|r| r.demographic_parity_ratio),
                four_fifths_violated: rep.is_some_and(|r| r.four_fifths_violated),
                equal_opportunity_difference: outcomes.and_then(|r| r.equal_opportunity_difference),
                equalized_odds_difference: outcomes.and_then(|r| r.equalized_odds_difference),
                alert,
                notes: f.notes.clone(),
                svg,
            }
        })
        .collect();
    let performance: Vec<PerformanceView> = r
        .performance
        .iter()
        .map(|p| PerformanceView {
            model: p.model.clone(),
            period: p.period.clone(),
            rows: p.rows,
            defaults: p.defaults,
            auc: p.auc,
            ks: p.ks,
            gini: p.gini,
            brier: p.brier,
            mean_pd: p.mean_pd,
            default_rate: p.default_rate,
            note: p.note.clone(),
        })
        .collect();
    let periods: Vec<String> = {
        let set: std::collections::BTreeSet<String> = r
            .performance
            .iter()
            .filter(|p| p.period != "all")
            .map(|p| p.period.clone())
            .collect();
        set.into_iter().collect()
    };
    let mut models: Vec<String> = r.performance.iter().map(|p| p.model.clone()).collect();
    models.dedup();
    let series: Vec<(String, Vec<Option<f64>>)> = models
        .iter()
        .map(|m| {
            let values = periods
                .iter()
                .map(|period| {
                    r.performance
                        .iter()
                        .find(|p| &p.model == m && &p.period == period)
                        .and_then(|p| p.auc)
                })
                .collect();
            (m.clone(), values)
        })
        .filter(|(_, v): &(String, Vec<Option<f64>>)| v.iter().any(Option::is_some))
        .collect();
    // Over time once there are two periods; before that, one bar per version.
    let performance_svg = if periods.len() >= 2 && !series.is_empty() {
        over_periods(&periods, &series, (0.5, 1.0), "realized AUC", 640, 300).ok()
    } else {
        let items: Vec<Bar> = r
            .performance
            .iter()
            .filter(|p| p.period == "all")
            .filter_map(|p| {
                p.auc.map(|auc| Bar {
                    label: p.model.clone(),
                    value: auc,
                    flagged: false,
                })
            })
            .collect();
        (!items.is_empty())
            .then(|| {
                bars(
                    &items,
                    &[(0.5, "chance")],
                    "realized AUC (one period so far)",
                    false,
                    560,
                )
                .ok()
            })
            .flatten()
    };
    let calibration = r
        .performance
        .iter()
        .filter(|p| p.period == "all" && !p.calibration.is_empty())
        .filter_map(|p| {
            let bins: Vec<(f64, f64)> = p.calibration.iter().map(|b| (b.0, b.1)).collect();
            lendscope_charts::quality::calibration(&bins, 320)
                .ok()
                .map(|svg| (p.model.clone(), svg))
        })
        .collect();
    let dataset_verdict = r.data_drift.as_ref().map(|d| {
        format!(
            "{} of {} inputs drifted{}: {} (threshold: half)",
            d.drifted_columns,
            d.tested_columns,
            d.drift_share
                .map_or_else(String::new, |s| format!(" ({:.1} %)", s * 100.0)),
            if d.dataset_drift {
                "dataset drift"
            } else {
                "no dataset drift"
            }
        )
    });
    RunView {
        summary: list_row(summary),
        champion: r.champion.clone().unwrap_or_else(|| "none".to_owned()),
        reference: window_text(&r.reference),
        current: window_text(&r.current),
        alerts: r
            .alerts
            .iter()
            .map(|a| AlertView {
                kind: a.kind.clone(),
                severity: a.severity.clone(),
                subject: a.subject.clone(),
                message: a.message.clone(),
            })
            .collect(),
        dataset_verdict,
        features,
        psi_svg,
        histograms,
        prediction: r.prediction_drift.as_ref().map(feature_row),
        prediction_svg: r.prediction_drift.as_ref().and_then(histogram_svg),
        fairness,
        period: r.period.clone(),
        performance,
        performance_svg,
        calibration,
        notes: r.notes.clone(),
    }
}

impl Services {
    /// The monitoring page: the newest runs and one run in full (the newest by default).
    pub async fn monitoring_view(&self, run: Option<i64>) -> ServiceResult<MonitoringView> {
        let runs = self.monitoring_runs(50).await?;
        let selected = match self.monitoring_report(run).await? {
            Some((summary, report)) => Some(
                tokio::task::spawn_blocking(move || run_view(&summary, &report))
                    .await
                    .map_err(|e| ServiceError::Internal(format!("monitoring view: {e}")))?,
            ),
            None => None,
        };
        let s = self.monitoring_settings();
        Ok(MonitoringView {
            runs: runs.iter().map(list_row).collect(),
            selected,
            interval_secs: s.interval_secs,
            window: s.window,
        })
    }
}
