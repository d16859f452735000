//! The service layer's one error type. Adapters (HTTP, server functions, CLI) map it; the
//! `Internal` and `Database` variants are logged and never shown to clients in detail.

use lendscope_domain::{AppError, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {0}")]
    Invalid(#[from] FieldError),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many attempts; try again later")]
    Throttled { retry_after_secs: u64 },
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldError::new(field, message))
    }

    /// True when the cause is on our side (to be logged, and hidden from the client).
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Database(_) | Self::Internal(_))
    }

    /// Whether the database could not be reached or is not serving right now (as opposed to
    /// refusing a statement): no connection, a connection lost mid-statement, or PostgreSQL
    /// shutting down, restarting or recovering (SQLSTATE classes 08 and 57P, too many
    /// connections). Answered 503 with `Retry-After`.
    pub fn is_connection_failure(&self) -> bool {
        use sea_orm::{sqlx, DbErr, RuntimeErr};
        let Self::Database(e) = self else {
            return false;
        };
        let sqlx_err = match e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
            _ => return false,
        };
        match sqlx_err {
            sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(d) => d
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
            _ => false,
        }
    }

    /// Whether a database error is a unique-constraint violation, on either backend.
    pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
        matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        )
    }
}

/// What a client may see of a service error: the one mapping shared by the JSON API and the
/// server functions. Internal causes are logged with a reference id that the client gets
/// instead of the details.
impl From<ServiceError> for AppError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(e) => e.into(),
            ServiceError::Unauthenticated => AppError::Unauthenticated,
            ServiceError::InvalidCredentials => AppError::InvalidCredentials,
            ServiceError::Throttled { retry_after_secs } => {
                AppError::Throttled { retry_after_secs }
            }
            ServiceError::Forbidden => AppError::Forbidden,
            ServiceError::NotFound(_) => AppError::NotFound,
            ServiceError::Conflict(message) => AppError::Conflict { message },
            ServiceError::Unavailable(message) => AppError::Unavailable { message },
            e if e.is_connection_failure() => {
                tracing::warn!(error = %e, "database unreachable");
                AppError::Unavailable {
                    message: "the database cannot be reached".into(),
                }
            }
            e @ (ServiceError::Database(_) | ServiceError::Internal(_)) => internal_error(e),
        }
    }
}

/// An internal error as the client sees it: logged here with a fresh reference id, which is
/// all the client gets.
pub fn internal_error(cause: impl std::fmt::Display) -> AppError {
    let reference = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(%reference, error = %cause, "server function failed");
    AppError::Internal { reference }
}

/// Reads a value of a closed vocabulary (decision, model role, case state…) from a stored
/// column or record: an unknown spelling there is damaged data, not bad input.
pub(crate) fn known<T>(what: &str, text: &str, parse: fn(&str) -> Option<T>) -> ServiceResult<T> {
    parse(text)
        .ok_or_else(|| ServiceError::Internal(format!("stored {what} '{text}' is not known")))
}
