//! The append-only audit log: who did what, when (UTC), to what, with what outcome.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000002_audit_log"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    OccurredAt,
    ActorKind,
    Actor,
    Action,
    Target,
    Outcome,
    Detail,
    ClientIp,
    RequestId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(id(AuditLog::Id))
                    .col(at(AuditLog::OccurredAt))
                    .col(text(AuditLog::ActorKind, 16))
                    .col(ColumnDef::new(AuditLog::Actor).string_len(128).null())
                    .col(text(AuditLog::Action, 64))
                    .col(ColumnDef::new(AuditLog::Target).string_len(256).null())
                    .col(text(AuditLog::Outcome, 16))
                    .col(ColumnDef::new(AuditLog::Detail).text().not_null())
                    .col(ColumnDef::new(AuditLog::ClientIp).string_len(64).null())
                    .col(ColumnDef::new(AuditLog::RequestId).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_audit_log_occurred_at",
                AuditLog::Table,
                &[AuditLog::OccurredAt],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_audit_log_action",
                AuditLog::Table,
                &[AuditLog::Action, AuditLog::Id],
                false,
            ))
            .await?;
        crate::make_append_only(manager, "audit_log").await
    }
}
