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
//! polynomial of degree d − 1, so Gauss–Legendre quadrature with ⌈d/2⌉ nodes is exact. Each
//! leaf then costs O(d · ⌈d/2⌉) instead of the O(d²) path extension and unwinding per leaf of
//! the original algorithm, and there is no per-row setup. The bias is the base margin plus each
//! tree's cover-weighted mean leaf value, as in XGBoost.

use serde::{Deserialize, Serialize};

use crate::gbt::{GbtModel, Tree};
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

/// Gauss–Legendre nodes and weights on [0, 1], for every node count up to `max_points`.
#[derive(Debug, Clone)]
pub struct Quadrature {
    /// `rules[q - 1]` holds the (node, weight) pairs of the q-point rule.
    rules: Vec<Vec<(f64, f64)>>,
}

impl Quadrature {
    pub fn new(max_points: usize) -> Self {
        Self {
            rules: (1..=max_points.max(1)).map(gauss_legendre_01).collect(),
        }
    }

    /// The rule that integrates polynomials of degree `d − 1` exactly (for `d` features).
    #[inline]
    fn for_features(&self, d: usize) -> &[(f64, f64)] {
        let q = d.div_ceil(2).max(1);
        &self.rules[q - 1]
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

/// One distinct feature on the current root-to-node path.
#[derive(Debug, Clone, Copy)]
struct PathEntry {
    feature: u32,
    /// Product of the cover fractions of this feature's splits on the path.
    zero: f64,
    /// 1 when the row follows all of them, else 0.
    one: f64,
}

impl GbtModel {
    /// The exact SHAP values of a row, in margin space.
    pub fn explain(&self, x: &FeatureVector) -> Result<Explanation, ModelError> {
        let mut contributions = vec![0.0; self.num_features()];
        let bias = self.explain_into(x, &mut contributions)?;
        let margin = f64::from(self.margin_unchecked(x.as_slice()));
        Ok(Explanation {
            bias,
            contributions,
            margin,
        })
    }

    /// Writes the SHAP values of a row into `out` (one per feature, overwritten) and returns
    /// the bias. Allocation-free apart from a small path buffer.
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
        let quadrature = self.quadrature();
        let mut path: Vec<PathEntry> = Vec::with_capacity(self.max_depth() + 1);
        let mut bias = f64::from(self.base_margin);
        for tree in &self.trees {
            bias += tree.mean_value;
            walk(tree, 0, x, &mut path, out, quadrature);
        }
        Ok(bias)
    }
}

fn walk(
    tree: &Tree,
    index: u32,
    x: &[f32],
    path: &mut Vec<PathEntry>,
    phi: &mut [f64],
    quadrature: &Quadrature,
) {
    let node = &tree.nodes[index as usize];
    if node.is_leaf {
        leaf(f64::from(node.value), path, phi, quadrature);
        return;
    }
    let hot = node.next(x[node.feature as usize]);
    let cover = f64::from(node.cover);
    for child in [node.left, node.right] {
        let child_cover = f64::from(tree.nodes[child as usize].cover);
        let fraction = if cover > 0.0 { child_cover / cover } else { 0.0 };
        let one = if child == hot { 1.0 } else { 0.0 };
        match path.iter().position(|e| e.feature == node.feature) {
            Some(k) => {
                let saved = path[k];
                path[k].zero *= fraction;
                path[k].one *= one;
                // A subtree that neither the row nor the training data reach adds nothing.
                if path[k].zero > 0.0 || path[k].one > 0.0 {
                    walk(tree, child, x, path, phi, quadrature);
                }
                path[k] = saved;
            }
            None => {
                if fraction > 0.0 || one > 0.0 {
                    path.push(PathEntry {
                        feature: node.feature,
                        zero: fraction,
                        one,
                    });
                    walk(tree, child, x, path, phi, quadrature);
                    path.pop();
                }
            }
        }
    }
}

/// Adds one leaf's contributions (see the module documentation).
#[inline]
fn leaf(value: f64, path: &[PathEntry], phi: &mut [f64], quadrature: &Quadrature) {
    if path.is_empty() || value == 0.0 {
        return;
    }
    let rule = quadrature.for_features(path.len());
    // w_k · v · Π_j (z_j + (o_j − z_j) t_k), for each node t_k.
    let mut weighted = [0.0f64; 32];
    for (k, &(t, w)) in rule.iter().enumerate() {
        let mut p = w * value;
        for e in path {
            p *= e.zero + (e.one - e.zero) * t;
        }
        weighted[k] = p;
    }
    for e in path {
        let slope = e.one - e.zero;
        let mut s = 0.0;
        for (k, &(t, _)) in rule.iter().enumerate() {
            s += weighted[k] / (e.zero + slope * t);
        }
        phi[e.feature as usize] += slope * s;
    }
}

impl GbtModel {
    fn quadrature(&self) -> &Quadrature {
        &self.quadrature
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbt::tests::tiny_model_json;

    #[test]
    fn quadrature_integrates_polynomials_exactly() {
        let q = Quadrature::new(8);
        for d in 1..=16usize {
            let rule = q.for_features(d);
            // ∫₀¹ t^k dt = 1/(k+1) for every k ≤ d − 1.
            for k in 0..d {
                let approx: f64 = rule.iter().map(|&(t, w)| w * t.powi(k as i32)).sum();
                assert!((approx - 1.0 / (k as f64 + 1.0)).abs() < 1e-13, "d={d} k={k}");
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
    fn a_stump_gives_its_feature_the_whole_deviation() {
        let m = GbtModel::from_json(tiny_model_json().as_bytes()).unwrap();
        let stump = Tree {
            nodes: m.trees[0].nodes.clone(),
            mean_value: m.trees[0].mean_value,
            depth: 1,
        };
        let x = [0.0f32, 0.0, 0.0];
        let mut phi = vec![0.0; 3];
        let mut path = Vec::new();
        walk(&stump, 0, &x, &mut path, &mut phi, &Quadrature::new(4));
        // mean = (-0.4·6 + 0.3·4)/10 = -0.12; the row gets -0.4 → φ₀ = -0.28
        assert!((phi[0] - (-0.4 - -0.12)).abs() < 1e-7, "{phi:?}");
    }

    use crate::gbt::{node_mean, Node};
    use proptest::prelude::*;

    /// A random tree: `spec` drives the shape (split or leaf), features, thresholds, covers
    /// and leaf values. Covers of children add up to the parent's.
    fn build(spec: &[(u8, u8, f32, f32, f32)], num_features: u32, max_depth: usize) -> Tree {
        let leaf = |cover: f32| Node {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
            default_left: false,
            is_leaf: true,
            value: 0.0,
            cover,
        };
        let mut nodes = vec![leaf(100.0)];
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
                    nodes.push(leaf(c));
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
        Tree { nodes, mean_value, depth }
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
    }
}
