//! Data drift: the columns compared between the reference and the current window (the
//! prediction's column is built by the job).

use lendscope_model::drift::{ColumnData, DriftColumn};
use lendscope_model::features::INPUTS;

use super::windows::Row;
use crate::scoring::request::InputValue;

/// The data-drift columns: every input of the feature set, typed as the feature set types it.
pub(super) fn input_columns(reference: &[Row], current: &[Row]) -> Vec<DriftColumn> {
    INPUTS
        .iter()
        .enumerate()
        .map(|(k, input)| {
            let value = |r: &Row| r.stored.input.values.get(k).copied();
            let data = if input.categories.is_some() {
                let text = |r: &Row| match value(r) {
                    Some(InputValue::Category(c)) => Some(c),
                    _ => None,
                };
                ColumnData::categorical(reference.iter().map(text), current.iter().map(text))
            } else {
                let number = |r: &Row| match value(r) {
                    Some(InputValue::Number(x)) => x,
                    _ => f64::NAN,
                };
                ColumnData::Numeric {
                    reference: reference.iter().map(number).collect(),
                    current: current.iter().map(number).collect(),
                }
            };
            DriftColumn {
                name: input.name.to_owned(),
                data,
            }
        })
        .collect()
}
