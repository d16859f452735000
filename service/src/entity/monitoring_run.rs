use sea_orm::entity::prelude::*;

/// One finished monitoring run (append-only).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "monitoring_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub started_at: DateTimeUtc,
    pub finished_at: DateTimeUtc,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub requested_by: String,
    pub reference_rows: i64,
    pub current_rows: i64,
    pub dataset_drift: bool,
    pub drifted_features: i32,
    pub tested_features: i32,
    pub alerts: i32,
    /// The whole `MonitoringReport` as JSON.
    pub report_json: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
