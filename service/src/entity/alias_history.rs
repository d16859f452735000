use sea_orm::entity::prelude::*;

/// Every change of an alias, append-only: which model held it from when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alias_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub alias: String,
    /// `None` when the alias was removed.
    pub model_id: Option<i64>,
    pub set_at: DateTimeUtc,
    pub set_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
