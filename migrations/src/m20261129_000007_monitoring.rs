//! Monitoring runs: each run of the monitoring job (scheduled or started by a user) is stored
//! once, when it finishes, with its summary columns for listing and the whole report as JSON
//! (drift per feature, prediction drift, fairness, realized performance, alerts). Append-only:
//! a run is evidence of what was known when.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000007_monitoring"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum MonitoringRuns {
    Table,
    Id,
    StartedAt,
    FinishedAt,
    Trigger,
    RequestedBy,
    ReferenceRows,
    CurrentRows,
    DatasetDrift,
    DriftedFeatures,
    TestedFeatures,
    Alerts,
    ReportJson,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use MonitoringRuns as M;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .col(id(M::Id))
                    .col(at(M::StartedAt))
                    .col(at(M::FinishedAt))
                    .col(text(M::Trigger, 16))
                    .col(text(M::RequestedBy, 128))
                    .col(ColumnDef::new(M::ReferenceRows).big_integer().not_null())
                    .col(ColumnDef::new(M::CurrentRows).big_integer().not_null())
                    .col(ColumnDef::new(M::DatasetDrift).boolean().not_null())
                    .col(ColumnDef::new(M::DriftedFeatures).integer().not_null())
                    .col(ColumnDef::new(M::TestedFeatures).integer().not_null())
                    .col(ColumnDef::new(M::Alerts).integer().not_null())
                    .col(ColumnDef::new(M::ReportJson).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "monitoring_runs_finished",
                M::Table,
                &[M::FinishedAt],
                false,
            ))
            .await?;
        crate::make_append_only(manager, "monitoring_runs").await
    }
}
