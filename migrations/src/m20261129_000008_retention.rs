//! Retention: when records older than the retention period are purged, the hash chain loses
//! its beginning. `chain_anchors` records, append-only, where the remaining chain starts: the
//! last purged link (sequence number and hash), the cutoff, who purged and how many records.
//! `audit verify` starts from the newest anchor instead of the genesis hash.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000008_retention"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ChainAnchors {
    Table,
    Id,
    Chain,
    Seq,
    Hash,
    Cutoff,
    Purged,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ChainAnchors as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(id(A::Id))
                    .col(text(A::Chain, 32))
                    .col(ColumnDef::new(A::Seq).big_integer().not_null())
                    .col(text(A::Hash, 64))
                    .col(at(A::Cutoff))
                    .col(ColumnDef::new(A::Purged).big_integer().not_null())
                    .col(at(A::CreatedAt))
                    .col(text(A::CreatedBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "chain_anchors_chain_seq",
                A::Table,
                &[A::Chain, A::Seq],
                true,
            ))
            .await?;
        crate::make_append_only(manager, "chain_anchors").await
    }
}
