use sea_orm::entity::prelude::*;

/// A registered model version with its artifact.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "models")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub version: i32,
    pub feature_set: Option<String>,
    pub model_json: String,
    pub schema_json: String,
    pub card_json: String,
    pub sha256: String,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    /// The version this one was retrained from.
    pub parent_id: Option<i64>,
    /// The training run that produced it (none for imported models).
    pub run_id: Option<i64>,
    pub data_sha256: Option<String>,
    pub data_rows: Option<i64>,
    /// `trained` (by Lendscope), `retrained` (from decisions) or `imported`.
    pub source: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
