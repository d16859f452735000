//! `lendscope demo`: a newcomer's first screen. On an empty database it creates one user per
//! role, trains a champion and a challenger on generated data, creates an API key, and scores
//! about 1,000 generated applications through the scoring service. Each part is skipped when
//! its data exists already, so running it twice changes nothing.

use lendscope_model::synth::{Cell, Generator, Settings};
use lendscope_service::scoring::request::{body_from_columns, InputValue, Protected};

use crate::error::ServerError;

#[cfg(feature = "train")]
use {
    lendscope_domain::{NewPassword, Role, Username},
    lendscope_service::registry::{ModelRef, ModelRole, Provenance, RunResult},
    lendscope_service::{Actor, RequestMeta, Services},
    lendscope_trainer::generate::generated_dataset,
    lendscope_trainer::train::Quiet,
    lendscope_trainer::{train, TrainParams},
    rand::distributions::{Alphanumeric, DistString},
};

#[cfg(feature = "train")]
const API_CLIENT: &str = "demo-portal";
#[cfg(feature = "train")]
const SAMPLE_APPLICATIONS: usize = 1000;

fn usage(e: impl std::fmt::Display) -> ServerError {
    ServerError::Usage(e.to_string())
}

#[cfg(feature = "train")]
pub async fn run(svc: &Services, meta: &RequestMeta) -> Result<(), ServerError> {
    users(svc, meta).await?;
    models(svc).await?;
    api_key(svc).await?;
    applications(svc).await?;
    Ok(())
}

#[cfg(feature = "train")]
async fn users(svc: &Services, meta: &RequestMeta) -> Result<(), ServerError> {
    if svc.count_users().await? > 0 {
        println!("demo: users exist already (their passwords were shown when they were made)");
        return Ok(());
    }
    println!("demo users (passwords are shown only now):");
    for role in Role::ALL {
        let password = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20);
        let username = Username::parse(role.as_str()).map_err(usage)?;
        let parsed = NewPassword::parse(&password).map_err(usage)?;
        svc.create_user(username, role, parsed, Actor::System, meta)
            .await?;
        println!(
            "  {:<13} user {:<11} password {password}",
            role.label(),
            role.as_str()
        );
    }
    Ok(())
}

/// Trains a model on generated data (in memory), records the training run and registers it.
#[cfg(feature = "train")]
async fn train_and_register(
    svc: &Services,
    seed: u64,
    drift: f64,
    params: TrainParams,
) -> Result<ModelRef, ServerError> {
    let recorded = serde_json::json!({
        "data": format!("generated: seed {seed}, drift {drift}, 20000 rows"),
        "rounds": params.rounds,
        "max_depth": params.max_depth,
        "eta": params.eta,
        "seed": params.seed,
        "early_stopping": params.early_stopping_rounds,
    });
    let run = svc
        .start_run("demo", "system", &recorded, None, params.rounds)
        .await?;
    let trained = tokio::task::spawn_blocking(move || {
        let data = generated_dataset(
            Settings {
                seed,
                drift,
                bias: 0.0,
            },
            20_000,
        )?;
        train(&data, &params, &mut Quiet)
    })
    .await
    .map_err(|e| usage(format!("training task: {e}")))?;
    let artifact = match trained {
        Ok(a) => a,
        Err(e) => {
            svc.finish_run(run, Err(e.to_string())).await?;
            return Err(usage(e));
        }
    };
    let card = serde_json::to_string_pretty(&artifact.card).map_err(usage)?;
    let registered = svc
        .register_model_with(
            "alt-credit",
            &artifact.model_json,
            &artifact.schema_json,
            &card,
            Actor::System,
            Provenance {
                source: "trained",
                parent_id: None,
                run_id: Some(run),
            },
        )
        .await?;
    svc.finish_run(
        run,
        Ok(RunResult {
            data_sha256: Some(artifact.card.data.sha256.clone()),
            data_rows: i64::try_from(artifact.card.data.rows).ok(),
            labelled_rows: None,
            metrics: serde_json::to_value(&artifact.card.metrics).ok(),
            model_id: Some(registered.id),
        }),
    )
    .await?;
    println!(
        "demo: trained and registered {} v{} (test AUC {:.3})",
        registered.name, registered.version, artifact.card.metrics.test.auc
    );
    Ok(registered)
}

#[cfg(feature = "train")]
async fn models(svc: &Services) -> Result<(), ServerError> {
    if !svc.model_rows().await?.is_empty() {
        println!("demo: models exist already");
        return Ok(());
    }
    let champion = train_and_register(
        svc,
        1,
        0.0,
        TrainParams {
            max_depth: 4,
            eta: 0.1,
            seed: 1,
            ..TrainParams::default()
        },
    )
    .await?;
    let challenger = train_and_register(
        svc,
        2,
        0.3,
        TrainParams {
            max_depth: 5,
            eta: 0.05,
            rounds: 500,
            seed: 2,
            ..TrainParams::default()
        },
    )
    .await?;
    // Set-up outside four eyes, recorded as an emergency change (the registry page lists it):
    // an empty registry has no champion to compare a gate against.
    let setup = lendscope_service::registry::Emergency::new(
        "demo set-up: first champion, challenger on 20 % for the A/B demonstration",
    )?;
    svc.set_alias(
        ModelRole::Champion,
        Some(champion.id),
        Actor::System,
        &setup,
    )
    .await?;
    svc.set_alias(
        ModelRole::Challenger,
        Some(challenger.id),
        Actor::System,
        &setup,
    )
    .await?;
    svc.set_challenger_share(20, Actor::System, &setup).await?;
    println!(
        "demo: champion v{}, challenger v{} on 20 % of applicants",
        champion.version, challenger.version
    );
    Ok(())
}

#[cfg(feature = "train")]
async fn api_key(svc: &Services) -> Result<(), ServerError> {
    match svc.create_api_key(API_CLIENT, Actor::System).await {
        Ok(key) => {
            println!("demo: API key for {API_CLIENT} (shown only now):\n  {key}");
            Ok(())
        }
        Err(lendscope_service::ServiceError::Conflict(_)) => {
            println!("demo: the API key {API_CLIENT} exists already");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Request bodies for generated applicants.
pub fn generated_bodies(seed: u64, n: usize, prefix: &str) -> Result<Vec<Vec<u8>>, ServerError> {
    Ok(generated_applicants(seed, n, prefix)?
        .into_iter()
        .map(|(body, _)| body)
        .collect())
}

/// Request bodies for generated applicants with whether each will default.
pub fn generated_applicants(
    seed: u64,
    n: usize,
    prefix: &str,
) -> Result<Vec<(Vec<u8>, bool)>, ServerError> {
    generated_population(seed, n, prefix, 0.0)
}

/// Like [`generated_applicants`], from a population shifted by `drift` (0–3).
pub fn generated_population(
    seed: u64,
    n: usize,
    prefix: &str,
    drift: f64,
) -> Result<Vec<(Vec<u8>, bool)>, ServerError> {
    let generator = Generator::new(Settings {
        seed,
        drift,
        bias: 0.0,
    })
    .map_err(usage)?;
    Ok(generator
        .take(n)
        .enumerate()
        .map(|(i, a)| {
            let value = |column: &str| match a.input(column) {
                Some(Cell::Number(x)) => InputValue::Number(x),
                Some(Cell::Category(c)) => InputValue::Category(c),
                _ => InputValue::Missing,
            };
            let protected = Protected {
                gender: a.protected.first().map(|s| (*s).to_owned()),
                age_band: a.protected.get(1).map(|s| (*s).to_owned()),
            };
            let body = body_from_columns(&format!("{prefix}-{i:05}"), value, &protected)
                .to_string()
                .into_bytes();
            (body, a.defaulted)
        })
        .collect())
}

/// Of the sample applications, this share (in tenths) gets its observed outcome recorded,
/// so that realized performance and the promotion gate have labelled data from the start.
/// Only loans have outcomes: an application recommended for manual review is first approved
/// by the demo officer; a declined one gets none.
#[cfg(feature = "train")]
const LABELLED_TENTHS: usize = 7;

#[cfg(feature = "train")]
async fn applications(svc: &Services) -> Result<(), ServerError> {
    if svc.verify_decisions().await?.records > 0 {
        println!("demo: applications exist already");
        return Ok(());
    }
    let applicants = generated_applicants(3, SAMPLE_APPLICATIONS, "DEMO")?;
    let mut tasks = tokio::task::JoinSet::new();
    let mut decided = std::collections::BTreeMap::<String, usize>::new();
    let mut labelled = 0usize;
    for (i, (body, defaulted)) in applicants.into_iter().enumerate() {
        if tasks.len() >= 32 {
            if let Some(done) = tasks.join_next().await {
                labelled += count(svc, &mut decided, done).await?;
            }
        }
        let svc = svc.clone();
        let label = (i % 10 < LABELLED_TENTHS).then_some(defaulted);
        tasks.spawn(async move { (label, svc.score_application(API_CLIENT, None, &body).await) });
    }
    while let Some(done) = tasks.join_next().await {
        labelled += count(svc, &mut decided, done).await?;
    }
    println!(
        "demo: scored {SAMPLE_APPLICATIONS} sample applications: {decided:?}; recorded {labelled} outcomes"
    );
    // A later population with lower incomes and more late payments, not yet labelled: the
    // monitoring run below finds the drift.
    let mut late = std::collections::BTreeMap::<String, usize>::new();
    for (body, _) in generated_population(4, LATE_APPLICATIONS, "DEMO-LATE", LATE_DRIFT)? {
        let scored = svc.score_application(API_CLIENT, None, &body).await?;
        let decision = scored.response["decision"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        *late.entry(decision).or_default() += 1;
    }
    println!(
        "demo: scored {LATE_APPLICATIONS} later applications from a drifted population (drift {LATE_DRIFT}): {late:?}"
    );
    let run = svc.run_monitoring("demo").await?;
    println!("demo: monitoring run #{run} stored (see /monitoring)");
    Ok(())
}

/// Later applications from a shifted population, and how far it is shifted.
#[cfg(feature = "train")]
const LATE_APPLICATIONS: usize = 600;
#[cfg(feature = "train")]
const LATE_DRIFT: f64 = 1.0;

#[cfg(feature = "train")]
type ScoringTask = (
    Option<bool>,
    lendscope_service::ServiceResult<lendscope_service::scoring::Scored>,
);

#[cfg(feature = "train")]
async fn count(
    svc: &Services,
    decided: &mut std::collections::BTreeMap<String, usize>,
    done: Result<ScoringTask, tokio::task::JoinError>,
) -> Result<usize, ServerError> {
    let (label, scored) = done.map_err(|e| usage(format!("scoring task: {e}")))?;
    let scored = scored?;
    let decision = scored.response["decision"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    *decided.entry(decision.clone()).or_default() += 1;
    let Some(defaulted) = label else {
        return Ok(0);
    };
    match decision.as_str() {
        "approve" => {}
        "manual_review" => {
            svc.review(
                &scored.application_id,
                "officer",
                lendscope_service::review::ReviewAction::Approve,
                0,
                Some("demo: approved on review"),
                None,
                &[],
                &super::cli_meta(),
            )
            .await?;
        }
        _ => return Ok(0),
    }
    let outcome = if defaulted { "defaulted" } else { "repaid" };
    svc.record_outcome(&scored.application_id, API_CLIENT, outcome, svc.now())
        .await?;
    Ok(1)
}
