//! The pure ML core of Lendscope. No I/O and no async: everything here takes values and
//! returns values, so it can be unit-tested, property-tested and benchmarked in isolation.
//!
//! - [`features`]: the Lendscope application inputs (one typed, versioned definition).
//! - [`schema`]: raw columns → model feature vector (one-hot categoricals, missing as NaN).
//! - [`gbt`]: XGBoost JSON models (binary:logistic) and exact prediction.
//! - [`shap`]: exact path-dependent TreeSHAP.
//! - [`metrics`], [`scale`]: AUC, KS, Gini, Brier, log loss, calibration; PDO points and bands.
//! - [`compare`]: ROC points, paired bootstrap intervals, PSI, histograms.
//! - [`drift`], [`stattests`]: data and prediction drift with Evidently's default tests.
//! - [`cbpe`]: ROC AUC and default rate estimated before outcomes (nannyml's CBPE).
//! - [`fairness`]: selection rates, parity, equal opportunity and equalized odds (fairlearn).
//! - [`reject_inference`]: declined applicants in retraining (fuzzy, hard cut-off).
//! - [`synth`]: the synthetic applicant generator; [`split`]: stratified seeded splits.
//! - [`whatif`]: exact margins over a grid of one or two features (counteroffers, recourse).

pub mod bundle;
pub mod cbpe;
pub mod compare;
pub mod drift;
pub mod error;
pub mod fairness;
pub mod features;
pub mod gbt;
pub mod metrics;
pub mod reject_inference;
pub mod scale;
pub mod schema;
pub mod shap;
pub mod split;
pub mod stattests;
pub mod synth;
pub mod values;
pub mod whatif;

pub use bundle::ModelBundle;
pub use error::ModelError;
pub use gbt::GbtModel;
pub use schema::{ColumnKind, ColumnSpec, FeatureSchema, RawValue, Reference};
pub use shap::Explanation;
pub use values::{FeatureVector, Probability};
