use std::collections::BTreeMap;

use lendscope_model::features::{self, Adverse, INPUTS};
use lendscope_model::synth::{Cell, Generator, Settings};
use lendscope_model::{FeatureSchema, Reference};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::scoring::request::{self, body_from_columns, Protected};

/// The example application of the README (`examples/application.json`'s shape): regular
/// top-ups (0.8), 35 digital payments a month, 4 late payments.
fn example() -> BTreeMap<&'static str, InputValue> {
    let mut v = BTreeMap::new();
    for (k, x) in [
        ("loan_amount", 1800.0),
        ("loan_term_months", 12.0),
        ("monthly_income", 2100.0),
        ("employment_tenure_months", 8.0),
        ("employer_changes_24m", 3.0),
        ("income_verified", 0.0),
        ("rent_on_time_ratio", 0.71),
        ("utility_on_time_ratio", 0.82),
        ("late_payments_12m", 4.0),
        ("payment_history_months", 14.0),
        ("mobile_account_tenure_months", 20.0),
        ("device_tenure_months", 6.0),
        ("topup_regularity", 0.8),
        ("digital_txn_monthly", 35.0),
        ("avg_monthly_balance", 120.0),
        ("min_balance_90d", -80.0),
        ("overdrafts_90d", 3.0),
        ("income_volatility", 0.9),
        ("savings_rate", -0.05),
        ("bank_account_tenure_months", 30.0),
    ] {
        v.insert(k, InputValue::Number(x));
    }
    v.insert("loan_purpose", InputValue::Category("emergency"));
    v.insert("employment_status", InputValue::Category("gig"));
    v.insert("telecom_on_time_ratio", InputValue::Missing);
    v
}

fn input_of(values: &BTreeMap<&'static str, InputValue>) -> ApplicationInput {
    let body = body_from_columns(
        "R-1",
        |c| values.get(c).copied().unwrap_or(InputValue::Missing),
        &Protected::default(),
    );
    request::parse(body.to_string().as_bytes()).unwrap()
}

/// Contributions that give `column` (its first encoded feature) the value `c`.
fn contributions(schema: &FeatureSchema, of: &[(&str, f64)]) -> Vec<f64> {
    let mut out = vec![0.0; schema.features().len()];
    for (column, c) in of {
        let k = schema
            .features()
            .iter()
            .position(|f| f == column || f.starts_with(&format!("{column}=")))
            .unwrap();
        out[k] = *c;
    }
    out
}

fn schema() -> FeatureSchema {
    features::schema().unwrap()
}

fn texts(r: &[Reason]) -> Vec<&str> {
    r.iter().map(|r| r.text.as_str()).collect()
}

#[test]
fn a_favourable_value_with_a_positive_contribution_is_no_reason() {
    // The README example: interactions gave regular top-ups and 35 digital payments a month
    // positive contributions; method 1 stated "irregular" and "limited" — untrue.
    let s = schema();
    let c = contributions(
        &s,
        &[
            ("topup_regularity", 0.30),
            ("digital_txn_monthly", 0.25),
            ("late_payments_12m", 0.20),
        ],
    );
    let input = input_of(&example());
    let v1 = principal_reasons_v1(&s, &c, &input);
    assert_eq!(
        texts(&v1),
        [
            "Prepaid top-ups were irregular",
            "Limited digital payment activity",
            "Number of late payments in the last 12 months"
        ]
    );
    let v2 = principal_reasons(&s, &c, &input);
    assert_eq!(texts(&v2), ["4 late payments in the last 12 months"]);
    assert_eq!(v2[0].code, "R12");
}

#[test]
fn reasons_are_ordered_by_contribution_and_ties_by_the_feature_set() {
    let s = schema();
    let c = contributions(
        &s,
        &[
            ("overdrafts_90d", 0.10),
            ("late_payments_12m", 0.40),
            ("income_volatility", 0.10),
            ("employer_changes_24m", 0.25),
        ],
    );
    let r = principal_reasons(&s, &c, &input_of(&example()));
    assert_eq!(
        texts(&r),
        [
            "4 late payments in the last 12 months",
            "3 employer changes in the last 24 months",
            // A tie: overdrafts come before income volatility in the feature set.
            "3 overdrafts in the last 90 days",
            "Income varies strongly from month to month (volatility 0.90)",
        ]
    );
    let order: Vec<usize> = ["overdrafts_90d", "income_volatility"]
        .iter()
        .map(|n| INPUTS.iter().position(|i| i.name == *n).unwrap())
        .collect();
    assert!(order[0] < order[1]);
}

#[test]
fn absent_values_give_the_absence_reason_only_when_absence_raised_the_risk() {
    let s = schema();
    let input = input_of(&example());
    let raised = principal_reasons(
        &s,
        &contributions(&s, &[("telecom_on_time_ratio", 0.2)]),
        &input,
    );
    assert_eq!(texts(&raised), ["No telecom payment history available"]);
    let lowered = principal_reasons(
        &s,
        &contributions(&s, &[("telecom_on_time_ratio", -0.2)]),
        &input,
    );
    assert!(lowered.is_empty());
}

#[test]
fn at_most_four_reasons_and_none_for_favourable_contributions() {
    let s = schema();
    let all: Vec<(&str, f64)> = INPUTS
        .iter()
        .enumerate()
        .map(|(k, i)| (i.name, 0.01 * (k + 1) as f64))
        .collect();
    let r = principal_reasons(&s, &contributions(&s, &all), &input_of(&example()));
    assert_eq!(r.len(), MAX_REASONS);
    assert!(r.windows(2).all(|w| w[0].contribution >= w[1].contribution));
    let negative: Vec<(&str, f64)> = all.iter().map(|(n, c)| (*n, -c)).collect();
    assert!(principal_reasons(&s, &contributions(&s, &negative), &input_of(&example())).is_empty());
}

#[test]
fn the_models_reference_decides_the_side_and_categories() {
    let mut medians = BTreeMap::new();
    medians.insert("late_payments_12m".to_owned(), 5.0);
    let mut cats = BTreeMap::new();
    cats.insert(
        "employment_status".to_owned(),
        vec!["unemployed".to_owned()],
    );
    let with = schema().with_reference(Reference {
        rows: 100,
        medians,
        adverse_categories: cats,
    });
    let c = contributions(
        &with,
        &[("late_payments_12m", 0.3), ("employment_status", 0.2)],
    );
    let input = input_of(&example());
    // 4 late payments is below this model's training median of 5; "gig" was not adverse in
    // its training data: neither is a reason for this model…
    assert!(principal_reasons(&with, &c, &input).is_empty());
    // …while against the declared typical values (a model without a reference) both are.
    let without = schema();
    let c = contributions(
        &without,
        &[("late_payments_12m", 0.3), ("employment_status", 0.2)],
    );
    assert_eq!(
        texts(&principal_reasons(&without, &c, &input)),
        [
            "4 late payments in the last 12 months",
            "Current employment status (gig)"
        ]
    );
}

/// The property: over thousands of generated applicants and random contributions, every
/// reason is about an input whose contribution raised the risk, states the applicant's value
/// as it is, and that value is on the adverse side of the input — or the value is absent.
#[test]
fn no_reason_contradicts_its_input() {
    let s = schema();
    let mut medians = BTreeMap::new();
    for i in INPUTS {
        if let Adverse::Higher { typical } | Adverse::Lower { typical } = i.adverse {
            medians.insert(i.name.to_owned(), typical);
        }
    }
    let with_reference = schema().with_reference(Reference {
        rows: 1,
        medians,
        adverse_categories: BTreeMap::new(),
    });
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let generator = Generator::new(Settings {
        seed: 5,
        drift: 0.0,
        bias: 0.0,
    })
    .unwrap();
    let mut stated = 0usize;
    for a in generator.take(3_000) {
        let values: BTreeMap<&'static str, InputValue> = INPUTS
            .iter()
            .map(|i| {
                let v = match a.input(i.name) {
                    Some(Cell::Number(x)) => InputValue::Number(x),
                    Some(Cell::Category(c)) => InputValue::Category(c),
                    _ => InputValue::Missing,
                };
                (i.name, v)
            })
            .collect();
        let input = input_of(&values);
        for schema in [&s, &with_reference] {
            let c: Vec<f64> = (0..schema.features().len())
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect();
            let per_column: BTreeMap<&str, f64> = schema.per_column(&c).into_iter().collect();
            let reasons = principal_reasons(schema, &c, &input);
            assert!(reasons.len() <= MAX_REASONS);
            for r in &reasons {
                stated += 1;
                let def = features::input(&r.feature).unwrap();
                assert!(per_column[r.feature.as_str()] > 0.0, "{r:?}");
                match values[def.name] {
                    InputValue::Missing => assert_eq!(r.text, def.reason_missing),
                    InputValue::Number(x) => {
                        let centre = schema
                            .reference()
                            .and_then(|rf| rf.medians.get(def.name).copied());
                        let (higher, boundary) = match def.adverse {
                            Adverse::Higher { typical } => (true, centre.unwrap_or(typical)),
                            Adverse::Lower { typical } => (false, centre.unwrap_or(typical)),
                            Adverse::Categories(_) => panic!("{r:?}"),
                        };
                        assert!(
                            if higher { x > boundary } else { x < boundary },
                            "{r:?} for value {x} (boundary {boundary})"
                        );
                        if !def.reason_value.is_empty() {
                            assert!(
                                r.text.contains(&crate::scoring::display::display_number(
                                    def.name, x
                                )),
                                "{r:?} does not state {x}"
                            );
                        }
                    }
                    InputValue::Category(cat) => {
                        let Adverse::Categories(declared) = def.adverse else {
                            panic!("{r:?}")
                        };
                        assert!(declared.contains(&cat), "{r:?} for {cat}");
                        assert!(r.text.contains(&cat.replace('_', " ")), "{r:?}");
                    }
                }
            }
        }
    }
    assert!(
        stated > 3_000,
        "the property must be exercised ({stated} reasons)"
    );
}
