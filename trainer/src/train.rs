//! Training with XGBoost: stratified split, one boosting round at a time with early stopping
//! on validation AUC, then test metrics computed by the pure-Rust model read back from the
//! saved JSON — so the reported metrics are those of the artifact that will be served.

use std::collections::HashMap;
use std::time::Instant;

use lendscope_model::{metrics, split, FeatureVector, GbtModel, ModelBundle};
use serde::{Deserialize, Serialize};
use xgboost_rs::{Booster, DMatrix};

use crate::artifact::{Artifact, DataCard, LeftOut, MetricsCard, ModelCard, TrainingCard};
use crate::dataset::Dataset;
use crate::TrainError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Most boosting rounds.
    pub rounds: u32,
    pub max_depth: u32,
    pub eta: f64,
    pub seed: u64,
    /// Stop when validation AUC has not improved for this many rounds.
    pub early_stopping_rounds: u32,
    /// Train exactly `rounds` rounds and keep them all (no early stopping, no refit to the
    /// best round): for benchmarks that need a model of a given size.
    pub keep_all_rounds: bool,
    pub subsample: f64,
    pub colsample_bytree: f64,
    pub min_child_weight: f64,
    pub lambda: f64,
    pub valid_fraction: f64,
    pub test_fraction: f64,
    /// XGBoost threads (0: all cores).
    pub threads: u32,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            rounds: 300,
            max_depth: 4,
            eta: 0.1,
            seed: 42,
            early_stopping_rounds: 30,
            keep_all_rounds: false,
            subsample: 0.8,
            colsample_bytree: 0.8,
            min_child_weight: 1.0,
            lambda: 1.0,
            valid_fraction: 0.15,
            test_fraction: 0.15,
            threads: 0,
        }
    }
}

impl TrainParams {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Options(m.to_owned()));
        if self.rounds == 0 || self.rounds > 10_000 {
            return bad("--rounds must be between 1 and 10000");
        }
        if self.max_depth == 0 || self.max_depth > 16 {
            return bad("--max-depth must be between 1 and 16");
        }
        if !(self.eta > 0.0 && self.eta <= 1.0) {
            return bad("--eta must be in (0, 1]");
        }
        let fraction = |v: f64| v > 0.0 && v <= 1.0;
        if !(fraction(self.subsample) && fraction(self.colsample_bytree)) {
            return bad("subsample and colsample_bytree must be in (0, 1]");
        }
        if !(self.valid_fraction > 0.0
            && self.test_fraction > 0.0
            && self.valid_fraction + self.test_fraction < 0.9)
        {
            return bad(
                "validation and test fractions must be positive and leave rows to train on",
            );
        }
        if self.early_stopping_rounds == 0 {
            return bad("early stopping needs at least one round of patience");
        }
        Ok(())
    }

    fn config(&self) -> HashMap<String, String> {
        [
            ("objective", "binary:logistic".to_owned()),
            ("tree_method", "hist".to_owned()),
            ("max_depth", self.max_depth.to_string()),
            ("eta", self.eta.to_string()),
            ("seed", self.seed.to_string()),
            ("subsample", self.subsample.to_string()),
            ("colsample_bytree", self.colsample_bytree.to_string()),
            ("min_child_weight", self.min_child_weight.to_string()),
            ("lambda", self.lambda.to_string()),
            ("nthread", self.threads.to_string()),
            ("verbosity", "0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// Receives training progress (the CLI draws a bar from it).
pub trait Progress {
    fn round(&mut self, round: u32, max_rounds: u32, valid_auc: f64, best_round: u32);
    fn refit(&mut self, rounds: u32);
}

/// Ignores progress.
pub struct Quiet;

impl Progress for Quiet {
    fn round(&mut self, _: u32, _: u32, _: f64, _: u32) {}
    fn refit(&mut self, _: u32) {}
}

/// Rows as one row-major `f32` matrix for XGBoost (NaN = missing).
pub fn dmatrix(rows: &[&FeatureVector], labels: Option<&[f32]>) -> Result<DMatrix, TrainError> {
    let cols = rows.first().map_or(0, |r| r.len());
    let mut data = Vec::with_capacity(rows.len() * cols);
    for r in rows {
        data.extend_from_slice(r.as_slice());
    }
    let stride = std::mem::size_of::<f32>();
    // Row-major: a row is `cols` floats apart, a column one float.
    let mut m =
        DMatrix::from_col_major_f32(&data, cols * stride, stride, rows.len(), cols, 1, f32::NAN)?;
    if let Some(l) = labels {
        m.set_labels(l)?;
    }
    Ok(m)
}

fn booster(params: &TrainParams, cache: &[&DMatrix]) -> Result<Booster, TrainError> {
    Ok(Booster::new_with_json_config(cache, params.config())?)
}

/// Boosts exactly `rounds` rounds on `dtrain` (`cache` lists the matrices XGBoost should keep
/// prediction caches for, `dtrain` first).
pub fn fit(
    params: &TrainParams,
    dtrain: &DMatrix,
    cache: &[&DMatrix],
    rounds: u32,
) -> Result<Booster, TrainError> {
    let mut bst = booster(params, cache)?;
    for round in 0..rounds {
        bst.update(dtrain, round as i32)?;
    }
    Ok(bst)
}

/// Trains a model on `data`. Progress goes to `progress`; nothing is written.
pub fn train(
    data: &Dataset,
    params: &TrainParams,
    progress: &mut dyn Progress,
) -> Result<Artifact, TrainError> {
    params.validate()?;
    let started = Instant::now();
    let matrix = data.matrix()?;
    // Observed rows are split; rows with inferred outcomes (reject inference) only train.
    let observed: Vec<usize> = (0..data.labels.len())
        .filter(|&i| !data.inferred[i])
        .collect();
    let observed_labels: Vec<bool> = observed.iter().map(|&i| data.labels[i]).collect();
    let mut parts = split::stratified(
        &observed_labels,
        params.valid_fraction,
        params.test_fraction,
        params.seed,
    );
    for part in [&mut parts.train, &mut parts.valid, &mut parts.test] {
        for i in part.iter_mut() {
            *i = observed[*i];
        }
    }
    let observed_train = parts.train.clone();
    parts
        .train
        .extend((0..data.labels.len()).filter(|&i| data.inferred[i]));
    for (name, part) in [
        ("training", &parts.train),
        ("validation", &parts.valid),
        ("test", &parts.test),
    ] {
        let pos = part.iter().filter(|&&i| data.labels[i]).count();
        if pos == 0 || pos == part.len() {
            return Err(TrainError::data(
                &data.table.file,
                format!(
                    "too few rows: the {name} part lacks one of the outcomes ({} rows)",
                    part.len()
                ),
            ));
        }
    }
    let rows = |idx: &[usize]| idx.iter().map(|&i| &matrix[i]).collect::<Vec<_>>();
    let labels = |idx: &[usize]| {
        idx.iter()
            .map(|&i| f32::from(u8::from(data.labels[i])))
            .collect::<Vec<_>>()
    };
    let mut dtrain = dmatrix(&rows(&parts.train), Some(&labels(&parts.train)))?;
    if data.weights.iter().any(|&w| w != 1.0) {
        let weights: Vec<f32> = parts.train.iter().map(|&i| data.weights[i]).collect();
        dtrain.set_weights(&weights)?;
    }
    let dvalid = dmatrix(&rows(&parts.valid), Some(&labels(&parts.valid)))?;

    let valid_labels: Vec<bool> = parts.valid.iter().map(|&i| data.labels[i]).collect();
    let mut bst = booster(params, &[&dtrain, &dvalid])?;
    let (mut best_auc, mut best_round, mut trained) = (f64::NEG_INFINITY, 0u32, 0u32);
    for round in 0..params.rounds {
        bst.update(&dtrain, round as i32)?;
        trained = round + 1;
        // XGBoost's own AUC metric is not linked into the static library (its registration
        // is dropped), so validation AUC is computed here from XGBoost's cached predictions.
        let valid_scores: Vec<f64> = bst.predict(&dvalid)?.into_iter().map(f64::from).collect();
        let auc = metrics::auc(&valid_scores, &valid_labels)?;
        if auc > best_auc {
            best_auc = auc;
            best_round = trained;
        }
        progress.round(trained, params.rounds, auc, best_round);
        if !params.keep_all_rounds && trained - best_round >= params.early_stopping_rounds {
            break;
        }
    }
    if best_round < trained && !params.keep_all_rounds {
        // Refit to the best round: the same seed and data give the same first trees.
        progress.refit(best_round);
        bst = fit(params, &dtrain, &[&dtrain, &dvalid], best_round)?;
    }
    let model_json = bst.save_to_buffer("json".to_owned())?;
    let model = GbtModel::from_json(model_json.as_bytes())?;
    // The training rows' reference points travel in the schema, under the artifact's hash.
    let schema = data
        .schema
        .clone()
        .with_reference(data.reference(&observed_train)?);
    let bundle = ModelBundle::new(model, schema.clone())?;
    let score = |idx: &[usize]| -> Result<(Vec<f64>, Vec<bool>), TrainError> {
        let scores = idx
            .iter()
            .map(|&i| bundle.predict(&matrix[i]).map(|p| p.value()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((scores, idx.iter().map(|&i| data.labels[i]).collect()))
    };
    let (vs, vl) = score(&parts.valid)?;
    let (ts, tl) = score(&parts.test)?;
    let schema_json = serde_json::to_string_pretty(&schema)
        .map_err(|e| TrainError::Artifact(format!("schema: {e}")))?;
    let target = data.schema.target().cloned();
    let card = ModelCard {
        format: 1,
        created_at: chrono::Utc::now().to_rfc3339(),
        code_version: format!("lendscope {}", env!("CARGO_PKG_VERSION")),
        xgboost_version: bundle.model().xgboost_version().to_owned(),
        feature_set: data.schema.feature_set().map(str::to_owned),
        features: data.schema.features().len(),
        data: DataCard {
            file: data.table.file.clone(),
            sha256: data.table.sha256.clone(),
            rows: data.labels.len(),
            positives: data.labels.iter().filter(|&&l| l).count(),
            target: target
                .as_ref()
                .map(|t| t.column.clone())
                .unwrap_or_default(),
            positive_label: target.map(|t| t.positive).unwrap_or_default(),
            train_rows: parts.train.len(),
            inferred_rows: data.inferred.iter().filter(|&&x| x).count(),
            valid_rows: parts.valid.len(),
            test_rows: parts.test.len(),
            left_out: data
                .left_out
                .iter()
                .map(|(column, reason)| LeftOut {
                    column: column.clone(),
                    reason: reason.clone(),
                })
                .collect(),
        },
        parameters: params.clone(),
        training: TrainingCard {
            rounds_trained: trained,
            rounds_kept: best_round,
            best_validation_auc: best_auc,
            stopped_early: trained < params.rounds,
            seconds: started.elapsed().as_secs_f64(),
        },
        metrics: MetricsCard {
            validation: metrics::summary(&vs, &vl)?,
            test: metrics::summary(&ts, &tl)?,
        },
    };
    Ok(Artifact {
        model_json,
        schema_json,
        card,
        bundle,
    })
}
