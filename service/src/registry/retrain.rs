//! Retraining: a new challenger trained on the base training data plus every decided
//! application whose outcome is known, as a background job. The run is recorded from the
//! start (progress by boosting round, visible on the registry page) to its end; the result is
//! registered with its lineage (parent = the champion it was retrained from, the run, the
//! combined data hash) and made challenger.
//!
//! Training links XGBoost's C++ (`lendscope_trainer`), so the job (`job` below) is compiled only
//! with the `train` feature. Without it [`crate::Services::start_retrain`] still exists and
//! refuses with [`crate::ServiceError::Unavailable`] (answered 503), naming the feature;
//! nothing else of the registry needs the trainer.

#[cfg(feature = "train")]
pub use job::generated_base;
#[cfg(not(feature = "train"))]
use {
    crate::error::{ServiceError, ServiceResult},
    crate::{RequestMeta, Services},
};

/// The base training data: a CSV with the feature-set inputs and the `defaulted` target.
#[derive(Debug, Clone)]
pub struct BaseData {
    /// Where it came from (recorded with the run).
    pub name: String,
    pub csv: Vec<u8>,
}

/// A build without the trainer: retraining is refused, with the reason.
#[cfg(not(feature = "train"))]
impl Services {
    /// Starts retraining in the background and returns the run id. This build has no trainer
    /// (the `train` feature is off): always refused with [`ServiceError::Unavailable`].
    pub async fn start_retrain(
        &self,
        _requested_by: &str,
        _base: Option<BaseData>,
        _meta: &RequestMeta,
    ) -> ServiceResult<i64> {
        Err(ServiceError::Unavailable(
            "this build of Lendscope has no trainer: build the server with the `train` feature"
                .to_owned(),
        ))
    }
}

/// Retraining with XGBoost: the base data plus the labelled decisions, the background job and
/// its bookkeeping.
#[cfg(feature = "train")]
mod job {
    use std::io::Write;

    use lendscope_model::features::{self, TARGET};
    use lendscope_trainer::dataset::Table;
    use lendscope_trainer::train::Progress;
    use lendscope_trainer::{train, Dataset, DatasetOptions, TrainParams};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use serde_json::json;

    use super::BaseData;
    use crate::audit::Actor;
    use crate::entity::{model, training_run};
    use crate::error::{ServiceError, ServiceResult};
    use crate::registry::applications::internal;
    use crate::registry::runs::RunResult;
    use crate::registry::store::{ModelRef, Provenance};
    use crate::scoring::request::{ApplicationInput, InputValue};
    use crate::{RequestMeta, Services};

    fn cell(input: &ApplicationInput, column: &str, defaulted: bool) -> String {
        if column == TARGET {
            return if defaulted { "1" } else { "0" }.to_owned();
        }
        if let Some(attr) = column.strip_prefix("protected_") {
            return match attr {
                "gender" => input.protected.gender.clone(),
                "age_band" => input.protected.age_band.clone(),
                _ => None,
            }
            .unwrap_or_default();
        }
        match input.value(column) {
            Some(InputValue::Number(x)) => format!("{x}"),
            Some(InputValue::Category(c)) => c.to_owned(),
            Some(InputValue::Missing) | None => String::new(),
        }
    }

    /// The base CSV with the labelled decisions appended under its header.
    fn combined_csv(base: &[u8], labelled: &[(ApplicationInput, bool)]) -> ServiceResult<Vec<u8>> {
        let mut reader = csv::ReaderBuilder::new().from_reader(base);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| ServiceError::invalid("base_data", format!("no CSV header: {e}")))?
            .iter()
            .map(str::to_owned)
            .collect();
        if !header.iter().any(|h| h == TARGET) {
            return Err(ServiceError::invalid(
                "base_data",
                format!("the base data has no {TARGET} column"),
            ));
        }
        let mut out = base.to_vec();
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        {
            let mut w = csv::Writer::from_writer(&mut out);
            for (input, defaulted) in labelled {
                w.write_record(header.iter().map(|h| cell(input, h, *defaulted)))
                    .map_err(internal)?;
            }
            w.flush().map_err(internal)?;
        }
        Ok(out)
    }

    /// Sends each boosting round to the job, which records it at most twice a second.
    struct Rounds(tokio::sync::mpsc::UnboundedSender<(u32, u32)>);

    impl Progress for Rounds {
        fn round(&mut self, round: u32, max: u32, _auc: f64, _best: u32) {
            let _ = self.0.send((round, max));
        }
        fn refit(&mut self, _rounds: u32) {}
    }

    impl Services {
        /// Starts retraining in the background and returns the run id. Refused while another
        /// retraining runs. `base` is the base training data (`None`: the configured file, or the
        /// generated data of the demo champion).
        pub async fn start_retrain(
            &self,
            requested_by: &str,
            base: Option<BaseData>,
            meta: &RequestMeta,
        ) -> ServiceResult<i64> {
            let base = match (base, self.retrain_base()) {
                (Some(b), _) => b,
                (None, Some(path)) => BaseData {
                    name: path.display().to_string(),
                    csv: tokio::fs::read(&path).await.map_err(|e| {
                        ServiceError::Unavailable(format!(
                            "the base training data {} cannot be read: {e}",
                            path.display()
                        ))
                    })?,
                },
                (None, None) => tokio::task::spawn_blocking(|| generated_base(1, 20_000))
                    .await
                    .map_err(internal)??,
            };
            let running = training_run::Entity::find()
                .filter(training_run::Column::Kind.eq("retrain"))
                .filter(training_run::Column::State.eq("running"))
                .one(self.db())
                .await?;
            if let Some(r) = running {
                // A run that has not finished within the hour was interrupted (a restart stops
                // the job with the process); it is recorded as failed and no longer blocks.
                if self.now() - r.started_at < chrono::Duration::hours(1) {
                    return Err(ServiceError::Conflict(format!(
                        "retraining run #{} is still running",
                        r.id
                    )));
                }
                self.finish_run(
                    r.id,
                    Err(
                        "interrupted: it did not finish within an hour (the server may have restarted)"
                            .to_owned(),
                    ),
                )
                .await?;
            }
            let pair = self.serving_pair().await?;
            let champion = pair.champion.meta.clone();
            let card: serde_json::Value = model::Entity::find_by_id(champion.id)
                .one(self.db())
                .await?
                .and_then(|m| serde_json::from_str(&m.card_json).ok())
                .unwrap_or_default();
            let params: TrainParams = serde_json::from_value(card["parameters"].clone())
                .unwrap_or_else(|_| TrainParams::default());
            let recorded = json!({
                "base_data": base.name,
                "rounds": params.rounds,
                "max_depth": params.max_depth,
                "eta": params.eta,
                "seed": params.seed,
                "early_stopping": params.early_stopping_rounds,
            });
            let run = self
                .start_run(
                    "retrain",
                    requested_by,
                    &recorded,
                    Some(champion.id),
                    params.rounds,
                )
                .await?;
            self.audit(
                meta,
                crate::AuditEvent::new(
                    Actor::User(requested_by.to_owned()),
                    "model.retrain",
                    crate::Outcome::Success,
                )
                .target(format!("run #{run}"))
                .detail(json!({ "parent_model_id": champion.id })),
            )
            .await?;
            let svc = self.clone();
            let by = requested_by.to_owned();
            tokio::spawn(async move {
                let result = svc.retrain(run, &by, champion, base, params).await;
                let outcome = match result {
                    Ok(r) => Ok(r),
                    Err(e) => {
                        tracing::warn!(run, error = %e, "retraining failed");
                        Err(match e {
                            ServiceError::Invalid(f) => f.to_string(),
                            ServiceError::Conflict(m) => m,
                            _ => "retraining failed; see the server log".to_owned(),
                        })
                    }
                };
                if let Err(e) = svc.finish_run(run, outcome).await {
                    tracing::error!(run, error = %e, "could not record the end of a training run");
                }
            });
            Ok(run)
        }

        async fn retrain(
            &self,
            run: i64,
            by: &str,
            parent: ModelRef,
            base: BaseData,
            params: TrainParams,
        ) -> ServiceResult<RunResult> {
            let labelled: Vec<(ApplicationInput, bool)> = self
                .labelled_inputs(self.gate_settings().max_labelled)
                .await?;
            let n_labelled = labelled.len();
            let csv = combined_csv(&base.csv, &labelled)?;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let name = format!("{}+{}-labelled-decisions", base.name, n_labelled);
            let job = tokio::task::spawn_blocking(move || {
                let table = Table::from_csv(&name, &csv)?;
                let data = Dataset::new(
                    table,
                    &DatasetOptions {
                        target: TARGET.to_owned(),
                        ..DatasetOptions::default()
                    },
                )?;
                train(&data, &params, &mut Rounds(tx))
            });
            let mut last = std::time::Instant::now();
            while let Some((round, max)) = rx.recv().await {
                if last.elapsed() >= std::time::Duration::from_millis(500) {
                    last = std::time::Instant::now();
                    self.run_progress(run, round, max).await?;
                }
            }
            let artifact = job
                .await
                .map_err(internal)?
                .map_err(|e| ServiceError::invalid("base_data", e.to_string()))?;
            if artifact.card.feature_set.as_deref() != Some(features::FEATURE_SET) {
                return Err(ServiceError::invalid(
                    "base_data",
                    "the base data does not have the Lendscope inputs",
                ));
            }
            let card = serde_json::to_string_pretty(&artifact.card).map_err(internal)?;
            let registered = self
                .register_model_with(
                    &parent.name,
                    &artifact.model_json,
                    &artifact.schema_json,
                    &card,
                    Actor::User(by.to_owned()),
                    Provenance {
                        source: "retrained",
                        parent_id: Some(parent.id),
                        run_id: Some(run),
                    },
                )
                .await?;
            self.run_progress(
                run,
                artifact.card.training.rounds_trained,
                artifact.card.training.rounds_trained,
            )
            .await?;
            self.make_challenger(registered.id, by, &RequestMeta::default())
                .await?;
            Ok(RunResult {
                data_sha256: Some(artifact.card.data.sha256.clone()),
                data_rows: i64::try_from(artifact.card.data.rows).ok(),
                labelled_rows: i64::try_from(n_labelled).ok(),
                metrics: serde_json::to_value(&artifact.card.metrics).ok(),
                model_id: Some(registered.id),
            })
        }
    }

    /// Base data for the demo models: the generator's data with the champion's seed.
    pub fn generated_base(seed: u64, rows: usize) -> ServiceResult<BaseData> {
        let mut csv = Vec::new();
        lendscope_trainer::generate::write_csv(
            &mut csv,
            lendscope_model::synth::Settings {
                seed,
                drift: 0.0,
                bias: 0.0,
            },
            rows,
        )
        .map_err(internal)?;
        csv.flush().map_err(internal)?;
        Ok(BaseData {
            name: format!("generated-seed-{seed}-{rows}-rows"),
            csv,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn labelled_rows_follow_the_base_header() {
            let base = generated_base(1, 5).unwrap();
            let body = br#"{"applicant":{"id":"A1","monthly_income":2100},"loan":{"amount":1800,"term_months":12,"purpose":"emergency"},"alternative_data":{"employment":{"status":"gig","tenure_months":8,"employer_changes_24m":3,"income_verified":false},"payments":{"rent_on_time_ratio":0.71,"utility_on_time_ratio":0.82,"late_payments_12m":4,"payment_history_months":14},"digital":{"mobile_account_tenure_months":20,"device_tenure_months":6},"banking":{"avg_monthly_balance":120.0,"min_balance_90d":-80,"overdrafts_90d":3,"income_volatility":0.9,"savings_rate":-0.05}},"protected":{"gender":"female","age_band":"25-34"}}"#;
            let input = crate::scoring::request::parse(body).unwrap();
            let out = combined_csv(&base.csv, &[(input, true)]).unwrap();
            let table = Table::from_csv("combined", &out).unwrap();
            assert_eq!(table.len(), 6);
            let text = String::from_utf8(out).unwrap();
            let last = text.lines().last().unwrap();
            assert!(last.ends_with(",1"), "{last}");
            assert!(last.contains("female") && last.contains("gig") && last.contains("2100"));
            assert!(combined_csv(b"a,b\n1,2\n", &[]).is_err());
        }
    }
}
