use sea_orm::entity::prelude::*;

/// The challenger's traffic share, append-only: the latest row is in force.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "routing_settings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub challenger_share_percent: i32,
    pub set_at: DateTimeUtc,
    pub set_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
