//! Confidence-based performance estimation (CBPE): a classifier's ROC AUC and default rate
//! estimated from its probabilities alone, before outcomes arrive, with sampling-error bands
//! and alert thresholds taken from a reference period whose outcomes are known.
//!
//! The definitions are those of the `nannyml` package (0.13, `CBPE` with
//! `problem_type='classification_binary'`, metric `roc_auc`), which the test suite checks this
//! module against on the same files:
//! - Calibration: an isotonic regression of outcome on probability, fitted on the whole
//!   reference, applied only when cross-validation on the reference shows it lowers the
//!   expected calibration error (10 equal-count bins). nannyml draws its ten 10 % test sets
//!   with scikit-learn's `StratifiedShuffleSplit(random_state=42)`; here the ten test sets are
//!   a deterministic stratified 10-fold split (every tenth row of each class), so the
//!   decision can differ from nannyml's only where the two error figures are close.
//! - Estimated ROC AUC of a chunk: rows sorted by the model's own (uncalibrated) probability,
//!   highest first; the calibrated probabilities are the expected true positives, their
//!   complements the expected false positives; cumulative sums rounded to 5 decimals, then
//!   the trapezoid area under the expected ROC curve.
//! - Sampling error of a chunk of n rows: σ / √(n·f), where σ and f come from the reference
//!   (the Mann–Whitney form of AUC: σ is the standard deviation of the share of negatives
//!   ranked below each positive, f the share of the minority class).
//! - Thresholds: mean ± 3 standard deviations of the realized ROC AUC over the reference's
//!   chunks, clipped to [0, 1]; a chunk alerts when its estimate leaves them. The band drawn
//!   around an estimate is ± 3 sampling errors, clipped to [0, 1].
//!
//! The expected default rate is this module's own addition (nannyml has no such metric): the
//! mean calibrated probability, with sampling error √(Σ p(1 − p)) / n — the standard
//! deviation of the realized rate if the calibrated probabilities are right — and thresholds
//! from the realized default rates of the reference's chunks, as for ROC AUC.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::metrics;
use crate::ModelError;

/// The multiple of the sampling error drawn around an estimate, and of the reference chunks'
/// standard deviation that sets the thresholds (nannyml's `SAMPLING_ERROR_RANGE` and
/// `StandardDeviationThreshold` defaults).
pub const BAND_WIDTH: f64 = 3.0;
const CV_SPLITS: usize = 10;
const ECE_BINS: usize = 10;

/// Consecutive chunks of `size` rows; the remainder, if any, is a last shorter chunk
/// (nannyml's `SizeBasedChunker` with `incomplete='keep'`).
pub fn size_chunks(rows: usize, size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    (0..rows)
        .step_by(size)
        .map(|start| start..(start + size).min(rows))
        .collect()
}

/// As [`size_chunks`], but a remainder shorter than half a chunk joins the last full chunk
/// (nannyml's `incomplete='append'` for small remainders), so that no chunk is too small to
/// say anything.
pub fn size_chunks_merged(rows: usize, size: usize) -> Vec<Range<usize>> {
    let mut chunks = size_chunks(rows, size);
    if chunks.len() >= 2 && chunks[chunks.len() - 1].len() * 2 < size.max(1) {
        if let Some(last) = chunks.pop() {
            let k = chunks.len() - 1;
            chunks[k].end = last.end;
        }
    }
    chunks
}

/// An isotonic (non-decreasing) regression of outcome on probability, evaluated by linear
/// interpolation between the fitted points and clipped at the ends (scikit-learn's
/// `IsotonicRegression(out_of_bounds="clip")`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Isotonic {
    pub fn fit(scores: &[f64], labels: &[bool]) -> Result<Self, ModelError> {
        if scores.len() != labels.len() || scores.is_empty() {
            return Err(ModelError::Invalid(format!(
                "isotonic regression needs as many labels as scores, at least one: {} and {}",
                scores.len(),
                labels.len()
            )));
        }
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(ModelError::Invalid("scores must be finite".into()));
        }
        let mut idx: Vec<usize> = (0..scores.len()).collect();
        idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        // Scores within 1e-15 of a group's first score join it (scikit-learn's `_make_unique`
        // with float64 resolution): one point, the mean outcome weighted by the count.
        let (mut x, mut sum, mut weight) = (Vec::new(), Vec::new(), Vec::<f64>::new());
        for &i in &idx {
            let y = f64::from(u8::from(labels[i]));
            if x.last()
                .is_some_and(|&first: &f64| scores[i] - first < 1e-15)
            {
                let k = x.len() - 1;
                sum[k] += y;
                weight[k] += 1.0;
            } else {
                x.push(scores[i]);
                sum.push(y);
                weight.push(1.0);
            }
        }
        // Pool adjacent violators: blocks of (sum, weight, points).
        let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(x.len());
        for k in 0..x.len() {
            blocks.push((sum[k], weight[k], 1));
            while blocks.len() > 1 {
                let (s1, w1, n1) = blocks[blocks.len() - 1];
                let (s0, w0, n0) = blocks[blocks.len() - 2];
                if s0 / w0 < s1 / w1 {
                    break;
                }
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s0 + s1, w0 + w1, n0 + n1);
            }
        }
        let y = blocks
            .iter()
            .flat_map(|&(s, w, n)| std::iter::repeat_n(s / w, n))
            .collect();
        Ok(Self { x, y })
    }

    pub fn predict(&self, p: f64) -> f64 {
        let (x, y) = (&self.x, &self.y);
        let last = x.len() - 1;
        if p <= x[0] {
            return y[0];
        }
        if p >= x[last] {
            return y[last];
        }
        // The first point above p (exists: p < x[last]).
        let hi = x.partition_point(|&v| v <= p);
        let lo = hi - 1;
        y[lo] + (y[hi] - y[lo]) * (p - x[lo]) / (x[hi] - x[lo])
    }
}

/// Expected calibration error over equal-count bins of the rows sorted by probability
/// (nannyml's `_calculate_expected_calibration_error` with `_get_bin_index_edges`).
pub fn expected_calibration_error(scores: &[f64], labels: &[bool], bins: usize) -> f64 {
    let n = scores.len();
    let mut bins = bins;
    if n <= 2 * bins {
        bins = n / 2;
    }
    if bins < 2 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let width = n / bins;
    let mut edges: Vec<usize> = (0..=n).step_by(width).collect();
    if let Some(last) = edges.last_mut() {
        *last = n;
    }
    edges
        .windows(2)
        .map(|w| {
            let rows = &idx[w[0]..w[1]];
            let len = rows.len() as f64;
            let p = rows.iter().map(|&i| scores[i]).sum::<f64>() / len;
            let y = rows.iter().filter(|&&i| labels[i]).count() as f64 / len;
            len / n as f64 * (p - y).abs()
        })
        .sum()
}

/// Whether isotonic calibration lowers the expected calibration error on held-out rows of
/// the reference (see the module notes on the split).
pub fn needs_calibration(scores: &[f64], labels: &[bool]) -> Result<bool, ModelError> {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || positives == labels.len() {
        return Ok(false);
    }
    if metrics::auc(scores, labels)? > 0.999 {
        return Ok(false);
    }
    // Every tenth row of each class, in order, forms one test set.
    let mut rank = [0usize; 2];
    let fold: Vec<usize> = labels
        .iter()
        .map(|&l| {
            let r = &mut rank[usize::from(l)];
            *r += 1;
            (*r - 1) % CV_SPLITS
        })
        .collect();
    let (mut test_y, mut raw, mut calibrated) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..CV_SPLITS {
        let (mut tx, mut ty) = (Vec::new(), Vec::new());
        for i in 0..scores.len() {
            if fold[i] != k {
                tx.push(scores[i]);
                ty.push(labels[i]);
            }
        }
        if tx.is_empty() {
            continue;
        }
        let iso = Isotonic::fit(&tx, &ty)?;
        for i in (0..scores.len()).filter(|&i| fold[i] == k) {
            test_y.push(labels[i]);
            raw.push(scores[i]);
            calibrated.push(iso.predict(scores[i]));
        }
    }
    let before = expected_calibration_error(&raw, &test_y, ECE_BINS);
    let after = expected_calibration_error(&calibrated, &test_y, ECE_BINS);
    Ok(before > after)
}

/// ROC AUC expected from calibrated probabilities, the rows ordered by the model's own
/// probabilities. `None` when the calibrated probabilities expect no positive or no negative.
pub fn estimate_roc_auc(calibrated: &[f64], uncalibrated: &[f64]) -> Option<f64> {
    let n = calibrated.len();
    if n == 0 || uncalibrated.len() != n {
        return None;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| uncalibrated[b].total_cmp(&uncalibrated[a]));
    let round5 = |v: f64| (v * 1e5).round_ties_even() / 1e5;
    let mut points = Vec::with_capacity(n + 1);
    points.push((0.0, 0.0));
    let mut tp = 0.0;
    for (k, &i) in idx.iter().enumerate() {
        tp += calibrated[i];
        let fp = (k + 1) as f64 - tp;
        points.push((round5(fp), round5(tp)));
    }
    let (fp_total, tp_total) = points[n];
    if fp_total <= 0.0 || tp_total <= 0.0 {
        return None;
    }
    let area = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) / fp_total * (w[1].1 + w[0].1) / tp_total / 2.0)
        .sum();
    Some(area)
}

/// The reference's part of the ROC AUC sampling error: (σ, f) of the module notes.
fn auc_sampling_components(scores: &[f64], labels: &[bool]) -> (f64, f64) {
    let n = scores.len();
    let positives = labels.iter().filter(|&&l| l).count();
    // Work with the minority class as positive.
    let flip = 2 * positives > n;
    let (y, p): (Vec<bool>, Vec<f64>) = if flip {
        (
            labels.iter().map(|&l| !l).collect(),
            scores.iter().map(|&s| 1.0 - s).collect(),
        )
    } else {
        (labels.to_vec(), scores.to_vec())
    };
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    // The ranks of the positives but rank 0: nannyml takes np.unique(y · rank)[1:], and a
    // positive at rank 0 merges with the negatives' zeros.
    let mut ranks: Vec<usize> = idx
        .iter()
        .enumerate()
        .filter(|&(_, &i)| y[i])
        .map(|(r, _)| r)
        .collect();
    ranks.retain(|&r| r != 0);
    let pos = y.iter().filter(|&&l| l).count() as f64;
    let neg = n as f64 - pos;
    let ser: Vec<f64> = ranks
        .iter()
        .enumerate()
        .map(|(i, &r)| (r - i) as f64 / neg)
        .collect();
    (population_std(&ser), pos / n as f64)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn population_std(v: &[f64]) -> f64 {
    match mean(v) {
        Some(m) => (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt(),
        None => f64::NAN,
    }
}

/// Alert thresholds of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl Thresholds {
    /// Mean ± 3 standard deviations of the reference chunks' values (those that exist),
    /// clipped to [0, 1].
    fn of(values: &[f64]) -> Self {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        match mean(&v) {
            Some(m) => {
                let s = population_std(&v);
                Self {
                    lower: Some((m - BAND_WIDTH * s).max(0.0)),
                    upper: Some((m + BAND_WIDTH * s).min(1.0)),
                }
            }
            None => Self {
                lower: None,
                upper: None,
            },
        }
    }

    pub fn breached(&self, value: f64) -> bool {
        self.lower.is_some_and(|l| value < l) || self.upper.is_some_and(|u| value > u)
    }
}

/// One figure of one chunk: the estimate, its band, the realized value where outcomes exist.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: Option<f64>,
    pub sampling_error: Option<f64>,
    pub lower_band: Option<f64>,
    pub upper_band: Option<f64>,
    /// Computed from the chunk's rows that have an outcome (`None` without both outcomes for
    /// ROC AUC, without any for the default rate).
    pub realized: Option<f64>,
    pub alert: bool,
}

impl Estimate {
    fn new(value: Option<f64>, sampling_error: f64, realized: Option<f64>, t: &Thresholds) -> Self {
        let se = sampling_error.is_finite().then_some(sampling_error);
        Self {
            value,
            sampling_error: se,
            lower_band: value.zip(se).map(|(v, s)| (v - BAND_WIDTH * s).max(0.0)),
            upper_band: value.zip(se).map(|(v, s)| (v + BAND_WIDTH * s).min(1.0)),
            realized,
            alert: value.is_some_and(|v| t.breached(v)),
        }
    }
}

/// The estimates of one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkEstimate {
    /// First and last row (0-based, inclusive) of the chunk in its file or series.
    pub start: usize,
    pub end: usize,
    pub rows: usize,
    /// Rows with an outcome.
    pub labelled: usize,
    pub roc_auc: Estimate,
    pub default_rate: Estimate,
}

/// A fitted estimator: the calibration, the sampling-error components and the thresholds of
/// the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cbpe {
    /// The isotonic map when calibration lowered the error on the reference, else `None`.
    pub calibration: Option<Isotonic>,
    pub reference_rows: usize,
    pub reference_defaults: usize,
    pub auc_sigma: f64,
    pub auc_fraction: f64,
    pub roc_auc_thresholds: Thresholds,
    pub default_rate_thresholds: Thresholds,
    /// The realized figures of the reference's chunks the thresholds come from.
    pub reference_chunk_auc: Vec<Option<f64>>,
    pub reference_chunk_default_rate: Vec<f64>,
}

impl Cbpe {
    /// Fits on a reference with every outcome known, cut into `chunks` for the thresholds.
    pub fn fit(
        scores: &[f64],
        labels: &[bool],
        chunks: &[Range<usize>],
    ) -> Result<Self, ModelError> {
        if scores.len() != labels.len() {
            return Err(ModelError::Invalid(format!(
                "reference: {} probabilities for {} outcomes",
                scores.len(),
                labels.len()
            )));
        }
        if let Some(i) = scores
            .iter()
            .position(|s| !s.is_finite() || !(0.0..=1.0).contains(s))
        {
            return Err(ModelError::Invalid(format!(
                "reference row {}: probability {} is not in [0, 1]",
                i + 1,
                scores[i]
            )));
        }
        let defaults = labels.iter().filter(|&&l| l).count();
        if defaults == 0 || defaults == labels.len() {
            return Err(ModelError::Invalid(format!(
                "the reference needs both outcomes: {} rows, {defaults} defaulted",
                labels.len()
            )));
        }
        if chunks.iter().any(|c| c.end > scores.len() || c.is_empty()) {
            return Err(ModelError::Invalid(
                "reference chunks must be non-empty ranges of its rows".into(),
            ));
        }
        let calibration = if needs_calibration(scores, labels)? {
            Some(Isotonic::fit(scores, labels)?)
        } else {
            None
        };
        let (auc_sigma, auc_fraction) = auc_sampling_components(scores, labels);
        let reference_chunk_auc: Vec<Option<f64>> = chunks
            .iter()
            .map(|c| metrics::auc(&scores[c.clone()], &labels[c.clone()]).ok())
            .collect();
        let reference_chunk_default_rate: Vec<f64> = chunks
            .iter()
            .map(|c| labels[c.clone()].iter().filter(|&&l| l).count() as f64 / c.len() as f64)
            .collect();
        let aucs: Vec<f64> = reference_chunk_auc.iter().flatten().copied().collect();
        Ok(Self {
            calibration,
            reference_rows: scores.len(),
            reference_defaults: defaults,
            auc_sigma,
            auc_fraction,
            roc_auc_thresholds: Thresholds::of(&aucs),
            default_rate_thresholds: Thresholds::of(&reference_chunk_default_rate),
            reference_chunk_auc,
            reference_chunk_default_rate,
        })
    }

    pub fn calibrated(&self, p: f64) -> f64 {
        match &self.calibration {
            Some(iso) => iso.predict(p),
            None => p,
        }
    }

    /// Estimates one chunk: the model's probabilities and, where known, each row's outcome.
    pub fn estimate(
        &self,
        start: usize,
        scores: &[f64],
        outcomes: &[Option<bool>],
    ) -> Result<ChunkEstimate, ModelError> {
        if scores.len() != outcomes.len() || scores.is_empty() {
            return Err(ModelError::Invalid(format!(
                "a chunk needs one outcome slot per probability and at least one row: {} and {}",
                scores.len(),
                outcomes.len()
            )));
        }
        if let Some(i) = scores
            .iter()
            .position(|s| !s.is_finite() || !(0.0..=1.0).contains(s))
        {
            return Err(ModelError::Invalid(format!(
                "row {}: probability {} is not in [0, 1]",
                start + i + 1,
                scores[i]
            )));
        }
        let n = scores.len();
        let calibrated: Vec<f64> = scores.iter().map(|&p| self.calibrated(p)).collect();
        let (ls, ll): (Vec<f64>, Vec<bool>) = scores
            .iter()
            .zip(outcomes)
            .filter_map(|(&s, o)| o.map(|l| (s, l)))
            .unzip();
        let realized_auc = metrics::auc(&ls, &ll).ok();
        let realized_rate =
            (!ll.is_empty()).then(|| ll.iter().filter(|&&l| l).count() as f64 / ll.len() as f64);
        let auc_se = self.auc_sigma / (n as f64 * self.auc_fraction).sqrt();
        let rate_se = calibrated.iter().map(|p| p * (1.0 - p)).sum::<f64>().sqrt() / n as f64;
        Ok(ChunkEstimate {
            start,
            end: start + n - 1,
            rows: n,
            labelled: ll.len(),
            roc_auc: Estimate::new(
                estimate_roc_auc(&calibrated, scores),
                auc_se,
                realized_auc,
                &self.roc_auc_thresholds,
            ),
            default_rate: Estimate::new(
                mean(&calibrated),
                rate_se,
                realized_rate,
                &self.default_rate_thresholds,
            ),
        })
    }
}

#[cfg(test)]
mod tests;
