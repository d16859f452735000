//! Model artifacts are append-only: a registered version's model, schema, card and hash never
//! change and the row is never removed (its decisions name it). Until now the application role
//! could UPDATE `models`, so a swapped artifact with a recomputed hash would have been invisible;
//! the database now refuses UPDATE and DELETE on `models` (triggers on both backends) and
//! `lendscope db grant-app-role` grants only SELECT and INSERT on it. The serving path checks
//! each artifact's bytes against its hash at load, and `audit verify` against every record.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000009_artifacts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::make_append_only(manager, "models").await
    }
}
