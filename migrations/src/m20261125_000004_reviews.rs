//! Officer review: every officer action, append-only and versioned per application
//! (optimistic concurrency by a unique version), and the `cases` projection the review queue
//! reads (state, claim, priority), updated in the same transaction as each action.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000004_reviews"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    ApplicationId,
    Seq,
    CreatedAt,
    Priority,
    Recommended,
    RiskBand,
    Role,
    ModelVersion,
    Amount,
    ProbabilityOfDefault,
    State,
    ClaimedBy,
    ClaimedAt,
    Version,
    FinalDecision,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewActions {
    Table,
    Id,
    ApplicationId,
    Version,
    Action,
    Officer,
    Note,
    Recommended,
    ModelShown,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(text(Cases::ApplicationId, 36).primary_key())
                    .col(
                        ColumnDef::new(Cases::Seq)
                            .big_integer()
                            .not_null()
                            .unique_key(),
                    )
                    .col(at(Cases::CreatedAt))
                    .col(ColumnDef::new(Cases::Priority).integer().not_null())
                    .col(text(Cases::Recommended, 16))
                    .col(text(Cases::RiskBand, 8))
                    .col(text(Cases::Role, 16))
                    .col(ColumnDef::new(Cases::ModelVersion).integer().not_null())
                    .col(ColumnDef::new(Cases::Amount).double().not_null())
                    .col(
                        ColumnDef::new(Cases::ProbabilityOfDefault)
                            .double()
                            .not_null(),
                    )
                    .col(text(Cases::State, 16))
                    .col(ColumnDef::new(Cases::ClaimedBy).string_len(128).null())
                    .col(
                        ColumnDef::new(Cases::ClaimedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Cases::Version).integer().not_null())
                    .col(ColumnDef::new(Cases::FinalDecision).string_len(16).null())
                    .col(ColumnDef::new(Cases::DecidedBy).string_len(128).null())
                    .col(
                        ColumnDef::new(Cases::DecidedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_cases_queue",
                Cases::Table,
                &[Cases::State, Cases::Priority, Cases::Seq],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReviewActions::Table)
                    .col(id(ReviewActions::Id))
                    .col(text(ReviewActions::ApplicationId, 36))
                    .col(ColumnDef::new(ReviewActions::Version).integer().not_null())
                    .col(text(ReviewActions::Action, 16))
                    .col(text(ReviewActions::Officer, 128))
                    .col(ColumnDef::new(ReviewActions::Note).text().null())
                    .col(text(ReviewActions::Recommended, 16))
                    .col(ColumnDef::new(ReviewActions::ModelShown).text().null())
                    .col(at(ReviewActions::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_review_actions_version",
                ReviewActions::Table,
                &[ReviewActions::ApplicationId, ReviewActions::Version],
                true,
            ))
            .await?;
        crate::make_append_only(manager, "review_actions").await
    }
}
