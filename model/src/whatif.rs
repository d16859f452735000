//! What-if evaluation: the model's margin for one applicant over a grid of values of one or two
//! of its features, every other feature held at the applicant's value.
//!
//! Predicting each cell would walk every tree once per cell (3,000 cells for amounts × terms).
//! Instead each tree is walked once over *regions* of the grid: a split on a grid feature sends
//! the part of the grid below its threshold left and the rest right, a split on any other
//! feature follows the applicant's value, so every leaf reached covers a rectangle of cells and
//! adds its value to all of them at once (a 2-D difference array, summed at the end). Trees
//! that never split on a grid feature reach one leaf, as in a prediction. The result is exact:
//! every cell's margin is the sum of the leaf values that cell's feature vector reaches, as
//! [`GbtModel::predict_margin`] computes it — added in `f64` rather than in XGBoost's `f32`
//! order, so the two agree to within rounding (a few 1e-6); decisions taken from a grid near a
//! threshold are therefore re-scored with the model itself before they are stated.

use crate::gbt::GbtModel;
use crate::values::FeatureVector;
use crate::ModelError;

/// One axis of a grid: a feature and the values it takes, ascending, none missing.
#[derive(Debug, Clone, Copy)]
pub struct Axis<'a> {
    pub feature: usize,
    pub values: &'a [f32],
}

/// The margins (log-odds of default) of a grid of one or two axes, row-major: the first axis
/// indexes rows, the second (or a single column) columns.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginGrid {
    rows: usize,
    cols: usize,
    margins: Vec<f64>,
    /// Leaves added: the work done, for benchmarks and the bound checks of callers.
    leaves: usize,
}

impl MarginGrid {
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The margin at row `i`, column `j`.
    pub fn margin(&self, i: usize, j: usize) -> f64 {
        self.margins[i * self.cols + j]
    }

    /// How many (tree, leaf, rectangle) visits the grid took: one per tree when no tree splits
    /// on a grid feature.
    pub fn leaves_visited(&self) -> usize {
        self.leaves
    }
}

fn check_axis(model: &GbtModel, axis: &Axis<'_>) -> Result<(), ModelError> {
    if axis.feature >= model.num_features() {
        return Err(ModelError::Invalid(format!(
            "grid feature {} is not one of the model's {} features",
            axis.feature,
            model.num_features()
        )));
    }
    if axis.values.is_empty() {
        return Err(ModelError::Invalid(format!(
            "grid feature {} has no values",
            axis.feature
        )));
    }
    if axis.values.iter().any(|v| !v.is_finite()) || axis.values.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ModelError::Invalid(format!(
            "grid feature {}: values must be finite and strictly ascending",
            axis.feature
        )));
    }
    Ok(())
}

/// A region of the grid at a node: indices `lo[a]..hi[a]` along axis `a` (rows, columns).
#[derive(Debug, Clone, Copy)]
struct Region {
    node: u32,
    lo: [u32; 2],
    hi: [u32; 2],
}

impl GbtModel {
    /// The margin of `x` with feature `rows.feature` set to each of `rows.values` and, when
    /// given, `cols.feature` to each of `cols.values` (see the module documentation).
    pub fn margin_grid(
        &self,
        x: &FeatureVector,
        rows: Axis<'_>,
        cols: Option<Axis<'_>>,
    ) -> Result<MarginGrid, ModelError> {
        let xs = x.as_slice();
        self.check_len(xs)?;
        check_axis(self, &rows)?;
        if let Some(c) = &cols {
            check_axis(self, c)?;
            if c.feature == rows.feature {
                return Err(ModelError::Invalid(
                    "the two grid axes must be different features".into(),
                ));
            }
        }
        let (nr, nc) = (rows.values.len(), cols.map_or(1, |c| c.values.len()));
        // The column axis of a one-axis grid matches no feature.
        let features = [
            rows.feature as u32,
            cols.map_or(u32::MAX, |c| c.feature as u32),
        ];
        let values: [&[f32]; 2] = [rows.values, cols.map_or(&[], |c| c.values)];
        let w = nc + 1;
        let mut diff = vec![0.0f64; (nr + 1) * w];
        let mut stack: Vec<Region> = Vec::with_capacity(64);
        let mut leaves = 0usize;
        for tree in &self.trees {
            stack.push(Region {
                node: 0,
                lo: [0, 0],
                hi: [nr as u32, nc as u32],
            });
            while let Some(g) = stack.pop() {
                let n = &tree.nodes[g.node as usize];
                if n.is_leaf {
                    let v = f64::from(n.value);
                    let ([r0, c0], [r1, c1]) = (g.lo.map(|i| i as usize), g.hi.map(|i| i as usize));
                    diff[r0 * w + c0] += v;
                    diff[r0 * w + c1] -= v;
                    diff[r1 * w + c0] -= v;
                    diff[r1 * w + c1] += v;
                    leaves += 1;
                    continue;
                }
                let Some(a) = features.iter().position(|&f| f == n.feature) else {
                    stack.push(Region {
                        node: n.next(xs[n.feature as usize]),
                        ..g
                    });
                    continue;
                };
                // Values below the threshold go left (never missing on a grid axis).
                let (lo, hi) = (g.lo[a], g.hi[a]);
                let k = lo
                    + values[a][lo as usize..hi as usize].partition_point(|v| *v < n.threshold)
                        as u32;
                if k > lo {
                    let mut left = Region { node: n.left, ..g };
                    left.hi[a] = k;
                    stack.push(left);
                }
                if k < hi {
                    let mut right = Region { node: n.right, ..g };
                    right.lo[a] = k;
                    stack.push(right);
                }
            }
        }
        // Prefix sums over the difference array give each cell's total.
        let base = f64::from(self.base_margin);
        let mut margins = vec![0.0f64; nr * nc];
        let mut above = vec![0.0f64; nc];
        for i in 0..nr {
            let mut run = 0.0f64;
            for j in 0..nc {
                run += diff[i * w + j];
                above[j] += run;
                margins[i * nc + j] = base + above[j];
            }
        }
        Ok(MarginGrid {
            rows: nr,
            cols: nc,
            margins,
            leaves,
        })
    }

    /// The distinct split thresholds of `feature`, ascending (empty for a feature no tree
    /// splits on or out of range): the model's output as a function of that feature alone is
    /// constant between consecutive ones. Computed once when the model is loaded.
    pub fn split_thresholds(&self, feature: usize) -> &[f32] {
        self.thresholds.get(feature).map_or(&[], Vec::as_slice)
    }
}

/// Every feature's distinct split thresholds, ascending.
pub(crate) fn thresholds(trees: &[crate::gbt::Tree], num_features: usize) -> Vec<Vec<f32>> {
    let mut out = vec![Vec::new(); num_features];
    for n in trees.iter().flat_map(|t| t.nodes.iter()) {
        if !n.is_leaf {
            if let Some(t) = out.get_mut(n.feature as usize) {
                t.push(n.threshold);
            }
        }
    }
    for t in &mut out {
        t.sort_by(f32::total_cmp);
        t.dedup();
        t.shrink_to_fit();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A row of `m` values uniform on [−`span`, `span`), a fifth of them missing.
    fn random_row(rng: &mut impl Rng, m: usize, span: f32) -> Vec<f32> {
        (0..m)
            .map(|_| {
                if rng.gen_bool(0.2) {
                    f32::NAN
                } else {
                    rng.gen_range(-span..span)
                }
            })
            .collect()
    }

    /// The interleaved walk of the margin gives, bit for bit, the tree-by-tree sum in tree
    /// order, for tree counts around the walk's width and rows with missing values.
    #[test]
    fn the_interleaved_walk_is_the_tree_by_tree_sum() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (seed, trees) in [(1, 1), (2, 7), (3, 8), (4, 9), (5, 19), (6, 40)] {
            let model = random_model(seed, 6, trees, 6);
            for _ in 0..200 {
                let x = random_row(&mut rng, 6, 5.0);
                let mut sum = model.base_margin;
                for tree in &model.trees {
                    sum += tree.leaf_value(&x);
                }
                assert_eq!(model.margin_unchecked(&x).to_bits(), sum.to_bits());
            }
        }
    }

    /// A random model over `m` features: `trees` trees of depth ≤ `depth`, thresholds on a
    /// coarse lattice so that grid values hit them exactly, random default directions.
    fn random_model(seed: u64, m: usize, trees: usize, depth: usize) -> GbtModel {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut json_trees = Vec::new();
        for _ in 0..trees {
            let (mut left, mut right, mut feat, mut cond, mut dl, mut hess) =
                (vec![], vec![], vec![], vec![], vec![], vec![]);
            // Breadth-first complete-ish tree: node k's children are appended when it splits.
            let mut level = vec![0usize];
            left.push(-1i64);
            right.push(-1i64);
            feat.push(0i64);
            cond.push(0.0f64);
            dl.push(false);
            hess.push(1.0f64);
            for d in 0..depth {
                let mut next = vec![];
                for &k in &level {
                    if d > 0 && rng.gen_bool(0.25) {
                        continue;
                    }
                    let l = left.len();
                    left[k] = l as i64;
                    right[k] = l as i64 + 1;
                    feat[k] = rng.gen_range(0..m) as i64;
                    cond[k] = f64::from(rng.gen_range(-8i32..8)) * 0.5;
                    dl[k] = rng.gen_bool(0.5);
                    for _ in 0..2 {
                        left.push(-1);
                        right.push(-1);
                        feat.push(0);
                        cond.push(f64::from(rng.gen_range(-100i32..100)) / 100.0);
                        dl.push(false);
                        hess.push(1.0);
                    }
                    next.extend([l, l + 1]);
                }
                level = next;
            }
            // Covers: a split's is its children's sum.
            for k in (0..left.len()).rev() {
                if left[k] >= 0 {
                    hess[k] = hess[left[k] as usize] + hess[right[k] as usize];
                }
            }
            json_trees.push(serde_json::json!({
                "left_children": left, "right_children": right, "split_indices": feat,
                "split_conditions": cond, "default_left": dl, "sum_hessian": hess,
            }));
        }
        let json = serde_json::json!({
            "version": [3, 0, 0],
            "learner": {
                "objective": {"name": "binary:logistic"},
                "learner_model_param": {"base_score": "3E-1", "num_class": "0",
                                        "num_feature": m.to_string()},
                "feature_names": [],
                "gradient_booster": {"name": "gbtree", "model": {
                    "gbtree_model_param": {"num_trees": trees.to_string()},
                    "tree_info": vec![0; trees], "trees": json_trees}}
            }
        });
        GbtModel::from_json(json.to_string().as_bytes()).expect("random model")
    }

    fn set(x: &[f32], k: usize, v: f32) -> Vec<f32> {
        let mut y = x.to_vec();
        y[k] = v;
        y
    }

    #[test]
    fn every_cell_is_the_prediction_of_its_feature_vector() {
        for seed in 0..20u64 {
            let m = 5;
            let model = random_model(seed, m, 30, 5);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed + 100);
            // Some features missing, so that default directions are taken off the grid axes.
            let x = random_row(&mut rng, m, 4.0);
            // Lattice points (equal to thresholds) and points between them.
            let a: Vec<f32> = (-10..=10).map(|k| k as f32 * 0.25).collect();
            let b: Vec<f32> = (-9..=9).map(|k| k as f32 * 0.5).collect();
            let fv = FeatureVector::new(x.clone()).expect("vector");
            let grid = model
                .margin_grid(
                    &fv,
                    Axis {
                        feature: 1,
                        values: &a,
                    },
                    Some(Axis {
                        feature: 3,
                        values: &b,
                    }),
                )
                .expect("grid");
            assert_eq!((grid.rows(), grid.cols()), (a.len(), b.len()));
            for (i, &va) in a.iter().enumerate() {
                for (j, &vb) in b.iter().enumerate() {
                    let y = set(&set(&x, 1, va), 3, vb);
                    let want = model.margin_unchecked(&y);
                    let got = grid.margin(i, j);
                    assert!(
                        (got - f64::from(want)).abs() < 1e-5,
                        "seed {seed} cell ({va}, {vb}): grid {got}, predict {want}"
                    );
                }
            }
            let one = model
                .margin_grid(
                    &fv,
                    Axis {
                        feature: 2,
                        values: &a,
                    },
                    None,
                )
                .expect("one axis");
            for (i, &va) in a.iter().enumerate() {
                let want = model.margin_unchecked(&set(&x, 2, va));
                assert!((one.margin(i, 0) - f64::from(want)).abs() < 1e-5);
            }
        }
    }

    /// The index of the leaf `x` reaches in `tree`.
    fn leaf_of(tree: &crate::gbt::Tree, x: &[f32]) -> usize {
        let mut i = 0usize;
        while !tree.nodes[i].is_leaf {
            let n = &tree.nodes[i];
            i = n.next(x[n.feature as usize]) as usize;
        }
        i
    }

    /// Each leaf a grid reaches is visited once, as one rectangle: the work is the number of
    /// distinct leaves the cells reach, one per tree for a tree that never splits on an axis.
    #[test]
    fn each_reached_leaf_is_visited_once() {
        for seed in 0..10u64 {
            let model = random_model(seed, 4, 25, 5);
            let x = vec![0.3f32, -0.2, 1.1, f32::NAN];
            let fv = FeatureVector::new(x.clone()).expect("vector");
            let (a, b): (Vec<f32>, Vec<f32>) = (
                (-9..=9).map(|k| k as f32 * 0.5).collect(),
                (-6..=6).map(|k| k as f32 * 0.75).collect(),
            );
            let grid = model
                .margin_grid(
                    &fv,
                    Axis {
                        feature: 0,
                        values: &a,
                    },
                    Some(Axis {
                        feature: 2,
                        values: &b,
                    }),
                )
                .expect("grid");
            let distinct: usize = model
                .trees
                .iter()
                .map(|t| {
                    let mut leaves: Vec<usize> = a
                        .iter()
                        .flat_map(|&va| b.iter().map(move |&vb| (va, vb)))
                        .map(|(va, vb)| leaf_of(t, &set(&set(&x, 0, va), 2, vb)))
                        .collect();
                    leaves.sort_unstable();
                    leaves.dedup();
                    leaves.len()
                })
                .sum();
            assert_eq!(grid.leaves_visited(), distinct, "seed {seed}");
            assert!(distinct > model.num_trees(), "the grid splits some trees");
        }
    }

    #[test]
    fn thresholds_are_sorted_distinct_and_bad_axes_are_refused() {
        let model = random_model(3, 4, 20, 4);
        let t = model.split_thresholds(0);
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        let x = FeatureVector::new(vec![0.0; 4]).expect("vector");
        let bad = |feature: usize, values: &[f32]| {
            model
                .margin_grid(&x, Axis { feature, values }, None)
                .is_err()
        };
        assert!(bad(4, &[1.0]));
        assert!(bad(0, &[]));
        assert!(bad(0, &[2.0, 1.0]));
        assert!(bad(0, &[1.0, f32::NAN]));
        let same = model.margin_grid(
            &x,
            Axis {
                feature: 0,
                values: &[1.0],
            },
            Some(Axis {
                feature: 0,
                values: &[1.0],
            }),
        );
        assert!(same.is_err());
        let short = FeatureVector::new(vec![0.0; 3]).expect("vector");
        assert!(model
            .margin_grid(
                &short,
                Axis {
                    feature: 0,
                    values: &[1.0]
                },
                None
            )
            .is_err());
    }
}
