//! Stored runs (append-only): storing a finished run, the list of runs and a stored run's
//! report.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, EntityTrait, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use super::report::MonitoringReport;
use crate::entity::monitoring_run;
use crate::error::{ServiceError, ServiceResult};
use crate::Services;

/// A stored run for the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub finished_at: DateTime<Utc>,
    pub trigger: String,
    pub requested_by: String,
    pub reference_rows: i64,
    pub current_rows: i64,
    pub dataset_drift: bool,
    pub drifted_features: i32,
    pub tested_features: i32,
    pub alerts: i32,
}

impl From<&monitoring_run::Model> for RunSummary {
    fn from(r: &monitoring_run::Model) -> Self {
        Self {
            id: r.id,
            finished_at: r.finished_at,
            trigger: r.trigger.clone(),
            requested_by: r.requested_by.clone(),
            reference_rows: r.reference_rows,
            current_rows: r.current_rows,
            dataset_drift: r.dataset_drift,
            drifted_features: r.drifted_features,
            tested_features: r.tested_features,
            alerts: r.alerts,
        }
    }
}

impl Services {
    pub(super) async fn store_run(&self, report: &MonitoringReport) -> ServiceResult<i64> {
        let (drifted, tested, dataset) = report.data_drift.as_ref().map_or((0, 0, false), |d| {
            (
                d.drifted_columns as i32,
                d.tested_columns as i32,
                d.dataset_drift,
            )
        });
        let row = monitoring_run::ActiveModel {
            id: NotSet,
            started_at: Set(report.started_at),
            finished_at: Set(report.finished_at),
            trigger: Set(report.trigger.clone()),
            requested_by: Set(report.requested_by.clone()),
            reference_rows: Set(report.reference.rows as i64),
            current_rows: Set(report.current.rows as i64),
            dataset_drift: Set(dataset),
            drifted_features: Set(drifted),
            tested_features: Set(tested),
            alerts: Set(report.alerts.len() as i32),
            report_json: Set(serde_json::to_string(report)
                .map_err(|e| ServiceError::Internal(format!("monitoring report: {e}")))?),
        };
        let saved = monitoring_run::Entity::insert(row).exec(self.db()).await?;
        Ok(saved.last_insert_id)
    }

    /// The newest runs (for the list), newest first.
    pub async fn monitoring_runs(&self, limit: u64) -> ServiceResult<Vec<RunSummary>> {
        Ok(monitoring_run::Entity::find()
            .order_by_desc(monitoring_run::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .iter()
            .map(RunSummary::from)
            .collect())
    }

    /// A stored run's report; `None` as id means the newest run.
    pub async fn monitoring_report(
        &self,
        id: Option<i64>,
    ) -> ServiceResult<Option<(RunSummary, MonitoringReport)>> {
        let row = match id {
            Some(id) => {
                monitoring_run::Entity::find_by_id(id)
                    .one(self.db())
                    .await?
            }
            None => {
                monitoring_run::Entity::find()
                    .order_by_desc(monitoring_run::Column::Id)
                    .one(self.db())
                    .await?
            }
        };
        match row {
            None if id.is_some() => Err(ServiceError::NotFound("monitoring run")),
            None => Ok(None),
            Some(r) => {
                let report: MonitoringReport =
                    serde_json::from_str(&r.report_json).map_err(|e| {
                        ServiceError::Internal(format!("stored monitoring run {}: {e}", r.id))
                    })?;
                Ok(Some((RunSummary::from(&r), report)))
            }
        }
    }
}
