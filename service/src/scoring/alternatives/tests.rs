use lendscope_model::features::{self, INPUTS};
use lendscope_model::ModelBundle;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::scoring::request;

/// The README's example application with `changes` applied.
fn applicant(changes: &[(&str, f64)]) -> ApplicationInput {
    let body = include_str!("../../../../examples/application.json");
    let mut input = request::parse(body.as_bytes()).expect("example application");
    for (name, v) in changes {
        let k = INPUTS.iter().position(|i| i.name == *name).expect("input");
        input.values[k] = InputValue::Number(*v);
    }
    input
}

/// One tree over the Lendscope feature set: (feature, threshold, left, right) at the root and,
/// optionally, a split of the right child.
type Split = (&'static str, f64, f64, f64);

/// A model of stumps over the Lendscope schema (base score 0.5, so the margin is the sum of
/// the leaves reached). Leaf values are multiples of 1/8, so sums are exact in `f32` and the
/// grid's margins equal the predictions'.
fn stumps(trees: &[Split]) -> ModelBundle {
    let schema = features::schema().expect("schema");
    let index = |name: &str| {
        schema
            .numeric_feature(name)
            .unwrap_or_else(|| panic!("{name} is not numeric"))
    };
    let json_trees: Vec<serde_json::Value> = trees
        .iter()
        .map(|&(f, thr, l, r)| {
            serde_json::json!({
                "left_children": [1, -1, -1], "right_children": [2, -1, -1],
                "split_indices": [index(f), 0, 0], "split_conditions": [thr, l, r],
                "default_left": [false, false, false], "sum_hessian": [2.0, 1.0, 1.0],
            })
        })
        .collect();
    model_of(&schema, json_trees)
}

fn model_of(schema: &lendscope_model::FeatureSchema, trees: Vec<serde_json::Value>) -> ModelBundle {
    let n = trees.len();
    let json = serde_json::json!({
        "version": [3, 0, 0],
        "learner": {
            "objective": {"name": "binary:logistic"},
            "learner_model_param": {"base_score": "5E-1", "num_class": "0",
                                    "num_feature": schema.features().len().to_string()},
            "feature_names": schema.features(),
            "gradient_booster": {"name": "gbtree", "model": {
                "gbtree_model_param": {"num_trees": n.to_string()},
                "tree_info": vec![0; n], "trees": trees}}
        }
    });
    let schema_json = serde_json::to_string(schema).expect("schema json");
    ModelBundle::from_json(json.to_string().as_bytes(), schema_json.as_bytes()).expect("model")
}

fn decide(
    model: &ModelBundle,
    input: &ApplicationInput,
    policy: &DecisionPolicy,
) -> (f64, Decision) {
    let x = model.encode(|c| input.raw(c)).expect("encode");
    let pd = model.predict(&x).expect("predict").value();
    (
        pd,
        policy
            .decide(pd, input.loan_amount(), input.loan_term_months())
            .decision,
    )
}

fn with(input: &ApplicationInput, changes: &[Change]) -> ApplicationInput {
    let mut out = input.clone();
    for c in changes {
        let k = INPUTS
            .iter()
            .position(|i| i.name == c.feature)
            .expect("input");
        out.values[k] = InputValue::Number(c.to);
    }
    out
}

/// Checks every stated alternative: re-scored it is approved; recourse moves only actionable
/// inputs, in the favourable direction, within the declared range.
fn check(model: &ModelBundle, input: &ApplicationInput, policy: &DecisionPolicy, a: &Alternatives) {
    if let Some(o) = &a.counteroffer {
        let offered = applicant_with(
            input,
            &[
                ("loan_amount", o.amount),
                ("loan_term_months", f64::from(o.term_months)),
            ],
        );
        let (pd, d) = decide(model, &offered, policy);
        assert_eq!(d, Decision::Approve, "counteroffer {o:?}");
        assert_eq!(pd.to_bits(), o.probability_of_default.to_bits());
        assert!(o.amount <= input.loan_amount().min(policy.max_amount));
        assert!(o.amount >= 500.0 && (3..=36).contains(&o.term_months));
    }
    assert!(a.recourse.len() <= MAX_RECOURSE);
    for r in &a.recourse {
        assert!(!r.changes.is_empty() && r.changes.len() <= 2);
        let (pd, d) = decide(model, &with(input, &r.changes), policy);
        assert_eq!(d, Decision::Approve, "{}", r.statement);
        assert_eq!(pd.to_bits(), r.probability_of_default.to_bits());
        for c in &r.changes {
            let def = features::input(&c.feature).expect("input");
            let act = def
                .actionable
                .unwrap_or_else(|| panic!("{} is not actionable", c.feature));
            let k = INPUTS
                .iter()
                .position(|i| i.name == c.feature)
                .expect("input");
            assert_eq!(input.values[k], InputValue::Number(c.from));
            if act.lower_is_better {
                assert!(c.to < c.from && c.to >= act.limit && c.from - c.to <= act.max_change);
            } else {
                assert!(c.to > c.from && c.to <= act.limit && c.to - c.from <= act.max_change);
            }
        }
    }
}

fn applicant_with(input: &ApplicationInput, changes: &[(&str, f64)]) -> ApplicationInput {
    let mut out = input.clone();
    for (name, v) in changes {
        let k = INPUTS.iter().position(|i| i.name == *name).expect("input");
        out.values[k] = InputValue::Number(*v);
    }
    out
}

fn run(model: &ModelBundle, input: &ApplicationInput) -> (Alternatives, Work) {
    let policy = DecisionPolicy::default();
    let (_, d) = decide(model, input, &policy);
    let (a, w) = alternatives(model, input, &policy, d).expect("alternatives");
    check(model, input, &policy, &a);
    (a, w)
}

#[test]
fn one_late_payment_fewer_is_stated_and_true() {
    // Late payments below 1.5 lower the margin by 4; the example has 1 late payment, so start
    // from 3. Device tenure (not actionable) raises it by 1.
    let model = stumps(&[
        ("late_payments_12m", 1.5, -4.0, 0.0),
        ("device_tenure_months", 100.0, 1.0, -1.0),
    ]);
    let input = applicant(&[("late_payments_12m", 3.0)]);
    let (a, _) = run(&model, &input);
    assert_eq!(a.recourse.len(), 1, "{a:?}");
    assert_eq!(
        a.recourse[0].statement,
        "With at most 1 late payment in the last 12 months, this application would have been \
         approved by the model in use today."
    );
    assert_eq!(a.recourse[0].changes[0].to, 1.0);
}

#[test]
fn zero_reads_as_none_and_quantifiers_hold_to_the_end_of_the_range() {
    // Non-monotone: 2 late payments approve, 1 does not, 0 does. "At most 2" would be false;
    // the smallest value from which every value onwards is approved is 0.
    let model = stumps(&[
        ("late_payments_12m", 2.5, -3.0, 0.0),
        ("late_payments_12m", 1.5, 2.0, 0.0),
        ("late_payments_12m", 0.5, -2.0, 0.0),
    ]);
    let input = applicant(&[("late_payments_12m", 4.0)]);
    let (a, _) = run(&model, &input);
    assert_eq!(a.recourse.len(), 1, "{a:?}");
    assert!(
        a.recourse[0]
            .statement
            .starts_with("With no late payments in the last 12 months,"),
        "{}",
        a.recourse[0].statement
    );
}

#[test]
fn two_inputs_are_changed_only_when_no_single_one_suffices() {
    let model = stumps(&[
        ("late_payments_12m", 1.5, -2.0, 1.0),
        ("loan_amount", 2025.0, -0.5, 0.5),
    ]);
    let input = applicant(&[("late_payments_12m", 3.0), ("loan_amount", 3000.0)]);
    let (a, _) = run(&model, &input);
    assert_eq!(a.counteroffer, None, "no amount alone is approved");
    assert_eq!(a.recourse.len(), 1, "{a:?}");
    assert_eq!(a.recourse[0].changes.len(), 2);
    assert_eq!(
        a.recourse[0].statement,
        "With a loan amount between $500 and $2,000 and at most 1 late payment in the last 12 \
         months, this application would have been approved by the model in use today."
    );
}

#[test]
fn nothing_is_stated_when_no_actionable_change_is_approved() {
    // Only device tenure and employment tenure matter: neither is actionable.
    let model = stumps(&[
        ("device_tenure_months", 100.0, 2.0, -3.0),
        ("employment_tenure_months", 100.0, 1.0, -1.0),
    ]);
    let input = applicant(&[]);
    let (a, w) = run(&model, &input);
    assert_eq!(a.counteroffer, None);
    assert!(a.recourse.is_empty(), "{a:?}");
    assert_eq!(w.predictions, 0, "nothing approvable, nothing re-scored");
}

#[test]
fn a_missing_input_is_never_changed() {
    let model = stumps(&[("overdrafts_90d", 0.5, -3.0, 1.0)]);
    let mut input = applicant(&[("overdrafts_90d", 2.0)]);
    let (a, _) = run(&model, &input);
    assert_eq!(a.recourse.len(), 1);
    assert_eq!(
        a.recourse[0].statement,
        "With no overdrafts in the last 90 days, this application would have been approved by \
         the model in use today."
    );
    let k = INPUTS
        .iter()
        .position(|i| i.name == "overdrafts_90d")
        .expect("input");
    input.values[k] = InputValue::Missing;
    let (a, _) = run(&model, &input);
    assert!(a.recourse.is_empty(), "{a:?}");
}

#[test]
fn the_counteroffer_is_the_largest_amount_then_the_closest_term() {
    let model = stumps(&[
        ("loan_amount", 1525.0, -3.0, 0.5),
        // Terms of 24 months or more are safer, shorter ones riskier.
        ("loan_term_months", 24.0, 0.25, -0.25),
        ("loan_term_months", 6.0, 1.0, 0.0),
    ]);
    let input = applicant(&[("loan_amount", 3000.0), ("loan_term_months", 12.0)]);
    let (a, w) = run(&model, &input);
    let o = a.counteroffer.expect("a counteroffer");
    assert_eq!((o.amount, o.term_months), (1500.0, 12));
    assert!(w.predictions <= 2 && w.predictions >= 1, "{w:?}");
    // Above the policy's largest loan: the offer starts at the largest loan.
    let model = stumps(&[("loan_amount", 100_000.0, -3.0, 0.0)]);
    let input = applicant(&[("loan_amount", 7000.0), ("loan_term_months", 48.0)]);
    let (a, _) = run(&model, &input);
    let o = a.counteroffer.expect("a counteroffer");
    assert_eq!((o.amount, o.term_months), (5000.0, 36));
}

#[test]
fn approvals_and_the_kill_switch_get_nothing() {
    let model = stumps(&[("late_payments_12m", 100.0, -5.0, 0.0)]);
    let input = applicant(&[]);
    let policy = DecisionPolicy::default();
    let (a, w) = alternatives(&model, &input, &policy, Decision::Approve).expect("ok");
    assert!(a.counteroffer.is_none() && a.recourse.is_empty());
    assert_eq!(w, Work::default());
    let held = DecisionPolicy {
        kill_switch: true,
        ..DecisionPolicy::default()
    };
    let (a, _) = alternatives(&model, &input, &held, Decision::ManualReview).expect("ok");
    assert!(a.counteroffer.is_none() && a.recourse.is_empty());
}

/// A random tree over the Lendscope schema, depth ≤ 4, leaves multiples of 1/8.
fn random_tree(rng: &mut ChaCha8Rng, schema: &lendscope_model::FeatureSchema) -> serde_json::Value {
    let numeric: Vec<(usize, f64, f64)> = INPUTS
        .iter()
        .filter(|i| i.categories.is_none())
        .map(|i| {
            let f = schema.numeric_feature(i.name).expect("numeric");
            let (lo, hi) = match i.name {
                "loan_amount" => (500.0, 6000.0),
                "loan_term_months" => (3.0, 48.0),
                "late_payments_12m" | "overdrafts_90d" => (0.0, 6.0),
                "avg_monthly_balance" | "min_balance_90d" => (-200.0, 3000.0),
                _ => (i.min.max(-1.0), i.max.min(200.0)),
            };
            (f, lo, hi)
        })
        .collect();
    let (mut left, mut right, mut feat, mut cond, mut dl, mut hess) = (
        vec![-1i64],
        vec![-1i64],
        vec![0usize],
        vec![0.0f64],
        vec![false],
        vec![1.0f64],
    );
    let mut level = vec![0usize];
    for d in 0..4 {
        let mut next = vec![];
        for &k in &level {
            if d > 0 && rng.gen_bool(0.3) {
                cond[k] = f64::from(rng.gen_range(-8i32..=8)) / 8.0;
                continue;
            }
            let (f, lo, hi) = numeric[rng.gen_range(0..numeric.len())];
            let l = left.len();
            left[k] = l as i64;
            right[k] = l as i64 + 1;
            feat[k] = f;
            cond[k] = lo + (hi - lo) * rng.gen_range(0.0..1.0);
            dl[k] = rng.gen_bool(0.5);
            for _ in 0..2 {
                left.push(-1);
                right.push(-1);
                feat.push(0);
                cond.push(f64::from(rng.gen_range(-8i32..=8)) / 8.0);
                dl.push(false);
                hess.push(1.0);
            }
            next.extend([l, l + 1]);
        }
        level = next;
    }
    for k in (0..left.len()).rev() {
        if left[k] >= 0 {
            hess[k] = hess[left[k] as usize] + hess[right[k] as usize];
        }
    }
    serde_json::json!({
        "left_children": left, "right_children": right, "split_indices": feat,
        "split_conditions": cond, "default_left": dl, "sum_hessian": hess,
    })
}

/// Random models and applicants: every statement re-scores to an approval, moves only
/// actionable inputs the right way (checked by [`check`]); the counteroffer is the first
/// approvable (amount, term) in the stated order, found by predicting every pair.
#[test]
fn random_models_state_only_verified_alternatives_and_miss_no_counteroffer() {
    let schema = features::schema().expect("schema");
    let policy = DecisionPolicy::default();
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let mut offered = 0;
    let mut stated = 0;
    let mut declined = 0;
    for _ in 0..60 {
        let trees = (0..12).map(|_| random_tree(&mut rng, &schema)).collect();
        let model = model_of(&schema, trees);
        for _ in 0..5 {
            let input = applicant(&[
                ("loan_amount", f64::from(rng.gen_range(10..=120u32)) * 50.0),
                ("loan_term_months", f64::from(rng.gen_range(3..=40u32))),
                ("late_payments_12m", f64::from(rng.gen_range(0..=6u32))),
                ("overdrafts_90d", f64::from(rng.gen_range(0..=5u32))),
                ("avg_monthly_balance", rng.gen_range(-200.0..2500.0)),
                ("savings_rate", rng.gen_range(-0.2..0.3)),
            ]);
            let (_, d) = decide(&model, &input, &policy);
            if d == Decision::Approve {
                continue;
            }
            declined += 1;
            let (a, w) = run(&model, &input);
            assert!(w.predictions <= 2 * MAX_RESCORES);
            // The counteroffer against brute force in the same order.
            let amount = input.loan_amount();
            let top = amount.min(policy.max_amount);
            let mut amounts = vec![top];
            let mut k = (top / 50.0).ceil() - 1.0;
            while k * 50.0 >= 500.0 {
                amounts.push(k * 50.0);
                k -= 1.0;
            }
            let asked = input.loan_term_months();
            let mut terms: Vec<u32> = (3..=36).collect();
            terms.sort_by(|a, b| {
                (f64::from(*a) - asked)
                    .abs()
                    .total_cmp(&(f64::from(*b) - asked).abs())
                    .then(a.cmp(b))
            });
            let brute = amounts
                .iter()
                .flat_map(|&a| terms.iter().map(move |&t| (a, t)))
                .filter(|&(a, t)| !(a == amount && f64::from(t) == asked))
                .find(|&(a, t)| {
                    let x = applicant_with(
                        &input,
                        &[("loan_amount", a), ("loan_term_months", f64::from(t))],
                    );
                    decide(&model, &x, &policy).1 == Decision::Approve
                });
            assert_eq!(
                a.counteroffer.as_ref().map(|o| (o.amount, o.term_months)),
                brute,
                "counteroffer"
            );
            // A one-input statement covers a range: every value in it re-scores to an approval
            // (checked exhaustively for the inputs whose values are whole steps).
            for r in a.recourse.iter().filter(|r| r.changes.len() == 1) {
                let c = &r.changes[0];
                let range: Vec<f64> = match c.feature.as_str() {
                    "late_payments_12m" | "overdrafts_90d" => {
                        (0..=c.to as i64).map(|v| v as f64).collect()
                    }
                    "loan_amount" => (10..=(c.to / 50.0) as i64)
                        .map(|k| k as f64 * 50.0)
                        .collect(),
                    "loan_term_months" => (c.to as i64..=36).map(|v| v as f64).collect(),
                    _ => Vec::new(),
                };
                for v in range {
                    let x = applicant_with(&input, &[(c.feature.as_str(), v)]);
                    assert_eq!(
                        decide(&model, &x, &policy).1,
                        Decision::Approve,
                        "{}: {} = {v}",
                        r.statement,
                        c.feature
                    );
                }
            }
            offered += usize::from(a.counteroffer.is_some());
            stated += a.recourse.len();
        }
    }
    assert!(declined > 50, "{declined} declined");
    assert!(offered > 10, "{offered} counteroffers in {declined}");
    assert!(stated > 10, "{stated} statements in {declined}");
}

#[test]
fn the_margin_cut_is_where_the_probability_rule_stops_approving() {
    for approve_below in [0.001, 0.05, 0.10, 0.30, 0.5, 0.999] {
        let policy = DecisionPolicy {
            approve_below,
            reject_from: approve_below.max(0.3),
            ..DecisionPolicy::default()
        };
        let cut = margin_cut(&policy);
        let below = unordered(ordered(cut) - 1);
        assert!(below < cut);
        assert!(policy.approves_pd(f64::from(sigmoid(below))));
        assert!(!policy.approves_pd(f64::from(sigmoid(cut))));
    }
    for x in [-3.5f32, -0.0, 0.0, 1e-30, 2.25] {
        assert_eq!(unordered(ordered(x)).to_bits(), x.to_bits());
        assert!(ordered(x) < ordered(x + 1.0));
    }
}
