//! An officer's rejection carries its own principal reasons (1 to 4, chosen from the model's
//! reasons for this applicant and the officer catalog): `review_actions.reasons` holds them as
//! the notice states them (a JSON list of `{code, text}`), written once with the action.
//! Actions recorded before this migration have none (their notices keep the model's reasons).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000010_officer_reasons"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewActions {
    Table,
    Reasons,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ReviewActions::Table)
                    .add_column(ColumnDef::new(ReviewActions::Reasons).text().null())
                    .to_owned(),
            )
            .await
    }
}
