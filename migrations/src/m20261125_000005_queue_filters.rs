//! Indexes for the filtered review queue: with 100k+ open cases, a filter by recommendation
//! and risk band that matches few cases must not walk the whole (state, priority, seq) index.
//! Each index ends in (priority, seq), so it also serves the queue's order and keyset cursor.

use sea_orm_migration::prelude::*;

use crate::columns::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000005_queue_filters"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    State,
    Recommended,
    RiskBand,
    Priority,
    Seq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Cases::*;
        manager
            .create_index(index(
                "idx_cases_queue_recommended_band",
                Table,
                &[State, Recommended, RiskBand, Priority, Seq],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_cases_queue_band",
                Table,
                &[State, RiskBand, Priority, Seq],
                false,
            ))
            .await
    }
}
