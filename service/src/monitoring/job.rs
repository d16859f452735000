//! One run of the monitoring job: read the windows, compute the figures, raise the alerts,
//! store the run and export its gauges.

use std::collections::BTreeMap;

use lendscope_model::drift::{self, ColumnData, DriftColumn, DriftOptions};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait};

use super::alerts::alerts_of;
use super::drift::input_columns;
use super::estimated::estimated_performance;
use super::fairness::attribute_fairness;
use super::performance::performance;
use super::report::MonitoringReport;
use super::windows::{window_of, Scored};
use crate::entity::decision;
use crate::error::{ServiceError, ServiceResult};
use crate::registry::ModelRole;
use crate::Services;

impl Services {
    /// Runs the monitoring job once and stores the run. `requested_by` is a user name for a
    /// run started from the page, `scheduler` for the scheduled one.
    pub async fn run_monitoring(&self, requested_by: &str) -> ServiceResult<i64> {
        let started_at = self.now();
        let s = self.monitoring_settings();
        let trigger = if requested_by == "scheduler" {
            "schedule"
        } else {
            "manual"
        };
        let total = decision::Entity::find().count(self.db()).await? as usize;
        let mut notes = Vec::new();
        let current_size = s.window.min(total / 2).max(1);
        let current = self.decision_rows(None, true, current_size as u64).await?;
        let pair = self.serving_pair().await.ok();
        let champion = pair.as_ref().map(|p| p.champion.meta.clone());
        let models = self.model_rows().await?;
        let names: BTreeMap<i64, String> = models
            .iter()
            .map(|m| (m.id, format!("{} v{}", m.name, m.version)))
            .collect();
        let test_auc: BTreeMap<i64, f64> = models
            .iter()
            .filter_map(|m| m.test_auc.map(|a| (m.id, a)))
            .collect();
        let first_current = current.first().map_or(i64::MAX, |r| r.seq);
        let reference = match &champion {
            Some(c) => {
                let cond = sea_orm::Condition::all()
                    .add(decision::Column::ModelId.eq(c.id))
                    .add(decision::Column::Role.eq(ModelRole::Champion.as_str()))
                    .add(decision::Column::Seq.lt(first_current));
                self.decision_rows(Some(cond), false, s.window as u64)
                    .await?
            }
            None => Vec::new(),
        };
        let champion_name = champion.as_ref().map(|c| {
            names
                .get(&c.id)
                .cloned()
                .unwrap_or_else(|| format!("model {}", c.id))
        });
        let reference_window = window_of(
            format!(
                "the first {} decisions served by the champion {}",
                reference.len(),
                champion_name.as_deref().unwrap_or("(none)")
            ),
            &reference,
        );
        let current_window = window_of(format!("the newest {} decisions", current.len()), &current);
        // Outcomes of the current window (for fairness with outcomes).
        let labelled = self.labelled_scores(s.max_labelled).await?;
        let current_labels: BTreeMap<i64, bool> = {
            let seqs: std::collections::HashSet<i64> = current.iter().map(|r| r.seq).collect();
            labelled
                .iter()
                .filter(|l| seqs.contains(&l.0))
                .map(|l| (l.0, l.1))
                .collect()
        };
        let outcome_of: BTreeMap<i64, bool> = labelled.iter().map(|l| (l.0, l.1)).collect();
        let scored: Vec<Scored> = labelled.into_iter().flat_map(|l| l.2).collect();
        let recent = self.recent_scores(s.estimate_rows).await?;
        let options = DriftOptions::default();
        let enough = reference.len() >= s.min_rows && current.len() >= s.min_rows;
        if !enough {
            notes.push(format!(
                "drift needs at least {} decisions on each side: the reference has {}, the current window {}",
                s.min_rows,
                reference.len(),
                current.len()
            ));
        }
        let job_names = names.clone();
        let (data_drift, prediction_drift, fairness, (performance, period), estimated) =
            tokio::task::spawn_blocking(move || {
                let (data, prediction) = if enough {
                    let data = drift::detect(&input_columns(&reference, &current), &options);
                    let pd = DriftColumn {
                        name: "probability_of_default".into(),
                        data: ColumnData::Numeric {
                            reference: reference.iter().map(|r| r.pd).collect(),
                            current: current.iter().map(|r| r.pd).collect(),
                        },
                    };
                    (Some(data), Some(drift::column_drift(&pd, &options)))
                } else {
                    (None, None)
                };
                let fairness = attribute_fairness(&current, &current_labels, &s);
                let estimated =
                    estimated_performance(&recent, &outcome_of, &scored, &job_names, &s);
                (
                    data,
                    prediction,
                    fairness,
                    performance(&scored, &job_names, &s),
                    estimated,
                )
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("monitoring job: {e}")))?;
        let mut report = MonitoringReport {
            started_at,
            finished_at: self.now(),
            trigger: trigger.to_owned(),
            requested_by: requested_by.to_owned(),
            champion: champion_name,
            reference: reference_window,
            current: current_window,
            data_drift,
            prediction_drift,
            fairness,
            performance,
            period,
            estimated,
            alerts: Vec::new(),
            notes,
        };
        report.alerts = alerts_of(&report, &test_auc, &s);
        let id = self.store_run(&report).await?;
        self.export_gauges(&report);
        // Model staleness: when each serving version was registered.
        let mut trained = Vec::new();
        if let Some(p) = &pair {
            let serving = std::iter::once((ModelRole::Champion, p.champion.meta.id)).chain(
                p.challenger
                    .iter()
                    .map(|c| (ModelRole::Challenger, c.meta.id)),
            );
            for (role, id) in serving {
                if let Some(m) = crate::entity::model::Entity::find_by_id(id)
                    .one(self.db())
                    .await?
                {
                    trained.push((
                        vec![
                            ("role", role.as_str().to_owned()),
                            ("model", names.get(&id).cloned().unwrap_or_default()),
                        ],
                        m.created_at.timestamp() as f64,
                    ));
                }
            }
        }
        self.metrics()
            .set_gauges("lendscope_model_trained_timestamp_seconds", &trained);
        Ok(id)
    }
}
