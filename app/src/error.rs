//! The error type of every server function: the wire error body of `lendscope-domain`, shared
//! with the JSON API (which must not depend on this crate).

pub use lendscope_domain::AppError;
