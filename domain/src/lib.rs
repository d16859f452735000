//! Domain types of Lendscope that compile everywhere (server and wasm).
//!
//! Parse, don't validate: every type here has private fields and is built only through
//! `parse`/`TryFrom`, so a value that exists is a valid value.

// The `vocabulary!` macro names serde through this crate's path, in this crate as in others.
extern crate self as lendscope_domain;

pub mod access;
pub mod error;
pub mod governance;
pub mod identity;
pub mod ids;
pub mod kinds;
pub mod monitoring;
pub mod notice;
pub mod review;

pub use access::{Area, Role};
pub use error::AppError;
pub use identity::{NewPassword, Username};
pub use ids::{ModelId, RequestId, SharePercent};
pub use kinds::{AlertSeverity, CaseState, Decision, ModelRole, RejectInference, ReviewAction};

/// A field-level validation failure: which input field was wrong and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
