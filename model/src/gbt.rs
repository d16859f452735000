//! XGBoost gradient-boosted tree models, read from XGBoost's JSON format (as saved by
//! XGBoost 1.6 through 3.x), with prediction identical to XGBoost's own.
//!
//! XGBoost works in `f32`: it compares `f32` feature values with `f32` split conditions and
//! adds `f32` leaf values, tree by tree, to the base margin. This module does the same, so its
//! predictions are bit-for-bit those of XGBoost's CPU predictor.

use serde_json::Value;

use crate::values::{FeatureVector, Probability};
use crate::ModelError;

/// One node of a tree, flattened for fast traversal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Node {
    /// Split feature (internal nodes).
    pub feature: u32,
    /// Split condition (internal nodes): `x < threshold` goes left.
    pub threshold: f32,
    pub left: u32,
    pub right: u32,
    pub default_left: bool,
    pub is_leaf: bool,
    /// Leaf value (leaves), learning rate included.
    pub value: f32,
    /// Sum of hessians of the training rows that reached this node ("cover").
    pub cover: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    /// The cover-weighted mean of the leaf values (the tree's expected output), as XGBoost
    /// computes it for the SHAP bias term.
    pub mean_value: f64,
    /// The largest number of splits on any root-to-leaf path.
    pub depth: usize,
}

/// Trees walked together by [`GbtModel::margin_unchecked`].
const WALK_LANES: usize = 8;

impl Tree {
    /// The leaf a row reaches (one tree alone; the model walks its trees together).
    #[cfg(test)]
    pub(crate) fn leaf_value(&self, x: &[f32]) -> f32 {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.is_leaf {
                return n.value;
            }
            i = n.next(x[n.feature as usize]) as usize;
        }
    }
}

impl Node {
    /// The child a value goes to: missing values (NaN) follow the default direction.
    #[inline]
    pub(crate) fn next(&self, value: f32) -> u32 {
        if value.is_nan() {
            if self.default_left {
                self.left
            } else {
                self.right
            }
        } else if value < self.threshold {
            self.left
        } else {
            self.right
        }
    }
}

/// The most features a model may declare.
pub const MAX_FEATURES: usize = 1 << 16;

/// The deepest tree served (a path fits in a 64-bit mask with room to spare).
pub const MAX_TREE_DEPTH: usize = 62;

/// A binary-logistic XGBoost model.
#[derive(Debug, Clone)]
pub struct GbtModel {
    pub(crate) trees: Vec<Tree>,
    pub(crate) base_margin: f32,
    num_features: usize,
    feature_names: Vec<String>,
    xgboost_version: String,
    pub(crate) shap: crate::shap::ShapTables,
    /// Per feature, its distinct split thresholds ascending (see [`GbtModel::split_thresholds`]).
    pub(crate) thresholds: Vec<Vec<f32>>,
}

impl GbtModel {
    /// Parses an XGBoost JSON model. Refuses anything but a `gbtree` booster with the
    /// `binary:logistic` objective and numerical splits, naming what it found instead.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        let root: Value = serde_json::from_slice(bytes)
            .map_err(|e| ModelError::ModelFormat(format!("not JSON: {e}")))?;
        let version = root
            .get("version")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .map(|n| n.as_u64().unwrap_or(0).to_string())
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let learner = field(&root, "learner")?;
        let objective = field(field(learner, "objective")?, "name")?
            .as_str()
            .unwrap_or_default();
        if objective != "binary:logistic" {
            return Err(ModelError::Unsupported(format!(
                "objective '{objective}'; Lendscope serves binary:logistic models"
            )));
        }
        let params = field(learner, "learner_model_param")?;
        let num_features = param_number(params, "num_feature")?;
        // Bounded before anything is sized by it (an explanation allocates one value per
        // feature): a crafted "1e12" must be refused, not abort the process allocating.
        if !(num_features >= 1.0
            && num_features <= MAX_FEATURES as f64
            && num_features.fract() == 0.0)
        {
            return Err(ModelError::ModelFormat(format!(
                "num_feature {num_features} is not a whole number from 1 to {MAX_FEATURES}"
            )));
        }
        let num_features = num_features as usize;
        if let Ok(classes) = param_number(params, "num_class") {
            if classes > 1.0 {
                return Err(ModelError::Unsupported(format!("{classes} classes")));
            }
        }
        if let Ok(targets) = param_number(params, "num_target") {
            if targets > 1.0 {
                return Err(ModelError::Unsupported(format!("{targets} targets")));
            }
        }
        let base_score = param_number(params, "base_score")? as f32;
        if !(base_score > 0.0 && base_score < 1.0) {
            return Err(ModelError::ModelFormat(format!(
                "base_score {base_score} is not a probability in (0, 1)"
            )));
        }
        // XGBoost's ProbToMargin for the logistic loss, in f32 as XGBoost computes it.
        let base_margin = -(1.0f32 / base_score - 1.0f32).ln();

        let booster = field(learner, "gradient_booster")?;
        let booster_name = booster
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("gbtree");
        if booster_name != "gbtree" {
            return Err(ModelError::Unsupported(format!(
                "booster '{booster_name}'; only gbtree is supported"
            )));
        }
        let model = field(booster, "model")?;
        let trees_json = field(model, "trees")?
            .as_array()
            .ok_or_else(|| ModelError::ModelFormat("trees is not an array".into()))?;
        if let Some(info) = model.get("tree_info").and_then(Value::as_array) {
            if info.iter().any(|g| g.as_u64() != Some(0)) {
                return Err(ModelError::Unsupported("multi-output trees".into()));
            }
        }
        let trees = trees_json
            .iter()
            .enumerate()
            .map(|(i, t)| parse_tree(t, num_features).map_err(|e| in_tree(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let feature_names = learner
            .get("feature_names")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            base_margin,
            num_features,
            feature_names,
            xgboost_version: version,
            shap: crate::shap::ShapTables::new(&trees, &crate::shap::Quadrature::new()),
            thresholds: crate::whatif::thresholds(&trees, num_features),
            trees,
        })
    }

    /// A model from already-built trees (for tests of this crate).
    #[cfg(test)]
    pub(crate) fn from_trees(trees: Vec<Tree>, num_features: usize, base_margin: f32) -> Self {
        Self {
            shap: crate::shap::ShapTables::new(&trees, &crate::shap::Quadrature::new()),
            thresholds: crate::whatif::thresholds(&trees, num_features),
            trees,
            base_margin,
            num_features,
            feature_names: Vec::new(),
            xgboost_version: "test".into(),
        }
    }

    pub fn num_features(&self) -> usize {
        self.num_features
    }

    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }

    /// The deepest path of any tree.
    pub fn max_depth(&self) -> usize {
        self.trees.iter().map(|t| t.depth).max().unwrap_or(0)
    }

    /// Feature names stored in the model file (empty when it was saved without them).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The XGBoost version that wrote the file.
    pub fn xgboost_version(&self) -> &str {
        &self.xgboost_version
    }

    /// The base margin (log-odds of the base score).
    pub fn base_margin(&self) -> f32 {
        self.base_margin
    }

    pub(crate) fn check_len(&self, x: &[f32]) -> Result<(), ModelError> {
        if x.len() == self.num_features {
            Ok(())
        } else {
            Err(ModelError::FeatureCount {
                expected: self.num_features,
                got: x.len(),
            })
        }
    }

    /// The margin (log-odds of default), summed exactly as XGBoost does.
    pub fn predict_margin(&self, x: &FeatureVector) -> Result<f32, ModelError> {
        let x = x.as_slice();
        self.check_len(x)?;
        Ok(self.margin_unchecked(x))
    }

    /// The margin: the base plus every tree's leaf, added in tree order in `f32` as XGBoost
    /// does. Trees are walked [`WALK_LANES`] at a time, one level of each in turn, so that the
    /// memory loads of independent trees overlap instead of waiting one after another (a
    /// model's nodes are rarely in cache when a request arrives); the sum is the same.
    #[inline]
    pub(crate) fn margin_unchecked(&self, x: &[f32]) -> f32 {
        let mut sum = self.base_margin;
        for group in self.trees.chunks(WALK_LANES) {
            let mut at = [0usize; WALK_LANES];
            let mut leaf: [Option<f32>; WALK_LANES] = [None; WALK_LANES];
            let mut open = group.len();
            while open > 0 {
                for ((tree, i), leaf) in group.iter().zip(&mut at).zip(&mut leaf) {
                    if leaf.is_some() {
                        continue;
                    }
                    let n = &tree.nodes[*i];
                    if n.is_leaf {
                        *leaf = Some(n.value);
                        open -= 1;
                    } else {
                        *i = n.next(x[n.feature as usize]) as usize;
                    }
                }
            }
            for v in leaf.iter().flatten() {
                sum += v;
            }
        }
        sum
    }

    /// The probability of the positive class (default).
    pub fn predict_proba(&self, x: &FeatureVector) -> Result<Probability, ModelError> {
        self.prediction(x)?.probability()
    }

    /// The prediction of a row, kept so that explaining the same row
    /// ([`GbtModel::explain_predicted`]) does not walk the trees again.
    pub fn prediction(&self, x: &FeatureVector) -> Result<Prediction, ModelError> {
        Ok(Prediction {
            margin: self.predict_margin(x)?,
        })
    }

    /// A rough count of the heap bytes this model holds.
    pub fn heap_bytes(&self) -> usize {
        self.trees
            .iter()
            .map(|t| t.nodes.capacity() * std::mem::size_of::<Node>() + std::mem::size_of::<Tree>())
            .sum::<usize>()
            + self
                .feature_names
                .iter()
                .map(String::capacity)
                .sum::<usize>()
            + self.shap.heap_bytes()
            + self
                .thresholds
                .iter()
                .map(|t| t.capacity() * 4 + std::mem::size_of::<Vec<f32>>())
                .sum::<usize>()
    }
}

/// A row's prediction by one model: its margin (log-odds of default), summed as XGBoost does.
/// Only [`GbtModel::prediction`] makes one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    margin: f32,
}

impl Prediction {
    pub fn margin(self) -> f32 {
        self.margin
    }

    /// The probability of default.
    pub fn probability(self) -> Result<Probability, ModelError> {
        Probability::new(f64::from(sigmoid(self.margin)))
    }
}

/// The logistic function in `f32`, as XGBoost applies it to margins.
pub fn sigmoid(margin: f32) -> f32 {
    1.0f32 / (1.0f32 + (-margin).exp())
}

fn in_tree(i: usize, e: ModelError) -> ModelError {
    match e {
        ModelError::ModelFormat(m) => ModelError::ModelFormat(format!("tree {i}: {m}")),
        ModelError::Unsupported(m) => ModelError::Unsupported(format!("tree {i}: {m}")),
        other => other,
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, ModelError> {
    v.get(name)
        .ok_or_else(|| ModelError::ModelFormat(format!("missing field '{name}'")))
}

/// Learner parameters are strings in XGBoost's JSON ("5E-1", or "[5E-1]" since 2.0).
fn param_number(params: &Value, name: &str) -> Result<f64, ModelError> {
    let v = field(params, name)?;
    let parsed = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim()
            .parse::<f64>()
            .ok(),
        _ => None,
    };
    parsed
        .filter(|x| x.is_finite())
        .ok_or_else(|| ModelError::ModelFormat(format!("{name} is not a number: {v}")))
}

fn numbers(tree: &Value, name: &str) -> Result<Vec<f64>, ModelError> {
    field(tree, name)?
        .as_array()
        .ok_or_else(|| ModelError::ModelFormat(format!("{name} is not an array")))?
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        })
        .map(|x| x.ok_or_else(|| ModelError::ModelFormat(format!("{name} holds a non-number"))))
        .collect()
}

fn parse_tree(t: &Value, num_features: usize) -> Result<Tree, ModelError> {
    let left = numbers(t, "left_children")?;
    let right = numbers(t, "right_children")?;
    let split_index = numbers(t, "split_indices")?;
    let split_cond = numbers(t, "split_conditions")?;
    let default_left = numbers(t, "default_left")?;
    let cover = numbers(t, "sum_hessian")?;
    let n = left.len();
    if n == 0 {
        return Err(ModelError::ModelFormat("empty tree".into()));
    }
    for (name, len) in [
        ("right_children", right.len()),
        ("split_indices", split_index.len()),
        ("split_conditions", split_cond.len()),
        ("default_left", default_left.len()),
        ("sum_hessian", cover.len()),
    ] {
        if len != n {
            return Err(ModelError::ModelFormat(format!(
                "{name} has {len} entries for {n} nodes"
            )));
        }
    }
    if let Ok(types) = numbers(t, "split_type") {
        if types.iter().any(|&s| s != 0.0) {
            return Err(ModelError::Unsupported(
                "categorical splits; one-hot encode categorical features instead".into(),
            ));
        }
    }
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let is_leaf = left[i] < 0.0;
        let child = |c: f64, what: &str| -> Result<u32, ModelError> {
            if c >= 1.0 && (c as usize) < n {
                Ok(c as u32)
            } else {
                Err(ModelError::ModelFormat(format!(
                    "node {i}: bad {what} child {c}"
                )))
            }
        };
        let (l, r, feature) = if is_leaf {
            (0, 0, 0)
        } else {
            let feature = split_index[i];
            if feature < 0.0 || feature as usize >= num_features {
                return Err(ModelError::ModelFormat(format!(
                    "node {i}: split feature {feature} outside 0..{num_features}"
                )));
            }
            (
                child(left[i], "left")?,
                child(right[i], "right")?,
                feature as u32,
            )
        };
        nodes.push(Node {
            feature,
            threshold: split_cond[i] as f32,
            left: l,
            right: r,
            default_left: default_left[i] != 0.0,
            is_leaf,
            value: if is_leaf { split_cond[i] as f32 } else { 0.0 },
            cover: cover[i] as f32,
        });
    }
    // Covers must be what XGBoost writes: finite, not negative, and a split's the sum of its
    // children's (up to float rounding). TreeSHAP weighs paths by them; with any other covers
    // the explanation would not add up to the prediction.
    for (i, node) in nodes.iter().enumerate() {
        if !node.cover.is_finite() || node.cover < 0.0 {
            return Err(ModelError::ModelFormat(format!(
                "node {i}: cover {} is not a finite non-negative number",
                node.cover
            )));
        }
        if !node.is_leaf {
            let (c, l, r) = (
                f64::from(node.cover),
                f64::from(nodes[node.left as usize].cover),
                f64::from(nodes[node.right as usize].cover),
            );
            if (l + r - c).abs() > 1e-3 * c.abs().max(1.0) {
                return Err(ModelError::ModelFormat(format!(
                    "node {i}: cover {c} is not the sum of its children's ({l} + {r})"
                )));
            }
        }
    }
    // Every node must be reached exactly once from the root: no cycles, no sharing.
    let mut seen = vec![false; n];
    let mut stack = vec![(0usize, 0usize)];
    let mut depth = 0;
    while let Some((i, d)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            return Err(ModelError::ModelFormat(format!(
                "node {i} is reached twice"
            )));
        }
        depth = depth.max(d);
        let node = nodes[i];
        if !node.is_leaf {
            stack.push((node.left as usize, d + 1));
            stack.push((node.right as usize, d + 1));
        }
    }
    // Checked before any recursive pass over the tree (the mean values below, TreeSHAP's
    // walk): a crafted chain of thousands of nodes must be refused, not overflow the stack.
    if depth > MAX_TREE_DEPTH {
        return Err(ModelError::Unsupported(format!("trees of depth {depth}")));
    }
    let mean_value = node_mean(&nodes, 0);
    Ok(Tree {
        nodes,
        mean_value,
        depth,
    })
}

/// XGBoost's `FillNodeMeanValues`: leaf value, or the cover-weighted mean of the children
/// divided by the node's own cover.
pub(crate) fn node_mean(nodes: &[Node], i: usize) -> f64 {
    let n = nodes[i];
    if n.is_leaf {
        return f64::from(n.value);
    }
    let (l, r) = (nodes[n.left as usize], nodes[n.right as usize]);
    let sum = node_mean(nodes, n.left as usize) * f64::from(l.cover)
        + node_mean(nodes, n.right as usize) * f64::from(r.cover);
    if n.cover > 0.0 {
        sum / f64::from(n.cover)
    } else {
        0.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-written model: one stump on feature 0 (threshold 0.5, missing → right) and one
    /// depth-2 tree on features 1 and 0.
    pub(crate) fn tiny_model_json() -> String {
        serde_json::json!({
            "version": [1, 6, 2],
            "learner": {
                "objective": {"name": "binary:logistic"},
                "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "3"},
                "feature_names": [],
                "gradient_booster": {
                    "name": "gbtree",
                    "model": {
                        "gbtree_model_param": {"num_trees": "2"},
                        "tree_info": [0, 0],
                        "trees": [
                            {
                                "left_children": [1, -1, -1],
                                "right_children": [2, -1, -1],
                                "split_indices": [0, 0, 0],
                                "split_conditions": [0.5, -0.4, 0.3],
                                "default_left": [0, 0, 0],
                                "sum_hessian": [10.0, 6.0, 4.0],
                                "split_type": [0, 0, 0]
                            },
                            {
                                "left_children": [1, 3, -1, -1, -1],
                                "right_children": [2, 4, -1, -1, -1],
                                "split_indices": [1, 0, 0, 0, 0],
                                "split_conditions": [2.0, 0.1, 0.2, -0.1, 0.05],
                                "default_left": [true, false, false, false, false],
                                "sum_hessian": [10.0, 7.0, 3.0, 5.0, 2.0]
                            }
                        ]
                    }
                }
            }
        })
        .to_string()
    }

    /// A crafted chain-shaped tree 100,000 levels deep: refused by the depth check, which runs
    /// before any recursive pass (it used to overflow the stack in the mean-value pass and
    /// abort the process).
    #[test]
    fn a_deep_chain_is_refused_not_a_stack_overflow() {
        let depth = 100_000usize;
        let n = 2 * depth + 1;
        let (mut left, mut right) = (vec![-1i64; n], vec![-1i64; n]);
        for level in 0..depth {
            left[2 * level] = (2 * level + 1) as i64;
            right[2 * level] = (2 * level + 2) as i64;
        }
        // Consistent covers (a split's is its children's sum), so only the depth is wrong.
        let mut covers = vec![1.0f64; n];
        for i in (0..n).rev() {
            if left[i] >= 0 {
                covers[i] = covers[left[i] as usize] + covers[right[i] as usize];
            }
        }
        let mut doc: serde_json::Value = serde_json::from_str(&tiny_model_json()).unwrap();
        doc["learner"]["gradient_booster"]["model"]["trees"][0] = serde_json::json!({
            "left_children": left,
            "right_children": right,
            "split_indices": vec![0; n],
            "split_conditions": vec![0.5; n],
            "default_left": vec![0; n],
            "sum_hessian": covers,
        });
        let err = GbtModel::from_json(doc.to_string().as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("tree 0") && err.to_string().contains("depth 100000"),
            "{err}"
        );
    }

    #[test]
    fn predicts_by_walking_each_tree() {
        let m = GbtModel::from_json(tiny_model_json().as_bytes()).unwrap();
        assert_eq!(m.num_trees(), 2);
        assert_eq!(m.max_depth(), 2);
        let x = FeatureVector::new(vec![0.0, 1.0, 0.0]).unwrap();
        // tree 1: 0.0 < 0.5 → -0.4; tree 2: 1.0 < 2.0 → node 1: 0.0 < 0.1 → -0.1
        assert_eq!(m.predict_margin(&x).unwrap(), 0.0f32 + -0.4 + -0.1);
        let missing = FeatureVector::new(vec![f32::NAN, f32::NAN, 0.0]).unwrap();
        // tree 1: missing → right (0.3); tree 2: missing → left → node 1: missing → right 0.05
        assert_eq!(m.predict_margin(&missing).unwrap(), 0.3f32 + 0.05);
        let p = m.predict_proba(&x).unwrap().value();
        assert!((p - 1.0 / (1.0 + 0.5f64.exp())).abs() < 1e-6);
    }

    #[test]
    fn wrong_sizes_and_objectives_are_refused() {
        let m = GbtModel::from_json(tiny_model_json().as_bytes()).unwrap();
        let short = FeatureVector::new(vec![0.0]).unwrap();
        assert!(matches!(
            m.predict_margin(&short),
            Err(ModelError::FeatureCount { .. })
        ));
        let other = tiny_model_json().replace("binary:logistic", "reg:squarederror");
        let err = GbtModel::from_json(other.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("reg:squarederror"), "{err}");
        assert!(GbtModel::from_json(b"{}").is_err());
        assert!(GbtModel::from_json(b"not json").is_err());
    }

    #[test]
    fn malformed_trees_are_refused() {
        let cyclic = tiny_model_json().replacen(
            "\"left_children\":[1,-1,-1]",
            "\"left_children\":[1,0,-1]",
            1,
        );
        assert_ne!(cyclic, tiny_model_json());
        assert!(GbtModel::from_json(cyclic.as_bytes()).is_err());
        let out_of_range =
            tiny_model_json().replacen("\"split_indices\":[0,0,0]", "\"split_indices\":[7,0,0]", 1);
        assert!(GbtModel::from_json(out_of_range.as_bytes()).is_err());
        let categorical =
            tiny_model_json().replacen("\"split_type\":[0,0,0]", "\"split_type\":[1,0,0]", 1);
        let err = GbtModel::from_json(categorical.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("categorical"), "{err}");
    }

    #[test]
    fn base_score_is_read_in_both_formats() {
        let v3 = tiny_model_json().replace("\"5E-1\"", "\"[2.5E-1]\"");
        let m = GbtModel::from_json(v3.as_bytes()).unwrap();
        assert!((m.base_margin() - (-(3.0f32).ln())).abs() < 1e-7);
    }
}
