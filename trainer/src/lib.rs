//! Training Lendscope models with XGBoost.
//!
//! - [`dataset`]: reading a CSV with a binary target, detecting numeric and text columns.
//! - [`train`]: stratified split, XGBoost training with early stopping on validation AUC,
//!   test metrics computed with the pure-Rust model from the saved artifact.
//! - [`artifact`]: the model directory (`model.json`, `schema.json`, `card.json`).
//! - [`reject_inference`]: the reject-inference experiment on generated data.
//!
//! XGBoost (C++) is used only here; serving uses `lendscope-model`.

pub mod artifact;
pub mod dataset;
pub mod error;
pub mod generate;
pub mod reject_inference;
pub mod train;

pub use artifact::{Artifact, ModelCard};
pub use dataset::{Dataset, DatasetOptions};
pub use error::TrainError;
pub use train::{train, Progress, TrainParams};
