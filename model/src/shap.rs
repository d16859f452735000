//! Exact path-dependent TreeSHAP — the Shapley values that XGBoost's `pred_contribs` returns —
//! computed by quadrature instead of XGBoost's path unwinding.
//!
//! For a leaf with value `v` whose path splits on the distinct features `D` (|D| = d), let
//! `z_j` be the product of the cover fractions of the path's splits on feature `j`, and `o_j`
//! 1 when the explained row follows every one of them (else 0). The leaf's contribution to
//! feature `i ∈ D` is
//!
//! ```text
//! φ_i = v (o_i − z_i) Σ_{S ⊆ D∖{i}} |S|!(d−|S|−1)!/d! · Π_{j∈S} o_j · Π_{j∈D∖S∖{i}} z_j
//!     = v (o_i − z_i) ∫₀¹ Π_{j∈D∖{i}} (z_j + (o_j − z_j) t) dt
//! ```
//!
//! (the Shapley weight is the Beta integral ∫ t^s (1−t)^(d−1−s) dt). The integrand is a
//! polynomial of degree d − 1, so Gauss–Legendre quadrature with ⌈depth/2⌉ nodes t_k is exact.
//!
//! Since Π_{j≠i} F_j = (Π_j F_j) / F_i and a feature's factor F_i is the same for every leaf
//! below its (last) split, the walk returns for each subtree the sum over its leaves of
//! v · Π_j F_j(t_k), and each split attributes `(o − z) Σ_k w_k · own_k / F_k` to its feature
//! once per child, where `own` excludes subtrees in which the same feature is split again
//! (those attribute themselves with the combined fraction). That is O(q) per node instead of
//! XGBoost's O(d²) path extension and unwinding per leaf; the per-node constants are computed
//! when the model is loaded (by the compiled kernel of `flat` for trees up to depth 8, in the
//! walker's tables below for deeper ones). The bias is the base margin plus
//! each tree's cover-weighted mean leaf value, as in XGBoost.

// The kernels index fixed-size arrays by quadrature node; index loops read best there.
#![allow(clippy::needless_range_loop)]

mod flat;

use serde::{Deserialize, Serialize};

use crate::gbt::{GbtModel, Prediction, Tree};
use crate::values::FeatureVector;
use crate::ModelError;

/// A prediction explained: `bias + Σ contributions = margin` (log-odds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The expected margin: base margin plus each tree's mean output.
    pub bias: f64,
    /// One value per model feature, in the model's feature order.
    pub contributions: Vec<f64>,
    /// The model's margin for this row (from the prediction itself, in XGBoost's `f32`).
    pub margin: f64,
}

/// Gauss–Legendre rules on [0, 1]. A tree is explained with one rule whose node count is at
/// least ⌈d/2⌉ for its deepest path (more nodes than needed are still exact).
#[derive(Debug, Clone)]
pub struct Quadrature {
    /// The node counts the explainer is specialised for, and their rules.
    rules: Vec<(usize, Vec<(f64, f64)>)>,
}

impl Default for Quadrature {
    fn default() -> Self {
        Self::new()
    }
}

/// Node counts with a specialised (unrolled) implementation.
const SIZES: [usize; 6] = [1, 2, 3, 4, 8, 32];

impl Quadrature {
    pub fn new() -> Self {
        Self {
            rules: SIZES.iter().map(|&q| (q, gauss_legendre_01(q))).collect(),
        }
    }

    /// The smallest specialised rule with at least `points` nodes.
    fn at_least(&self, points: usize) -> (usize, &[(f64, f64)]) {
        self.rules
            .iter()
            .find(|(q, _)| *q >= points)
            .or(self.rules.last())
            .map_or((0, &[][..]), |(q, r)| (*q, r.as_slice()))
    }

    /// The rule that integrates polynomials of degree `d − 1` exactly (for `d` features).
    #[cfg(test)]
    fn for_features(&self, d: usize) -> &[(f64, f64)] {
        self.at_least(d.div_ceil(2).max(1)).1
    }
}

/// The n-point Gauss–Legendre rule mapped to [0, 1], by Newton iteration on P_n.
fn gauss_legendre_01(n: usize) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0); n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (1.0f64, 0.0f64);
            for j in 1..=n {
                let jf = j as f64;
                let p3 = p2;
                p2 = p1;
                p1 = ((2.0 * jf - 1.0) * z * p2 - (jf - 1.0) * p3) / jf;
            }
            dp = nf * (z * p1 - p2) / (z * z - 1.0);
            let step = p1 / dp;
            z -= step;
            if step.abs() < 1e-15 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - z * z) * dp * dp);
        // Map x ∈ [−1, 1] to t = (x + 1) / 2, halving the weight.
        out[i] = ((1.0 - z) / 2.0, w / 2.0);
        out[n - 1 - i] = ((1.0 + z) / 2.0, w / 2.0);
    }
    out
}

/// Per-node constants of the walk, computed once when the model is loaded — only for a model
/// the compiled kernel does not serve (a tree deeper than 8): for each node
/// (as the child of its parent) its cover fraction `z`, and `w_k / F_k` with
/// `F_k = z + (o − z) t_k` for the row not going there (`o = 0`) and going there (`o = 1`),
/// at every node `t_k` of the model's quadrature rule.
#[derive(Debug, Clone)]
pub(crate) struct ShapTables {
    /// Quadrature nodes and weights.
    rule: Vec<(f64, f64)>,
    /// One table per tree, `1 + 2q` values per tree node.
    trees: Vec<Vec<f64>>,
    /// The compiled kernel (every tree of depth ≤ 8: the 2-node rule up to depth 4, the
    /// 4-node rule beyond), else `None`.
    flat: Option<flat::FlatForest>,
}

impl ShapTables {
    pub(crate) fn new(trees: &[Tree], quadrature: &Quadrature) -> Self {
        let depth = trees.iter().map(|t| t.depth).max().unwrap_or(0);
        let (q, rule) = quadrature.at_least(depth.div_ceil(2).max(1));
        let flat = flat::FlatForest::compile(trees, |points| {
            quadrature
                .rules
                .iter()
                .find(|(q, _)| *q == points)
                .map(|(_, r)| r.as_slice())
        });
        // The walker's tables only where it explains: a model the kernel serves keeps none.
        let tables = if flat.is_some() {
            Vec::new()
        } else {
            walker_tables(trees, q, rule)
        };
        Self {
            rule: rule.to_vec(),
            trees: tables,
            flat,
        }
    }

    /// The walker's tables and no compiled kernel (the walker explains every tree).
    #[cfg(test)]
    fn walker_only(trees: &[Tree], quadrature: &Quadrature) -> Self {
        let depth = trees.iter().map(|t| t.depth).max().unwrap_or(0);
        let (q, rule) = quadrature.at_least(depth.div_ceil(2).max(1));
        Self {
            rule: rule.to_vec(),
            trees: walker_tables(trees, q, rule),
            flat: None,
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.trees.iter().map(|t| t.capacity() * 8).sum::<usize>()
            + self.rule.capacity() * 16
            + self.flat.as_ref().map_or(0, flat::FlatForest::heap_bytes)
    }
}

/// The walker's per-node constants for every tree (`1 + 2q` values per node) with the
/// `q`-node rule `rule`.
fn walker_tables(trees: &[Tree], q: usize, rule: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let stride = 1 + 2 * q;
    trees
        .iter()
        .map(|tree| {
            let mut table = vec![0.0; tree.nodes.len() * stride];
            for node in &tree.nodes {
                if node.is_leaf {
                    continue;
                }
                let cover = f64::from(node.cover);
                for child in [node.left, node.right] {
                    let z = if cover > 0.0 {
                        f64::from(tree.nodes[child as usize].cover) / cover
                    } else {
                        0.0
                    };
                    let row = &mut table[child as usize * stride..(child as usize + 1) * stride];
                    row[0] = z;
                    for (o, base) in [(0.0, 1), (1.0, 1 + q)] {
                        for (k, &(t, w)) in rule.iter().enumerate() {
                            let f = z + (o - z) * t;
                            row[base + k] = if f > 0.0 { w / f } else { 0.0 };
                        }
                    }
                }
            }
            table
        })
        .collect()
}

/// One distinct feature on the current root-to-node path.
#[derive(Debug, Clone, Copy)]
struct Entry<const Q: usize> {
    feature: u32,
    /// Product of the cover fractions of this feature's splits on the path.
    zero: f64,
    /// 1 when the row follows all of them, else 0.
    one: f64,
    /// The part of the subtree's sum that deeper splits on the same feature attribute
    /// themselves (with their combined factor).
    claimed: [f64; Q],
}

const ABSENT: u8 = u8::MAX;

/// The depth-first walk over one row. Each call returns, for its subtree, the sum over leaves
/// of `v · Π_i F_i(t_k)` (all factors of the leaf's path); the contribution of a feature is
/// attributed at its last split above each leaf, once per child, as
/// `(o − z) Σ_k w_k · own_k / F_k` — O(q) per node instead of O(d · q) per leaf.
struct Walker<'a, const Q: usize> {
    x: &'a [f32],
    t: [f64; Q],
    w: [f64; Q],
    entries: Vec<Entry<Q>>,
    /// For each feature, its index in `entries`, or `ABSENT`.
    slot: Vec<u8>,
    phi: &'a mut [f64],
}

impl<'a, const Q: usize> Walker<'a, Q> {
    fn new(rule: &[(f64, f64)], x: &'a [f32], phi: &'a mut [f64], depth: usize) -> Self {
        let mut t = [0.0; Q];
        let mut w = [0.0; Q];
        for (k, &(tk, wk)) in rule.iter().take(Q).enumerate() {
            t[k] = tk;
            w[k] = wk;
        }
        Self {
            x,
            t,
            w,
            entries: Vec::with_capacity(depth + 1),
            slot: vec![ABSENT; phi.len()],
            phi,
        }
    }

    #[inline]
    fn factor(&self, zero: f64, one: f64) -> [f64; Q] {
        let mut f = [0.0; Q];
        for k in 0..Q {
            f[k] = zero + (one - zero) * self.t[k];
        }
        f
    }

    fn walk(&mut self, tree: &Tree, table: &[f64], index: u32, p: [f64; Q]) -> [f64; Q] {
        let node = &tree.nodes[index as usize];
        let stride = 1 + 2 * Q;
        let feature = node.feature as usize;
        let hot = node.next(self.x[feature]);
        let mut total = [0.0; Q];
        for child in [node.left, node.right] {
            let row = &table[child as usize * stride..(child as usize + 1) * stride];
            let z = row[0];
            let going = child == hot;
            let slot = self.slot[feature];
            let s = if slot == ABSENT {
                if z == 0.0 && !going {
                    continue;
                }
                let (one, base) = if going { (1.0, 1 + Q) } else { (0.0, 1) };
                let f = self.factor(z, one);
                let mut pc = p;
                for k in 0..Q {
                    pc[k] *= f[k];
                }
                let child_node = &tree.nodes[child as usize];
                let (s, claimed) = if child_node.is_leaf {
                    let v = f64::from(child_node.value);
                    (pc.map(|x| x * v), [0.0; Q])
                } else {
                    self.slot[feature] = self.entries.len() as u8;
                    self.entries.push(Entry {
                        feature: node.feature,
                        zero: z,
                        one,
                        claimed: [0.0; Q],
                    });
                    let s = self.walk(tree, table, child, pc);
                    let claimed = self.entries.pop().map_or([0.0; Q], |e| e.claimed);
                    self.slot[feature] = ABSENT;
                    (s, claimed)
                };
                let mut c = 0.0;
                for k in 0..Q {
                    c += (s[k] - claimed[k]) * row[base + k];
                }
                self.phi[feature] += (one - z) * c;
                s
            } else {
                let m = usize::from(slot);
                let old = self.entries[m];
                let zero = old.zero * z;
                let one = if going { old.one } else { 0.0 };
                if zero == 0.0 && one == 0.0 {
                    continue;
                }
                let old_factor = self.factor(old.zero, old.one);
                let factor = self.factor(zero, one);
                let mut pc = p;
                for k in 0..Q {
                    pc[k] = pc[k] / old_factor[k] * factor[k];
                }
                let child_node = &tree.nodes[child as usize];
                let (s, claimed) = if child_node.is_leaf {
                    let v = f64::from(child_node.value);
                    (pc.map(|x| x * v), [0.0; Q])
                } else {
                    self.entries[m] = Entry {
                        feature: old.feature,
                        zero,
                        one,
                        claimed: [0.0; Q],
                    };
                    let s = self.walk(tree, table, child, pc);
                    (s, self.entries[m].claimed)
                };
                let mut c = 0.0;
                for k in 0..Q {
                    c += (s[k] - claimed[k]) * self.w[k] / factor[k];
                }
                self.phi[feature] += (one - zero) * c;
                // The ancestor split on this feature must not attribute this subtree again.
                self.entries[m] = old;
                for k in 0..Q {
                    self.entries[m].claimed[k] += s[k];
                }
                s
            };
            for k in 0..Q {
                total[k] += s[k];
            }
        }
        total
    }
}

thread_local! {
    /// The compiled kernel's working memory: allocated once per thread, reused by every row.
    static SCRATCH: std::cell::RefCell<flat::Scratch> = std::cell::RefCell::new(flat::Scratch::default());
}

impl GbtModel {
    /// The exact SHAP values of a row, in margin space.
    pub fn explain(&self, x: &FeatureVector) -> Result<Explanation, ModelError> {
        self.explain_predicted(x, self.prediction(x)?)
    }

    /// The exact SHAP values of a row this model has predicted (`prediction` must be
    /// [`GbtModel::prediction`] of `x`; it gives the explanation's margin without a second walk of
    /// the trees).
    pub fn explain_predicted(
        &self,
        x: &FeatureVector,
        prediction: Prediction,
    ) -> Result<Explanation, ModelError> {
        // Debug builds only: outside `cfg!`, the release build would still walk the trees here.
        // A row of the wrong length is refused below; a NaN margin has no one bit pattern.
        if cfg!(debug_assertions) {
            if let Ok(margin) = self.predict_margin(x) {
                assert!(
                    margin.to_bits() == prediction.margin().to_bits()
                        || (margin.is_nan() && prediction.margin().is_nan()),
                    "a prediction of another row"
                );
            }
        }
        let mut contributions = vec![0.0; self.num_features()];
        let bias = self.explain_into(x, &mut contributions)?;
        let margin = f64::from(prediction.margin());
        Ok(Explanation {
            bias,
            contributions,
            margin,
        })
    }

    /// Writes the SHAP values of many rows into `out` (row after row, one value per feature,
    /// overwritten) and returns the bias (the same for every row). Rows are explained
    /// [`flat::BATCH`] at a time: one pass over the model serves them all.
    pub fn explain_batch_into(
        &self,
        rows: &[FeatureVector],
        out: &mut [f64],
    ) -> Result<f64, ModelError> {
        let m = self.num_features();
        if out.len() != rows.len() * m {
            return Err(ModelError::FeatureCount {
                expected: rows.len() * m,
                got: out.len(),
            });
        }
        for x in rows {
            self.check_len(x.as_slice())?;
        }
        out.fill(0.0);
        match &self.shap.flat {
            Some(_) if m == 0 => {}
            Some(flat) => {
                let mut scratch = flat::Scratch::default();
                for (chunk, phi) in rows
                    .chunks(flat::BATCH)
                    .zip(out.chunks_mut(flat::BATCH * m))
                {
                    let mut xs: [&[f32]; flat::BATCH] = [&[]; flat::BATCH];
                    for (slot, x) in xs.iter_mut().zip(chunk) {
                        *slot = x.as_slice();
                    }
                    flat.explain(&xs[..chunk.len()], phi, m, &mut scratch);
                }
            }
            None => {
                for (x, phi) in rows.iter().zip(out.chunks_exact_mut(m)) {
                    self.explain_walking(x.as_slice(), phi);
                }
            }
        }
        let mut bias = f64::from(self.base_margin);
        for tree in &self.trees {
            bias += tree.mean_value;
        }
        Ok(bias)
    }

    /// Writes the SHAP values of a row into `out` (one per feature, overwritten) and returns
    /// the bias.
    pub fn explain_into(&self, x: &FeatureVector, out: &mut [f64]) -> Result<f64, ModelError> {
        let x = x.as_slice();
        self.check_len(x)?;
        if out.len() != self.num_features() {
            return Err(ModelError::FeatureCount {
                expected: self.num_features(),
                got: out.len(),
            });
        }
        out.fill(0.0);
        if let Some(flat) = &self.shap.flat {
            let width = out.len();
            SCRATCH.with(|s| match s.try_borrow_mut() {
                Ok(mut scratch) => flat.explain(&[x], out, width, &mut scratch),
                // Re-entered on this thread (not done by this crate): a fresh scratch.
                Err(_) => flat.explain(&[x], out, width, &mut flat::Scratch::default()),
            });
        } else {
            self.explain_walking(x, out);
        }
        let mut bias = f64::from(self.base_margin);
        for tree in &self.trees {
            bias += tree.mean_value;
        }
        Ok(bias)
    }

    /// The recursive walker: any depth (the compiled kernel covers depth ≤ 8).
    fn explain_walking(&self, x: &[f32], out: &mut [f64]) {
        match self.shap.rule.len() {
            1 => self.explain_with::<1>(x, out),
            2 => self.explain_with::<2>(x, out),
            3 => self.explain_with::<3>(x, out),
            4 => self.explain_with::<4>(x, out),
            8 => self.explain_with::<8>(x, out),
            _ => self.explain_with::<32>(x, out),
        }
    }

    fn explain_with<const Q: usize>(&self, x: &[f32], out: &mut [f64]) {
        debug_assert_eq!(
            self.trees.len(),
            self.shap.trees.len(),
            "the walker's tables"
        );
        let mut walker = Walker::<Q>::new(&self.shap.rule, x, out, self.max_depth());
        for (tree, table) in self.trees.iter().zip(&self.shap.trees) {
            if !tree.nodes[0].is_leaf {
                walker.walk(tree, table, 0, [1.0; Q]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbt::tests::tiny_model_json;

    #[test]
    fn quadrature_integrates_polynomials_exactly() {
        let q = Quadrature::new();
        for d in 1..=16usize {
            let rule = q.for_features(d);
            // ∫₀¹ t^k dt = 1/(k+1) for every k ≤ d − 1.
            for k in 0..d {
                let approx: f64 = rule.iter().map(|&(t, w)| w * t.powi(k as i32)).sum();
                assert!(
                    (approx - 1.0 / (k as f64 + 1.0)).abs() < 1e-13,
                    "d={d} k={k}"
                );
            }
        }
    }

    #[test]
    fn contributions_and_bias_sum_to_the_margin() {
        let m = GbtModel::from_json(tiny_model_json().as_bytes()).unwrap();
        for row in [
            vec![0.0, 1.0, 0.0],
            vec![1.0, 3.0, 5.0],
            vec![f32::NAN, f32::NAN, f32::NAN],
            vec![0.2, f32::NAN, 1.0],
        ] {
            let x = FeatureVector::new(row).unwrap();
            let e = m.explain(&x).unwrap();
            let total = e.bias + e.contributions.iter().sum::<f64>();
            assert!((total - e.margin).abs() < 1e-6, "{total} vs {}", e.margin);
            assert_eq!(e.contributions[2], 0.0, "feature 2 is never split on");
        }
    }

    #[test]
    fn an_explained_prediction_keeps_the_predicted_margin_and_refuses_a_wrong_row() {
        let m = GbtModel::from_json(tiny_model_json().as_bytes()).unwrap();
        let x = FeatureVector::new(vec![0.2, f32::NAN, 1.0]).unwrap();
        let p = m.prediction(&x).unwrap();
        assert_eq!(
            p.margin().to_bits(),
            m.predict_margin(&x).unwrap().to_bits()
        );
        let e = m.explain_predicted(&x, p).unwrap();
        assert_eq!(e, m.explain(&x).unwrap());
        assert_eq!(e.margin, f64::from(p.margin()));
        // A row of another length is an error, not a panic (the debug check leaves it be).
        let short = FeatureVector::new(vec![0.2, 1.0]).unwrap();
        assert!(matches!(
            m.explain_predicted(&short, p),
            Err(ModelError::FeatureCount { .. })
        ));
    }

    #[test]
    fn a_stump_gives_its_feature_the_whole_deviation() {
        let m = GbtModel::from_json(tiny_model_json().as_bytes()).unwrap();
        let stump = Tree {
            nodes: m.trees[0].nodes.clone(),
            mean_value: m.trees[0].mean_value,
            depth: 1,
        };
        let x = [0.0f32, 0.0, 0.0];
        let mut phi = vec![0.0; 3];
        let q = Quadrature::new();
        let tables = ShapTables::walker_only(std::slice::from_ref(&stump), &q);
        Walker::<1>::new(&tables.rule, &x, &mut phi, 1).walk(&stump, &tables.trees[0], 0, [1.0]);
        assert_eq!(tables.rule.len(), 1);
        // mean = (-0.4·6 + 0.3·4)/10 = -0.12; the row gets -0.4 → φ₀ = -0.28
        assert!((phi[0] - (-0.4 - -0.12)).abs() < 1e-7, "{phi:?}");
    }

    use crate::gbt::{node_mean, Node};
    use proptest::prelude::*;

    /// A leaf with its value and cover.
    fn leaf(value: f32, cover: f32) -> Node {
        Node {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
            default_left: false,
            is_leaf: true,
            value,
            cover,
        }
    }

    /// A random tree: `spec` drives the shape (split or leaf), features, thresholds, covers
    /// and leaf values. Covers of children add up to the parent's.
    fn build(spec: &[(u8, u8, f32, f32, f32)], num_features: u32, max_depth: usize) -> Tree {
        let mut nodes = vec![leaf(0.0, 100.0)];
        let mut queue = vec![(0usize, 0usize)];
        let mut k = 0;
        let mut depth = 0;
        while let Some((i, d)) = queue.pop() {
            let (kind, feat, thr, share, val) = spec[k % spec.len()];
            k += 1;
            depth = depth.max(d);
            if d < max_depth && kind % 3 != 0 {
                let cover = nodes[i].cover;
                let share = 0.05 + 0.9 * share;
                let l = nodes.len() as u32;
                for c in [cover * share, cover * (1.0 - share)] {
                    nodes.push(leaf(0.0, c));
                }
                nodes[i] = Node {
                    feature: u32::from(feat) % num_features,
                    threshold: thr,
                    left: l,
                    right: l + 1,
                    default_left: kind % 2 == 0,
                    is_leaf: false,
                    value: 0.0,
                    cover,
                };
                queue.push((l as usize, d + 1));
                queue.push((l as usize + 1, d + 1));
            } else {
                nodes[i].value = val;
            }
        }
        let mean_value = node_mean(&nodes, 0);
        Tree {
            nodes,
            mean_value,
            depth,
        }
    }

    /// TreeSHAP's value function: features in `known` follow the row, others average over
    /// the children by cover.
    fn expected(tree: &Tree, i: usize, x: &[f32], known: u32) -> f64 {
        let n = tree.nodes[i];
        if n.is_leaf {
            return f64::from(n.value);
        }
        if known & (1 << n.feature) != 0 {
            return expected(tree, n.next(x[n.feature as usize]) as usize, x, known);
        }
        let (l, r) = (tree.nodes[n.left as usize], tree.nodes[n.right as usize]);
        (expected(tree, n.left as usize, x, known) * f64::from(l.cover)
            + expected(tree, n.right as usize, x, known) * f64::from(r.cover))
            / f64::from(n.cover)
    }

    /// Shapley values by enumerating every coalition.
    fn brute_force(trees: &[Tree], x: &[f32], m: usize) -> Vec<f64> {
        let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
        let mut phi = vec![0.0; m];
        for i in 0..m {
            for s in 0u32..(1 << m) {
                if s & (1 << i) != 0 {
                    continue;
                }
                let size = s.count_ones() as usize;
                let w = fact(size) * fact(m - size - 1) / fact(m);
                for t in trees {
                    phi[i] += w * (expected(t, 0, x, s | (1 << i)) - expected(t, 0, x, s));
                }
            }
        }
        phi
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn treeshap_equals_brute_force_shapley_values(
            specs in proptest::collection::vec(
                proptest::collection::vec((any::<u8>(), any::<u8>(), -2.0f32..2.0, 0.0f32..1.0, -1.0f32..1.0), 1..40),
                1..4),
            m in 1usize..6,
            depth in 1usize..6,
            row in proptest::collection::vec(prop_oneof![Just(f32::NAN), -2.0f32..2.0], 6),
        ) {
            let trees: Vec<Tree> = specs.iter().map(|s| build(s, m as u32, depth)).collect();
            let model = GbtModel::from_trees(trees.clone(), m, 0.25);
            let x = FeatureVector::new(row[..m].to_vec()).unwrap();
            let e = model.explain(&x).unwrap();
            let exact = brute_force(&trees, &row[..m], m);
            for (a, b) in e.contributions.iter().zip(&exact) {
                prop_assert!((a - b).abs() < 1e-9, "{:?} vs {:?}", e.contributions, exact);
            }
            let bias = 0.25 + trees.iter().map(|t| t.mean_value).sum::<f64>();
            prop_assert!((e.bias - bias).abs() < 1e-12);
            // Local accuracy: bias + Σ φ = the model's margin.
            let total = e.bias + e.contributions.iter().sum::<f64>();
            prop_assert!((total - e.margin).abs() < 1e-5, "{} vs {}", total, e.margin);
        }

        /// The compiled kernel (depth ≤ 8) equals the recursive walker on deep trees with
        /// features repeated along paths and missing values (zero covers: the test below).
        #[test]
        fn the_compiled_kernel_equals_the_walker(
            specs in proptest::collection::vec(
                proptest::collection::vec((any::<u8>(), any::<u8>(), -2.0f32..2.0, 0.0f32..1.0, -1.0f32..1.0), 1..300),
                1..6),
            m in 1usize..10,
            depth in 1usize..=8,
            row in proptest::collection::vec(prop_oneof![Just(f32::NAN), -2.0f32..2.0], 10),
        ) {
            let trees: Vec<Tree> = specs.iter().map(|s| build(s, m as u32, depth)).collect();
            let compiled = GbtModel::from_trees(trees.clone(), m, 0.25);
            // Two quadrature nodes up to depth 4, four beyond (exact to depth 8).
            let points = if compiled.max_depth() <= 4 { 2 } else { 4 };
            prop_assert_eq!(compiled.shap.flat.as_ref().map(flat::FlatForest::points), Some(points));
            let mut walking = GbtModel::from_trees(trees.clone(), m, 0.25);
            walking.shap = ShapTables::walker_only(&trees, &Quadrature::new());
            let x = FeatureVector::new(row[..m].to_vec()).unwrap();
            let (a, b) = (compiled.explain(&x).unwrap(), walking.explain(&x).unwrap());
            for (p, q) in a.contributions.iter().zip(&b.contributions) {
                prop_assert!((p - q).abs() < 1e-9 * (1.0 + q.abs()), "{:?} vs {:?}", a.contributions, b.contributions);
            }
            // The portable build (CPUs without AVX2 and FMA) equals the walker too.
            let flat = compiled.shap.flat.as_ref().unwrap();
            let mut portable = vec![0.0; m];
            flat.explain_portable(&[&row[..m]], &mut portable, m, &mut flat::Scratch::default());
            for (p, q) in portable.iter().zip(&b.contributions) {
                prop_assert!((p - q).abs() < 1e-9 * (1.0 + q.abs()), "{:?} vs {:?}", portable, b.contributions);
            }
            // In a batch each row equals its own explanation: 10 rows = one group of 8 and
            // one of 2.
            let rows: Vec<FeatureVector> = (0..10)
                .map(|j| {
                    let mut r = row[..m].to_vec();
                    r.rotate_left(j % m);
                    FeatureVector::new(r).unwrap()
                })
                .collect();
            let mut batch = vec![0.0; rows.len() * m];
            let bias = compiled.explain_batch_into(&rows, &mut batch).unwrap();
            prop_assert!((bias - a.bias).abs() < 1e-12);
            for (r, x) in rows.iter().enumerate() {
                let one = walking.explain(x).unwrap();
                for (p, q) in batch[r * m..(r + 1) * m].iter().zip(&one.contributions) {
                    prop_assert!((p - q).abs() < 1e-9 * (1.0 + q.abs()), "row {}: {:?} vs {:?}", r, &batch[r * m..(r + 1) * m], one.contributions);
                }
            }
        }
    }

    /// Branches no training row reached (cover 0, below a split and below a node of cover 0),
    /// with a feature repeated under them (also under a zero-cover split on the same
    /// feature): the compiled kernel equals the walker.
    #[test]
    fn zero_cover_branches_are_explained_as_the_walker_does() {
        let split = |feature, threshold, left, right, cover, default_left| Node {
            feature,
            threshold,
            left,
            right,
            default_left,
            is_leaf: false,
            value: 0.0,
            cover,
        };
        let nodes = vec![
            split(0, 0.5, 1, 2, 10.0, true),
            split(1, 0.0, 3, 4, 10.0, false),
            split(2, 0.1, 9, 8, 0.0, true),
            split(0, -0.5, 5, 6, 10.0, false),
            leaf(-0.3, 0.0),
            leaf(0.2, 4.0),
            leaf(-0.6, 6.0),
            leaf(0.5, 0.0),
            leaf(-0.1, 0.0),
            // Feature 2 again below the zero-cover split on it (a combined fraction of 0).
            split(2, 0.3, 7, 10, 0.0, false),
            leaf(0.05, 0.0),
        ];
        let tree = Tree {
            mean_value: node_mean(&nodes, 0),
            nodes,
            depth: 3,
        };
        let trees = vec![tree.clone(), tree];
        let compiled = GbtModel::from_trees(trees.clone(), 3, 0.1);
        assert!(compiled.shap.flat.is_some());
        let mut walking = GbtModel::from_trees(trees.clone(), 3, 0.1);
        walking.shap = ShapTables::walker_only(&trees, &Quadrature::new());
        for row in [
            [0.0f32, -1.0, 0.0],
            [1.0, -1.0, 0.0],
            [1.0, 1.0, 1.0],
            [-1.0, 1.0, f32::NAN],
            [f32::NAN, f32::NAN, f32::NAN],
            [0.0, 0.5, -1.0],
        ] {
            let x = FeatureVector::new(row.to_vec()).unwrap();
            let (a, b) = (compiled.explain(&x).unwrap(), walking.explain(&x).unwrap());
            for (p, q) in a.contributions.iter().zip(&b.contributions) {
                assert!((p - q).abs() < 1e-12, "{row:?}: {a:?} vs {b:?}");
            }
            assert!(a.contributions.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn trees_deeper_than_eight_are_explained_by_the_walker() {
        let spec: Vec<(u8, u8, f32, f32, f32)> = (0..400u32)
            .map(|i| {
                (
                    1 + (i % 5) as u8,
                    (i * 7 % 13) as u8,
                    (i % 17) as f32 / 8.0 - 1.0,
                    (i % 11) as f32 / 11.0,
                    (i % 9) as f32 / 9.0 - 0.5,
                )
            })
            .collect();
        let tree = build(&spec, 5, 12);
        assert!(tree.depth > 8);
        let model = GbtModel::from_trees(vec![tree], 5, 0.0);
        assert!(model.shap.flat.is_none());
        let row = [0.1f32, -0.3, f32::NAN, 0.7, -1.2];
        let x = FeatureVector::new(row.to_vec()).unwrap();
        let e = model.explain(&x).unwrap();
        let total = e.bias + e.contributions.iter().sum::<f64>();
        assert!((total - e.margin).abs() < 1e-5, "{total} vs {}", e.margin);
    }
}
