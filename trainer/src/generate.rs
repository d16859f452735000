//! Writing synthetic data sets as CSV.

use std::io::Write;

use lendscope_model::synth::{header, Generator, Settings};

use crate::TrainError;

/// Writes a header and `rows` generated applicants to `out`.
pub fn write_csv<W: Write>(out: W, settings: Settings, rows: usize) -> Result<(), TrainError> {
    let generator = Generator::new(settings)?;
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| TrainError::Artifact(format!("writing CSV: {e}"));
    w.write_record(header()).map_err(err)?;
    for applicant in generator.take(rows) {
        w.write_record(applicant.to_fields()).map_err(err)?;
    }
    w.flush()
        .map_err(|e| TrainError::Artifact(format!("writing CSV: {e}")))?;
    Ok(())
}

/// A generated training set, read through the same CSV path as a file would be (so the
/// schema, the target and the checks are those of `lendscope train`).
pub fn generated_dataset(settings: Settings, rows: usize) -> Result<crate::Dataset, TrainError> {
    let mut csv = Vec::new();
    write_csv(&mut csv, settings, rows)?;
    let table =
        crate::dataset::Table::from_csv(&format!("generated-seed-{}.csv", settings.seed), &csv)?;
    crate::Dataset::new(
        table,
        &crate::DatasetOptions {
            target: lendscope_model::features::TARGET.to_owned(),
            ..Default::default()
        },
    )
}

/// A number that may be missing (NaN), written in its shortest exact form.
pub trait MatrixValue: std::fmt::Display + Copy {
    fn is_missing(self) -> bool;
}

impl MatrixValue for f32 {
    fn is_missing(self) -> bool {
        self.is_nan()
    }
}

impl MatrixValue for f64 {
    fn is_missing(self) -> bool {
        self.is_nan()
    }
}

/// Writes rows of numbers under a header; NaN is written as an empty cell (missing).
pub fn write_matrix<W: Write, T: MatrixValue>(
    out: W,
    header: &[String],
    rows: impl Iterator<Item = Vec<T>>,
) -> Result<(), TrainError> {
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| TrainError::Artifact(format!("writing CSV: {e}"));
    w.write_record(header).map_err(err)?;
    for row in rows {
        w.write_record(row.iter().map(|v| {
            if v.is_missing() {
                String::new()
            } else {
                v.to_string()
            }
        }))
        .map_err(err)?;
    }
    w.flush()
        .map_err(|e| TrainError::Artifact(format!("writing CSV: {e}")))?;
    Ok(())
}
