//! The application a lending front-end submits, parsed strictly into the feature set's inputs.
//!
//! Every field is typed; unknown fields, wrong types, non-finite numbers, numbers that
//! overflow or underflow, out-of-range and fractional counts are refused with the field's
//! path. Ranges come from the feature set (`lendscope_model::features::INPUTS`), so the API,
//! the generator and the model agree on what a valid value is.
//!
//! This module holds the wire types and [`parse`]; `fields` maps feature-set columns to
//! request paths, `validate` reads JSON strictly and checks a body against the feature set,
//! and `build` goes the other way, from column values to a request body.

mod build;
mod fields;
#[cfg(test)]
mod tests;
mod validate;

use lendscope_model::features::INPUTS;
use lendscope_model::schema::RawValue;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ServiceResult;

pub use build::body_from_columns;
pub(crate) use build::{empty_body, number_json, set_path};
pub use fields::{path_of, FIELD_PATHS};
use validate::{invalid, validate};
pub use validate::{strict_json, strict_value};

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

/// Reads an application built in memory as a JSON value (the web form), with the API's checks.
pub fn from_value(body: serde_json::Value) -> ServiceResult<ApplicationInput> {
    validate(strict_value(body)?)
}
