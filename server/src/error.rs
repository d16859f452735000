//! The server crate's error type (start-up, configuration, CLI).

use lendscope_service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
}
