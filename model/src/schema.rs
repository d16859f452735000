//! The feature schema: how raw columns become the model's numeric feature vector.
//!
//! Numeric columns map to one feature each; categorical columns are one-hot encoded, one
//! feature per known category (`column=category`). A missing value stays missing: NaN for a
//! numeric feature, NaN in every one-hot feature of a categorical column — never a silent 0.
//! A category not seen in training encodes as 0 in all of its column's features.
//!
//! The schema is written next to the model (`schema.json`) and is the one encoder used by
//! training, the batch CLIs and the scoring service.

use serde::{Deserialize, Serialize};

use crate::values::FeatureVector;
use crate::ModelError;

/// The schema file format version.
pub const SCHEMA_FORMAT: u32 = 1;

/// Column names that may never become model features: protected bases under Regulation B
/// (and anything named `protected_…`). They are carried for fairness monitoring only.
pub const PROTECTED_NAMES: &[&str] = &[
    "gender",
    "sex",
    "race",
    "ethnicity",
    "color",
    "colour",
    "religion",
    "national_origin",
    "nationality",
    "marital_status",
    "age",
    "age_band",
    "date_of_birth",
    "birth_date",
    "public_assistance",
];

/// Whether a column name denotes a protected attribute.
pub fn is_protected(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n.starts_with("protected_") || PROTECTED_NAMES.contains(&n.as_str())
}

/// A raw input value, before encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawValue<'a> {
    Number(f64),
    Text(&'a str),
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnKind {
    Numeric,
    Categorical { categories: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(flatten)]
    pub kind: ColumnKind,
}

impl ColumnSpec {
    pub fn numeric(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: ColumnKind::Numeric,
        }
    }

    pub fn categorical(name: &str, categories: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            kind: ColumnKind::Categorical {
                categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            },
        }
    }
}

/// The training target: which column, and which of its values is the positive class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSpec {
    pub column: String,
    pub positive: String,
}

/// Columns in, features out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SchemaFile", into = "SchemaFile")]
pub struct FeatureSchema {
    feature_set: Option<String>,
    columns: Vec<ColumnSpec>,
    target: Option<TargetSpec>,
    features: Vec<String>,
    /// For each feature, the index of the column it comes from.
    feature_column: Vec<usize>,
    /// What the training data looked like, for reasons that must be true of the applicant.
    reference: Option<Reference>,
}

/// The training data's reference points, stored in the schema (so under the artifact's hash):
/// the median of each numeric column, and for each categorical column the categories whose
/// default rate was above the overall rate. A reason names an input only when the applicant's
/// value is on the adverse side of these.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub rows: u64,
    pub medians: std::collections::BTreeMap<String, f64>,
    pub adverse_categories: std::collections::BTreeMap<String, Vec<String>>,
}

// The medians are finite numbers (training data holds no infinities).
impl Eq for Reference {}

/// The serialised form: `schema.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaFile {
    format: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feature_set: Option<String>,
    columns: Vec<ColumnSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<TargetSpec>,
    /// Model feature names in model order (derived; checked on load).
    features: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<Reference>,
}

impl TryFrom<SchemaFile> for FeatureSchema {
    type Error = ModelError;
    fn try_from(f: SchemaFile) -> Result<Self, ModelError> {
        if f.format != SCHEMA_FORMAT {
            return Err(ModelError::Schema(format!(
                "schema format {} (this version reads {SCHEMA_FORMAT})",
                f.format
            )));
        }
        let mut schema = FeatureSchema::new(f.columns, f.feature_set, f.target)?;
        schema.reference = f.reference;
        if schema.features != f.features {
            return Err(ModelError::Schema(
                "the listed features do not match the columns' encoding".into(),
            ));
        }
        Ok(schema)
    }
}

impl From<FeatureSchema> for SchemaFile {
    fn from(s: FeatureSchema) -> Self {
        Self {
            format: SCHEMA_FORMAT,
            feature_set: s.feature_set,
            columns: s.columns,
            target: s.target,
            features: s.features,
            reference: s.reference,
        }
    }
}

impl FeatureSchema {
    /// Builds a schema, refusing protected columns, duplicate names and empty category lists.
    pub fn new(
        columns: Vec<ColumnSpec>,
        feature_set: Option<String>,
        target: Option<TargetSpec>,
    ) -> Result<Self, ModelError> {
        if columns.is_empty() {
            return Err(ModelError::Schema("no feature columns".into()));
        }
        let mut features = Vec::new();
        let mut feature_column = Vec::new();
        for (i, col) in columns.iter().enumerate() {
            if col.name.trim().is_empty() {
                return Err(ModelError::Schema(format!("column {i} has no name")));
            }
            if is_protected(&col.name) {
                return Err(ModelError::Schema(format!(
                    "'{}' is a protected attribute and can never be a model feature",
                    col.name
                )));
            }
            if columns[..i].iter().any(|c| c.name == col.name) {
                return Err(ModelError::Schema(format!(
                    "column '{}' appears twice",
                    col.name
                )));
            }
            if target.as_ref().is_some_and(|t| t.column == col.name) {
                return Err(ModelError::Schema(format!(
                    "the target '{}' cannot also be a feature",
                    col.name
                )));
            }
            match &col.kind {
                ColumnKind::Numeric => {
                    features.push(col.name.clone());
                    feature_column.push(i);
                }
                ColumnKind::Categorical { categories } => {
                    if categories.is_empty() {
                        return Err(ModelError::Schema(format!(
                            "categorical column '{}' has no categories",
                            col.name
                        )));
                    }
                    for (k, c) in categories.iter().enumerate() {
                        if categories[..k].contains(c) {
                            return Err(ModelError::Schema(format!(
                                "category '{c}' of '{}' appears twice",
                                col.name
                            )));
                        }
                        features.push(format!("{}={c}", col.name));
                        feature_column.push(i);
                    }
                }
            }
        }
        Ok(Self {
            feature_set,
            columns,
            target,
            features,
            feature_column,
            reference: None,
        })
    }

    /// The training data's reference points, when the model was trained with them.
    pub fn reference(&self) -> Option<&Reference> {
        self.reference.as_ref()
    }

    /// The schema with the training data's reference points.
    pub fn with_reference(mut self, reference: Reference) -> Self {
        self.reference = Some(reference);
        self
    }

    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    /// Model feature names, in model order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    pub fn feature_set(&self) -> Option<&str> {
        self.feature_set.as_deref()
    }

    pub fn target(&self) -> Option<&TargetSpec> {
        self.target.as_ref()
    }

    /// The column a model feature comes from.
    pub fn column_of_feature(&self, feature: usize) -> Option<&ColumnSpec> {
        self.feature_column.get(feature).map(|&c| &self.columns[c])
    }

    /// The model feature of a numeric column (`None` for a categorical or absent column).
    pub fn numeric_feature(&self, column: &str) -> Option<usize> {
        let c = self
            .columns
            .iter()
            .position(|c| c.name == column && c.kind == ColumnKind::Numeric)?;
        self.feature_column.iter().position(|&fc| fc == c)
    }

    /// Encodes one row, asking `value` for each column by name.
    pub fn encode<'a>(
        &self,
        value: impl Fn(&str) -> RawValue<'a>,
    ) -> Result<FeatureVector, ModelError> {
        let mut out = Vec::with_capacity(self.features.len());
        for col in &self.columns {
            let raw = value(&col.name);
            match &col.kind {
                ColumnKind::Numeric => out.push(numeric(&col.name, raw)?),
                ColumnKind::Categorical { categories } => {
                    let text = match raw {
                        RawValue::Missing => None,
                        RawValue::Text(t) if is_missing_text(t) => None,
                        RawValue::Text(t) => Some(t.trim().to_owned()),
                        RawValue::Number(n) if n.is_nan() => None,
                        RawValue::Number(n) => Some(format_number(n)),
                    };
                    match text {
                        None => out.extend(std::iter::repeat_n(f32::NAN, categories.len())),
                        Some(t) => {
                            out.extend(
                                categories
                                    .iter()
                                    .map(|c| if *c == t { 1.0f32 } else { 0.0 }),
                            );
                        }
                    }
                }
            }
        }
        FeatureVector::new(out)
    }

    /// Sums per-feature values (e.g. SHAP contributions) per original column, so that a
    /// one-hot encoded column is explained as one factor. Columns in schema order.
    pub fn per_column(&self, per_feature: &[f64]) -> Vec<(&str, f64)> {
        let mut sums = vec![0.0; self.columns.len()];
        for (f, v) in per_feature.iter().enumerate() {
            if let Some(&c) = self.feature_column.get(f) {
                sums[c] += v;
            }
        }
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .zip(sums)
            .collect()
    }

    /// Checks that a model was trained on exactly this encoding.
    pub fn check_model(&self, model: &crate::GbtModel) -> Result<(), ModelError> {
        if model.num_features() != self.features.len() {
            return Err(ModelError::Schema(format!(
                "the model takes {} features, the schema encodes {}",
                model.num_features(),
                self.features.len()
            )));
        }
        let names = model.feature_names();
        if !names.is_empty() && names != self.features.as_slice() {
            let first = names
                .iter()
                .zip(&self.features)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(ModelError::Schema(format!(
                "feature {first} is '{}' in the model but '{}' in the schema",
                names.get(first).map_or("", String::as_str),
                self.features.get(first).map_or("", String::as_str)
            )));
        }
        Ok(())
    }
}

/// Empty cells and the usual spellings of "not available" are missing values.
pub fn is_missing_text(t: &str) -> bool {
    matches!(
        t.trim(),
        "" | "NA" | "N/A" | "na" | "n/a" | "NaN" | "nan" | "null" | "NULL" | "None"
    )
}

fn numeric(column: &str, raw: RawValue<'_>) -> Result<f32, ModelError> {
    let err = |m: String| ModelError::Column {
        column: column.to_owned(),
        message: m,
    };
    let x = match raw {
        RawValue::Missing => return Ok(f32::NAN),
        RawValue::Number(n) => n,
        RawValue::Text(t) if is_missing_text(t) => return Ok(f32::NAN),
        RawValue::Text(t) => t
            .trim()
            .parse::<f64>()
            .map_err(|_| err(format!("'{t}' is not a number")))?,
    };
    if x.is_nan() {
        return Ok(f32::NAN);
    }
    if !x.is_finite() || x.abs() > f64::from(f32::MAX) {
        return Err(err(format!("{x} is out of range")));
    }
    Ok(x as f32)
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> FeatureSchema {
        FeatureSchema::new(
            vec![
                ColumnSpec::numeric("income"),
                ColumnSpec::categorical("purpose", &["car", "school"]),
            ],
            None,
            None,
        )
        .unwrap()
    }

    #[test]
    fn one_hot_and_missing_values() {
        let s = schema();
        assert_eq!(s.features(), ["income", "purpose=car", "purpose=school"]);
        let row = |income, purpose| {
            s.encode(move |c| if c == "income" { income } else { purpose })
                .unwrap()
                .as_slice()
                .to_vec()
        };
        assert_eq!(
            row(RawValue::Number(2.5), RawValue::Text("school")),
            [2.5, 0.0, 1.0]
        );
        let v = row(RawValue::Missing, RawValue::Missing);
        assert!(v.iter().all(|x| x.is_nan()), "missing stays missing: {v:?}");
        let v = row(RawValue::Text(""), RawValue::Text("boat"));
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], [0.0, 0.0], "unseen category");
    }

    #[test]
    fn text_in_numeric_columns_is_an_error_naming_the_column() {
        let s = schema();
        let err = s
            .encode(|c| {
                if c == "income" {
                    RawValue::Text("lots")
                } else {
                    RawValue::Missing
                }
            })
            .unwrap_err();
        assert_eq!(
            err,
            ModelError::Column {
                column: "income".into(),
                message: "'lots' is not a number".into()
            }
        );
    }

    #[test]
    fn protected_attributes_can_never_enter_a_schema() {
        for name in [
            "protected_gender",
            "Gender",
            "age_band",
            "race",
            "PROTECTED_x",
            " marital_status ",
        ] {
            let err = FeatureSchema::new(vec![ColumnSpec::numeric(name)], None, None).unwrap_err();
            assert!(err.to_string().contains("protected"), "{name}: {err}");
            let err = FeatureSchema::new(vec![ColumnSpec::categorical(name, &["a"])], None, None)
                .unwrap_err();
            assert!(err.to_string().contains("protected"), "{name}: {err}");
        }
        // Not even through a hand-edited schema file.
        let text = r#"{"format":1,"columns":[{"name":"protected_gender","kind":"numeric"}],"features":["protected_gender"]}"#;
        assert!(serde_json::from_str::<FeatureSchema>(text).is_err());
    }

    #[test]
    fn schemas_round_trip_and_reject_tampering() {
        let s = schema();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<FeatureSchema>(&json).unwrap(), s);
        let tampered = json.replace("purpose=school", "purpose=boat");
        assert!(serde_json::from_str::<FeatureSchema>(&tampered).is_err());
    }

    #[test]
    fn contributions_sum_per_column() {
        let s = schema();
        let per = s.per_column(&[0.5, -0.25, 0.125]);
        assert_eq!(per, vec![("income", 0.5), ("purpose", -0.125)]);
    }
}
