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

/// Applies every pending migration. With none pending nothing is executed, so a server
/// running as the restricted application role (no CREATE privilege) starts.
pub async fn migrate(db: &DatabaseConnection) -> ServiceResult<()> {
    if pending_migrations(db).await?.is_empty() {
        return Ok(());
    }
    Migrator::up(db, None).await?;
    Ok(())
}

/// Names of the migrations not applied yet (every one when the bookkeeping table is
/// missing). Reads only, unlike sea-orm's own check, which creates that table first.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let applied: std::collections::HashSet<String> = match db
        .query_all(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await
    {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", "version").ok())
            .collect(),
        Err(DbErr::Conn(e)) => return Err(DbErr::Conn(e)),
        Err(DbErr::ConnectionAcquire(e)) => return Err(DbErr::ConnectionAcquire(e)),
        Err(_) => Default::default(),
    };
    Ok(Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|n| !applied.contains(n))
        .collect())
}

/// The database answers and no migration is pending.
pub async fn readiness(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await?;
    let pending = pending_migrations(db).await?;
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

/// A PostgreSQL identifier that needs no quoting: lower-case letters, digits and `_`.
fn plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Creates (or updates) the PostgreSQL login role the server should run as: it may read and
/// insert everywhere, change and delete rows only in the mutable tables (sessions, users,
/// cases, …) and has no UPDATE, DELETE or TRUNCATE privilege on the append-only tables
/// ([`lendscope_migrations::APPEND_ONLY_TABLES`]). Run by the database owner after
/// migrating; the server then connects as this role (it finds no pending migration).
pub async fn grant_app_role(
    db: &DatabaseConnection,
    role: &str,
    password: &str,
) -> ServiceResult<Vec<String>> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Err(ServiceError::invalid(
            "database_url",
            "application roles are a PostgreSQL feature; SQLite has no users",
        ));
    }
    if !plain_identifier(role) {
        return Err(ServiceError::invalid(
            "role",
            "use lower-case letters, digits and _ (at most 63), starting with a letter",
        ));
    }
    let tables: Vec<String> = db
        .query_all(sea_orm::Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
        ))
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String>("", "tablename").ok())
        .collect();
    let password = password.replace('\'', "''");
    let exists = db
        .query_one(sea_orm::Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT 1 AS one FROM pg_roles WHERE rolname = '{role}'"),
        ))
        .await?
        .is_some();
    let mut sql = vec![if exists {
        format!("ALTER ROLE {role} LOGIN PASSWORD '{password}'")
    } else {
        format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    }];
    sql.push(format!("GRANT USAGE ON SCHEMA public TO {role}"));
    sql.push(format!(
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"
    ));
    let mut summary = Vec::new();
    for t in &tables {
        sql.push(format!("REVOKE ALL ON TABLE {t} FROM {role}"));
        if lendscope_migrations::APPEND_ONLY_TABLES.contains(&t.as_str()) {
            sql.push(format!("GRANT SELECT, INSERT ON TABLE {t} TO {role}"));
            summary.push(format!("{t}: SELECT, INSERT"));
        } else if t == "seaql_migrations" {
            sql.push(format!("GRANT SELECT ON TABLE {t} TO {role}"));
            summary.push(format!("{t}: SELECT"));
        } else {
            sql.push(format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {t} TO {role}"
            ));
            summary.push(format!("{t}: SELECT, INSERT, UPDATE, DELETE"));
        }
    }
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    for s in &sql {
        txn.execute_unprepared(s).await?;
    }
    txn.commit().await?;
    Ok(summary)
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
