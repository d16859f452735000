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
        _reject_inference: lendscope_domain::RejectInference,
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

    use lendscope_domain::RejectInference as Method;
    use lendscope_model::features::{self, TARGET};
    use lendscope_model::reject_inference;
    use lendscope_model::ModelBundle;
    use lendscope_trainer::dataset::Table;
    use lendscope_trainer::dataset::{INFERRED_COLUMN, WEIGHT_COLUMN};
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

    /// One row appended to the base data: the application, its outcome, its training weight
    /// and whether the outcome was inferred (reject inference) rather than observed.
    struct Appended {
        input: ApplicationInput,
        defaulted: bool,
        weight: f64,
        inferred: bool,
    }

    /// The base CSV with the labelled decisions and the inferred rows appended; with inferred
    /// rows, the `sample_weight` and `inferred` columns are added (1 and 0 for the base rows).
    fn combined_csv(base: &[u8], rows: &[Appended]) -> ServiceResult<Vec<u8>> {
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
        let extra = rows.iter().any(|r| r.inferred || r.weight != 1.0);
        if extra
            && header
                .iter()
                .any(|h| h == WEIGHT_COLUMN || h == INFERRED_COLUMN)
        {
            return Err(ServiceError::invalid(
                "base_data",
                format!("the base data has a {WEIGHT_COLUMN} or {INFERRED_COLUMN} column already"),
            ));
        }
        let mut out = Vec::with_capacity(base.len() + rows.len() * 256);
        if !extra {
            // The base bytes as they are, so the data hash of a plain retraining is the base
            // file's with the labelled rows after it.
            out.extend_from_slice(base);
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
        {
            let mut w = csv::Writer::from_writer(&mut out);
            if extra {
                // The base rows rewritten with weight 1, observed.
                let mut head: Vec<&str> = header.iter().map(String::as_str).collect();
                head.extend([WEIGHT_COLUMN, INFERRED_COLUMN]);
                w.write_record(&head).map_err(internal)?;
                for record in reader.records() {
                    let record = record
                        .map_err(|e| ServiceError::invalid("base_data", format!("CSV: {e}")))?;
                    w.write_record(record.iter().chain(["1", "0"]))
                        .map_err(internal)?;
                }
            }
            for r in rows {
                let cells = header.iter().map(|h| cell(&r.input, h, r.defaulted));
                if extra {
                    let weight = format!("{}", r.weight);
                    let inferred = if r.inferred { "1" } else { "0" };
                    w.write_record(cells.chain([weight, inferred.to_owned()]))
                        .map_err(internal)?;
                } else {
                    w.write_record(cells).map_err(internal)?;
                }
            }
            w.flush().map_err(internal)?;
        }
        Ok(out)
    }

    /// What one retraining needs.
    struct Job {
        run: i64,
        parent: ModelRef,
        champion: ModelBundle,
        base: BaseData,
        params: TrainParams,
        reject_inference: Method,
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
            reject_inference: Method,
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
            let champion_bundle = pair.champion.bundle.clone();
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
                "reject_inference": reject_inference.as_str(),
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
                .detail(json!({
                    "parent_model_id": champion.id,
                    "reject_inference": reject_inference.as_str(),
                })),
            )
            .await?;
            let svc = self.clone();
            let by = requested_by.to_owned();
            tokio::spawn(async move {
                let job = Job {
                    run,
                    parent: champion,
                    champion: champion_bundle,
                    base,
                    params,
                    reject_inference,
                };
                let result = svc.retrain(job, &by).await;
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

        async fn retrain(&self, job: Job, by: &str) -> ServiceResult<RunResult> {
            let Job {
                run,
                parent,
                champion,
                base,
                params,
                reject_inference,
            } = job;
            let limit = self.gate_settings().max_labelled;
            let labelled: Vec<(ApplicationInput, bool)> = self.labelled_inputs(limit).await?;
            let n_labelled = labelled.len();
            let mut rows: Vec<Appended> = labelled
                .into_iter()
                .map(|(input, defaulted)| Appended {
                    input,
                    defaulted,
                    weight: 1.0,
                    inferred: false,
                })
                .collect();
            let mut n_declined = 0;
            if reject_inference != Method::None {
                // The declined applications among the newest decisions, scored by the champion.
                let declined: Vec<ApplicationInput> = self
                    .recent(limit)
                    .await?
                    .into_iter()
                    .filter(|s| s.final_approved == Some(false))
                    .map(|s| s.input)
                    .collect();
                n_declined = declined.len();
                let pds = declined
                    .iter()
                    .map(|input| {
                        let x = champion.encode(|c| input.raw(c)).map_err(internal)?;
                        Ok(champion.predict(&x).map_err(internal)?.value())
                    })
                    .collect::<ServiceResult<Vec<f64>>>()?;
                let inferred = match reject_inference {
                    Method::Fuzzy => reject_inference::fuzzy(&pds),
                    Method::HardCutoff => reject_inference::hard_cutoff(&pds),
                    Method::None => Ok(Vec::new()),
                }
                .map_err(internal)?;
                rows.extend(inferred.into_iter().map(|r| Appended {
                    input: declined[r.row].clone(),
                    defaulted: r.defaulted,
                    weight: r.weight,
                    inferred: true,
                }));
            }
            let csv = combined_csv(&base.csv, &rows)?;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let name = match reject_inference {
                Method::None => format!("{}+{}-labelled-decisions", base.name, n_labelled),
                m => format!(
                    "{}+{}-labelled-decisions+{}-declined-{}",
                    base.name,
                    n_labelled,
                    n_declined,
                    m.as_str()
                ),
            };
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
            let row = |defaulted, weight, inferred| Appended {
                input: input.clone(),
                defaulted,
                weight,
                inferred,
            };
            let out = combined_csv(&base.csv, &[row(true, 1.0, false)]).unwrap();
            assert!(out.starts_with(&base.csv), "the base bytes as they are");
            let table = Table::from_csv("combined", &out).unwrap();
            assert_eq!(table.len(), 6);
            let text = String::from_utf8(out).unwrap();
            let last = text.lines().last().unwrap();
            assert!(last.ends_with(",1"), "{last}");
            assert!(last.contains("female") && last.contains("gig") && last.contains("2100"));
            assert!(combined_csv(b"a,b\n1,2\n", &[]).is_err());
            // Inferred rows add the weight and marker columns, 1 and 0 for every other row.
            let rows = [
                row(false, 1.0, false),
                row(true, 0.3, true),
                row(false, 0.7, true),
            ];
            let out = combined_csv(&base.csv, &rows).unwrap();
            let table = Table::from_csv("combined", &out).unwrap();
            assert_eq!(table.len(), 8);
            let (w, i) = (
                table.column_index(WEIGHT_COLUMN).unwrap(),
                table.column_index(INFERRED_COLUMN).unwrap(),
            );
            let cells: Vec<(&str, &str)> = (0..8)
                .map(|r| (table.cell(r, w), table.cell(r, i)))
                .collect();
            assert_eq!(&cells[..6], &[("1", "0"); 6]);
            assert_eq!(&cells[6..], &[("0.3", "1"), ("0.7", "1")]);
            let data = Dataset::new(
                table,
                &DatasetOptions {
                    target: TARGET.to_owned(),
                    ..DatasetOptions::default()
                },
            )
            .unwrap();
            assert_eq!(data.weights[6..], [0.3, 0.7]);
            assert_eq!(data.inferred.iter().filter(|&&x| x).count(), 2);
        }
    }
}
