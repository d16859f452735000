//! Realized performance per model version, overall and per period, once outcomes exist.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lendscope_model::metrics;

use super::report::PerformanceRow;
use super::settings::MonitoringSettings;
use super::windows::Scored;

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
pub(super) fn performance(
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
