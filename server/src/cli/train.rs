//! `lendscope train` (recorded as a training run) and `lendscope retrain`.

use std::io::Write;
use std::path::PathBuf;

use lendscope_service::Services;

use super::ml::{self, TrainArgs};
use super::{cli_meta, services};
use crate::config::Config;
use crate::error::ServerError;

/// Trains like `ml::train_model` and records the run (parameters, data hash, metrics, or the
/// error) in the database, registered or not.
pub(super) async fn train_recorded(svc: &Services, args: TrainArgs) -> Result<(), ServerError> {
    let who = std::env::var("USER").unwrap_or_else(|_| "cli".to_owned());
    let run = svc
        .start_run("train", &who, &ml::train_params(&args), None, args.rounds)
        .await?;
    let trained = tokio::task::spawn_blocking(move || ml::train_model(&args))
        .await
        .map_err(|e| ServerError::Usage(format!("training task: {e}")))?;
    let recorded = trained.as_ref().map_err(ToString::to_string).map(|card| {
        lendscope_service::registry::RunResult {
            data_sha256: Some(card.data.sha256.clone()),
            data_rows: i64::try_from(card.data.rows).ok(),
            labelled_rows: None,
            metrics: serde_json::to_value(&card.metrics).ok(),
            model_id: None,
        }
    });
    svc.finish_run(run, recorded).await?;
    println!("recorded as training run #{run}");
    trained.map(|_| ())
}

/// Runs the retraining job on `base_data` (default: the configured base data), with declined
/// applicants entering as `reject_inference` says, and waits for it, printing its progress.
pub(super) async fn retrain(
    config: &Config,
    base_data: Option<PathBuf>,
    reject_inference: lendscope_domain::RejectInference,
) -> Result<(), ServerError> {
    let svc = services(config).await?;
    svc.set_retrain_base(base_data.or(config.retrain_base_data.clone()));
    let who = std::env::var("USER").unwrap_or_else(|_| "cli".to_owned());
    let run = svc
        .start_retrain(&who, None, reject_inference, &cli_meta())
        .await?;
    println!(
        "retraining: run #{run} (reject inference: {})",
        reject_inference.label()
    );
    let mut shown = -1;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let Some(r) = svc
            .training_runs(20)
            .await?
            .into_iter()
            .find(|r| r.id == run)
        else {
            continue;
        };
        if r.round != shown && r.state == "running" {
            shown = r.round;
            let _ = writeln!(std::io::stderr(), "round {}/{}", r.round, r.rounds);
        }
        match r.state.as_str() {
            "running" => continue,
            "succeeded" => {
                println!(
                    "retrained {} on {} rows ({} labelled decisions): test AUC {}; it is now the challenger",
                    r.model.unwrap_or_default(),
                    r.data_rows.unwrap_or(0),
                    r.labelled_rows.unwrap_or(0),
                    r.test_auc.map_or_else(|| "-".to_owned(), |a| format!("{a:.4}"))
                );
                return Ok(());
            }
            _ => {
                return Err(ServerError::Usage(format!(
                    "retraining run #{run} failed: {}",
                    r.error.unwrap_or_default()
                )))
            }
        }
    }
}
