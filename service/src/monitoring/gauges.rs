//! A run's figures as Prometheus gauges.

use std::collections::BTreeMap;

use super::report::{enum_name, MonitoringReport};
use crate::Services;

impl Services {
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
        let (mut est_auc, mut est_rate) = (Vec::new(), Vec::new());
        for v in &report.estimated {
            if let Some(c) = v.chunks.last() {
                let l = vec![("model", v.model.clone())];
                if let Some(a) = c.estimate.roc_auc.value {
                    est_auc.push((l.clone(), a));
                }
                if let Some(r) = c.estimate.default_rate.value {
                    est_rate.push((l, r));
                }
            }
        }
        m.set_gauges("lendscope_estimated_auc", &est_auc);
        m.set_gauges("lendscope_expected_default_rate", &est_rate);
        let mut kinds: BTreeMap<&str, f64> = [
            "data_drift",
            "feature_drift",
            "prediction_drift",
            "psi",
            "fairness",
            "performance",
            "estimated_performance",
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
