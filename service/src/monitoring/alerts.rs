//! The alerts a run raises from its drift, fairness and performance figures.

use lendscope_domain::AlertSeverity;
use std::collections::BTreeMap;

use lendscope_model::fairness;

use super::report::{Alert, MonitoringReport};
use super::settings::MonitoringSettings;

pub(super) fn alerts_of(
    report: &MonitoringReport,
    test_auc: &BTreeMap<i64, f64>,
    s: &MonitoringSettings,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let mut push = |kind: &str, severity: AlertSeverity, subject: &str, message: String| {
        alerts.push(Alert {
            kind: kind.to_owned(),
            severity,
            subject: subject.to_owned(),
            message,
        });
    };
    if let Some(d) = &report.data_drift {
        if d.dataset_drift {
            push(
                "data_drift",
                AlertSeverity::Critical,
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
                    AlertSeverity::Warning,
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
                    AlertSeverity::Warning,
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
                AlertSeverity::Critical,
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
                    AlertSeverity::Critical,
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
                    AlertSeverity::Warning,
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
                    AlertSeverity::Critical,
                    &p.model,
                    format!(
                        "realized AUC {auc:.3} is more than {} below the test AUC {test:.3}",
                        s.auc_drop_alert
                    ),
                );
            }
        }
    }
    // Performance estimated before outcomes: the newest chunk of each version that still
    // scores (its newest loan is in the current window).
    let current_from = report.current.first_seq.unwrap_or(i64::MAX);
    for v in &report.estimated {
        let Some(c) = v.chunks.last().filter(|c| c.last_seq >= current_from) else {
            continue;
        };
        let e = &c.estimate;
        let span = format!(
            "the newest {} loans scored by it ({} to {})",
            e.rows,
            c.from.format("%Y-%m-%d"),
            c.to.format("%Y-%m-%d")
        );
        let range = |t: Option<lendscope_model::cbpe::Thresholds>| {
            let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
            t.map_or_else(String::new, |t| format!("{}–{}", f(t.lower), f(t.upper)))
        };
        for (what, est, thresholds) in [
            ("estimated ROC AUC", &e.roc_auc, v.roc_auc_thresholds),
            (
                "expected default rate",
                &e.default_rate,
                v.default_rate_thresholds,
            ),
        ] {
            if let (true, Some(value)) = (est.alert, est.value) {
                push(
                    "estimated_performance",
                    AlertSeverity::Warning,
                    &v.model,
                    format!(
                        "{what} {value:.3} in {span} is outside the reference's range {}",
                        range(thresholds)
                    ),
                );
            }
        }
    }
    alerts
}
