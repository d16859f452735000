//! Staff identity: roles, users, server-side sessions, API keys and login attempts.

use sea_orm_migration::prelude::*;

use crate::columns::{at, id, index, text};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_identity"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Roles {
    Table,
    Name,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Username,
    Role,
    PasswordHash,
    Disabled,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    IdHash,
    UserId,
    CsrfToken,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    ClientIp,
    UserAgent,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    KeyHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LoginAttempts {
    Table,
    Id,
    Username,
    ClientIp,
    Succeeded,
    AttemptedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(
                        ColumnDef::new(Roles::Name)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Roles::Description).string().not_null())
                    .to_owned(),
            )
            .await?;
        let insert_roles = Query::insert()
            .into_table(Roles::Table)
            .columns([Roles::Name, Roles::Description])
            .values_panic([
                "officer".into(),
                "Loan officer: reviews and decides applications".into(),
            ])
            .values_panic([
                "admin".into(),
                "Administrator: users, models and monitoring".into(),
            ])
            .values_panic([
                "compliance".into(),
                "Compliance: audit trail and monitoring".into(),
            ])
            .to_owned();
        manager.exec_stmt(insert_roles).await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(id(Users::Id))
                    .col(
                        ColumnDef::new(Users::Username)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(Users::Role, 32))
                    .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                    .col(
                        ColumnDef::new(Users::Disabled)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(at(Users::CreatedAt))
                    .col(text(Users::CreatedBy, 128))
                    .col(at(Users::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_role")
                            .from(Users::Table, Users::Role)
                            .to(Roles::Table, Roles::Name),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(
                        ColumnDef::new(Sessions::IdHash)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Sessions::UserId).big_integer().not_null())
                    .col(text(Sessions::CsrfToken, 64))
                    .col(at(Sessions::CreatedAt))
                    .col(at(Sessions::LastSeenAt))
                    .col(at(Sessions::ExpiresAt))
                    .col(ColumnDef::new(Sessions::ClientIp).string_len(64).null())
                    .col(ColumnDef::new(Sessions::UserAgent).string_len(512).null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sessions_user",
                Sessions::Table,
                &[Sessions::UserId],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(id(ApiKeys::Id))
                    .col(
                        ColumnDef::new(ApiKeys::Name)
                            .string_len(128)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(ApiKeys::Prefix, 16))
                    .col(
                        ColumnDef::new(ApiKeys::KeyHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(at(ApiKeys::CreatedAt))
                    .col(
                        ColumnDef::new(ApiKeys::LastUsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ApiKeys::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(id(LoginAttempts::Id))
                    .col(text(LoginAttempts::Username, 256))
                    .col(text(LoginAttempts::ClientIp, 64))
                    .col(
                        ColumnDef::new(LoginAttempts::Succeeded)
                            .boolean()
                            .not_null(),
                    )
                    .col(at(LoginAttempts::AttemptedAt))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_login_attempts_username", LoginAttempts::Username),
            ("idx_login_attempts_client", LoginAttempts::ClientIp),
        ] {
            manager
                .create_index(index(
                    name,
                    LoginAttempts::Table,
                    &[col, LoginAttempts::AttemptedAt],
                    false,
                ))
                .await?;
        }
        Ok(())
    }
}
