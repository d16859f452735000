//! Performance estimated before outcomes arrive (CBPE, [`lendscope_model::cbpe`]), per
//! version — served and shadow scores alike, so champion and challenger are estimated on the
//! same applications.
//!
//! The population is the loans made: outcomes arrive only for applications whose final
//! decision (the officer's, else the automated one) approved them, so the estimator is fitted
//! on, and applied to, that population alone — the estimates then describe the same rows the
//! realized figures will (declined applicants' outcomes are the business of reject inference
//! in retraining).
//!
//! For each version the estimator is fitted on its oldest labelled scores (up to the job's
//! window), which give the calibration, the sampling error and the thresholds; it is then
//! applied to the version's scores of the loans among the newest decisions, cut in decision
//! order into chunks that end with the newest one. Each chunk shows the estimated ROC AUC and
//! default rate with their bands, where the chunk has outcomes the realized figures on those
//! rows, and how many of its loans the estimator was fitted on (there the estimate is
//! in-sample).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lendscope_model::cbpe::{size_chunks_merged, Cbpe};

use super::report::{EstimatedChunk, EstimatedVersion};
use super::settings::MonitoringSettings;
use super::windows::{Scored, Scores};

/// Fewest chunks the reference is cut into for the thresholds.
const REFERENCE_CHUNKS: usize = 4;

/// One version's score of one decision.
struct Row {
    seq: i64,
    at: DateTime<Utc>,
    pd: f64,
    defaulted: Option<bool>,
}

pub(super) fn estimated_performance(
    recent: &[Scores],
    labels: &BTreeMap<i64, bool>,
    labelled: &[Scored],
    names: &BTreeMap<i64, String>,
    s: &MonitoringSettings,
) -> Vec<EstimatedVersion> {
    let mut rows: BTreeMap<i64, Vec<Row>> = BTreeMap::new();
    // Loans: approved by the final decision, or with an outcome (which only a loan has).
    let loans = recent
        .iter()
        .filter(|d| d.approved == Some(true) || labels.contains_key(&d.seq));
    for d in loans {
        for &(model, pd) in &d.scores {
            rows.entry(model).or_default().push(Row {
                seq: d.seq,
                at: d.at,
                pd,
                defaulted: labels.get(&d.seq).copied(),
            });
        }
    }
    rows.into_iter()
        .map(|(id, rows)| {
            let name = names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("model {id}"));
            version(id, name, &rows, labelled, s)
        })
        .collect()
}

fn version(
    id: i64,
    model: String,
    rows: &[Row],
    labelled: &[Scored],
    s: &MonitoringSettings,
) -> EstimatedVersion {
    let reference: Vec<&Scored> = labelled
        .iter()
        .filter(|x| x.model_id == id)
        .take(s.window)
        .collect();
    let (scores, outcomes): (Vec<f64>, Vec<bool>) =
        reference.iter().map(|x| (x.pd, x.defaulted)).unzip();
    let reference_seqs: std::collections::HashSet<i64> = reference.iter().map(|x| x.seq).collect();
    let defaults = outcomes.iter().filter(|&&d| d).count();
    let mut out = EstimatedVersion {
        model_id: id,
        model,
        reference_rows: scores.len(),
        reference_defaults: defaults,
        calibrated: false,
        chunk_size: 0,
        roc_auc_thresholds: None,
        default_rate_thresholds: None,
        chunks: Vec::new(),
        note: None,
    };
    let needed = REFERENCE_CHUNKS * s.min_labelled;
    if scores.len() < needed || defaults == 0 || defaults == scores.len() {
        out.note = Some(format!(
            "{} outcomes ({defaults} defaulted) to fit on: needs at least {needed} with both outcomes",
            scores.len()
        ));
        return out;
    }
    // At most `estimate_chunk`, at least `min_labelled` (whichever settings are in force).
    let chunk = (scores.len() / REFERENCE_CHUNKS)
        .min(s.estimate_chunk.max(1))
        .max(s.min_labelled.max(1));
    let cbpe = match Cbpe::fit(&scores, &outcomes, &size_chunks_merged(scores.len(), chunk)) {
        Ok(c) => c,
        Err(e) => {
            out.note = Some(format!("not computable: {e}"));
            return out;
        }
    };
    out.calibrated = cbpe.calibration.is_some();
    out.chunk_size = chunk;
    out.roc_auc_thresholds = Some(cbpe.roc_auc_thresholds);
    out.default_rate_thresholds = Some(cbpe.default_rate_thresholds);
    // Chunks counted back from the newest decision: the newest chunk is full, and a short
    // remainder joins the oldest one. Fewer loans than half a chunk say nothing.
    let n = rows.len();
    if n * 2 < chunk {
        out.note = Some(format!(
            "{n} loans scored among the decisions read: fewer than half a chunk of {chunk}"
        ));
        return out;
    }
    let mut ranges: Vec<std::ops::Range<usize>> = size_chunks_merged(n, chunk)
        .into_iter()
        .map(|r| n - r.end..n - r.start)
        .collect();
    ranges.reverse();
    for r in ranges {
        let part = &rows[r.clone()];
        let pds: Vec<f64> = part.iter().map(|x| x.pd).collect();
        let known: Vec<Option<bool>> = part.iter().map(|x| x.defaulted).collect();
        match cbpe.estimate(r.start, &pds, &known) {
            Ok(estimate) => out.chunks.push(EstimatedChunk {
                first_seq: part[0].seq,
                last_seq: part[part.len() - 1].seq,
                in_reference: part
                    .iter()
                    .filter(|x| reference_seqs.contains(&x.seq))
                    .count(),
                from: part[0].at,
                to: part[part.len() - 1].at,
                estimate,
            }),
            Err(e) => {
                out.note = Some(format!("not computable: {e}"));
                out.chunks.clear();
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    /// A deterministic spread of probabilities with outcomes drawn at those probabilities.
    fn spread(n: usize, seed: u64) -> Vec<(f64, bool)> {
        let mut x = seed;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let p = 0.02 + 0.9 * next() * next();
                (p, next() < p)
            })
            .collect()
    }

    #[test]
    fn chunks_end_with_the_newest_decision_and_a_crowded_chunk_alerts() {
        let s = MonitoringSettings::default();
        let reference = spread(2_000, 7);
        let labelled: Vec<Scored> = reference
            .iter()
            .enumerate()
            .map(|(i, &(pd, defaulted))| Scored {
                model_id: 1,
                seq: -(i as i64),
                at: at(1),
                pd,
                defaulted,
            })
            .collect();
        // 1,700 newer decisions: the last 500 crowd their probabilities together.
        let mut recent = Vec::new();
        for (i, (pd, _)) in spread(1_700, 9).into_iter().enumerate() {
            let pd = if i >= 1_200 { 0.3 + pd / 10.0 } else { pd };
            recent.push(Scores {
                seq: i as i64 + 1,
                at: at(2 + (i / 500) as u32),
                scores: vec![(1, pd), (2, pd)],
                approved: Some(true),
            });
        }
        // Declined and undecided applications are not loans: left out.
        for (k, approved) in [Some(false), None].into_iter().enumerate() {
            recent.push(Scores {
                seq: 1_701 + k as i64,
                at: at(6),
                scores: vec![(1, 0.9), (2, 0.9)],
                approved,
            });
        }
        let labels: BTreeMap<i64, bool> = (1..=300).map(|seq| (seq, seq % 4 == 0)).collect();
        let names = BTreeMap::from([(1, "credit v1".to_owned())]);
        let v = estimated_performance(&recent, &labels, &labelled, &names, &s);
        assert_eq!(v.len(), 2);
        let one = &v[0];
        assert_eq!((one.model.as_str(), one.chunk_size), ("credit v1", 500));
        assert_eq!(one.reference_rows, 2_000);
        // 1,700 loans: the remainder of 200 (under half a chunk) joins the oldest chunk.
        let sizes: Vec<usize> = one.chunks.iter().map(|c| c.estimate.rows).collect();
        assert_eq!(sizes, vec![700, 500, 500]);
        assert_eq!(one.chunks[2].last_seq, 1_700);
        assert_eq!(one.chunks[0].estimate.labelled, 300);
        assert!(one.chunks[0].estimate.roc_auc.realized.is_some());
        let newest = &one.chunks[2].estimate;
        assert!(newest.roc_auc.alert, "{newest:?}");
        assert!(!one.chunks[1].estimate.roc_auc.alert);
        assert_eq!(one.chunks[1].estimate.labelled, 0);
        assert!(
            one.chunks.iter().all(|c| c.in_reference == 0),
            "older labelled scores"
        );
        // 1,400 loans: a remainder of 400 is a chunk of its own.
        let w = estimated_performance(&recent[300..], &labels, &labelled, &names, &s);
        let sizes: Vec<usize> = w[0].chunks.iter().map(|c| c.estimate.rows).collect();
        assert_eq!(sizes, vec![400, 500, 500]);
        // Version 2 has no labelled scores of its own: no estimate, and it says why.
        assert!(v[1].chunks.is_empty());
        assert!(v[1].note.as_deref().unwrap_or("").contains("0 outcomes"));
    }
}
