use sea_orm::entity::prelude::*;

/// A request about the challenger `model_id` while `champion_id` is champion: to make it
/// champion (`challenger_share` `None`) or to route that share of applicants (1–100 %) to it,
/// with the promotion gate as it was shown to the requester. Append-only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotion_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub model_id: i64,
    pub champion_id: i64,
    pub requested_by: String,
    pub requested_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub reason: String,
    pub gate_json: String,
    pub challenger_share: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
