//! Tabular data from CSV: parsing with precise errors, column type detection, the target.

use std::collections::HashMap;

use lendscope_model::features;
use lendscope_model::schema::{
    is_missing_text, is_protected, ColumnKind, ColumnSpec, FeatureSchema, RawValue, Reference,
    TargetSpec,
};
use lendscope_model::FeatureVector;
use sha2::{Digest, Sha256};

use crate::TrainError;

/// An optional column: each row's weight in training (a number ≥ 0; default 1).
pub const WEIGHT_COLUMN: &str = "sample_weight";
/// An optional column: 1 marks a row whose outcome was inferred (reject inference), never
/// observed; such rows train but are never held out for validation or testing.
pub const INFERRED_COLUMN: &str = "inferred";

/// Most distinct values a text column may have to be one-hot encoded.
pub const MAX_CATEGORIES: usize = 200;

/// A CSV file read into memory: header and rows, with the line of each row.
#[derive(Debug, Clone)]
pub struct Table {
    pub file: String,
    pub sha256: String,
    pub header: Vec<String>,
    rows: Vec<csv::StringRecord>,
    lines: Vec<u64>,
}

impl Table {
    /// Parses CSV bytes. `file` names the source in errors.
    pub fn from_csv(file: &str, bytes: &[u8]) -> Result<Self, TrainError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(TrainError::data(file, "the file is empty"));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(file, &e))?
            .iter()
            .map(str::to_owned)
            .collect();
        for (i, h) in header.iter().enumerate() {
            if h.is_empty() {
                return Err(TrainError::Data {
                    file: file.to_owned(),
                    line: Some(1),
                    column: None,
                    message: format!("column {} has no name", i + 1),
                });
            }
            if header[..i].contains(h) {
                return Err(TrainError::Data {
                    file: file.to_owned(),
                    line: Some(1),
                    column: Some(h.clone()),
                    message: "the column name appears twice".into(),
                });
            }
        }
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(file, &e))?;
            lines.push(record.position().map_or(0, |p| p.line()));
            rows.push(record);
        }
        if rows.is_empty() {
            return Err(TrainError::data(
                file,
                "the file has a header but no data rows",
            ));
        }
        Ok(Self {
            file: file.to_owned(),
            sha256: hex::encode(Sha256::digest(bytes)),
            header,
            rows,
            lines,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn require_column(&self, name: &str, role: &str) -> Result<usize, TrainError> {
        self.column_index(name).ok_or_else(|| TrainError::Data {
            file: self.file.clone(),
            line: Some(1),
            column: Some(name.to_owned()),
            message: format!(
                "no such column for {role}; the columns are {}",
                self.header.join(", ")
            ),
        })
    }

    /// The values of one column.
    pub fn column(&self, index: usize) -> impl Iterator<Item = &str> {
        self.rows.iter().map(move |r| r.get(index).unwrap_or(""))
    }

    /// The value of `column` in row `row`.
    pub fn cell(&self, row: usize, column: usize) -> &str {
        self.rows[row].get(column).unwrap_or("")
    }

    pub fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    /// Encodes every row with `schema`. Schema columns absent from the file are an error;
    /// a bad value names its line and column.
    pub fn encode(&self, schema: &FeatureSchema) -> Result<Vec<FeatureVector>, TrainError> {
        let index: HashMap<&str, usize> = schema
            .columns()
            .iter()
            .map(|c| {
                self.require_column(&c.name, "the model")
                    .map(|i| (c.name.as_str(), i))
            })
            .collect::<Result<_, _>>()?;
        (0..self.rows.len())
            .map(|r| {
                schema
                    .encode(|name| {
                        index
                            .get(name)
                            .map_or(RawValue::Missing, |&i| RawValue::Text(self.cell(r, i)))
                    })
                    .map_err(|e| match e {
                        lendscope_model::ModelError::Column { column, message } => {
                            TrainError::Data {
                                file: self.file.clone(),
                                line: Some(self.line(r)),
                                column: Some(column),
                                message,
                            }
                        }
                        other => other.into(),
                    })
            })
            .collect()
    }
}

fn csv_error(file: &str, e: &csv::Error) -> TrainError {
    let line = e.position().map(csv::Position::line);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("the row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_owned(),
        _ => e.to_string(),
    };
    TrainError::Data {
        file: file.to_owned(),
        line,
        column: None,
        message,
    }
}

/// How to read a training file.
#[derive(Debug, Clone, Default)]
pub struct DatasetOptions {
    pub target: String,
    /// The value of the target that means the positive class (default); inferred for 0/1,
    /// true/false and yes/no.
    pub positive: Option<String>,
    pub categorical: Vec<String>,
    pub numeric: Vec<String>,
    pub exclude: Vec<String>,
}

/// A training set: the table, the outcome per row, and the inferred schema.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub table: Table,
    pub labels: Vec<bool>,
    /// Training weight per row (all 1 without a `sample_weight` column).
    pub weights: Vec<f32>,
    /// Rows whose outcome was inferred, not observed (an `inferred` column).
    pub inferred: Vec<bool>,
    pub schema: FeatureSchema,
    /// Columns left out of the model, with why.
    pub left_out: Vec<(String, String)>,
}

impl Dataset {
    pub fn new(table: Table, opts: &DatasetOptions) -> Result<Self, TrainError> {
        let target_index = table.require_column(&opts.target, "the target")?;
        for (names, role) in [
            (&opts.categorical, "--categorical"),
            (&opts.numeric, "--numeric"),
            (&opts.exclude, "--exclude"),
        ] {
            for name in names {
                table.require_column(name, role)?;
                if name == &opts.target {
                    return Err(TrainError::Options(format!(
                        "the target '{name}' cannot be given to {role}"
                    )));
                }
            }
        }
        if let Some(both) = opts.categorical.iter().find(|c| opts.numeric.contains(c)) {
            return Err(TrainError::Options(format!(
                "'{both}' is given as both categorical and numeric"
            )));
        }
        let (labels, positive) = read_target(&table, target_index, opts)?;
        let weights = match table.column_index(WEIGHT_COLUMN) {
            Some(i) => read_numbers(&table, i, |w| w.is_finite() && w >= 0.0, "a weight ≥ 0")?,
            None => vec![1.0; table.len()],
        };
        let inferred = match table.column_index(INFERRED_COLUMN) {
            Some(i) => read_numbers(&table, i, |x| x == 0.0 || x == 1.0, "0 or 1")?
                .into_iter()
                .map(|x| x == 1.0)
                .collect(),
            None => vec![false; table.len()],
        };
        let mut left_out = Vec::new();
        let mut usable = Vec::new();
        for (i, name) in table.header.iter().enumerate() {
            if i == target_index {
                continue;
            }
            if name == WEIGHT_COLUMN || name == INFERRED_COLUMN {
                left_out.push((
                    name.clone(),
                    "training bookkeeping, not an input".to_owned(),
                ));
            } else if opts.exclude.contains(name) {
                left_out.push((name.clone(), "excluded".to_owned()));
            } else if is_protected(name) {
                left_out.push((
                    name.clone(),
                    "protected attribute (kept for fairness monitoring only)".to_owned(),
                ));
            } else {
                usable.push(i);
            }
        }
        let lendscope = features::INPUTS
            .iter()
            .all(|input| usable.iter().any(|&i| table.header[i] == input.name))
            && opts.categorical.is_empty()
            && opts.numeric.is_empty();
        let target = Some(TargetSpec {
            column: opts.target.clone(),
            positive,
        });
        let schema = if lendscope {
            for &i in &usable {
                let name = &table.header[i];
                if features::input(name).is_none() {
                    left_out.push((
                        name.clone(),
                        format!("not an input of {}", features::FEATURE_SET),
                    ));
                }
            }
            let base = features::schema()?;
            FeatureSchema::new(
                base.columns().to_vec(),
                base.feature_set().map(str::to_owned),
                target,
            )?
        } else {
            let mut columns = Vec::new();
            for &i in &usable {
                let name = &table.header[i];
                match detect(&table, i, opts)? {
                    Some(kind) => columns.push(ColumnSpec {
                        name: name.clone(),
                        kind,
                    }),
                    None => left_out.push((name.clone(), "no values".to_owned())),
                }
            }
            FeatureSchema::new(columns, None, target)?
        };
        Ok(Self {
            table,
            labels,
            weights,
            inferred,
            schema,
            left_out,
        })
    }

    /// The reference points of the given (training) rows, stored in the schema for reasons:
    /// each numeric column's median (present values), and each categorical column's
    /// categories whose default rate is above the rows' overall rate.
    pub fn reference(&self, rows: &[usize]) -> Result<Reference, TrainError> {
        let overall =
            rows.iter().filter(|&&r| self.labels[r]).count() as f64 / rows.len().max(1) as f64;
        let mut reference = Reference {
            rows: rows.len() as u64,
            ..Reference::default()
        };
        for col in self.schema.columns() {
            let i = self.table.require_column(&col.name, "the model")?;
            let present = rows
                .iter()
                .map(|&r| (r, self.table.cell(r, i).trim()))
                .filter(|(_, v)| !is_missing_text(v));
            match &col.kind {
                ColumnKind::Numeric => {
                    // Parsed as the schema's encoder parses them (the matrix was encoded from
                    // these cells before, so every present cell is a finite number).
                    let mut values: Vec<f64> = present
                        .filter_map(|(_, v)| v.parse::<f64>().ok().filter(|x| x.is_finite()))
                        .collect();
                    if values.is_empty() {
                        continue;
                    }
                    values.sort_by(f64::total_cmp);
                    let mid = values.len() / 2;
                    let median = if values.len() % 2 == 0 {
                        (values[mid - 1] + values[mid]) / 2.0
                    } else {
                        values[mid]
                    };
                    reference.medians.insert(col.name.clone(), median);
                }
                ColumnKind::Categorical { categories } => {
                    let mut counts: HashMap<&str, (u64, u64)> = HashMap::new();
                    for (r, v) in present {
                        let e = counts.entry(v).or_default();
                        e.0 += 1;
                        e.1 += u64::from(self.labels[r]);
                    }
                    let adverse = categories
                        .iter()
                        .filter(|c| {
                            counts
                                .get(c.as_str())
                                .is_some_and(|&(n, d)| d as f64 / n as f64 > overall)
                        })
                        .cloned()
                        .collect();
                    reference
                        .adverse_categories
                        .insert(col.name.clone(), adverse);
                }
            }
        }
        Ok(reference)
    }

    /// The feature matrix, row-major, NaN for missing values.
    pub fn matrix(&self) -> Result<Vec<FeatureVector>, TrainError> {
        self.table.encode(&self.schema)
    }
}

/// A column of numbers each satisfying `valid` (described by `what` in the error).
fn read_numbers(
    table: &Table,
    index: usize,
    valid: impl Fn(f32) -> bool,
    what: &str,
) -> Result<Vec<f32>, TrainError> {
    table
        .column(index)
        .enumerate()
        .map(|(r, v)| match v.trim().parse::<f32>() {
            Ok(x) if valid(x) => Ok(x),
            _ => Err(TrainError::Data {
                file: table.file.clone(),
                line: Some(table.line(r)),
                column: Some(table.header[index].clone()),
                message: format!("{v:?} is not {what}"),
            }),
        })
        .collect()
}

fn read_target(
    table: &Table,
    index: usize,
    opts: &DatasetOptions,
) -> Result<(Vec<bool>, String), TrainError> {
    let name = &opts.target;
    let mut distinct: Vec<String> = Vec::new();
    for (r, v) in table.column(index).enumerate() {
        if is_missing_text(v) {
            return Err(TrainError::Data {
                file: table.file.clone(),
                line: Some(table.line(r)),
                column: Some(name.clone()),
                message: "the target is missing".into(),
            });
        }
        if !distinct.iter().any(|d| d == v) {
            distinct.push(v.to_owned());
            if distinct.len() > 2 {
                return Err(TrainError::Data {
                    file: table.file.clone(),
                    line: Some(table.line(r)),
                    column: Some(name.clone()),
                    message: format!(
                        "the target is not binary: it has at least the values {}",
                        distinct.join(", ")
                    ),
                });
            }
        }
    }
    if distinct.len() < 2 {
        return Err(TrainError::Data {
            file: table.file.clone(),
            line: None,
            column: Some(name.clone()),
            message: format!(
                "the target has only one value ({}); both outcomes are needed",
                distinct.join("")
            ),
        });
    }
    let positive = match &opts.positive {
        Some(p) if distinct.contains(p) => p.clone(),
        Some(p) => {
            return Err(TrainError::Options(format!(
                "--positive '{p}' is not a value of '{name}' (its values are {})",
                distinct.join(", ")
            )))
        }
        None => {
            let lower: Vec<String> = distinct.iter().map(|d| d.to_lowercase()).collect();
            let known = [
                ("1", "0"),
                ("1.0", "0.0"),
                ("true", "false"),
                ("yes", "no"),
                ("y", "n"),
            ];
            known
                .iter()
                .find_map(|(pos, neg)| {
                    let p = lower.iter().position(|v| v == pos)?;
                    lower.iter().any(|v| v == neg).then(|| distinct[p].clone())
                })
                .ok_or_else(|| {
                    TrainError::Options(format!(
                        "cannot tell which value of '{name}' is the positive class ({}); give --positive",
                        distinct.join(", ")
                    ))
                })?
        }
    };
    let labels = table.column(index).map(|v| v == positive).collect();
    Ok((labels, positive))
}

/// The kind of a column: declared, or numeric when every present value is a finite number,
/// else categorical. `None` when the column has no values at all.
fn detect(
    table: &Table,
    index: usize,
    opts: &DatasetOptions,
) -> Result<Option<ColumnKind>, TrainError> {
    let name = &table.header[index];
    let present = || table.column(index).filter(|v| !is_missing_text(v));
    if present().next().is_none() {
        return Ok(None);
    }
    let declared_numeric = opts.numeric.contains(name);
    let numeric = !opts.categorical.contains(name)
        && (declared_numeric || present().all(|v| v.parse::<f64>().is_ok_and(f64::is_finite)));
    if numeric {
        return Ok(Some(ColumnKind::Numeric));
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in present() {
        *counts.entry(v).or_default() += 1;
    }
    if counts.len() > MAX_CATEGORIES {
        return Err(TrainError::Data {
            file: table.file.clone(),
            line: None,
            column: Some(name.clone()),
            message: format!(
                "{} distinct text values are too many to one-hot encode (at most {MAX_CATEGORIES}); --exclude it",
                counts.len()
            ),
        });
    }
    let mut categories: Vec<(&str, usize)> = counts.into_iter().collect();
    categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    Ok(Some(ColumnKind::Categorical {
        categories: categories.into_iter().map(|(c, _)| c.to_owned()).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(target: &str) -> DatasetOptions {
        DatasetOptions {
            target: target.into(),
            ..Default::default()
        }
    }

    fn dataset(csv: &str, o: &DatasetOptions) -> Result<Dataset, TrainError> {
        Dataset::new(Table::from_csv("t.csv", csv.as_bytes())?, o)
    }

    #[test]
    fn columns_are_detected_and_protected_ones_left_out() {
        let d = dataset(
            "income,city,protected_gender,bad\n100,Oslo,f,1\n,Rome,m,0\n300,Oslo,f,0\n",
            &opts("bad"),
        )
        .unwrap();
        assert_eq!(d.schema.features(), ["income", "city=Oslo", "city=Rome"]);
        assert_eq!(d.labels, [true, false, false]);
        assert_eq!(d.left_out[0].0, "protected_gender");
        let m = d.matrix().unwrap();
        assert!(m[1].as_slice()[0].is_nan());
    }

    #[test]
    fn bad_files_are_named_precisely() {
        let err = |csv: &str, o: &DatasetOptions| dataset(csv, o).unwrap_err().to_string();
        assert_eq!(err("", &opts("y")), "t.csv: the file is empty");
        assert_eq!(
            err("a,y\n", &opts("y")),
            "t.csv: the file has a header but no data rows"
        );
        assert_eq!(
            err("a,y\n1,0\n2,1,3\n", &opts("y")),
            "t.csv, line 3: the row has 3 fields but the header has 2"
        );
        assert!(
            err("a,b\n1,0\n", &opts("y")).starts_with("t.csv, line 1, column 'y': no such column")
        );
        assert_eq!(
            err("a,y\n1,0\n2,\n", &opts("y")),
            "t.csv, line 3, column 'y': the target is missing"
        );
        assert!(err("a,y\n1,0\n2,1\n3,2\n", &opts("y"))
            .contains("line 4, column 'y': the target is not binary"));
        assert!(err("a,y\n1,0\n2,0\n", &opts("y")).contains("only one value"));
        let numeric = DatasetOptions {
            numeric: vec!["a".into()],
            ..opts("y")
        };
        let d = dataset("a,y\n1,0\nlots,1\n", &numeric).unwrap();
        assert_eq!(
            d.matrix().unwrap_err().to_string(),
            "t.csv, line 3, column 'a': 'lots' is not a number"
        );
        assert!(err("a,y\n1,good\n2,bad\n", &opts("y")).contains("give --positive"));
    }

    #[test]
    fn positive_values_are_inferred_or_given() {
        let d = dataset("a,y\n1,No\n2,Yes\n", &opts("y")).unwrap();
        assert_eq!(d.labels, [false, true]);
        let o = DatasetOptions {
            positive: Some("bad".into()),
            ..opts("y")
        };
        let d = dataset("a,y\n1,good\n2,bad\n", &o).unwrap();
        assert_eq!(d.labels, [false, true]);
    }

    #[test]
    fn generated_lendscope_data_uses_the_feature_set() {
        use lendscope_model::synth::{header, Generator, Settings};
        let mut csv = header().join(",") + "\n";
        for a in Generator::new(Settings {
            seed: 1,
            drift: 0.0,
            bias: 0.0,
        })
        .unwrap()
        .take(50)
        {
            csv += &(a.to_fields().join(",") + "\n");
        }
        let d = dataset(&csv, &opts("defaulted")).unwrap();
        assert_eq!(d.schema.feature_set(), Some(features::FEATURE_SET));
        assert_eq!(d.schema.features(), features::schema().unwrap().features());
        assert_eq!(d.matrix().unwrap().len(), 50);
    }
}
