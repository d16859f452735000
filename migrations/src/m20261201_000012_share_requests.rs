//! Live exposure is governed like the champion alias: a request to route a share of live
//! decisions to the challenger goes through the promotion gate and four eyes. A promotion
//! request either asks for the champion alias (`challenger_share` NULL, every request before
//! this migration) or for that share of applicants (1 to 100). The table stays append-only.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000012_share_requests"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PromotionRequests {
    Table,
    ChallengerShare,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PromotionRequests::Table)
                    .add_column(
                        ColumnDef::new(PromotionRequests::ChallengerShare)
                            .integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }
}
