//! Decision records are compressed with LZ4 instead of PostgreSQL's default pglz when they are
//! stored out of line (records above about 2 KB: both models' outputs and SHAP values). A CPU
//! profile of the scoring API (scripts/profile-decision.sh) showed `pglz_compress` as the
//! largest single function of the database server, about 190 µs per decision; LZ4 compresses
//! several times faster. Only new values are affected; stored records read as before (each
//! value records its own method). PostgreSQL built without LZ4 (or older than 14) keeps pglz.
//! SQLite does not compress.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000013_record_compression"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "DO $$ BEGIN \
                   EXECUTE 'ALTER TABLE decisions ALTER COLUMN content SET COMPRESSION lz4'; \
                 EXCEPTION WHEN feature_not_supported OR syntax_error THEN \
                   RAISE NOTICE 'LZ4 is not available: decision records keep pglz'; \
                 END $$;",
            )
            .await?;
        Ok(())
    }
}
