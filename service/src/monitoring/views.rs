//! What the monitoring page shows: the list of runs and one run in full, with its charts
//! (SVG from the charts crate).

use chrono::{DateTime, Utc};
use lendscope_domain::monitoring::{
    AlertView, EstimatedChunkView, EstimatedView, FairnessView, FeatureDriftRow, MonitoringView,
    PerformanceView, RunListRow, RunView,
};
use lendscope_model::cbpe::Thresholds;
use lendscope_model::drift::ColumnDrift;
use lendscope_model::fairness;

use super::report::{enum_name, EstimatedVersion, MonitoringReport, Window};
use super::store::RunSummary;
use crate::error::{ServiceError, ServiceResult};
use crate::Services;

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

/// A version's estimates as the page shows them: the basis, the thresholds, a row and a chart
/// point per chunk.
fn estimated_view(v: &EstimatedVersion) -> EstimatedView {
    use lendscope_charts::monitoring::{estimated, EstimatedSeries};
    let f3 = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
    let range = |t: Option<Thresholds>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| format!("{}–{}", f3(t.lower), f3(t.upper)),
        )
    };
    let chunks: Vec<EstimatedChunkView> = v
        .chunks
        .iter()
        .map(|c| {
            let e = &c.estimate;
            let band = |x: &lendscope_model::cbpe::Estimate| x.lower_band.zip(x.upper_band);
            EstimatedChunkView {
                decisions: format!(
                    "#{}–#{} ({} to {}){}",
                    c.first_seq,
                    c.last_seq,
                    c.from.format("%Y-%m-%d"),
                    c.to.format("%Y-%m-%d"),
                    if c.in_reference > 0 {
                        format!("; {} in the reference (in-sample)", c.in_reference)
                    } else {
                        String::new()
                    }
                ),
                rows: e.rows,
                labelled: e.labelled,
                auc: e.roc_auc.value,
                auc_band: band(&e.roc_auc),
                realized_auc: e.roc_auc.realized,
                default_rate: e.default_rate.value,
                default_rate_band: band(&e.default_rate),
                realized_default_rate: e.default_rate.realized,
                auc_alert: e.roc_auc.alert,
                default_rate_alert: e.default_rate.alert,
            }
        })
        .collect();
    let svg = (!v.chunks.is_empty())
        .then(|| {
            let labels: Vec<String> = v
                .chunks
                .iter()
                .map(|c| format!("#{}", c.last_seq))
                .collect();
            let t = |x: Option<Thresholds>| x.map_or((None, None), |t| (t.lower, t.upper));
            let series = [
                EstimatedSeries {
                    name: "ROC AUC".into(),
                    estimate: chunks.iter().map(|c| c.auc).collect(),
                    band: chunks.iter().map(|c| c.auc_band).collect(),
                    realized: chunks.iter().map(|c| c.realized_auc).collect(),
                    thresholds: t(v.roc_auc_thresholds),
                    alerts: chunks.iter().map(|c| c.auc_alert).collect(),
                },
                EstimatedSeries {
                    name: "default rate".into(),
                    estimate: chunks.iter().map(|c| c.default_rate).collect(),
                    band: chunks.iter().map(|c| c.default_rate_band).collect(),
                    realized: chunks.iter().map(|c| c.realized_default_rate).collect(),
                    thresholds: t(v.default_rate_thresholds),
                    alerts: chunks.iter().map(|c| c.default_rate_alert).collect(),
                },
            ];
            estimated(&labels, &series, 640, 320).ok()
        })
        .flatten();
    EstimatedView {
        model: v.model.clone(),
        basis: format!(
            "fitted on the oldest {} labelled scores of this version ({} defaulted); calibration: {}; chunks of {} loans, the newest last",
            v.reference_rows,
            v.reference_defaults,
            if v.calibrated { "isotonic, fitted on them" } else { "none needed" },
            v.chunk_size
        ),
        thresholds: format!(
            "ROC AUC {}; default rate {}",
            range(v.roc_auc_thresholds),
            range(v.default_rate_thresholds)
        ),
        chunks,
        svg,
        note: v.note.clone(),
    }
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
                final_groups: f
                    .final_decisions
                    .as_ref()
                    .map(|r| {
                        r.groups
                            .iter()
                            .map(|g| (g.group.clone(), g.members, g.selection_rate))
                            .collect()
                    })
                    .unwrap_or_default(),
                final_parity_difference: f
                    .final_decisions
                    .as_ref()
                    .map(|r| r.demographic_parity_difference),
                final_decided: f.final_decided,
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
                severity: a.severity,
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
        estimated: r.estimated.iter().map(estimated_view).collect(),
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
