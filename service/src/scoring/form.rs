//! The public application form: its fields (from the feature set) and the conversion of a
//! submitted form into the typed application the API's parser yields (with the same checks),
//! scored by the same service.

use std::collections::BTreeMap;

use lendscope_domain::review::FormField;
use lendscope_model::features::{self, INPUTS, PROTECTED};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::request::{self, empty_body, number_json, set_path, FIELD_PATHS};
use crate::error::{ServiceError, ServiceResult};
use crate::Services;

/// The API client name under which form submissions are recorded.
pub const FORM_CLIENT: &str = "web-form";

/// The applicant reference field.
const APPLICANT_FIELD: &str = "applicant_id";

/// The fields of the form, in display order.
pub fn form_fields() -> Vec<FormField> {
    let mut out = vec![FormField {
        name: APPLICANT_FIELD.to_owned(),
        label: "Your applicant reference".to_owned(),
        group: "About you".to_owned(),
        options: Vec::new(),
        min: None,
        max: None,
        step: String::new(),
        required: true,
        help: "The reference our partner gave you (letters, digits, - or _).".to_owned(),
    }];
    for input in INPUTS {
        let (options, min, max, step) = match input.categories {
            Some(c) => (c.iter().map(|s| (*s).to_owned()).collect(), None, None, ""),
            None if input.name == "income_verified" => {
                (vec!["yes".to_owned(), "no".to_owned()], None, None, "")
            }
            None => (
                Vec::new(),
                Some(input.min),
                Some(input.max),
                if input.integer { "1" } else { "any" },
            ),
        };
        out.push(FormField {
            name: input.name.to_owned(),
            label: input.label.to_owned(),
            group: input.group.label().to_owned(),
            options,
            min,
            max,
            step: step.to_owned(),
            required: !input.optional,
            help: if input.optional {
                "Leave empty if not available.".to_owned()
            } else {
                String::new()
            },
        });
    }
    for (name, values) in PROTECTED {
        out.push(FormField {
            name: (*name).to_owned(),
            label: if *name == "gender" {
                "Gender"
            } else {
                "Age band"
            }
            .to_owned(),
            group: "Optional: for fairness monitoring only, never used to decide".to_owned(),
            options: values.iter().map(|s| (*s).to_owned()).collect(),
            min: None,
            max: None,
            step: String::new(),
            required: false,
            help: String::new(),
        });
    }
    out
}

/// Parses a number as people type it: `1500`, `1,500`, `$1,500.50`, `0.96`.
fn form_number(field: &str, text: &str) -> ServiceResult<f64> {
    let cleaned: String = text
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| ServiceError::invalid(field, format!("'{text}' is not a number")))
}

/// The API request body of a submitted form. Unknown fields are refused; range checks are
/// left to the request parser, whose errors [`column_of`] maps back to form fields.
pub fn body_from_form(fields: &BTreeMap<String, String>) -> ServiceResult<Value> {
    let known = |name: &str| {
        name == APPLICANT_FIELD
            || features::input(name).is_some()
            || PROTECTED.iter().any(|(p, _)| *p == name)
    };
    if let Some(unknown) = fields.keys().find(|k| !known(k)) {
        return Err(ServiceError::invalid(
            unknown,
            "is not a field of the application form",
        ));
    }
    let given = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut body = empty_body(given(APPLICANT_FIELD).unwrap_or_default());
    for (column, path) in FIELD_PATHS {
        let Some(text) = given(column) else { continue };
        let input = features::input(column);
        let value = match input.and_then(|i| i.categories) {
            Some(_) => json!(text),
            None if *column == "income_verified" => match text {
                "yes" => json!(true),
                "no" => json!(false),
                _ => return Err(ServiceError::invalid(column, "must be yes or no")),
            },
            None => number_json(form_number(column, text)?),
        };
        set_path(&mut body, path, value);
    }
    let mut protected = serde_json::Map::new();
    for (name, _) in PROTECTED {
        if let Some(v) = given(name) {
            protected.insert((*name).to_owned(), json!(v));
        }
    }
    if !protected.is_empty() {
        body["protected"] = Value::Object(protected);
    }
    Ok(body)
}

/// The form field behind a request path (`loan.amount` → `loan_amount`).
pub fn column_of(path: &str) -> String {
    if path == "applicant.id" {
        return APPLICANT_FIELD.to_owned();
    }
    if let Some(p) = path.strip_prefix("protected.") {
        return p.to_owned();
    }
    FIELD_PATHS
        .iter()
        .find(|(_, p)| *p == path)
        .map_or_else(|| path.to_owned(), |(c, _)| (*c).to_owned())
}

impl Services {
    /// Scores a submitted application form through the same path as the API and returns the
    /// applicant's notice URL. `form_id` (issued with the form) makes a double submit return
    /// the same decision instead of a second one.
    pub async fn score_form(
        &self,
        fields: &BTreeMap<String, String>,
        form_id: &str,
    ) -> ServiceResult<String> {
        // The form's own field names in errors, not the API's request paths.
        let named = |e: ServiceError| match e {
            ServiceError::Invalid(mut f) => {
                f.field = match f.field.as_str() {
                    "Idempotency-Key" => "form_id".to_owned(),
                    other => column_of(other),
                };
                ServiceError::Invalid(f)
            }
            other => other,
        };
        let input = request::from_value(body_from_form(fields)?).map_err(named)?;
        // What was "received" is the normalised application: its hash tells a double submit.
        let normalised = serde_json::to_vec(&input.body)
            .map_err(|e| ServiceError::Internal(format!("form body: {e}")))?;
        let request_hash = hex::encode(Sha256::digest(&normalised));
        let key = format!("form-{form_id}");
        let scored = self
            .score_once(FORM_CLIENT, Some(&key), request_hash, || Ok(input))
            .await
            .map_err(named)?;
        Ok(scored.notice_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> BTreeMap<String, String> {
        [
            ("applicant_id", "A-1"),
            ("loan_amount", "1,500"),
            ("loan_term_months", "12"),
            ("loan_purpose", "vehicle"),
            ("monthly_income", "$2,400"),
            ("employment_status", "full_time"),
            ("income_verified", "yes"),
            ("rent_on_time_ratio", "0.96"),
            ("late_payments_12m", "1"),
            ("device_tenure_months", ""),
            ("gender", ""),
            ("age_band", "25-34"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn forms_become_api_bodies() {
        let body = body_from_form(&filled()).unwrap();
        assert_eq!(body["applicant"]["id"], "A-1");
        assert_eq!(body["loan"]["amount"], 1500);
        assert_eq!(body["applicant"]["monthly_income"], 2400);
        assert_eq!(
            body["alternative_data"]["employment"]["income_verified"],
            true
        );
        assert_eq!(
            body["alternative_data"]["payments"]["rent_on_time_ratio"],
            0.96
        );
        assert!(body["alternative_data"]["digital"]
            .get("device_tenure_months")
            .is_none());
        assert_eq!(body["protected"], json!({ "age_band": "25-34" }));
    }

    #[test]
    fn bad_form_input_names_the_field() {
        let mut f = filled();
        f.insert("loan_amount".into(), "lots".into());
        let err = body_from_form(&f).unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(ref e) if e.field == "loan_amount"));
        let mut f = filled();
        f.insert("is_admin".into(), "1".into());
        assert!(body_from_form(&f).is_err());
        assert_eq!(column_of("loan.amount"), "loan_amount");
        assert_eq!(column_of("protected.gender"), "gender");
        assert_eq!(column_of("applicant.id"), "applicant_id");
    }

    #[test]
    fn the_form_asks_for_every_input_and_the_optional_protected_attributes() {
        let fields = form_fields();
        assert_eq!(fields.len(), 1 + INPUTS.len() + PROTECTED.len());
        assert!(fields.iter().all(|f| column_of(&f.name) == f.name));
        assert!(fields
            .iter()
            .filter(|f| f.name == "gender" || f.name == "age_band")
            .all(|f| !f.required));
    }
}
