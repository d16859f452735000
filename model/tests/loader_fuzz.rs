//! Every model file is refused with an error or loaded — never a crash. A structure-aware fuzz
//! of the XGBoost JSON loader: 100,000 documents shaped like XGBoost's (learner, parameters,
//! booster, trees with their parallel arrays) with every part mutated in the ways a corrupt
//! or crafted file can differ — wrong types and lengths, children out of range or shared,
//! cycles, deep chains (the stack-overflow case), non-finite and extreme numbers, unknown
//! objectives and boosters. Each document must give `Ok` or `Err`; an `Ok` model must then
//! predict and explain random rows (missing values included) without panicking, with SHAP
//! values that sum to the margin. Deterministic (seeded): a failure names its case number.

use lendscope_model::gbt::MAX_TREE_DEPTH;
use lendscope_model::{FeatureVector, GbtModel};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

const CASES: u64 = 100_000;

fn number(rng: &mut ChaCha8Rng) -> Value {
    match rng.gen_range(0..10) {
        0 => json!(1e308),
        1 => json!(-1e308),
        2 => json!(0),
        3 => json!("0.5"),
        4 => json!(null),
        5 => json!(true),
        _ => json!(rng.gen_range(-10.0..10.0)),
    }
}

/// A tree: usually a well-formed random one, sometimes a chain (deep or not), then mutated.
fn tree(rng: &mut ChaCha8Rng, num_features: i64) -> Value {
    let chain = rng.gen_ratio(1, 20);
    let n: usize = if chain {
        match rng.gen_range(0..3) {
            0 => MAX_TREE_DEPTH * 2 + 1,
            1 => rng.gen_range(1..2 * MAX_TREE_DEPTH + 4),
            _ => rng.gen_range(200..3_000),
        }
    } else {
        rng.gen_range(0..40)
    };
    let (mut left, mut right) = (vec![-1i64; n], vec![-1i64; n]);
    if chain {
        // Node i splits into a leaf (i + 2) and the rest of the chain (i + 1)... built so
        // that every node is reached once: 0 → (1, 2), 2 → (3, 4), …
        let mut i = 0;
        while i + 2 < n {
            left[i] = (i + 1) as i64;
            right[i] = (i + 2) as i64;
            i += 2;
        }
    } else {
        // A random binary tree in breadth-first order.
        let mut next = 1;
        for i in 0..n {
            if next + 1 < n && rng.gen_bool(0.6) {
                left[i] = next as i64;
                right[i] = (next + 1) as i64;
                next += 2;
            }
        }
    }
    let mut split_indices: Vec<Value> = (0..n)
        .map(|_| json!(rng.gen_range(0..num_features.max(1))))
        .collect();
    let mut split_conditions: Vec<Value> =
        (0..n).map(|_| json!(rng.gen_range(-5.0..5.0))).collect();
    let mut default_left: Vec<Value> = (0..n).map(|_| json!(rng.gen_range(0..2))).collect();
    // Covers as XGBoost writes them: a leaf's is its rows' hessian sum, a split's the sum of
    // its children's (children come after their parent in both shapes above).
    let mut covers = vec![0.0f64; n];
    for i in (0..n).rev() {
        covers[i] = if left[i] >= 0 {
            covers[left[i] as usize] + covers[right[i] as usize]
        } else {
            rng.gen_range(0.1..10.0)
        };
    }
    let mut sum_hessian: Vec<Value> = covers.iter().map(|c| json!(c)).collect();
    let mut left: Vec<Value> = left.into_iter().map(Value::from).collect();
    let mut right: Vec<Value> = right.into_iter().map(Value::from).collect();
    // Mutations, each with a small probability, several may apply.
    let pick = |rng: &mut ChaCha8Rng, len: usize| rng.gen_range(0..len.max(1));
    for _ in 0..rng.gen_range(0..4) {
        let arrays: [&mut Vec<Value>; 6] = [
            &mut left,
            &mut right,
            &mut split_indices,
            &mut split_conditions,
            &mut default_left,
            &mut sum_hessian,
        ];
        let k = rng.gen_range(0..6);
        let a = arrays.into_iter().nth(k).unwrap_or_else(|| unreachable!());
        match rng.gen_range(0..6) {
            0 => {
                a.pop();
            }
            1 => a.push(number(rng)),
            2 if !a.is_empty() => {
                let i = pick(rng, a.len());
                a[i] = number(rng);
            }
            3 if !a.is_empty() => {
                // A child pointing anywhere: out of range, backwards (cycles), shared.
                let i = pick(rng, a.len());
                a[i] = json!(rng.gen_range(-3..(n as i64) + 3));
            }
            4 if !a.is_empty() => {
                let i = pick(rng, a.len());
                a[i] = json!(rng.gen_range(-3..num_features + 3));
            }
            _ => {}
        }
    }
    let mut t = json!({
        "left_children": left,
        "right_children": right,
        "split_indices": split_indices,
        "split_conditions": split_conditions,
        "default_left": default_left,
        "sum_hessian": sum_hessian,
        "base_weights": vec![0.0; n],
        "id": 0,
    });
    match rng.gen_range(0..40) {
        0 => t["split_type"] = json!(vec![1; n]),
        1 => t["left_children"] = json!("not an array"),
        2 => {
            if let Some(o) = t.as_object_mut() {
                o.remove("sum_hessian");
            }
        }
        3 => t = json!([]),
        _ => {}
    }
    t
}

fn document(rng: &mut ChaCha8Rng) -> Value {
    let num_features: i64 = rng.gen_range(0..12);
    let trees: Vec<Value> = (0..rng.gen_range(0..6))
        .map(|_| tree(rng, num_features))
        .collect();
    let base_score = match rng.gen_range(0..8) {
        0 => json!("1"),
        1 => json!("0"),
        2 => json!("[5E-1]"),
        3 => json!("nan"),
        4 => json!(0.3),
        _ => json!(format!("{}", rng.gen_range(0.01..0.99))),
    };
    let mut doc = json!({
        "version": [2, 1, 0],
        "learner": {
            "objective": { "name": "binary:logistic" },
            "learner_model_param": {
                "num_feature": num_features.to_string(),
                "base_score": base_score,
                "num_class": "0",
            },
            "gradient_booster": {
                "name": "gbtree",
                "model": { "tree_info": vec![0; trees.len()], "trees": trees },
            },
            "feature_names": [],
        }
    });
    match rng.gen_range(0..30) {
        0 => doc["learner"]["objective"]["name"] = json!("reg:squarederror"),
        1 => doc["learner"]["gradient_booster"]["name"] = json!("gblinear"),
        2 => doc["learner"]["learner_model_param"]["num_feature"] = json!("-3"),
        3 => doc["learner"]["learner_model_param"]["num_class"] = json!("3"),
        4 => doc["learner"]["gradient_booster"]["model"]["tree_info"] = json!([1, 2]),
        5 => doc["learner"]["gradient_booster"]["model"]["trees"] = json!({}),
        6 => doc["learner"] = json!(null),
        7 => doc["learner"]["learner_model_param"]["num_feature"] = json!("1e12"),
        _ => {}
    }
    doc
}

#[test]
fn every_model_file_is_loaded_or_refused_never_a_crash() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x1e4d_5c0e);
    let (mut loaded, mut refused, mut deep_refused) = (0u64, 0u64, 0u64);
    for case in 0..CASES {
        let doc = document(&mut rng);
        let bytes = if rng.gen_ratio(1, 50) {
            // Truncated or garbled bytes.
            let mut b = serde_json::to_vec(&doc).unwrap_or_default();
            let cut = rng.gen_range(0..=b.len());
            b.truncate(cut);
            b
        } else {
            serde_json::to_vec(&doc).unwrap_or_default()
        };
        match GbtModel::from_json(&bytes) {
            Err(e) => {
                refused += 1;
                if e.to_string().contains("trees of depth") {
                    deep_refused += 1;
                }
            }
            Ok(model) => {
                loaded += 1;
                assert!(model.max_depth() <= MAX_TREE_DEPTH, "case {case}");
                for _ in 0..3 {
                    let row: Vec<f32> = (0..model.num_features())
                        .map(|_| {
                            if rng.gen_ratio(1, 4) {
                                f32::NAN
                            } else {
                                rng.gen_range(-6.0..6.0)
                            }
                        })
                        .collect();
                    let Ok(x) = FeatureVector::new(row) else {
                        continue;
                    };
                    let margin = model.predict_margin(&x);
                    let explained = model.explain(&x);
                    if let (Ok(m), Ok(e)) = (margin, explained) {
                        let sum = e.bias + e.contributions.iter().sum::<f64>();
                        if m.is_finite() && sum.is_finite() && m.abs() < 1e6 {
                            assert!(
                                (sum - f64::from(m)).abs() <= 1e-3 * (1.0 + f64::from(m).abs()),
                                "case {case}: SHAP sum {sum} against margin {m}"
                            );
                        }
                    }
                }
            }
        }
    }
    println!(
        "{CASES} model documents: {loaded} loaded, {refused} refused ({deep_refused} for depth)"
    );
    assert!(
        loaded > CASES / 20,
        "the generator must reach valid models too"
    );
    assert!(
        deep_refused > 0,
        "deep chains must be generated and refused"
    );
}
