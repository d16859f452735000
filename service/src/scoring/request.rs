//! The application a lending front-end submits, parsed strictly into the feature set's inputs.
//!
//! Every field is typed; unknown fields, wrong types, non-finite numbers, numbers that
//! overflow or underflow, out-of-range and fractional counts are refused with the field's
//! path. Ranges come from the feature set (`lendscope_model::features::INPUTS`), so the API,
//! the generator and the model agree on what a valid value is.

use lendscope_model::features::{INPUTS, PROTECTED};
use lendscope_model::schema::RawValue;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ServiceError, ServiceResult};

/// Largest accepted body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON number that was written as a finite, representable number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Num(f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Box<serde_json::value::RawValue> = Deserialize::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            return Err(D::Error::custom("must be a number, not a string"));
        }
        let value: f64 = text
            .parse()
            .map_err(|_| D::Error::custom(format!("must be a number, got {text}")))?;
        if !value.is_finite() {
            return Err(D::Error::custom("is out of range (not a finite number)"));
        }
        let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
        if value == 0.0 && mantissa.chars().any(|c| c.is_ascii_digit() && c != '0') {
            return Err(D::Error::custom("is too small to represent (underflow)"));
        }
        Ok(Num(value))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    pub applicant: Applicant,
    pub loan: Loan,
    pub alternative_data: AlternativeData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<Protected>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// The lender's identifier of the applicant (routing is sticky by it).
    pub id: String,
    pub monthly_income: Num,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Loan {
    pub amount: Num,
    pub term_months: Num,
    pub purpose: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlternativeData {
    pub employment: Employment,
    pub payments: Payments,
    #[serde(default)]
    pub digital: Digital,
    #[serde(default)]
    pub banking: Banking,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Employment {
    pub status: String,
    #[serde(default)]
    pub tenure_months: Option<Num>,
    pub employer_changes_24m: Num,
    pub income_verified: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Payments {
    #[serde(default)]
    pub rent_on_time_ratio: Option<Num>,
    #[serde(default)]
    pub utility_on_time_ratio: Option<Num>,
    #[serde(default)]
    pub telecom_on_time_ratio: Option<Num>,
    pub late_payments_12m: Num,
    pub payment_history_months: Num,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Digital {
    #[serde(default)]
    pub mobile_account_tenure_months: Option<Num>,
    #[serde(default)]
    pub device_tenure_months: Option<Num>,
    #[serde(default)]
    pub topup_regularity: Option<Num>,
    #[serde(default)]
    pub digital_txn_monthly: Option<Num>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Banking {
    #[serde(default)]
    pub bank_account_tenure_months: Option<Num>,
    #[serde(default)]
    pub avg_monthly_balance: Option<Num>,
    #[serde(default)]
    pub min_balance_90d: Option<Num>,
    #[serde(default)]
    pub overdrafts_90d: Option<Num>,
    #[serde(default)]
    pub income_volatility: Option<Num>,
    #[serde(default)]
    pub savings_rate: Option<Num>,
}

/// Protected attributes: carried for fairness monitoring only, never scored.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Protected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<String>,
}

/// One validated input value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputValue {
    Number(f64),
    Category(&'static str),
    Missing,
}

/// A validated application: the feature-set inputs in [`INPUTS`] order.
#[derive(Debug, Clone)]
pub struct ApplicationInput {
    pub applicant_id: String,
    pub values: Vec<InputValue>,
    pub protected: Protected,
    /// The body as parsed (normalised JSON), stored with the decision.
    pub body: ApplicationBody,
}

impl ApplicationInput {
    /// The raw value of a feature-set column, for the schema encoder.
    pub fn raw(&self, column: &str) -> RawValue<'static> {
        match INPUTS.iter().position(|i| i.name == column) {
            Some(k) => match self.values[k] {
                InputValue::Number(x) => RawValue::Number(x),
                InputValue::Category(c) => RawValue::Text(c),
                InputValue::Missing => RawValue::Missing,
            },
            None => RawValue::Missing,
        }
    }

    pub fn value(&self, column: &str) -> Option<InputValue> {
        INPUTS
            .iter()
            .position(|i| i.name == column)
            .map(|k| self.values[k])
    }

    pub fn loan_amount(&self) -> f64 {
        match self.value("loan_amount") {
            Some(InputValue::Number(x)) => x,
            _ => 0.0,
        }
    }

    pub fn loan_term_months(&self) -> f64 {
        match self.value("loan_term_months") {
            Some(InputValue::Number(x)) => x,
            _ => 0.0,
        }
    }
}

/// The JSON path of each feature-set input in the request body.
pub const FIELD_PATHS: &[(&str, &str)] = &[
    ("loan_amount", "loan.amount"),
    ("loan_term_months", "loan.term_months"),
    ("loan_purpose", "loan.purpose"),
    ("monthly_income", "applicant.monthly_income"),
    ("employment_status", "alternative_data.employment.status"),
    (
        "employment_tenure_months",
        "alternative_data.employment.tenure_months",
    ),
    (
        "employer_changes_24m",
        "alternative_data.employment.employer_changes_24m",
    ),
    (
        "income_verified",
        "alternative_data.employment.income_verified",
    ),
    (
        "rent_on_time_ratio",
        "alternative_data.payments.rent_on_time_ratio",
    ),
    (
        "utility_on_time_ratio",
        "alternative_data.payments.utility_on_time_ratio",
    ),
    (
        "telecom_on_time_ratio",
        "alternative_data.payments.telecom_on_time_ratio",
    ),
    (
        "late_payments_12m",
        "alternative_data.payments.late_payments_12m",
    ),
    (
        "payment_history_months",
        "alternative_data.payments.payment_history_months",
    ),
    (
        "mobile_account_tenure_months",
        "alternative_data.digital.mobile_account_tenure_months",
    ),
    (
        "device_tenure_months",
        "alternative_data.digital.device_tenure_months",
    ),
    (
        "topup_regularity",
        "alternative_data.digital.topup_regularity",
    ),
    (
        "digital_txn_monthly",
        "alternative_data.digital.digital_txn_monthly",
    ),
    (
        "bank_account_tenure_months",
        "alternative_data.banking.bank_account_tenure_months",
    ),
    (
        "avg_monthly_balance",
        "alternative_data.banking.avg_monthly_balance",
    ),
    (
        "min_balance_90d",
        "alternative_data.banking.min_balance_90d",
    ),
    ("overdrafts_90d", "alternative_data.banking.overdrafts_90d"),
    (
        "income_volatility",
        "alternative_data.banking.income_volatility",
    ),
    ("savings_rate", "alternative_data.banking.savings_rate"),
];

/// The request path of a feature-set column.
pub fn path_of(column: &str) -> &'static str {
    FIELD_PATHS
        .iter()
        .find(|(c, _)| *c == column)
        .map_or("", |(_, p)| p)
}

impl ApplicationBody {
    /// The value given for each feature-set column, by path.
    fn lookup(&self, column: &str) -> Option<Field<'_>> {
        let a = &self.alternative_data;
        let n = |v: &Num| Some(Field::Number(v.0));
        let o = |v: &Option<Num>| Some(v.map_or(Field::Absent, |x| Field::Number(x.0)));
        match column {
            "loan_amount" => n(&self.loan.amount),
            "loan_term_months" => n(&self.loan.term_months),
            "loan_purpose" => Some(Field::Text(&self.loan.purpose)),
            "monthly_income" => n(&self.applicant.monthly_income),
            "employment_status" => Some(Field::Text(&a.employment.status)),
            "employment_tenure_months" => o(&a.employment.tenure_months),
            "employer_changes_24m" => n(&a.employment.employer_changes_24m),
            "income_verified" => Some(Field::Number(if a.employment.income_verified {
                1.0
            } else {
                0.0
            })),
            "rent_on_time_ratio" => o(&a.payments.rent_on_time_ratio),
            "utility_on_time_ratio" => o(&a.payments.utility_on_time_ratio),
            "telecom_on_time_ratio" => o(&a.payments.telecom_on_time_ratio),
            "late_payments_12m" => n(&a.payments.late_payments_12m),
            "payment_history_months" => n(&a.payments.payment_history_months),
            "mobile_account_tenure_months" => o(&a.digital.mobile_account_tenure_months),
            "device_tenure_months" => o(&a.digital.device_tenure_months),
            "topup_regularity" => o(&a.digital.topup_regularity),
            "digital_txn_monthly" => o(&a.digital.digital_txn_monthly),
            "bank_account_tenure_months" => o(&a.banking.bank_account_tenure_months),
            "avg_monthly_balance" => o(&a.banking.avg_monthly_balance),
            "min_balance_90d" => o(&a.banking.min_balance_90d),
            "overdrafts_90d" => o(&a.banking.overdrafts_90d),
            "income_volatility" => o(&a.banking.income_volatility),
            "savings_rate" => o(&a.banking.savings_rate),
            _ => None,
        }
    }
}

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

enum Field<'a> {
    Number(f64),
    Text(&'a str),
    Absent,
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, message)
}

/// Parses and validates a request body.
pub fn parse(bytes: &[u8]) -> ServiceResult<ApplicationInput> {
    if bytes.is_empty() {
        return Err(invalid("body", "the request body is empty"));
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(invalid(
            "body",
            format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        invalid(
            "body",
            format!(
                "the request body is not valid UTF-8 (at byte {})",
                e.valid_up_to()
            ),
        )
    })?;
    if !text.trim_start().starts_with('{') {
        return Err(invalid("body", "must be a JSON object"));
    }
    validate(strict_json(text)?)
}

/// The path of the first JSON array in `v`, if any.
fn first_array(v: &serde_json::Value, path: &str) -> Option<String> {
    match v {
        serde_json::Value::Array(_) => Some(if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }),
        serde_json::Value::Object(m) => m.iter().find_map(|(k, v)| {
            first_array(
                v,
                &if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                },
            )
        }),
        _ => None,
    }
}

/// Deserialises a JSON text into `T`, naming the offending field of any error by its path
/// (`loan.amount`, or `body` for the document as a whole). The request bodies have no list
/// anywhere, so an array is refused where serde would read it as a struct's fields in order.
pub fn strict_json<T: serde::de::DeserializeOwned>(text: &str) -> ServiceResult<T> {
    if text.contains('[') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            if let Some(path) = first_array(&v, "") {
                return Err(invalid(
                    &path,
                    "must be a JSON object or value, not an array",
                ));
            }
        }
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let root = path == "." || path.is_empty();
        // serde names a missing field in the message; put it into the path.
        let field = match message.split('`').nth(1) {
            Some(name) if message.starts_with("missing field") && root => name.to_owned(),
            Some(name) if message.starts_with("missing field") => format!("{path}.{name}"),
            _ if root => "body".to_owned(),
            _ => path,
        };
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        invalid(&field, message)
    })
}

fn validate(body: ApplicationBody) -> ServiceResult<ApplicationInput> {
    let id = body.applicant.id.as_str();
    if id.is_empty() || id.len() > 128 {
        return Err(invalid("applicant.id", "must be 1 to 128 characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(invalid(
            "applicant.id",
            "may contain only letters, digits, '-', '_', '.' and ':'",
        ));
    }
    let mut values = Vec::with_capacity(INPUTS.len());
    for input in INPUTS {
        let path = path_of(input.name);
        let field = body.lookup(input.name).ok_or_else(|| {
            ServiceError::Internal(format!("no request field for {}", input.name))
        })?;
        let value = match (field, input.categories) {
            (Field::Text(t), Some(categories)) => {
                let known = categories.iter().find(|c| **c == t).ok_or_else(|| {
                    invalid(
                        path,
                        format!("'{t}' is not one of {}", categories.join(", ")),
                    )
                })?;
                InputValue::Category(known)
            }
            (Field::Number(x), None) => {
                if x < input.min || x > input.max {
                    return Err(invalid(
                        path,
                        format!("must be between {} and {}", input.min, input.max),
                    ));
                }
                if input.integer && x.fract() != 0.0 {
                    return Err(invalid(path, "must be a whole number"));
                }
                InputValue::Number(x)
            }
            (Field::Absent, None) if input.optional => InputValue::Missing,
            (Field::Absent, _) => return Err(invalid(path, "is required")),
            _ => {
                return Err(ServiceError::Internal(format!(
                    "type mismatch for {}",
                    input.name
                )))
            }
        };
        values.push(value);
    }
    if let Some(p) = &body.protected {
        for ((name, allowed), given) in PROTECTED.iter().zip([&p.gender, &p.age_band]) {
            if let Some(v) = given {
                if !allowed.contains(&v.as_str()) {
                    return Err(invalid(
                        &format!("protected.{name}"),
                        format!("'{v}' is not one of {}", allowed.join(", ")),
                    ));
                }
            }
        }
    }
    Ok(ApplicationInput {
        applicant_id: id.to_owned(),
        values,
        protected: body.protected.clone().unwrap_or_default(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
