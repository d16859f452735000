//! Data and prediction drift between a reference sample and a current one, column by column,
//! with Evidently's default test selection (so results can be checked against it):
//!
//! | reference rows | column                                   | test                     | drift when        |
//! |----------------|------------------------------------------|--------------------------|-------------------|
//! | ≤ 1000         | numeric, > 5 distinct values             | two-sample KS            | p ≤ 0.05          |
//! | ≤ 1000         | categorical, or numeric with 3–5 values  | χ²                       | p < 0.05          |
//! | ≤ 1000         | ≤ 2 distinct values                      | two-proportion Z         | p < 0.05          |
//! | > 1000         | numeric, > 5 distinct values             | Wasserstein / std(ref)   | distance ≥ 0.1    |
//! | > 1000         | categorical, or numeric with ≤ 5 values  | Jensen–Shannon distance  | distance ≥ 0.1    |
//!
//! Missing values (NaN, ±∞, an empty category) are left out first and counted; distinct values
//! are counted over both samples together. The dataset drifts when at least half of the columns
//! that could be tested drift. Every column also gets the PSI of Evidently's binning (Sturges
//! bins over both samples when the reference has more than 20 distinct numeric values, else
//! one bin per value), banded at 0.1 and 0.25, and the shares of those bins for charts.
//!
//! A column that cannot be tested (no values on a side) is reported with the reason, never as
//! NaN. Columns are computed in parallel on scoped threads (no I/O, no async).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::stattests as st;

/// Thresholds and the small-reference cut-over (Evidently's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftOptions {
    /// p-value threshold of KS, χ² and Z.
    pub p_threshold: f64,
    /// Distance threshold of Wasserstein (normed) and Jensen–Shannon.
    pub distance_threshold: f64,
    /// Share of drifted columns at which the dataset drifts.
    pub drift_share: f64,
    /// References with at most this many rows use the statistical tests.
    pub small_reference: usize,
}

impl Default for DriftOptions {
    fn default() -> Self {
        Self {
            p_threshold: 0.05,
            distance_threshold: 0.1,
            drift_share: 0.5,
            small_reference: 1000,
        }
    }
}

/// The code of a missing categorical value.
pub const MISSING: u32 = u32::MAX;

/// One column's values on both sides. Categorical values are codes into `labels`
/// (shared by both sides), [`MISSING`] for none.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Numeric {
        reference: Vec<f64>,
        current: Vec<f64>,
    },
    Categorical {
        labels: Vec<String>,
        reference: Vec<u32>,
        current: Vec<u32>,
    },
}

impl ColumnData {
    /// A categorical column from text values; `None` and "" are missing.
    pub fn categorical<'a>(
        reference: impl IntoIterator<Item = Option<&'a str>>,
        current: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Self {
        let mut labels: Vec<String> = Vec::new();
        let mut index: HashMap<&'a str, u32> = HashMap::new();
        let mut code = |v: Option<&'a str>| match v {
            None | Some("") => MISSING,
            Some(s) => *index.entry(s).or_insert_with(|| {
                labels.push(s.to_owned());
                (labels.len() - 1) as u32
            }),
        };
        let reference: Vec<u32> = reference.into_iter().map(&mut code).collect();
        let current: Vec<u32> = current.into_iter().map(&mut code).collect();
        Self::Categorical {
            labels,
            reference,
            current,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriftColumn {
    pub name: String,
    pub data: ColumnData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Numeric,
    Categorical,
}

/// The test applied to a column; the serialized names are Evidently's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftTest {
    Ks,
    #[serde(rename = "chisquare")]
    ChiSquare,
    Z,
    Wasserstein,
    #[serde(rename = "jensenshannon")]
    JensenShannon,
}

impl DriftTest {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ks => "K-S p-value",
            Self::ChiSquare => "chi-square p-value",
            Self::Z => "Z-test p-value",
            Self::Wasserstein => "Wasserstein distance (normed)",
            Self::JensenShannon => "Jensen-Shannon distance",
        }
    }

    /// p-values drift when small; distances when large.
    pub fn is_p_value(self) -> bool {
        matches!(self, Self::Ks | Self::ChiSquare | Self::Z)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PsiBand {
    /// PSI < 0.1
    Stable,
    /// 0.1 ≤ PSI < 0.25
    Moderate,
    /// PSI ≥ 0.25
    Significant,
}

impl PsiBand {
    pub fn of(psi: f64) -> Self {
        if psi >= 0.25 {
            Self::Significant
        } else if psi >= 0.1 {
            Self::Moderate
        } else {
            Self::Stable
        }
    }
}

/// Shares of each side in the PSI bins (what the overlaid histograms draw).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    /// One label per bin: a category, a value, or "[lo, hi)".
    pub labels: Vec<String>,
    /// Bin edges for binned numeric columns.
    pub edges: Option<Vec<f64>>,
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    pub column: String,
    pub kind: ColumnKind,
    /// Values present on each side, and missing ones left out.
    pub reference_rows: usize,
    pub current_rows: usize,
    pub reference_missing: usize,
    pub current_missing: usize,
    pub test: Option<DriftTest>,
    /// The p-value or distance of `test`.
    pub statistic: Option<f64>,
    pub threshold: Option<f64>,
    pub drifted: Option<bool>,
    pub psi: Option<f64>,
    pub psi_band: Option<PsiBand>,
    pub bins: Option<Bins>,
    /// Why the column could not be tested.
    pub not_computable: Option<String>,
}

impl ColumnDrift {
    /// An entry for a column that cannot be tested, with the reason.
    pub fn not_computable(column: &str, kind: ColumnKind, reason: impl Into<String>) -> Self {
        Self {
            column: column.to_owned(),
            kind,
            reference_rows: 0,
            current_rows: 0,
            reference_missing: 0,
            current_missing: 0,
            test: None,
            statistic: None,
            threshold: None,
            drifted: None,
            psi: None,
            psi_band: None,
            bins: None,
            not_computable: Some(reason.into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub columns: Vec<ColumnDrift>,
    /// Columns that could be tested, and how many of them drifted.
    pub tested_columns: usize,
    pub drifted_columns: usize,
    /// drifted / tested; `None` when nothing could be tested.
    pub drift_share: Option<f64>,
    pub drift_share_threshold: f64,
    pub dataset_drift: bool,
}

impl DriftReport {
    /// The report over already computed column results (e.g. with entries added by a caller
    /// for columns missing from one side).
    pub fn from_columns(columns: Vec<ColumnDrift>, options: &DriftOptions) -> Self {
        let tested = columns.iter().filter(|c| c.drifted.is_some()).count();
        let drifted = columns.iter().filter(|c| c.drifted == Some(true)).count();
        let share = (tested > 0).then(|| drifted as f64 / tested as f64);
        Self {
            columns,
            tested_columns: tested,
            drifted_columns: drifted,
            drift_share: share,
            drift_share_threshold: options.drift_share,
            dataset_drift: share.is_some_and(|s| s >= options.drift_share),
        }
    }
}

/// Drift of every column (in parallel), in the order given.
pub fn detect(columns: &[DriftColumn], options: &DriftOptions) -> DriftReport {
    let results = compute_columns(columns, options);
    DriftReport::from_columns(results, options)
}

/// Each column's drift, in the order given, on up to `available_parallelism` threads.
pub fn compute_columns(columns: &[DriftColumn], options: &DriftOptions) -> Vec<ColumnDrift> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(columns.len().max(1));
    if threads <= 1 {
        return columns.iter().map(|c| column_drift(c, options)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, ColumnDrift)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = columns.get(i) else { break };
                        done.push((i, column_drift(c, options)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    // A worker that panicked lost its columns; recompute them here rather than drop them.
    let mut results = Vec::with_capacity(columns.len());
    let mut it = out.into_iter().peekable();
    for (i, c) in columns.iter().enumerate() {
        match it.peek() {
            Some((j, _)) if *j == i => {
                if let Some((_, r)) = it.next() {
                    results.push(r);
                }
            }
            _ => results.push(column_drift(c, options)),
        }
    }
    results
}

/// One column's drift.
pub fn column_drift(column: &DriftColumn, options: &DriftOptions) -> ColumnDrift {
    match &column.data {
        ColumnData::Numeric { reference, current } => {
            numeric_drift(&column.name, reference, current, options)
        }
        ColumnData::Categorical {
            labels,
            reference,
            current,
        } => categorical_drift(&column.name, labels, reference, current, options),
    }
}

/// Finite values, sorted (−0 as 0).
fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values
        .iter()
        .filter(|x| x.is_finite())
        .map(|&x| if x == 0.0 { 0.0 } else { x })
        .collect();
    radix_sort(&mut v);
    v
}

/// LSD radix sort of finite f64 on their order-preserving bit patterns (11-bit digits,
/// passes where every key has the same digit skipped).
fn radix_sort(values: &mut [f64]) {
    if values.len() < 4096 {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    let key = |x: f64| {
        let b = x.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | (1 << 63)
        }
    };
    let mut keys: Vec<u64> = values.iter().map(|&x| key(x)).collect();
    let mut buf = vec![0u64; keys.len()];
    const BITS: u32 = 11;
    const RADIX: usize = 1 << BITS;
    let mut shift = 0;
    while shift < 64 {
        let mut counts = vec![0usize; RADIX];
        for &k in &keys {
            counts[((k >> shift) as usize) & (RADIX - 1)] += 1;
        }
        if counts.contains(&keys.len()) {
            shift += BITS;
            continue;
        }
        let mut pos = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = pos;
            pos += n;
        }
        for &k in &keys {
            let d = ((k >> shift) as usize) & (RADIX - 1);
            buf[counts[d]] = k;
            counts[d] += 1;
        }
        std::mem::swap(&mut keys, &mut buf);
        shift += BITS;
    }
    let unkey = |k: u64| {
        if k >> 63 == 1 {
            f64::from_bits(k & !(1 << 63))
        } else {
            f64::from_bits(!k)
        }
    };
    for (v, k) in values.iter_mut().zip(keys) {
        *v = unkey(k);
    }
}

fn number_label(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

fn numeric_drift(name: &str, reference: &[f64], current: &[f64], o: &DriftOptions) -> ColumnDrift {
    let (r, c) = (sorted_finite(reference), sorted_finite(current));
    let mut out = ColumnDrift::not_computable(name, ColumnKind::Numeric, "");
    out.reference_rows = r.len();
    out.current_rows = c.len();
    out.reference_missing = reference.len() - r.len();
    out.current_missing = current.len() - c.len();
    if let Some(reason) = empty_side(r.len(), c.len()) {
        out.not_computable = Some(reason);
        return out;
    }
    out.not_computable = None;
    let distinct = st::distinct_sorted(&r, &c, 5);
    let small = r.len() <= o.small_reference;
    // Per distinct value counts, only needed (and only computed) when there are few values.
    let value_counts = || {
        let mut prev = (0, 0);
        let mut keys = Vec::new();
        let (mut rc, mut cc) = (Vec::new(), Vec::new());
        for (x, i, j) in st::steps(&r, &c) {
            keys.push(x);
            rc.push((i - prev.0) as f64);
            cc.push((j - prev.1) as f64);
            prev = (i, j);
        }
        (keys, rc, cc)
    };
    let (test, statistic) = if small && distinct > 5 {
        (DriftTest::Ks, st::ks_p_value(&r, &c))
    } else if small {
        let (_, rc, cc) = value_counts();
        count_test(&rc, &cc, r.len(), c.len())
    } else if distinct > 5 {
        let norm = st::std_population(&r).max(0.001);
        (DriftTest::Wasserstein, st::wasserstein(&r, &c) / norm)
    } else {
        let (_, rc, cc) = value_counts();
        (DriftTest::JensenShannon, st::jensen_shannon(&rc, &cc))
    };
    set_verdict(&mut out, test, statistic, o);
    // PSI bins: Sturges over both samples when the reference has more than 20 values.
    let bins = if st::distinct_sorted(&r, &[], 20) > 20 {
        let lo = r[0].min(c[0]);
        let hi = r[r.len() - 1].max(c[c.len() - 1]);
        let edges = st::sturges_edges(lo, hi, r.len() + c.len());
        let share = |v: &[f64]| {
            st::sorted_bin_counts(v, &edges)
                .into_iter()
                .map(|k| k as f64 / v.len() as f64)
                .collect::<Vec<_>>()
        };
        let labels = edges
            .windows(2)
            .map(|w| format!("[{}, {})", short(w[0]), short(w[1])))
            .collect();
        Bins {
            labels,
            reference: share(&r),
            current: share(&c),
            edges: Some(edges),
        }
    } else {
        let (keys, rc, cc) = value_counts();
        Bins {
            labels: keys.into_iter().map(number_label).collect(),
            edges: None,
            reference: rc.iter().map(|k| k / r.len() as f64).collect(),
            current: cc.iter().map(|k| k / c.len() as f64).collect(),
        }
    };
    set_psi(&mut out, bins);
    out
}

fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

fn empty_side(reference: usize, current: usize) -> Option<String> {
    match (reference, current) {
        (0, 0) => Some("no values on either side".to_owned()),
        (0, _) => Some("no values in the reference".to_owned()),
        (_, 0) => Some("no values in the current window".to_owned()),
        _ => None,
    }
}

/// χ² (3+ values) or Z (≤ 2 values) on per-value counts of the two sides.
fn count_test(rc: &[f64], cc: &[f64], nr: usize, nc: usize) -> (DriftTest, f64) {
    let present = rc.iter().zip(cc).filter(|(a, b)| **a + **b > 0.0).count();
    if present > 2 {
        let k = nc as f64 / nr as f64;
        let expected: Vec<f64> = rc.iter().map(|x| x * k).collect();
        (DriftTest::ChiSquare, st::chi_square_p(cc, &expected))
    } else {
        // The first value present (in sort order) against the rest.
        let first = rc.iter().zip(cc).position(|(a, b)| *a + *b > 0.0);
        let p = match first {
            Some(f) if present == 2 => {
                st::z_proportions_p(nr as f64 - rc[f], nr as f64, nc as f64 - cc[f], nc as f64)
            }
            _ => 1.0, // one value on both sides
        };
        (DriftTest::Z, p)
    }
}

fn set_verdict(out: &mut ColumnDrift, test: DriftTest, statistic: f64, o: &DriftOptions) {
    let (threshold, drifted) = match test {
        DriftTest::Ks => (o.p_threshold, statistic <= o.p_threshold),
        DriftTest::ChiSquare | DriftTest::Z => (o.p_threshold, statistic < o.p_threshold),
        DriftTest::Wasserstein | DriftTest::JensenShannon => {
            (o.distance_threshold, statistic >= o.distance_threshold)
        }
    };
    out.test = Some(test);
    out.statistic = Some(statistic);
    out.threshold = Some(threshold);
    out.drifted = Some(drifted);
}

fn set_psi(out: &mut ColumnDrift, bins: Bins) {
    let psi = st::psi_of_shares(&bins.reference, &bins.current);
    out.psi = Some(psi);
    out.psi_band = Some(PsiBand::of(psi));
    out.bins = Some(bins);
}

fn categorical_drift(
    name: &str,
    labels: &[String],
    reference: &[u32],
    current: &[u32],
    o: &DriftOptions,
) -> ColumnDrift {
    let count = |codes: &[u32]| {
        let mut counts = vec![0f64; labels.len()];
        let mut present = 0usize;
        for &k in codes {
            if let Some(c) = counts.get_mut(k as usize) {
                *c += 1.0;
                present += 1;
            }
        }
        (counts, present)
    };
    let ((rc, nr), (cc, nc)) = (count(reference), count(current));
    let mut out = ColumnDrift::not_computable(name, ColumnKind::Categorical, "");
    out.reference_rows = nr;
    out.current_rows = nc;
    out.reference_missing = reference.len() - nr;
    out.current_missing = current.len() - nc;
    if let Some(reason) = empty_side(nr, nc) {
        out.not_computable = Some(reason);
        return out;
    }
    out.not_computable = None;
    // Categories present on either side, in label order.
    let mut keys: Vec<usize> = (0..labels.len()).filter(|&k| rc[k] + cc[k] > 0.0).collect();
    keys.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
    let rk: Vec<f64> = keys.iter().map(|&k| rc[k]).collect();
    let ck: Vec<f64> = keys.iter().map(|&k| cc[k]).collect();
    let (test, statistic) = if nr <= o.small_reference {
        count_test(&rk, &ck, nr, nc)
    } else {
        (DriftTest::JensenShannon, st::jensen_shannon(&rk, &ck))
    };
    set_verdict(&mut out, test, statistic, o);
    set_psi(
        &mut out,
        Bins {
            labels: keys.iter().map(|&k| labels[k].clone()).collect(),
            edges: None,
            reference: rk.iter().map(|k| k / nr as f64).collect(),
            current: ck.iter().map(|k| k / nc as f64).collect(),
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn numeric(name: &str, reference: Vec<f64>, current: Vec<f64>) -> DriftColumn {
        DriftColumn {
            name: name.into(),
            data: ColumnData::Numeric { reference, current },
        }
    }

    #[test]
    fn radix_sort_orders_like_total_cmp() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut v: Vec<f64> = (0..20_000)
            .map(|i| match i % 4 {
                0 => rng.gen_range(-1e6..1e6),
                1 => rng.gen_range(-1.0..1.0) * 1e-300,
                2 => f64::from(rng.gen_range(-5..5)),
                _ => rng.gen::<f64>(),
            })
            .collect();
        let mut expected = v.clone();
        expected.sort_by(f64::total_cmp);
        radix_sort(&mut v);
        assert_eq!(v, expected);
    }

    #[test]
    fn test_selection_follows_evidently_defaults() {
        let o = DriftOptions::default();
        let pick = |nr: usize, distinct: usize| {
            let r: Vec<f64> = (0..nr).map(|i| (i % distinct) as f64).collect();
            let c: Vec<f64> = (0..300).map(|i| (i % distinct) as f64).collect();
            column_drift(&numeric("x", r, c), &o).test
        };
        assert_eq!(pick(500, 40), Some(DriftTest::Ks));
        assert_eq!(pick(500, 5), Some(DriftTest::ChiSquare));
        assert_eq!(pick(500, 3), Some(DriftTest::ChiSquare));
        assert_eq!(pick(500, 2), Some(DriftTest::Z));
        assert_eq!(pick(1000, 6), Some(DriftTest::Ks));
        assert_eq!(pick(1001, 6), Some(DriftTest::Wasserstein));
        assert_eq!(pick(1001, 5), Some(DriftTest::JensenShannon));
        let cat = |nr: usize, k: usize| {
            let labels: Vec<String> = (0..k).map(|i| format!("c{i}")).collect();
            let r: Vec<Option<&str>> = (0..nr).map(|i| Some(labels[i % k].as_str())).collect();
            let c: Vec<Option<&str>> = (0..200).map(|i| Some(labels[i % k].as_str())).collect();
            let col = DriftColumn {
                name: "c".into(),
                data: ColumnData::categorical(r, c),
            };
            column_drift(&col, &o).test
        };
        assert_eq!(cat(800, 9), Some(DriftTest::ChiSquare));
        assert_eq!(cat(800, 2), Some(DriftTest::Z));
        assert_eq!(cat(5000, 2), Some(DriftTest::JensenShannon));
    }

    #[test]
    fn missing_constant_and_empty_columns_are_reported_not_nan() {
        let o = DriftOptions::default();
        let empty = column_drift(&numeric("e", vec![f64::NAN; 10], vec![1.0, 2.0]), &o);
        assert_eq!(empty.drifted, None);
        assert_eq!(empty.reference_missing, 10);
        assert!(empty.not_computable.unwrap().contains("reference"));
        let constant = column_drift(&numeric("k", vec![3.0; 2000], vec![3.0; 50]), &o);
        assert_eq!(constant.test, Some(DriftTest::JensenShannon));
        assert_eq!(constant.statistic, Some(0.0));
        assert_eq!(constant.psi, Some(0.0));
        assert_eq!(constant.drifted, Some(false));
        let small_constant = column_drift(&numeric("k", vec![3.0; 20], vec![3.0; 50]), &o);
        assert_eq!(small_constant.test, Some(DriftTest::Z));
        assert_eq!(small_constant.statistic, Some(1.0));
        let flat_ref = column_drift(
            &numeric("f", vec![1.0; 2000], (0..100).map(f64::from).collect()),
            &o,
        );
        assert!(flat_ref.statistic.is_some_and(f64::is_finite));
        assert_eq!(flat_ref.drifted, Some(true));
        let report = detect(
            &[
                numeric("e", vec![], vec![]),
                numeric("k", vec![3.0; 20], vec![3.0; 50]),
            ],
            &o,
        );
        assert_eq!(report.tested_columns, 1);
        assert!(!report.dataset_drift);
        let none = detect(&[numeric("e", vec![], vec![])], &o);
        assert_eq!(none.drift_share, None);
        assert!(!none.dataset_drift);
    }

    #[test]
    fn shifted_columns_drift_and_dataset_verdict_is_half_or_more() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let o = DriftOptions::default();
        let normal = |rng: &mut ChaCha8Rng, n: usize, shift: f64| -> Vec<f64> {
            (0..n)
                .map(|_| rng.gen_range(0.0..1.0) + rng.gen_range(0.0..1.0) + shift)
                .collect()
        };
        for nr in [800, 5000] {
            let cols = vec![
                numeric(
                    "same",
                    normal(&mut rng, nr, 0.0),
                    normal(&mut rng, 900, 0.0),
                ),
                numeric(
                    "moved",
                    normal(&mut rng, nr, 0.0),
                    normal(&mut rng, 900, 0.5),
                ),
            ];
            let report = detect(&cols, &o);
            assert_eq!(report.columns[0].drifted, Some(false), "{nr}");
            assert_eq!(report.columns[1].drifted, Some(true), "{nr}");
            assert_eq!(report.columns[1].psi_band, Some(PsiBand::Significant));
            assert_eq!(report.drift_share, Some(0.5));
            assert!(report.dataset_drift, "half of the columns drifted");
            assert_eq!(report.columns[0].column, "same");
            let bins = report.columns[1].bins.as_ref().unwrap();
            assert!((bins.reference.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn categorical_missing_values_and_new_categories() {
        let o = DriftOptions::default();
        let r = ["a", "b", "", "c", "a"].map(Some);
        let c = [Some("a"), None, Some("d"), Some("d"), Some("b")];
        let col = DriftColumn {
            name: "cat".into(),
            data: ColumnData::categorical(r, c),
        };
        let d = column_drift(&col, &o);
        assert_eq!((d.reference_rows, d.reference_missing), (4, 1));
        assert_eq!((d.current_rows, d.current_missing), (4, 1));
        // "d" never seen in the reference: χ² p is 0, drift.
        assert_eq!(d.test, Some(DriftTest::ChiSquare));
        assert_eq!(d.statistic, Some(0.0));
        assert_eq!(d.bins.unwrap().labels, vec!["a", "b", "c", "d"]);
    }
}
