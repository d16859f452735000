//! Officer actions and outcomes join the tamper evidence: each gets a hash chain of its own
//! (`review_actions`, `outcomes`). A link names the record (table row id), the sequence number
//! of the application's decision (so that a retention purge, which removes whole applications,
//! is told from a removal), its previous hash and its hash over the record's canonical content.
//! Links are append-only and outlive a purge of the records they cover; the chains' heads are
//! kept in `chain_heads` and signed into checkpoints with the decisions' head.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000011_record_chains"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum RecordLinks {
    Table,
    Id,
    Chain,
    Seq,
    RecordId,
    DecisionSeq,
    PrevHash,
    Hash,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RecordLinks as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(id(L::Id))
                    .col(text(L::Chain, 32))
                    .col(ColumnDef::new(L::Seq).big_integer().not_null())
                    .col(ColumnDef::new(L::RecordId).big_integer().not_null())
                    .col(ColumnDef::new(L::DecisionSeq).big_integer().not_null())
                    .col(text(L::PrevHash, 64))
                    .col(text(L::Hash, 64))
                    .col(at(L::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "record_links_chain_seq",
                L::Table,
                &[L::Chain, L::Seq],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "record_links_chain_record",
                L::Table,
                &[L::Chain, L::RecordId],
                true,
            ))
            .await?;
        crate::make_append_only(manager, "record_links").await
    }
}
