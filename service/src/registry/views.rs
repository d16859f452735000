//! The registry's views: the front page (versions, the challenger's share, training runs,
//! promotions) and a version's page (lineage, card metrics, alias periods, realized
//! performance).

use lendscope_domain::governance::{
    AliasPeriod, EmergencyView, MetricRow, ModelDetail, RealizedView, RegistryView,
};
use lendscope_domain::RejectInference;
use lendscope_model::compare;
use lendscope_model::metrics;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use super::applications::internal;
use super::compare::rescore;
use super::exposure::{EMERGENCY_ALIAS, EMERGENCY_SHARE};
use super::store::ModelRole;
use super::versions::stamp;
use crate::entity::{alias_history, audit_log, model, training_run};
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::request::ApplicationInput;
use crate::Services;

impl Services {
    /// The registry's front page: versions, the challenger's share, runs, promotions.
    pub async fn registry_view(&self) -> ServiceResult<RegistryView> {
        let models = self.model_rows().await?;
        let share = self.serving_share().await?;
        let runs = self.training_runs(50).await?;
        let promotions = self.promotions(&models, 20).await?;
        let emergencies = self.emergencies(20).await?;
        Ok(RegistryView {
            models,
            challenger_share: share,
            runs,
            promotions,
            emergencies,
            viewer: String::new(),
        })
    }

    /// The latest changes made by the emergency bypass, newest first (from the audit log).
    pub async fn emergencies(&self, limit: u64) -> ServiceResult<Vec<EmergencyView>> {
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::Action.is_in([EMERGENCY_ALIAS, EMERGENCY_SHARE]))
            .order_by_desc(audit_log::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let detail: Value = serde_json::from_str(&r.detail).unwrap_or(Value::Null);
                let change = if r.action == EMERGENCY_SHARE {
                    format!(
                        "challenger's share → {} %",
                        detail["challenger_share"].as_u64().unwrap_or(0)
                    )
                } else {
                    let to = detail["model_id"]
                        .as_i64()
                        .map_or_else(|| "none".to_owned(), |id| format!("model {id}"));
                    format!("{} → {to}", r.target.as_deref().unwrap_or("alias"))
                };
                EmergencyView {
                    at: stamp(r.occurred_at),
                    actor: match detail["operator"].as_str() {
                        Some(op) => format!(
                            "{op} ({})",
                            r.actor.as_deref().unwrap_or(r.actor_kind.as_str())
                        ),
                        None => r.actor.unwrap_or_else(|| r.actor_kind.clone()),
                    },
                    change,
                    reason: detail["reason"].as_str().unwrap_or_default().to_owned(),
                }
            })
            .collect())
    }

    /// The challenger's share of traffic in force.
    pub async fn serving_share(&self) -> ServiceResult<u8> {
        Ok(self.pair_ids().await?.share)
    }

    /// How a version's training run treated declined applicants, as the run recorded it
    /// (`None` for a version without a run, or whose run did not record it).
    pub(crate) async fn reject_inference_of(
        &self,
        id: i64,
    ) -> ServiceResult<Option<RejectInference>> {
        let run = model::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .and_then(|m| m.run_id);
        let method = match run {
            Some(run) => training_run::Entity::find_by_id(run)
                .one(self.db())
                .await?
                .and_then(|r| serde_json::from_str::<Value>(&r.params_json).ok())
                .and_then(|p| {
                    p["reject_inference"]
                        .as_str()
                        .and_then(RejectInference::parse)
                }),
            None => None,
        };
        Ok(method)
    }

    /// A version page: lineage, card metrics, alias periods and realized performance.
    pub async fn model_detail(&self, id: i64) -> ServiceResult<ModelDetail> {
        let rows = self.model_rows().await?;
        let row = rows
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or(ServiceError::NotFound("model"))?;
        let stored_row = model::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        let loaded = self.load_model(id).await?;
        let (features, trees) = (
            loaded.bundle.schema().features().len(),
            loaded.bundle.model().num_trees(),
        );
        let card: Value = serde_json::from_str(&stored_row.card_json).unwrap_or(Value::Null);
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => "—".to_owned(),
            other => other.to_string(),
        };
        let mut lineage = vec![
            ("Source".to_owned(), row.source.clone()),
            (
                "Registered".to_owned(),
                format!("{} by {}", row.created_at, row.created_by),
            ),
            (
                "Retrained from".to_owned(),
                row.parent.clone().unwrap_or_else(|| "—".to_owned()),
            ),
            (
                "Training run".to_owned(),
                stored_row
                    .run_id
                    .map_or_else(|| "—".to_owned(), |r| format!("#{r}")),
            ),
            (
                "Training data SHA-256".to_owned(),
                stored_row
                    .data_sha256
                    .clone()
                    .unwrap_or_else(|| "—".to_owned()),
            ),
            (
                "Training data rows".to_owned(),
                stored_row
                    .data_rows
                    .map_or_else(|| "—".to_owned(), |r| r.to_string()),
            ),
        ];
        let data = &card["data"];
        for (label, key) in [
            ("Data file", "file"),
            ("Target", "target"),
            ("Train / validation / test rows", ""),
        ] {
            let value = if key.is_empty() {
                match (
                    data["train_rows"].as_u64(),
                    data["valid_rows"].as_u64(),
                    data["test_rows"].as_u64(),
                ) {
                    (Some(a), Some(b), Some(c)) => format!("{a} / {b} / {c}"),
                    _ => "—".to_owned(),
                }
            } else {
                text(&data[key])
            };
            lineage.push((label.to_owned(), value));
        }
        let method = self.reject_inference_of(id).await?;
        lineage.push((
            "Reject inference".to_owned(),
            format!(
                "{}; {} inferred training rows",
                method.map_or("not recorded by its training", RejectInference::label),
                data["inferred_rows"].as_u64().unwrap_or(0)
            ),
        ));
        lineage.push(("Code version".to_owned(), text(&card["code_version"])));
        lineage.push((
            "XGBoost version".to_owned(),
            loaded.bundle.model().xgboost_version().to_owned(),
        ));
        let parameters = card["parameters"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
            .unwrap_or_default();
        let metric = |split: &str, key: &str| card["metrics"][split][key].as_f64();
        let metrics = [
            ("AUC", "auc"),
            ("Gini", "gini"),
            ("KS", "ks"),
            ("Brier score", "brier"),
            ("Log loss", "log_loss"),
        ]
        .iter()
        .map(|(label, key)| MetricRow {
            label: (*label).to_owned(),
            validation: metric("validation", key),
            test: metric("test", key),
        })
        .filter(|m| m.validation.is_some() || m.test.is_some())
        .collect();
        let card_calibration_svg = card["metrics"]["test"]["calibration"]
            .as_array()
            .map(|bins| {
                bins.iter()
                    .filter_map(|b| {
                        Some((b["mean_predicted"].as_f64()?, b["observed_rate"].as_f64()?))
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|b| !b.is_empty())
            .map(|b| lendscope_charts::quality::calibration(&b, 360).map_err(internal))
            .transpose()?;
        let periods = self.alias_periods(id).await?;

        let labelled = self.labelled(self.gate_settings().max_labelled).await?;
        let policy = self.current_policy().await?;
        let (realized, realized_note) = tokio::task::spawn_blocking(move || {
            let inputs: Vec<&ApplicationInput> = labelled.iter().map(|(s, _)| &s.input).collect();
            let labels: Vec<bool> = labelled.iter().map(|(_, l)| *l).collect();
            let scores: Vec<f64> = rescore(&loaded, &inputs, &policy)?
                .into_iter()
                .map(|s| s.0)
                .collect();
            realized_view(&scores, &labels)
        })
        .await
        .map_err(internal)??;
        Ok(ModelDetail {
            sha256: stored_row.sha256,
            features,
            trees,
            row,
            lineage,
            parameters,
            metrics,
            periods,
            realized,
            realized_note,
            card_calibration_svg,
        })
    }

    /// The periods during which `model_id` held an alias, with the approvers of promotions.
    async fn alias_periods(&self, model_id: i64) -> ServiceResult<Vec<AliasPeriod>> {
        let history = alias_history::Entity::find()
            .order_by_asc(alias_history::Column::Id)
            .all(self.db())
            .await?;
        let approvals = self.approvals_of(model_id).await?;
        let mut periods = Vec::new();
        for (k, h) in history.iter().enumerate() {
            if h.model_id != Some(model_id) {
                continue;
            }
            let to = history[k + 1..]
                .iter()
                .find(|n| n.alias == h.alias)
                .map(|n| stamp(n.set_at));
            let approved_by = approvals
                .iter()
                .find(|(at, _)| *at == h.set_at && h.alias == ModelRole::Champion.as_str())
                .map(|(_, who)| who.clone());
            periods.push(AliasPeriod {
                alias: h.alias.clone(),
                from: stamp(h.set_at),
                to,
                set_by: h.set_by.clone(),
                approved_by,
            });
        }
        Ok(periods)
    }
}

fn realized_view(
    scores: &[f64],
    labels: &[bool],
) -> ServiceResult<(Option<RealizedView>, Option<String>)> {
    let positives = labels.iter().filter(|&&l| l).count();
    if labels.len() < 20 || positives == 0 || positives == labels.len() {
        return Ok((
            None,
            Some(format!(
                "{} decided applications have an outcome ({} defaulted); realized performance needs at least 20 with both outcomes",
                labels.len(),
                positives
            )),
        ));
    }
    let s = metrics::summary(scores, labels).map_err(internal)?;
    let roc = compare::roc_curve(scores, labels, 200).map_err(internal)?;
    let bins: Vec<(f64, f64)> = s
        .calibration
        .iter()
        .map(|b| (b.mean_predicted, b.observed_rate))
        .collect();
    Ok((
        Some(RealizedView {
            rows: s.rows,
            positives: s.positives,
            auc: s.auc,
            ks: s.ks,
            gini: s.gini,
            brier: s.brier,
            roc_svg: lendscope_charts::quality::roc(&roc, s.auc, 360).map_err(internal)?,
            calibration_svg: lendscope_charts::quality::calibration(&bins, 360)
                .map_err(internal)?,
        }),
        None,
    ))
}
