use sea_orm::entity::prelude::*;

/// The review state of an application (a projection of its review actions, for the queue).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub application_id: String,
    /// The decision's position in the hash chain: the queue's notion of age.
    #[sea_orm(unique)]
    pub seq: i64,
    pub created_at: DateTimeUtc,
    /// 0 for recommended manual review (first in the queue), 1 otherwise.
    pub priority: i32,
    pub recommended: String,
    pub risk_band: String,
    pub role: String,
    pub model_version: i32,
    pub amount: f64,
    pub probability_of_default: f64,
    /// `open` or `decided`.
    pub state: String,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTimeUtc>,
    /// Number of review actions so far (optimistic concurrency).
    pub version: i32,
    pub final_decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
