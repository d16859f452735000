//! The inverse of parsing: request bodies built from feature-set values (the demo, the
//! review form and tests submit generated applicants this way).

use super::{InputValue, Protected, FIELD_PATHS};

/// A request body with the applicant's id and empty groups, to be filled by [`set_path`].
pub(crate) fn empty_body(applicant_id: &str) -> serde_json::Value {
    serde_json::json!({
        "applicant": { "id": applicant_id },
        "loan": {},
        "alternative_data": { "employment": {}, "payments": {}, "digital": {}, "banking": {} },
    })
}

/// Sets the value at a dotted request path (`alternative_data.payments.late_payments_12m`).
pub(crate) fn set_path(body: &mut serde_json::Value, path: &str, value: serde_json::Value) {
    let mut target = body;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        target = &mut target[*part];
    }
    target[parts[parts.len() - 1]] = value;
}

/// A number as the API expects it: whole numbers as integers (counts must not carry `.0`).
pub(crate) fn number_json(x: f64) -> serde_json::Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        serde_json::json!(x as i64)
    } else {
        serde_json::json!(x)
    }
}

/// Builds a request body from feature-set values (the inverse of parsing): `value` gives each
/// column's value. Used by the demo and by tests to submit generated applicants.
pub fn body_from_columns(
    applicant_id: &str,
    value: impl Fn(&str) -> InputValue,
    protected: &Protected,
) -> serde_json::Value {
    let mut body = empty_body(applicant_id);
    for (column, path) in FIELD_PATHS {
        let v = match value(column) {
            InputValue::Missing => continue,
            InputValue::Category(c) => serde_json::json!(c),
            InputValue::Number(x) if *column == "income_verified" => serde_json::json!(x >= 0.5),
            InputValue::Number(x) => number_json(x),
        };
        set_path(&mut body, path, v);
    }
    if protected.gender.is_some() || protected.age_band.is_some() {
        body["protected"] = serde_json::to_value(protected).unwrap_or_default();
    }
    body
}
