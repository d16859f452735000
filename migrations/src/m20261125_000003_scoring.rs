//! Scoring: the model store with champion/challenger aliases, routing and policy versions,
//! the hash-chained decision records, and outcomes.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000003_scoring"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Models {
    Table,
    Id,
    Name,
    Version,
    FeatureSet,
    ModelJson,
    SchemaJson,
    CardJson,
    Sha256,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModelAliases {
    Table,
    Alias,
    ModelId,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum AliasHistory {
    Table,
    Id,
    Alias,
    ModelId,
    SetAt,
    SetBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum RoutingSettings {
    Table,
    Id,
    ChallengerSharePercent,
    SetAt,
    SetBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum DecisionPolicies {
    Table,
    Id,
    Version,
    Policy,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum Decisions {
    Table,
    Id,
    Seq,
    ApplicationId,
    NoticeToken,
    CreatedAt,
    ApiClient,
    IdempotencyKey,
    RequestHash,
    ApplicantId,
    ModelId,
    Role,
    Decision,
    ProbabilityOfDefault,
    PolicyVersion,
    Content,
    PrevHash,
    Hash,
}

#[derive(DeriveIden, Clone, Copy)]
enum Outcomes {
    Table,
    Id,
    ApplicationId,
    Outcome,
    ObservedAt,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChainHeads {
    Table,
    Chain,
    Seq,
    Hash,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Models::Table)
                    .col(id(Models::Id))
                    .col(text(Models::Name, 128))
                    .col(ColumnDef::new(Models::Version).integer().not_null())
                    .col(ColumnDef::new(Models::FeatureSet).string_len(64).null())
                    .col(ColumnDef::new(Models::ModelJson).text().not_null())
                    .col(ColumnDef::new(Models::SchemaJson).text().not_null())
                    .col(ColumnDef::new(Models::CardJson).text().not_null())
                    .col(text(Models::Sha256, 64))
                    .col(at(Models::CreatedAt))
                    .col(text(Models::CreatedBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_models_name_version",
                Models::Table,
                &[Models::Name, Models::Version],
                true,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ModelAliases::Table)
                    .col(
                        ColumnDef::new(ModelAliases::Alias)
                            .string_len(16)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ModelAliases::ModelId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(at(ModelAliases::UpdatedAt))
                    .col(text(ModelAliases::UpdatedBy, 128))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_model_aliases_model")
                            .from(ModelAliases::Table, ModelAliases::ModelId)
                            .to(Models::Table, Models::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AliasHistory::Table)
                    .col(id(AliasHistory::Id))
                    .col(text(AliasHistory::Alias, 16))
                    .col(ColumnDef::new(AliasHistory::ModelId).big_integer().null())
                    .col(at(AliasHistory::SetAt))
                    .col(text(AliasHistory::SetBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RoutingSettings::Table)
                    .col(id(RoutingSettings::Id))
                    .col(
                        ColumnDef::new(RoutingSettings::ChallengerSharePercent)
                            .integer()
                            .not_null(),
                    )
                    .col(at(RoutingSettings::SetAt))
                    .col(text(RoutingSettings::SetBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DecisionPolicies::Table)
                    .col(id(DecisionPolicies::Id))
                    .col(
                        ColumnDef::new(DecisionPolicies::Version)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(DecisionPolicies::Policy).text().not_null())
                    .col(at(DecisionPolicies::CreatedAt))
                    .col(text(DecisionPolicies::CreatedBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Decisions::Table)
                    .col(id(Decisions::Id))
                    .col(
                        ColumnDef::new(Decisions::Seq)
                            .big_integer()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Decisions::ApplicationId)
                            .string_len(36)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Decisions::NoticeToken)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(at(Decisions::CreatedAt))
                    .col(text(Decisions::ApiClient, 128))
                    .col(
                        ColumnDef::new(Decisions::IdempotencyKey)
                            .string_len(128)
                            .null(),
                    )
                    .col(text(Decisions::RequestHash, 64))
                    .col(text(Decisions::ApplicantId, 128))
                    .col(ColumnDef::new(Decisions::ModelId).big_integer().not_null())
                    .col(text(Decisions::Role, 16))
                    .col(text(Decisions::Decision, 16))
                    .col(
                        ColumnDef::new(Decisions::ProbabilityOfDefault)
                            .double()
                            .not_null(),
                    )
                    .col(text(Decisions::PolicyVersion, 64))
                    .col(ColumnDef::new(Decisions::Content).text().not_null())
                    .col(text(Decisions::PrevHash, 64))
                    .col(text(Decisions::Hash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_decisions_idempotency",
                Decisions::Table,
                &[Decisions::ApiClient, Decisions::IdempotencyKey],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_decisions_created_at",
                Decisions::Table,
                &[Decisions::CreatedAt],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outcomes::Table)
                    .col(id(Outcomes::Id))
                    .col(
                        ColumnDef::new(Outcomes::ApplicationId)
                            .string_len(36)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(Outcomes::Outcome, 16))
                    .col(at(Outcomes::ObservedAt))
                    .col(at(Outcomes::RecordedAt))
                    .col(text(Outcomes::RecordedBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChainHeads::Table)
                    .col(
                        ColumnDef::new(ChainHeads::Chain)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ChainHeads::Seq).big_integer().not_null())
                    .col(text(ChainHeads::Hash, 64))
                    .col(at(ChainHeads::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for table in [
            "alias_history",
            "routing_settings",
            "decision_policies",
            "decisions",
            "outcomes",
        ] {
            crate::make_append_only(manager, table).await?;
        }
        Ok(())
    }
}
