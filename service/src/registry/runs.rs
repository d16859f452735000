//! Training-run bookkeeping: a run is recorded when it starts (kind, parameters, parent
//! version), then its progress by boosting round, then how it ended (data, metrics, the version
//! it registered, or why it failed).

use std::collections::BTreeMap;

use lendscope_domain::governance::RunRow;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, EntityTrait, QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::versions::stamp;
use crate::entity::training_run;
use crate::error::ServiceResult;
use crate::Services;

/// What a finished training run produced.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub data_sha256: Option<String>,
    pub data_rows: Option<i64>,
    pub labelled_rows: Option<i64>,
    pub metrics: Option<Value>,
    pub model_id: Option<i64>,
}

impl Services {
    /// Records the start of a training run; returns its id.
    pub async fn start_run(
        &self,
        kind: &str,
        requested_by: &str,
        params: &Value,
        parent_model_id: Option<i64>,
        rounds: u32,
    ) -> ServiceResult<i64> {
        let row = training_run::ActiveModel {
            id: NotSet,
            kind: Set(kind.to_owned()),
            state: Set("running".to_owned()),
            requested_by: Set(requested_by.to_owned()),
            started_at: Set(self.now()),
            finished_at: Set(None),
            parent_model_id: Set(parent_model_id),
            params_json: Set(params.to_string()),
            data_sha256: Set(None),
            data_rows: Set(None),
            labelled_rows: Set(None),
            metrics_json: Set(None),
            model_id: Set(None),
            error: Set(None),
            round: Set(0),
            rounds: Set(i32::try_from(rounds).unwrap_or(i32::MAX)),
        }
        .insert(self.db())
        .await?;
        Ok(row.id)
    }

    /// Records how far a running training run is.
    pub async fn run_progress(&self, id: i64, round: u32, rounds: u32) -> ServiceResult<()> {
        training_run::ActiveModel {
            id: Set(id),
            round: Set(i32::try_from(round).unwrap_or(i32::MAX)),
            rounds: Set(i32::try_from(rounds).unwrap_or(i32::MAX)),
            ..Default::default()
        }
        .update(self.db())
        .await?;
        Ok(())
    }

    /// Records how a training run ended.
    pub async fn finish_run(
        &self,
        id: i64,
        result: Result<RunResult, String>,
    ) -> ServiceResult<()> {
        let mut row = training_run::ActiveModel {
            id: Set(id),
            finished_at: Set(Some(self.now())),
            ..Default::default()
        };
        match result {
            Ok(r) => {
                row.state = Set("succeeded".to_owned());
                row.data_sha256 = Set(r.data_sha256);
                row.data_rows = Set(r.data_rows);
                row.labelled_rows = Set(r.labelled_rows);
                row.metrics_json = Set(r.metrics.map(|m| m.to_string()));
                row.model_id = Set(r.model_id);
            }
            Err(e) => {
                row.state = Set("failed".to_owned());
                row.error = Set(Some(e));
            }
        }
        row.update(self.db()).await?;
        Ok(())
    }

    /// Links a registered model to the run that trained it.
    pub async fn run_registered(&self, id: i64, model_id: i64) -> ServiceResult<()> {
        training_run::ActiveModel {
            id: Set(id),
            model_id: Set(Some(model_id)),
            ..Default::default()
        }
        .update(self.db())
        .await?;
        Ok(())
    }

    /// The newest training runs.
    pub async fn training_runs(&self, limit: u64) -> ServiceResult<Vec<RunRow>> {
        let names = self.model_names().await?;
        Ok(training_run::Entity::find()
            .order_by_desc(training_run::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(|r| {
                let params: BTreeMap<String, Value> =
                    serde_json::from_str(&r.params_json).unwrap_or_default();
                let m: Value = r
                    .metrics_json
                    .as_deref()
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(Value::Null);
                RunRow {
                    id: r.id,
                    kind: r.kind,
                    state: r.state,
                    requested_by: r.requested_by,
                    started_at: stamp(r.started_at),
                    seconds: r
                        .finished_at
                        .map(|f| (f - r.started_at).num_milliseconds() as f64 / 1000.0),
                    data_sha256: r.data_sha256,
                    data_rows: r.data_rows,
                    labelled_rows: r.labelled_rows,
                    params: params
                        .into_iter()
                        .map(|(k, v)| {
                            let v = match v {
                                Value::String(s) => s,
                                other => other.to_string(),
                            };
                            (k, v)
                        })
                        .collect(),
                    test_auc: m["test"]["auc"].as_f64(),
                    test_ks: m["test"]["ks"].as_f64(),
                    model: r.model_id.and_then(|id| names.get(&id).cloned()),
                    model_id: r.model_id,
                    error: r.error,
                    round: r.round,
                    rounds: r.rounds,
                }
            })
            .collect())
    }
}
