use sea_orm::entity::prelude::*;

/// Where a hash chain starts after a retention purge: its last purged link (append-only).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_anchors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub chain: String,
    pub seq: i64,
    pub hash: String,
    pub cutoff: DateTimeUtc,
    pub purged: i64,
    pub created_at: DateTimeUtc,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
