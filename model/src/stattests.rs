//! The two-sample tests behind drift detection, each computed the way SciPy computes it (the
//! reference implementation Evidently calls), on samples with missing values already removed:
//!
//! - [`ks_p_value`]: the two-sided Kolmogorov–Smirnov test; the p-value is exact (the
//!   probability that a random lattice path leaves the band |x/m − y/n| < D, by the
//!   numerically stable recursion on that probability — Viehmann 2021, as SciPy ≥ 1.7 does).
//! - [`chi_square_p`]: Pearson's χ² of current counts against reference proportions scaled to
//!   the current size; the upper tail of χ²(k − 1).
//! - [`z_proportions_p`]: the pooled two-proportion Z-test, two-sided.
//! - [`wasserstein`]: the first Wasserstein distance between the empirical distributions.
//! - [`jensen_shannon`]: the Jensen–Shannon distance (natural logarithm) of two frequency
//!   vectors.
//!
//! Special functions: the regularized upper incomplete gamma function (series and Lentz's
//! continued fraction after Numerical Recipes §6.2, with a Lanczos log-gamma), from which the
//! χ² and normal tails follow.

/// Sorted samples walked together: for each distinct value `x` in increasing order, how many
/// values of each side are `<= x`.
pub struct Steps<'a> {
    a: &'a [f64],
    b: &'a [f64],
    i: usize,
    j: usize,
}

impl Iterator for Steps<'_> {
    /// (value, #a ≤ value, #b ≤ value)
    type Item = (f64, usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let x = match (self.a.get(self.i), self.b.get(self.j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => return None,
        };
        while self.a.get(self.i) == Some(&x) {
            self.i += 1;
        }
        while self.b.get(self.j) == Some(&x) {
            self.j += 1;
        }
        Some((x, self.i, self.j))
    }
}

pub fn steps<'a>(a: &'a [f64], b: &'a [f64]) -> Steps<'a> {
    Steps { a, b, i: 0, j: 0 }
}

/// Distinct values of two sorted samples together, counting at most `cap + 1` of them.
pub fn distinct_sorted(a: &[f64], b: &[f64], cap: usize) -> usize {
    steps(a, b).take(cap + 1).count()
}

/// The KS statistic D = sup |F_a − F_b| of two sorted, non-empty samples.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    steps(a, b)
        .map(|(_, i, j)| (i as f64 / na - j as f64 / nb).abs())
        .fold(0.0, f64::max)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Above this many steps of the exact recursion the limiting Kolmogorov distribution is used.
const EXACT_WORK_LIMIT: f64 = 2.0e8;

/// The two-sided p-value of the two-sample KS test for sorted, non-empty samples.
pub fn ks_p_value(a: &[f64], b: &[f64]) -> f64 {
    let d = ks_statistic(a, b);
    ks_p_from_statistic(d, a.len() as u64, b.len() as u64)
}

/// P(D ≥ d) for samples of sizes `n1` and `n2` (both ≥ 1).
pub fn ks_p_from_statistic(d: f64, n1: u64, n2: u64) -> f64 {
    let (m, n) = (n1.max(n2), n1.min(n2));
    let g = gcd(m, n);
    let (mg, ng) = (m / g, n / g);
    let lcm = (mg * n) as f64;
    // D is a multiple of 1/lcm; rounding removes the floating-point noise of the CDFs.
    let h = (d * lcm).round_ties_even();
    if h <= 0.0 {
        return 1.0;
    }
    let band = (2.0 * h / mg as f64 + 2.0).min(n as f64 + 1.0);
    if m as f64 * band > EXACT_WORK_LIMIT {
        let en = (m as f64 * n as f64) / (m + n) as f64;
        return kolmogorov_sf(en.sqrt() * h / lcm);
    }
    exact_outside_probability(m, n, mg, ng, h as u64).clamp(0.0, 1.0)
}

/// The probability that a uniformly random monotone lattice path from (0, 0) to (m, n)
/// touches or leaves the band |x·ng − y·mg| < h, where m ≥ n.
///
/// `out(x, y)` is that probability for paths ending at (x, y): 1 outside the band, and
/// inside it the average of its two predecessors weighted by how many paths arrive from
/// each side (x from the left, y from below). Only the band of each column is computed.
fn exact_outside_probability(m: u64, n: u64, mg: u64, ng: u64, h: u64) -> f64 {
    let n = n as usize;
    let mut col = vec![1.0f64; n + 1];
    // Column x = 0: (0, y) is inside while y·mg < h.
    let first_hi = h.div_ceil(mg).min(n as u64 + 1) as usize;
    for v in col.iter_mut().take(first_hi) {
        *v = 0.0;
    }
    let (mut lo_prev, mut hi_prev) = (0usize, first_hi);
    for x in 1..=m {
        let centre = x * ng;
        // Inside: (centre − h)/mg < y < (centre + h)/mg.
        let lo = if centre >= h {
            ((centre - h) / mg + 1) as usize
        } else {
            0
        };
        let hi = ((centre + h).div_ceil(mg)).min(n as u64 + 1) as usize;
        let lo = lo.min(n);
        if hi <= lo {
            return 1.0;
        }
        // Cells that left the band at the bottom are outside from now on.
        for v in col.iter_mut().take(lo.min(hi_prev)).skip(lo_prev) {
            *v = 1.0;
        }
        let xf = x as f64;
        let mut below = if lo == 0 { 0.0 } else { 1.0 };
        for (y, v) in col.iter_mut().enumerate().take(hi).skip(lo) {
            let yf = y as f64;
            below = (*v * xf + below * yf) / (xf + yf);
            *v = below;
        }
        (lo_prev, hi_prev) = (lo, hi);
    }
    col[n]
}

/// The limiting Kolmogorov distribution's upper tail, P(K > λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²).
fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 0.2 {
        return 1.0; // the series converges slowly here and the tail is 1 to 1e-20
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k as u64 % 2 == 1 { term } else { -term };
        if term < 1e-18 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Pearson's χ² test of `observed` counts against `expected` counts (same length ≥ 2),
/// p-value with k − 1 degrees of freedom. An expected count of 0 with an observed count
/// above 0 is infinitely unlikely: p = 0.
pub fn chi_square_p(observed: &[f64], expected: &[f64]) -> f64 {
    let mut stat = 0.0;
    for (&o, &e) in observed.iter().zip(expected) {
        if e == 0.0 {
            if o != 0.0 {
                return 0.0;
            }
            continue;
        }
        stat += (o - e) * (o - e) / e;
    }
    let dof = observed.len().saturating_sub(1) as f64;
    gamma_q(dof / 2.0, stat / 2.0)
}

/// The pooled two-proportion Z-test, two-sided: `k1` of `n1` against `k2` of `n2`.
pub fn z_proportions_p(k1: f64, n1: f64, k2: f64, n2: f64) -> f64 {
    let (p1, p2) = (k1 / n1, k2 / n2);
    let pooled = (k1 + k2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = ((p1 - p2) / se).abs();
    2.0 * normal_sf(z)
}

/// The first Wasserstein distance between the empirical distributions of two sorted,
/// non-empty samples: ∫ |F_a − F_b|.
pub fn wasserstein(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let mut area = 0.0;
    let mut prev: Option<(f64, f64)> = None;
    for (x, i, j) in steps(a, b) {
        if let Some((px, gap)) = prev {
            area += gap * (x - px);
        }
        prev = Some((x, (i as f64 / na - j as f64 / nb).abs()));
    }
    area
}

/// Population standard deviation (NumPy's default, ddof = 0), two-pass.
pub fn std_population(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// The Jensen–Shannon distance (square root of the divergence, natural log) between two
/// non-negative frequency vectors, each normalized to sum 1.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let rel = |x: f64, y: f64| if x > 0.0 { x * (x / y).ln() } else { 0.0 };
    let mut div = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        div += rel(a, m) + rel(b, m);
    }
    (div / 2.0).max(0.0).sqrt()
}

/// The PSI of two share vectors after Evidently's zero filling: a zero share becomes a
/// millionth of that side's smallest non-zero share when that is ≤ 0.0001, else 0.0001.
pub fn psi_of_shares(reference: &[f64], current: &[f64]) -> f64 {
    let fill = |v: &[f64]| {
        let min = v
            .iter()
            .copied()
            .filter(|&x| x != 0.0)
            .fold(f64::INFINITY, f64::min);
        let fill = if min <= 1e-4 { min / 1e6 } else { 1e-4 };
        v.iter()
            .map(|&x| if x == 0.0 { fill } else { x })
            .collect::<Vec<_>>()
    };
    let (r, c) = (fill(reference), fill(current));
    r.iter()
        .zip(&c)
        .map(|(&r, &c)| (r - c) * (r / c).ln())
        .sum()
}

/// NumPy's Sturges bin edges over [lo, hi] for `count` values: ⌈(hi − lo) / width⌉ equal
/// bins with width = (hi − lo) / (log2(count) + 1), laid out like `np.linspace`.
pub fn sturges_edges(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let width = (hi - lo) / ((count as f64).log2() + 1.0);
    let (lo, hi) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let bins = if width > 0.0 {
        ((hi - lo) / width).ceil().max(1.0) as usize
    } else {
        1
    };
    let step = (hi - lo) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + lo).collect();
    edges[bins] = hi;
    edges
}

/// Counts of a sorted sample in the bins of `edges` (left-closed, the last bin closed).
pub fn sorted_bin_counts(sorted: &[f64], edges: &[f64]) -> Vec<usize> {
    let bins = edges.len().saturating_sub(1);
    let mut counts = Vec::with_capacity(bins);
    let mut start = sorted.partition_point(|&v| v < edges[0]);
    for k in 0..bins {
        let end = if k + 1 == bins {
            sorted.partition_point(|&v| v <= edges[k + 1])
        } else {
            sorted.partition_point(|&v| v < edges[k + 1])
        };
        counts.push(end.saturating_sub(start));
        start = end;
    }
    counts
}

/// The upper tail of the standard normal distribution.
pub fn normal_sf(z: f64) -> f64 {
    if z >= 0.0 {
        0.5 * gamma_q(0.5, z * z / 2.0)
    } else {
        1.0 - 0.5 * gamma_q(0.5, z * z / 2.0)
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), a > 0.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x.is_nan() || a <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let log_prefactor = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // Series for P(a, x).
        let (mut ap, mut del) = (a, 1.0 / a);
        let mut sum = del;
        for _ in 0..10_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * log_prefactor.exp()
    } else {
        // Continued fraction for Q(a, x) (modified Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -f64::from(i) * (f64::from(i) - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-17 {
                break;
            }
        }
        log_prefactor.exp() * h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn gamma_and_normal_tails_match_known_values() {
        // χ²(1) at 3.841458820694124 is the 5 % point; χ²(4) at 9.487729036781154 too.
        assert!(close(
            gamma_q(0.5, 3.841_458_820_694_124 / 2.0),
            0.05,
            1e-13
        ));
        assert!(close(
            gamma_q(2.0, 9.487_729_036_781_154 / 2.0),
            0.05,
            1e-13
        ));
        // Q(1, x) = e^-x.
        for x in [0.1, 1.0, 7.5, 40.0] {
            assert!(close(gamma_q(1.0, x), (-x).exp(), 1e-15));
        }
        assert!(close(normal_sf(1.959_963_984_540_054), 0.025, 1e-14));
        assert!(close(normal_sf(0.0), 0.5, 1e-15));
        assert!(close(normal_sf(-1.0) + normal_sf(1.0), 1.0, 1e-15));
        assert!(close(ln_gamma(10.0), (362_880f64).ln(), 1e-12));
        assert_eq!(gamma_q(3.0, f64::INFINITY), 0.0);
    }

    /// Brute force over all C(m+n, n) paths for small samples.
    fn brute_outside(m: u64, n: u64, d: f64) -> f64 {
        let total = m + n;
        let (mut outside, mut all) = (0u64, 0u64);
        for mask in 0u64..(1 << total) {
            if mask.count_ones() as u64 != n {
                continue;
            }
            all += 1;
            let (mut x, mut y) = (0f64, 0f64);
            let mut out = false;
            for k in 0..total {
                if mask >> k & 1 == 1 {
                    y += 1.0;
                } else {
                    x += 1.0;
                }
                if (x / m as f64 - y / n as f64).abs() >= d - 1e-12 {
                    out = true;
                }
            }
            outside += u64::from(out);
        }
        outside as f64 / all as f64
    }

    #[test]
    fn exact_ks_p_matches_path_enumeration() {
        for (m, n) in [(5u64, 3u64), (6, 4), (7, 7), (8, 5), (9, 3)] {
            let lcm = (m * n / gcd(m, n)) as f64;
            for h in 1..=(lcm as u64) {
                let d = h as f64 / lcm;
                let exact = ks_p_from_statistic(d, m, n);
                let brute = brute_outside(m, n, d);
                assert!(
                    close(exact, brute, 1e-12),
                    "m={m} n={n} h={h}: {exact} vs {brute}"
                );
            }
        }
    }

    #[test]
    fn ks_of_identical_samples_is_one_and_separated_samples_tiny() {
        let a: Vec<f64> = (0..200).map(f64::from).collect();
        assert_eq!(ks_statistic(&a, &a), 0.0);
        assert_eq!(ks_p_value(&a, &a), 1.0);
        let b: Vec<f64> = (1000..1300).map(f64::from).collect();
        assert_eq!(ks_statistic(&a, &b), 1.0);
        assert!(ks_p_value(&a, &b) < 1e-50);
    }

    #[test]
    fn wasserstein_by_hand() {
        // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
        assert!(close(
            wasserstein(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]),
            5.0,
            1e-12
        ));
        // ([0, 1], [0, 0, 1, 1, 1]): |F| gap 0.5 − 0.4 over [0, 1) → 0.1
        assert!(close(
            wasserstein(&[0.0, 1.0], &[0.0, 0.0, 1.0, 1.0, 1.0]),
            0.1,
            1e-12
        ));
        assert_eq!(wasserstein(&[2.0], &[2.0]), 0.0);
    }

    #[test]
    fn chi_square_z_and_js_by_hand() {
        // scipy.stats.chisquare([16, 18, 16, 14, 12, 12]) → p = 0.8491
        let obs = [16.0, 18.0, 16.0, 14.0, 12.0, 12.0];
        let p = chi_square_p(&obs, &[88.0 / 6.0; 6]);
        assert!(close(p, 0.849_145_036_084_609_6, 1e-9), "{p}");
        assert_eq!(chi_square_p(&[1.0, 2.0, 3.0], &[0.0, 3.0, 3.0]), 0.0);
        // 50/100 vs 50/100: no difference.
        assert!(close(z_proportions_p(50.0, 100.0, 50.0, 100.0), 1.0, 1e-15));
        assert_eq!(z_proportions_p(0.0, 10.0, 0.0, 10.0), 1.0);
        assert_eq!(jensen_shannon(&[1.0, 0.0], &[1.0, 0.0]), 0.0);
        // Disjoint supports: the divergence is ln 2.
        assert!(close(
            jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]),
            2f64.ln().sqrt(),
            1e-15
        ));
    }

    #[test]
    fn sturges_edges_like_numpy() {
        // np.histogram_bin_edges(np.arange(10.0), 'sturges') → 6 bins over [0, 9]
        let e = sturges_edges(0.0, 9.0, 10);
        assert_eq!(e.len(), 6);
        assert_eq!(e[0], 0.0);
        assert_eq!(e[5], 9.0);
        assert!(close(e[1], 1.8, 1e-15));
        let e = sturges_edges(3.0, 3.0, 4);
        assert_eq!(e, vec![2.5, 3.5]);
        let counts = sorted_bin_counts(&[0.0, 1.0, 1.8, 8.9, 9.0], &sturges_edges(0.0, 9.0, 10));
        assert_eq!(counts, vec![2, 1, 0, 0, 2]);
    }

    #[test]
    fn psi_fills_zero_shares() {
        assert_eq!(psi_of_shares(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
        let p = psi_of_shares(&[1.0, 0.0], &[0.5, 0.5]);
        let expected = (1.0f64 - 0.5) * (2.0f64).ln() + (1e-4 - 0.5) * (1e-4f64 / 0.5).ln();
        assert!(close(p, expected, 1e-12));
    }
}
