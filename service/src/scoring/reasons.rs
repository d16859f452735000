//! Principal reasons: the factors that pushed the score most towards default, in plain
//! language, at most four (Regulation B comment 9(b)(2)-1), each true of the applicant.
//!
//! A reason must be specific and true (12 CFR 1002.9(b)(2) and its commentary; CFPB Circulars
//! 2022-03 and 2023-03). With interactions, a model can give a favourable value a positive
//! contribution — a regular top-up history can still raise the log-odds — so a positive
//! contribution alone does not make a reason. Since method 2, an input is a principal reason
//! only when its contribution raises the risk **and** the applicant's value is on the adverse
//! side of that input: the side the feature set declares ([`features::Adverse`]), measured
//! against the training data's reference stored in the model's schema (the declared typical
//! value for a model trained without one); or the value is absent and its absence raised the
//! risk. The text states the applicant's value where it helps ("3 late payments in the last 12
//! months").
//!
//! The method is recorded with each decision: `audit reproduce` recomputes a record with the
//! method it was decided by (method 1, the largest positive contributions, for records written
//! before method 2).

use lendscope_model::features::{self, Adverse};
use lendscope_model::FeatureSchema;
use serde::{Deserialize, Serialize};

use super::display::display_number;
use super::request::{ApplicationInput, InputValue};

pub const MAX_REASONS: usize = 4;

/// The reason-selection method of new decisions (see the module documentation).
pub const REASONS_METHOD: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    /// The input (feature-set column) the reason is about.
    pub feature: String,
    pub text: String,
    /// Its SHAP contribution in log-odds (one-hot columns summed).
    pub contribution: f64,
}

/// The inputs whose contributions raise the log-odds of default, largest first; equal
/// contributions in feature-set order. Protected attributes are never model inputs.
fn raising(schema: &FeatureSchema, contributions: &[f64]) -> Vec<(&'static features::Input, f64)> {
    let mut per_column: Vec<(&'static features::Input, f64)> = schema
        .per_column(contributions)
        .into_iter()
        .filter(|(_, c)| *c > 1e-9)
        .filter_map(|(column, c)| features::input(column).map(|def| (def, c)))
        .collect();
    let order = |def: &features::Input| features::INPUTS.iter().position(|i| i.name == def.name);
    per_column.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| order(a.0).cmp(&order(b.0)))
    });
    per_column
}

/// The text of a reason about `def` for the applicant's `value`, when the value is on the
/// adverse side of the input (method 2); `None` when stating it would not be true.
fn adverse_text(
    def: &features::Input,
    value: InputValue,
    schema: &FeatureSchema,
) -> Option<String> {
    let reference = schema.reference();
    match value {
        InputValue::Missing => {
            (!def.reason_missing.is_empty()).then(|| def.reason_missing.to_owned())
        }
        InputValue::Number(x) => {
            let centre = reference.and_then(|r| r.medians.get(def.name).copied());
            def.adverse
                .numeric_is_adverse(x, centre)
                .then(|| stated(def, &display_number(def.name, x)))
        }
        InputValue::Category(c) => {
            let adverse = match (
                reference.and_then(|r| r.adverse_categories.get(def.name)),
                def.adverse,
            ) {
                (Some(trained), _) => trained.iter().any(|a| a == c),
                (None, Adverse::Categories(declared)) => declared.contains(&c),
                (None, _) => false,
            };
            adverse.then(|| stated(def, &c.replace('_', " ")))
        }
    }
}

/// The reason text with the applicant's value in it, when the feature set has such a text.
fn stated(def: &features::Input, value: &str) -> String {
    if def.reason_value.is_empty() {
        def.reason.to_owned()
    } else {
        def.reason_value.replacen("{}", value, 1)
    }
}

/// Method 2: the up to four inputs with the largest contributions towards default whose value
/// is on the adverse side (see the module documentation).
pub fn principal_reasons(
    schema: &FeatureSchema,
    contributions: &[f64],
    input: &ApplicationInput,
) -> Vec<Reason> {
    raising(schema, contributions)
        .into_iter()
        .filter_map(|(def, contribution)| {
            let text = adverse_text(def, input.value(def.name)?, schema)?;
            Some(Reason {
                code: def.reason_code.to_owned(),
                feature: def.name.to_owned(),
                text,
                contribution,
            })
        })
        .take(MAX_REASONS)
        .collect()
}

/// Method 1, kept only to reproduce records decided by it: the up to four inputs with the
/// largest positive contributions, whatever the value.
pub fn principal_reasons_v1(
    schema: &FeatureSchema,
    contributions: &[f64],
    input: &ApplicationInput,
) -> Vec<Reason> {
    let mut per_column: Vec<(&str, f64)> = schema
        .per_column(contributions)
        .into_iter()
        .filter(|(_, c)| *c > 1e-9)
        .collect();
    per_column.sort_by(|a, b| b.1.total_cmp(&a.1));
    per_column
        .into_iter()
        .filter_map(|(column, contribution)| {
            let def = features::input(column)?;
            let missing = matches!(input.value(column), Some(InputValue::Missing));
            let text = if missing && !def.reason_missing.is_empty() {
                def.reason_missing
            } else {
                def.reason
            };
            Some(Reason {
                code: def.reason_code.to_owned(),
                feature: column.to_owned(),
                text: text.to_owned(),
                contribution,
            })
        })
        .take(MAX_REASONS)
        .collect()
}

#[cfg(test)]
mod tests;
