//! Prometheus metrics: a small registry of labelled counters and histograms, rendered in the
//! text exposition format. Shared by the service layer (decisions, commits) and the HTTP layer
//! (request latency, errors).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Latency buckets in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Stage latency buckets in seconds: finer below a millisecond than [`LATENCY_BUCKETS`].
pub const STAGE_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
];
/// Probability-of-default buckets.
pub const PD_BUCKETS: &[f64] = &[0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0];
/// Points-scale scores.
pub const SCORE_BUCKETS: &[f64] = &[
    450.0, 500.0, 540.0, 570.0, 600.0, 630.0, 660.0, 700.0, 750.0,
];
/// Group-commit batch sizes.
pub const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The metrics Lendscope exports, with their help text.
pub const HELP: &[(&str, &str, &str)] = &[
    (
        "lendscope_http_request_duration_seconds",
        "histogram",
        "HTTP request latency by route, method and status class",
    ),
    (
        "lendscope_http_errors_total",
        "counter",
        "HTTP error answers by route and kind",
    ),
    (
        "lendscope_http_shed_total",
        "counter",
        "Requests refused with 503 by load shedding, by route",
    ),
    (
        "lendscope_http_queued_total",
        "counter",
        "Requests that waited for a scoring slot (then served or shed), by route",
    ),
    (
        "lendscope_decisions_total",
        "counter",
        "Decisions by outcome, model version and role",
    ),
    (
        "lendscope_probability_of_default",
        "histogram",
        "Probability of default of served decisions",
    ),
    (
        "lendscope_shadow_comparisons_total",
        "counter",
        "Decisions scored by both champion and challenger",
    ),
    (
        "lendscope_shadow_disagreements_total",
        "counter",
        "Shadow comparisons where the two models' decisions differ",
    ),
    (
        "lendscope_shadow_failures_total",
        "counter",
        "Decisions whose shadow model failed (the live decision stood), by served role",
    ),
    (
        "lendscope_model_integrity_failures_total",
        "counter",
        "Model versions refused at load because their stored artifact no longer matches its hash",
    ),
    (
        "lendscope_decision_commit_seconds",
        "histogram",
        "Latency of one durable group commit of decisions",
    ),
    (
        "lendscope_decision_stage_seconds",
        "histogram",
        "Wall time of one new decision by stage: idempotency, model (queue included), build, commit (queue included); api_key counts every API-key request",
    ),
    (
        "lendscope_decision_commit_batch_size",
        "histogram",
        "Decisions per group commit",
    ),
    (
        "lendscope_drift_detected",
        "gauge",
        "1 when the last monitoring run found drift in a feature (or the prediction), else 0",
    ),
    (
        "lendscope_drift_score",
        "gauge",
        "The drift test's statistic per feature in the last monitoring run (p-value or distance)",
    ),
    (
        "lendscope_feature_psi",
        "gauge",
        "Population stability index per feature (and the prediction) in the last monitoring run",
    ),
    (
        "lendscope_dataset_drift_share",
        "gauge",
        "Share of tested features that drifted in the last monitoring run",
    ),
    (
        "lendscope_fairness_parity_difference",
        "gauge",
        "Demographic parity difference of approvals per protected attribute (last run)",
    ),
    (
        "lendscope_fairness_parity_ratio",
        "gauge",
        "Demographic parity ratio of approvals per protected attribute (last run)",
    ),
    (
        "lendscope_realized_auc",
        "gauge",
        "Realized AUC per model version over labelled decisions (last run)",
    ),
    (
        "lendscope_realized_ks",
        "gauge",
        "Realized KS statistic per model version over labelled decisions (last run)",
    ),
    (
        "lendscope_estimated_auc",
        "gauge",
        "ROC AUC estimated before outcomes (CBPE) per model version, newest chunk (last run)",
    ),
    (
        "lendscope_expected_default_rate",
        "gauge",
        "Default rate expected from calibrated probabilities per model version, newest chunk (last run)",
    ),
    (
        "lendscope_monitoring_alerts",
        "gauge",
        "Open alerts of the last monitoring run by kind",
    ),
    (
        "lendscope_monitoring_last_run_timestamp_seconds",
        "gauge",
        "Unix time at which the last monitoring run finished",
    ),
    (
        "lendscope_model_trained_timestamp_seconds",
        "gauge",
        "Unix time at which each serving model version was registered, by role",
    ),
];

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Clone)]
struct Histogram {
    buckets: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
    gauges: BTreeMap<(&'static str, Labels), f64>,
}

#[derive(Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels_text(labels: &Labels, extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

impl Metrics {
    pub fn inc(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        self.add(name, labels, 1);
    }

    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], n: u64) {
        let key = (
            name,
            labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        );
        if let Ok(mut r) = self.registry.lock() {
            *r.counters.entry(key).or_default() += n;
        }
    }

    pub fn observe(
        &self,
        name: &'static str,
        buckets: &'static [f64],
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        let key = (
            name,
            labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        );
        if let Ok(mut r) = self.registry.lock() {
            let h = r.histograms.entry(key).or_insert_with(|| Histogram {
                buckets,
                counts: vec![0; buckets.len()],
                sum: 0.0,
                count: 0,
            });
            if let Some(i) = h.buckets.iter().position(|b| value <= *b) {
                h.counts[i] += 1;
            }
            h.sum += value;
            h.count += 1;
        }
    }

    /// Records the wall time of one stage of a new decision since `started`.
    pub fn stage(&self, stage: &'static str, started: std::time::Instant) {
        self.observe(
            "lendscope_decision_stage_seconds",
            STAGE_BUCKETS,
            &[("stage", stage)],
            started.elapsed().as_secs_f64(),
        );
    }

    /// Replaces every series of the gauge `name` (a monitoring run's figures replace the
    /// previous run's, so features or versions that went away do not linger).
    pub fn set_gauges(&self, name: &'static str, series: &[(Vec<(&'static str, String)>, f64)]) {
        if let Ok(mut r) = self.registry.lock() {
            r.gauges.retain(|(n, _), _| *n != name);
            for (labels, v) in series {
                if v.is_finite() {
                    r.gauges.insert((name, labels.clone()), *v);
                }
            }
        }
    }

    /// The current value of a gauge series (for tests).
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.registry.lock().ok().and_then(|r| {
            r.gauges
                .iter()
                .find(|((n, l), _)| {
                    *n == name
                        && labels
                            .iter()
                            .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(_, v)| *v)
        })
    }

    /// The current value of a counter (for tests).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.registry.lock().map_or(0, |r| {
            r.counters
                .iter()
                .filter(|((n, l), _)| {
                    *n == name
                        && labels
                            .iter()
                            .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(_, c)| *c)
                .sum()
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let Ok(r) = self.registry.lock() else {
            return String::new();
        };
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, labels), v) in &r.counters {
                if n == name {
                    let _ = writeln!(out, "{name}{} {v}", labels_text(labels, None));
                }
            }
            for ((n, labels), v) in &r.gauges {
                if n == name {
                    let _ = writeln!(out, "{name}{} {v}", labels_text(labels, None));
                }
            }
            for ((n, labels), h) in &r.histograms {
                if n != name {
                    continue;
                }
                let mut cumulative = 0;
                for (b, c) in h.buckets.iter().zip(&h.counts) {
                    cumulative += c;
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {cumulative}",
                        labels_text(labels, Some(("le", b.to_string())))
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    labels_text(labels, Some(("le", "+Inf".to_owned()))),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", labels_text(labels, None), h.sum);
                let _ = writeln!(out, "{name}_count{} {}", labels_text(labels, None), h.count);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let m = Metrics::default();
        m.inc(
            "lendscope_decisions_total",
            &[("decision", "approve"), ("role", "champion")],
        );
        m.inc(
            "lendscope_decisions_total",
            &[("decision", "approve"), ("role", "champion")],
        );
        m.observe(
            "lendscope_decision_commit_seconds",
            LATENCY_BUCKETS,
            &[],
            0.003,
        );
        m.observe(
            "lendscope_decision_commit_seconds",
            LATENCY_BUCKETS,
            &[],
            7.0,
        );
        let text = m.render();
        assert!(
            text.contains("lendscope_decisions_total{decision=\"approve\",role=\"champion\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("lendscope_decision_commit_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("lendscope_decision_commit_seconds_bucket{le=\"+Inf\"} 2"),
            "{text}"
        );
        assert!(text.contains("lendscope_decision_commit_seconds_count 2"));
        assert!(text.contains("# TYPE lendscope_decisions_total counter"));
        assert_eq!(
            m.counter("lendscope_decisions_total", &[("decision", "approve")]),
            2
        );
    }
}
