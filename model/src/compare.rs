//! Comparing two models and two score distributions: ROC curve points, bootstrap confidence
//! intervals for AUC and KS (paired, so the difference between two models on the same rows
//! gets its own interval), the population stability index and histograms.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::metrics::{auc, ks};
use crate::ModelError;

/// Points of the ROC curve (false positive rate, true positive rate), from (0,0) to (1,1),
/// one point per distinct score (highest first), thinned to at most `max_points`.
pub fn roc_curve(
    scores: &[f64],
    labels: &[bool],
    max_points: usize,
) -> Result<Vec<(f64, f64)>, ModelError> {
    auc(scores, labels)?; // same checks: lengths, finiteness, both classes present
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]] == s {
            if labels[idx[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        points.push((fp / neg, tp / pos));
    }
    let max_points = max_points.max(2);
    if points.len() > max_points {
        let step = points.len() as f64 / (max_points - 1) as f64;
        let last = points.len() - 1;
        let mut thinned: Vec<(f64, f64)> = (0..max_points - 1)
            .map(|k| points[((k as f64 * step) as usize).min(last)])
            .collect();
        thinned.push(points[last]);
        points = thinned;
    }
    Ok(points)
}

/// A statistic with a two-sided percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// AUC and KS of two models on the same labelled rows, with 95 % paired bootstrap intervals
/// for each and for the differences (b − a).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    pub rows: usize,
    pub positives: usize,
    pub auc_a: Estimate,
    pub auc_b: Estimate,
    pub auc_diff: Estimate,
    pub ks_a: Estimate,
    pub ks_b: Estimate,
    pub ks_diff: Estimate,
    pub resamples: usize,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let w = pos - lo as f64;
    sorted[lo] * (1.0 - w) + sorted[hi] * w
}

fn estimate(value: f64, mut draws: Vec<f64>) -> Estimate {
    draws.sort_by(f64::total_cmp);
    Estimate {
        value,
        low: percentile(&draws, 0.025),
        high: percentile(&draws, 0.975),
    }
}

/// Compares model a and model b (scores on the same rows) by AUC and KS, resampling rows
/// with replacement `resamples` times with a fixed seed (the same data gives the same
/// intervals). Resamples that miss one class are skipped.
pub fn paired_comparison(
    a: &[f64],
    b: &[f64],
    labels: &[bool],
    resamples: usize,
    seed: u64,
) -> Result<PairedComparison, ModelError> {
    if a.len() != b.len() {
        return Err(ModelError::Invalid(format!(
            "{} scores of one model for {} of the other",
            a.len(),
            b.len()
        )));
    }
    let (auc_a, auc_b) = (auc(a, labels)?, auc(b, labels)?);
    let (ks_a, ks_b) = (ks(a, labels)?, ks(b, labels)?);
    let n = labels.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draws: [Vec<f64>; 6] = Default::default();
    let (mut sa, mut sb, mut sl) = (vec![0.0; n], vec![0.0; n], vec![false; n]);
    for _ in 0..resamples {
        for k in 0..n {
            let i = rng.gen_range(0..n);
            sa[k] = a[i];
            sb[k] = b[i];
            sl[k] = labels[i];
        }
        let (Ok(x), Ok(y), Ok(u), Ok(v)) =
            (auc(&sa, &sl), auc(&sb, &sl), ks(&sa, &sl), ks(&sb, &sl))
        else {
            continue;
        };
        for (d, value) in draws.iter_mut().zip([x, y, y - x, u, v, v - u]) {
            d.push(value);
        }
    }
    let [da, db, dd, ka, kb, kd] = draws;
    Ok(PairedComparison {
        rows: n,
        positives: labels.iter().filter(|&&l| l).count(),
        resamples: da.len(),
        auc_a: estimate(auc_a, da),
        auc_b: estimate(auc_b, db),
        auc_diff: estimate(auc_b - auc_a, dd),
        ks_a: estimate(ks_a, ka),
        ks_b: estimate(ks_b, kb),
        ks_diff: estimate(ks_b - ks_a, kd),
    })
}

/// Interior bin edges at the reference's quantiles, taken from the reference's own values
/// (duplicates and the maximum dropped), so that every bin holds at least one reference
/// value: bin k is (edges[k-1], edges[k]] and contains edges[k] itself, the last bin the
/// maximum.
pub fn quantile_edges(reference: &[f64], bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = reference
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let Some(&max) = sorted.last() else {
        return Vec::new();
    };
    let n = sorted.len();
    let mut edges: Vec<f64> = (1..bins)
        .map(|k| sorted[(k * n / bins).saturating_sub(1).min(n - 1)])
        .filter(|&e| e < max)
        .collect();
    edges.dedup();
    edges
}

/// Counts of `values` in the bins that `edges` (ascending, interior) make: bin k holds
/// values v with edges[k-1] < v ≤ edges[k].
pub fn bin_counts(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let mut counts = vec![0; edges.len() + 1];
    for v in values.iter().filter(|v| v.is_finite()) {
        counts[edges.partition_point(|e| e < v)] += 1;
    }
    counts
}

/// Population stability index of `current` against `reference`, in `bins` quantile bins of
/// the reference; empty bins count as 0.0001 of their side (the usual convention).
/// 0.1 and 0.25 are the customary warning and action levels.
pub fn psi(reference: &[f64], current: &[f64], bins: usize) -> Result<f64, ModelError> {
    let finite = |v: &[f64]| v.iter().filter(|x| x.is_finite()).count();
    let (nr, nc) = (finite(reference), finite(current));
    if nr == 0 || nc == 0 {
        return Err(ModelError::Invalid("PSI needs values on both sides".into()));
    }
    let edges = quantile_edges(reference, bins.max(2));
    let (r, c) = (bin_counts(reference, &edges), bin_counts(current, &edges));
    Ok(r.iter()
        .zip(&c)
        .map(|(&r, &c)| {
            let p = (r as f64 / nr as f64).max(1e-4);
            let q = (c as f64 / nc as f64).max(1e-4);
            (q - p) * (q / p).ln()
        })
        .sum())
}

/// Counts of `values` in `bins` equal-width bins over [lo, hi] (values outside are clamped).
pub fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<usize> {
    let bins = bins.max(1);
    let mut counts = vec![0; bins];
    let width = (hi - lo) / bins as f64;
    for v in values.iter().filter(|v| v.is_finite()) {
        let k = if width > 0.0 {
            ((v - lo) / width).floor().clamp(0.0, (bins - 1) as f64) as usize
        } else {
            0
        };
        counts[k] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_runs_from_origin_to_one_and_matches_auc_by_trapezoids() {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.5];
        let labels = [false, false, true, true, false, false, true, true];
        let roc = roc_curve(&scores, &labels, 100).unwrap();
        assert_eq!(roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(roc.last(), Some(&(1.0, 1.0)));
        let area: f64 = roc
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum();
        assert!((area - auc(&scores, &labels).unwrap()).abs() < 1e-12);
        let thin = roc_curve(&scores, &labels, 4).unwrap();
        assert_eq!(thin.len(), 4);
        assert_eq!(thin.last(), Some(&(1.0, 1.0)));
    }

    #[test]
    fn paired_bootstrap_brackets_the_estimates_and_is_reproducible() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let labels: Vec<bool> = (0..600).map(|_| rng.gen_bool(0.3)).collect();
        let a: Vec<f64> = labels
            .iter()
            .map(|&l| (if l { 0.6 } else { 0.4 }) + rng.gen_range(-0.3..0.3))
            .collect();
        let b: Vec<f64> = labels
            .iter()
            .map(|&l| (if l { 0.55 } else { 0.45 }) + rng.gen_range(-0.3..0.3))
            .collect();
        let c = paired_comparison(&a, &b, &labels, 200, 1).unwrap();
        for e in [c.auc_a, c.auc_b, c.auc_diff, c.ks_a, c.ks_b, c.ks_diff] {
            assert!(e.low <= e.value && e.value <= e.high, "{e:?}");
        }
        assert!(c.auc_a.value > c.auc_b.value);
        assert!(
            c.auc_diff.high < 0.0,
            "a clearly better model: {:?}",
            c.auc_diff
        );
        assert_eq!(c, paired_comparison(&a, &b, &labels, 200, 1).unwrap());
        assert_eq!(c.resamples, 200);
    }

    #[test]
    fn psi_is_zero_for_the_same_distribution_and_grows_with_shift() {
        let r: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        assert!(psi(&r, &r, 10).unwrap().abs() < 1e-12);
        let shifted: Vec<f64> = r.iter().map(|x| x + 0.1).collect();
        let far: Vec<f64> = r.iter().map(|x| x + 0.5).collect();
        let (p1, p2) = (psi(&r, &shifted, 10).unwrap(), psi(&r, &far, 10).unwrap());
        assert!(p1 > 0.05 && p2 > p1, "{p1} {p2}");
        assert!(psi(&r, &[], 10).is_err());
        // A constant reference has no interior edges: one bin, PSI 0 for the same constant.
        assert_eq!(psi(&[1.0; 10], &[1.0; 5], 10).unwrap(), 0.0);
    }

    #[test]
    fn every_reference_bin_holds_reference_values() {
        // Heavy ties and few distinct values (a shallow model's scores).
        let r: Vec<f64> = (0..160).map(|i| f64::from(i % 7) / 10.0).collect();
        let edges = quantile_edges(&r, 10);
        assert!(bin_counts(&r, &edges).iter().all(|&c| c > 0), "{edges:?}");
        // The same distribution in another sample size is stable.
        let c: Vec<f64> = (0..301).map(|i| f64::from(i % 7) / 10.0).collect();
        assert!(psi(&r, &c, 10).unwrap() < 0.01);
    }

    #[test]
    fn hand_computed_psi() {
        // Edges at the median 2.5: reference 50/50, current 25/75.
        let r = [1.0, 2.0, 3.0, 4.0];
        let c = [1.0, 3.0, 4.0, 4.0];
        let expected =
            (0.25f64 - 0.5) * (0.25f64 / 0.5).ln() + (0.75f64 - 0.5) * (0.75f64 / 0.5).ln();
        assert!((psi(&r, &c, 2).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn histogram_clamps_and_counts_everything() {
        let h = histogram(&[0.0, 0.05, 0.5, 0.99, 1.0, 2.0, f64::NAN], 0.0, 1.0, 10);
        assert_eq!(h.iter().sum::<usize>(), 6);
        assert_eq!(h[0], 2);
        assert_eq!(h[9], 3);
    }
}
