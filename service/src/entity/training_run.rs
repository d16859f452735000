use sea_orm::entity::prelude::*;

/// One training run (CLI `train`, `retrain`, the demo), registered or not.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "training_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `train`, `retrain` or `demo`.
    pub kind: String,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    pub requested_by: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub parent_model_id: Option<i64>,
    pub params_json: String,
    pub data_sha256: Option<String>,
    pub data_rows: Option<i64>,
    /// Rows taken from decided applications with outcomes (retraining).
    pub labelled_rows: Option<i64>,
    pub metrics_json: Option<String>,
    pub model_id: Option<i64>,
    pub error: Option<String>,
    pub round: i32,
    pub rounds: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
