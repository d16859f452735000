//! Model governance: lineage columns on `models`, archiving as an append-only status history,
//! every training run (registered or not), and four-eyes promotion: a request by one admin
//! and its resolution (approve, reject, cancel) by another, both append-only. A request
//! expires at `expires_at` when nobody resolved it.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000006_registry"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Models {
    Table,
    ParentId,
    RunId,
    DataSha256,
    DataRows,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModelStatus {
    Table,
    Id,
    ModelId,
    Status,
    Reason,
    SetAt,
    SetBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum TrainingRuns {
    Table,
    Id,
    Kind,
    State,
    RequestedBy,
    StartedAt,
    FinishedAt,
    ParentModelId,
    ParamsJson,
    DataSha256,
    DataRows,
    LabelledRows,
    MetricsJson,
    ModelId,
    Error,
    Round,
    Rounds,
}

#[derive(DeriveIden, Clone, Copy)]
enum PromotionRequests {
    Table,
    Id,
    ModelId,
    ChampionId,
    RequestedBy,
    RequestedAt,
    ExpiresAt,
    Reason,
    GateJson,
}

#[derive(DeriveIden, Clone, Copy)]
enum PromotionResolutions {
    Table,
    Id,
    RequestId,
    Resolution,
    ResolvedBy,
    ResolvedAt,
    Note,
}

fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one ALTER option per statement.
        for col in [
            big(Models::ParentId),
            big(Models::RunId),
            ColumnDef::new(Models::DataSha256)
                .string_len(64)
                .null()
                .to_owned(),
            big(Models::DataRows),
            ColumnDef::new(Models::Source)
                .string_len(16)
                .not_null()
                .default("imported")
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Models::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ModelStatus::Table)
                    .col(id(ModelStatus::Id))
                    .col(
                        ColumnDef::new(ModelStatus::ModelId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(ModelStatus::Status, 16))
                    .col(ColumnDef::new(ModelStatus::Reason).text().not_null())
                    .col(at(ModelStatus::SetAt))
                    .col(text(ModelStatus::SetBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_model_status_model",
                ModelStatus::Table,
                &[ModelStatus::ModelId, ModelStatus::Id],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TrainingRuns::Table)
                    .col(id(TrainingRuns::Id))
                    .col(text(TrainingRuns::Kind, 16))
                    .col(text(TrainingRuns::State, 16))
                    .col(text(TrainingRuns::RequestedBy, 128))
                    .col(at(TrainingRuns::StartedAt))
                    .col(
                        ColumnDef::new(TrainingRuns::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(big(TrainingRuns::ParentModelId))
                    .col(ColumnDef::new(TrainingRuns::ParamsJson).text().not_null())
                    .col(
                        ColumnDef::new(TrainingRuns::DataSha256)
                            .string_len(64)
                            .null(),
                    )
                    .col(big(TrainingRuns::DataRows))
                    .col(big(TrainingRuns::LabelledRows))
                    .col(ColumnDef::new(TrainingRuns::MetricsJson).text().null())
                    .col(big(TrainingRuns::ModelId))
                    .col(ColumnDef::new(TrainingRuns::Error).text().null())
                    .col(
                        ColumnDef::new(TrainingRuns::Round)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(TrainingRuns::Rounds)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PromotionRequests::Table)
                    .col(id(PromotionRequests::Id))
                    .col(
                        ColumnDef::new(PromotionRequests::ModelId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PromotionRequests::ChampionId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(PromotionRequests::RequestedBy, 128))
                    .col(at(PromotionRequests::RequestedAt))
                    .col(at(PromotionRequests::ExpiresAt))
                    .col(ColumnDef::new(PromotionRequests::Reason).text().not_null())
                    .col(
                        ColumnDef::new(PromotionRequests::GateJson)
                            .text()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PromotionResolutions::Table)
                    .col(id(PromotionResolutions::Id))
                    .col(
                        ColumnDef::new(PromotionResolutions::RequestId)
                            .big_integer()
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(PromotionResolutions::Resolution, 16))
                    .col(text(PromotionResolutions::ResolvedBy, 128))
                    .col(at(PromotionResolutions::ResolvedAt))
                    .col(ColumnDef::new(PromotionResolutions::Note).text().not_null())
                    .to_owned(),
            )
            .await?;
        for table in [
            "model_status",
            "promotion_requests",
            "promotion_resolutions",
        ] {
            crate::make_append_only(manager, table).await?;
        }
        Ok(())
    }
}
