//! The trainer's one error type.

use lendscope_model::ModelError;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A problem with the data, located by file, line and column where possible.
    #[error("{file}{}{}: {message}", .line.map(|l| format!(", line {l}")).unwrap_or_default(), .column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
    Data {
        file: String,
        line: Option<u64>,
        column: Option<String>,
        message: String,
    },
    #[error("invalid option: {0}")]
    Options(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("XGBoost: {0}")]
    Xgboost(String),
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Artifact(String),
}

impl TrainError {
    pub fn data(file: &str, message: impl Into<String>) -> Self {
        Self::Data {
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<xgboost_rs::XGBError> for TrainError {
    fn from(e: xgboost_rs::XGBError) -> Self {
        Self::Xgboost(e.to_string())
    }
}
