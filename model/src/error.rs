//! The model crate's one error type.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("model JSON: {0}")]
    ModelFormat(String),
    #[error("unsupported model: {0}")]
    Unsupported(String),
    #[error("schema: {0}")]
    Schema(String),
    #[error("column '{column}': {message}")]
    Column { column: String, message: String },
    #[error("expected {expected} features, got {got}")]
    FeatureCount { expected: usize, got: usize },
    #[error("{0}")]
    Invalid(String),
}
