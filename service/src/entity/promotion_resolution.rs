use sea_orm::entity::prelude::*;

/// How a promotion request ended: `approved`, `rejected` or `cancelled`. At most one per
/// request (unique), append-only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotion_resolutions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub request_id: i64,
    pub resolution: String,
    pub resolved_by: String,
    pub resolved_at: DateTimeUtc,
    pub note: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
