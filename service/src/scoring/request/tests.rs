//! Parsing, validation and the round trip through [`super::body_from_columns`].

use super::*;
use crate::error::ServiceError;

pub(crate) fn example() -> serde_json::Value {
    serde_json::json!({
        "applicant": {"id": "A-1001", "monthly_income": 2400},
        "loan": {"amount": 1500, "term_months": 12, "purpose": "vehicle"},
        "alternative_data": {
            "employment": {"status": "full_time", "tenure_months": 30, "employer_changes_24m": 1, "income_verified": true},
            "payments": {"rent_on_time_ratio": 0.96, "utility_on_time_ratio": 0.99, "late_payments_12m": 1, "payment_history_months": 40},
            "digital": {"mobile_account_tenure_months": 50, "topup_regularity": 0.8},
            "banking": {"bank_account_tenure_months": 60, "avg_monthly_balance": 820.5, "min_balance_90d": 40, "overdrafts_90d": 0, "income_volatility": 0.2, "savings_rate": 0.05}
        },
        "protected": {"gender": "female", "age_band": "25-34"}
    })
}

fn parse_json(v: &serde_json::Value) -> ServiceResult<ApplicationInput> {
    parse(v.to_string().as_bytes())
}

fn field_of(result: ServiceResult<ApplicationInput>) -> (String, String) {
    match result {
        Err(ServiceError::Invalid(e)) => (e.field, e.message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn bodies_built_from_columns_parse_back_to_the_same_values() {
    let a = parse_json(&example()).unwrap();
    let rebuilt = body_from_columns(&a.applicant_id, |c| a.value(c).unwrap(), &a.protected);
    let b = parse_json(&rebuilt).unwrap();
    assert_eq!(a.values, b.values);
    assert_eq!(a.protected, b.protected);
}

#[test]
fn every_input_has_a_request_field() {
    let body: ApplicationBody = serde_json::from_value(example()).unwrap();
    for input in INPUTS {
        assert!(body.lookup(input.name).is_some(), "{}", input.name);
        assert!(!path_of(input.name).is_empty(), "{}", input.name);
    }
    assert_eq!(FIELD_PATHS.len(), INPUTS.len());
}

#[test]
fn a_valid_application_maps_to_the_inputs() {
    let a = parse_json(&example()).unwrap();
    assert_eq!(a.applicant_id, "A-1001");
    assert_eq!(a.raw("loan_amount"), RawValue::Number(1500.0));
    assert_eq!(a.raw("loan_purpose"), RawValue::Text("vehicle"));
    assert_eq!(a.raw("income_verified"), RawValue::Number(1.0));
    assert_eq!(
        a.raw("telecom_on_time_ratio"),
        RawValue::Missing,
        "absent stays missing"
    );
    assert_eq!(a.protected.gender.as_deref(), Some("female"));
}

/// Sets (or with `None` removes) the value at a JSON pointer.
fn with(pointer: &str, value: Option<serde_json::Value>) -> serde_json::Value {
    let mut v = example();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut v
    } else {
        v.pointer_mut(parent).unwrap()
    };
    let map = target.as_object_mut().unwrap();
    match value {
        Some(x) => {
            map.insert(key.to_owned(), x);
        }
        None => {
            map.remove(key);
        }
    }
    v
}

#[test]
fn bad_values_name_their_field() {
    use serde_json::json;
    let cases = [
        ("/loan/amount", Some(json!(-5)), "loan.amount"),
        ("/loan/amount", Some(json!(0)), "loan.amount"),
        ("/loan/amount", Some(json!("1500")), "loan.amount"),
        ("/loan/amount", Some(json!(null)), "loan.amount"),
        (
            "/alternative_data/payments/rent_on_time_ratio",
            Some(json!(1.5)),
            "alternative_data.payments.rent_on_time_ratio",
        ),
        (
            "/alternative_data/payments/late_payments_12m",
            Some(json!(1.5)),
            "alternative_data.payments.late_payments_12m",
        ),
        ("/loan/purpose", Some(json!("yacht")), "loan.purpose"),
        ("/loan/term_months", None, "loan.term_months"),
        ("/loan/colour", Some(json!("red")), "loan.colour"),
        ("/extra", Some(json!(1)), "extra"),
        (
            "/protected/gender",
            Some(json!("robot")),
            "protected.gender",
        ),
        ("/applicant/id", Some(json!("")), "applicant.id"),
        (
            "/alternative_data/employment/income_verified",
            Some(json!(1)),
            "alternative_data.employment.income_verified",
        ),
    ];
    for (pointer, value, field) in cases {
        let (got, message) = field_of(parse_json(&with(pointer, value)));
        assert_eq!(got, field, "{pointer}: {message}");
    }
}

#[test]
fn arrays_are_refused_where_objects_belong() {
    // serde would read `[null, null]` as the struct's fields in order.
    let mut body = example();
    body["protected"] = serde_json::json!([null, null]);
    let err = parse(body.to_string().as_bytes()).unwrap_err().to_string();
    assert!(err.contains("protected") && err.contains("array"), "{err}");
    let mut body = example();
    body["alternative_data"]["banking"] = serde_json::json!([60, 820.5]);
    let err = parse(body.to_string().as_bytes()).unwrap_err().to_string();
    assert!(err.contains("alternative_data.banking"), "{err}");
    // A bracket inside a string is no array (the id is refused for its characters only).
    let mut body = example();
    body["applicant"]["id"] = serde_json::json!("A[1]");
    if let Err(e) = parse(body.to_string().as_bytes()) {
        assert!(!e.to_string().contains("array"), "{e}");
    }
}

#[test]
fn non_finite_and_unrepresentable_numbers_are_refused() {
    let text = example().to_string();
    for (literal, expected) in [
        ("NaN", "loan.amount"),
        ("Infinity", "loan.amount"),
        ("-Infinity", "loan.amount"),
        ("1e400", "loan.amount"),
        ("1e-400", "loan.amount"),
    ] {
        let body = text.replace("\"amount\":1500", &format!("\"amount\":{literal}"));
        assert_ne!(body, text);
        let (field, message) = field_of(parse(body.as_bytes()));
        assert_eq!(field, expected, "{literal}: {message}");
    }
    let (field, _) = field_of(parse(b""));
    assert_eq!(field, "body");
    let (field, _) = field_of(parse(&[0xff, 0xfe, b'{']));
    assert_eq!(field, "body");
    let (field, _) = field_of(parse(b"[1,2]"));
    assert_eq!(field, "body");
}
