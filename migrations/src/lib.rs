//! Forward-only migrations. Each module is named `mYYYYMMDD_NNNNNN_name`; migrations are
//! never edited once released and have no `down` (rolling back is a new forward migration).

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_identity;
mod m20261125_000002_audit_log;
mod m20261125_000003_scoring;
mod m20261125_000004_reviews;
mod m20261125_000005_queue_filters;
mod m20261126_000006_registry;
mod m20261129_000007_monitoring;
mod m20261129_000008_retention;
mod m20261201_000009_artifacts;
mod m20261201_000010_officer_reasons;
mod m20261201_000011_record_chains;
mod m20261201_000012_share_requests;
mod m20261202_000013_record_compression;

/// Column shapes shared by the migrations.
pub(crate) mod columns {
    use sea_orm_migration::prelude::*;

    /// A `bigint` auto-increment primary key.
    pub fn id(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col)
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key()
            .to_owned()
    }

    /// A required UTC timestamp.
    pub fn at(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col)
            .timestamp_with_time_zone()
            .not_null()
            .to_owned()
    }

    /// An index named `name` on `table` over `cols` (unique when asked).
    pub fn index<T: IntoIden + Copy + 'static>(
        name: &str,
        table: T,
        cols: &[T],
        unique: bool,
    ) -> IndexCreateStatement {
        let mut i = Index::create();
        i.name(name).table(table);
        for c in cols {
            i.col(*c);
        }
        if unique {
            i.unique();
        }
        i.to_owned()
    }

    /// A required string of at most `len` characters.
    pub fn text(col: impl IntoIden, len: u32) -> ColumnDef {
        ColumnDef::new(col).string_len(len).not_null().to_owned()
    }
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_identity::Migration),
            Box::new(m20261125_000002_audit_log::Migration),
            Box::new(m20261125_000003_scoring::Migration),
            Box::new(m20261125_000004_reviews::Migration),
            Box::new(m20261125_000005_queue_filters::Migration),
            Box::new(m20261126_000006_registry::Migration),
            Box::new(m20261129_000007_monitoring::Migration),
            Box::new(m20261129_000008_retention::Migration),
            Box::new(m20261201_000009_artifacts::Migration),
            Box::new(m20261201_000010_officer_reasons::Migration),
            Box::new(m20261201_000011_record_chains::Migration),
            Box::new(m20261201_000012_share_requests::Migration),
            Box::new(m20261202_000013_record_compression::Migration),
        ]
    }
}

/// The tables whose rows are never changed or removed once written: decisions, the audit
/// trail and every record of who did what. The database refuses UPDATE and DELETE on them
/// (triggers), and the application role (`lendscope db grant-app-role`) has no UPDATE, DELETE
/// or TRUNCATE privilege on them either.
pub const APPEND_ONLY_TABLES: &[&str] = &[
    "alias_history",
    "audit_log",
    "chain_anchors",
    "decision_policies",
    "decisions",
    "model_status",
    "models",
    "monitoring_runs",
    "outcomes",
    "promotion_requests",
    "promotion_resolutions",
    "record_links",
    "review_actions",
    "routing_settings",
];

/// The SQLite trigger that refuses `op` (UPDATE or DELETE) on `table`, named
/// `{table}_no_{op}`. (The retention purge lifts and restores the DELETE one.)
pub fn sqlite_append_only_trigger(table: &str, op: &str) -> String {
    format!(
        "CREATE TRIGGER {table}_no_{lower} BEFORE {op} ON {table} \
         BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
        lower = op.to_lowercase()
    )
}

/// Makes `table` append-only at the database level: UPDATE and DELETE are refused by a
/// trigger on both backends (and TRUNCATE on PostgreSQL).
pub async fn make_append_only(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            for op in ["UPDATE", "DELETE"] {
                db.execute_unprepared(&sqlite_append_only_trigger(table, op))
                    .await?;
            }
        }
        sea_orm::DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN \
                 RAISE EXCEPTION '{table} is append-only'; END; $$;"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_append_only();"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only();"
            ))
            .await?;
        }
        other => {
            return Err(DbErr::Migration(format!(
                "unsupported database backend {other:?}"
            )))
        }
    }
    Ok(())
}
