//! Principal reasons: the factors that pushed the score most towards default, in plain
//! language, at most four (Regulation B comment 9(b)(2)-1), each a factor actually scored.

use lendscope_model::features;
use lendscope_model::FeatureSchema;
use serde::{Deserialize, Serialize};

use super::request::{ApplicationInput, InputValue};

pub const MAX_REASONS: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    /// The input (feature-set column) the reason is about.
    pub feature: String,
    pub text: String,
    /// Its SHAP contribution in log-odds (one-hot columns summed).
    pub contribution: f64,
}

/// The up to four inputs with the largest positive contribution to the log-odds of default.
/// Protected attributes cannot appear: they are never model inputs.
pub fn principal_reasons(
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
