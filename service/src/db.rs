//! Connecting to the database (SQLite by default, PostgreSQL by URL) and applying migrations.

use std::path::Path;
use std::time::Duration;

use lendscope_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};

use crate::error::{ServiceError, ServiceResult};

/// The default database: an embedded SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/lendscope.db";

/// The longest a request waits for a database connection (or to open one). When the database
/// is unreachable — refusing or silently dropping packets — requests fail with 503 after at
/// most this long instead of hanging.
pub const DB_WAIT: Duration = Duration::from_millis(800);

/// Opens a connection pool. For a SQLite file URL the parent folder and the file are created
/// when missing, and the database is switched to WAL so that readers do not block the writer.
pub async fn connect(url: &str) -> ServiceResult<DatabaseConnection> {
    let url = prepare_sqlite_url(url)?;
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(if url.starts_with("sqlite:") { 8 } else { 16 })
        .min_connections(1)
        .connect_timeout(DB_WAIT)
        .acquire_timeout(DB_WAIT)
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite && !url.contains(":memory:") {
        db.execute_unprepared("PRAGMA journal_mode=WAL;").await?;
        db.execute_unprepared("PRAGMA synchronous=FULL;").await?;
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> ServiceResult<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Ready means: the database answers and no migration is pending.
pub async fn readiness(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await?;
    let pending = Migrator::get_pending_migrations(db).await?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(DbErr::Custom(format!(
            "{} migrations pending",
            pending.len()
        )))
    }
}

/// For `sqlite://path` URLs: create the parent folder and ask sqlx to create the file.
fn prepare_sqlite_url(url: &str) -> ServiceResult<String> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(url.to_owned());
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(parent) = Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| {
                ServiceError::Internal(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
    }
    let query = match query {
        Some(q) if q.contains("mode=") => q.to_owned(),
        Some(q) => format!("{q}&mode=rwc"),
        None => "mode=rwc".to_owned(),
    };
    Ok(format!("sqlite://{path}?{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = std::env::temp_dir().join(format!("lendscope-url-{}", std::process::id()));
        let url = format!("sqlite://{}/x.db", dir.display());
        let prepared = prepare_sqlite_url(&url).unwrap();
        assert!(prepared.ends_with("x.db?mode=rwc"), "{prepared}");
        assert!(dir.is_dir());
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(
            prepare_sqlite_url("postgres://u@h/db").unwrap(),
            "postgres://u@h/db"
        );
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
    }
}
