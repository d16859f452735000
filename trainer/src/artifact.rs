//! The model artifact: a directory with `model.json` (XGBoost's JSON format), `schema.json`
//! (the feature schema with every categorical's encoding) and `card.json` (lineage and
//! metrics).

use std::path::Path;

use lendscope_model::metrics::Summary;
use lendscope_model::ModelBundle;
use serde::{Deserialize, Serialize};

use crate::train::TrainParams;
use crate::TrainError;

pub const MODEL_FILE: &str = "model.json";
pub const SCHEMA_FILE: &str = "schema.json";
pub const CARD_FILE: &str = "card.json";

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataCard {
    pub file: String,
    pub sha256: String,
    pub rows: usize,
    pub positives: usize,
    pub target: String,
    pub positive_label: String,
    pub train_rows: usize,
    /// Training rows whose outcome was inferred (reject inference), included in `rows` and
    /// `train_rows`; cards written before reject inference have none.
    #[serde(default)]
    pub inferred_rows: usize,
    pub valid_rows: usize,
    pub test_rows: usize,
    pub left_out: Vec<LeftOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeftOut {
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCard {
    pub rounds_trained: u32,
    /// Trees kept: the round with the best validation AUC.
    pub rounds_kept: u32,
    pub best_validation_auc: f64,
    pub stopped_early: bool,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsCard {
    pub validation: Summary,
    pub test: Summary,
}

/// Lineage and quality of a trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub format: u32,
    pub created_at: String,
    pub code_version: String,
    pub xgboost_version: String,
    pub feature_set: Option<String>,
    pub features: usize,
    pub data: DataCard,
    pub parameters: TrainParams,
    pub training: TrainingCard,
    pub metrics: MetricsCard,
}

/// A trained model with its schema and card.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub model_json: String,
    pub schema_json: String,
    pub card: ModelCard,
    pub bundle: ModelBundle,
}

impl Artifact {
    /// Writes the three files into `dir` (created if needed). Files are written under
    /// temporary names and renamed at the end, so a failure leaves no partial artifact.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
        let card = serde_json::to_string_pretty(&self.card)
            .map_err(|e| TrainError::Artifact(format!("card: {e}")))?;
        let files = [
            (MODEL_FILE, self.model_json.as_str()),
            (SCHEMA_FILE, self.schema_json.as_str()),
            (CARD_FILE, card.as_str()),
        ];
        let tmp = |name: &str| dir.join(format!(".{name}.tmp"));
        let written: Result<(), TrainError> = files.iter().try_for_each(|(name, text)| {
            std::fs::write(tmp(name), text).map_err(|e| TrainError::io(&tmp(name), e))
        });
        if let Err(e) = written {
            for (name, _) in &files {
                let _ = std::fs::remove_file(tmp(name));
            }
            return Err(e);
        }
        for (name, _) in &files {
            std::fs::rename(tmp(name), dir.join(name))
                .map_err(|e| TrainError::io(&dir.join(name), e))?;
        }
        Ok(())
    }
}

/// Reads and checks a model directory (the card is optional for models trained elsewhere).
pub fn load(dir: &Path) -> Result<(ModelBundle, Option<ModelCard>), TrainError> {
    let read =
        |name: &str| std::fs::read(dir.join(name)).map_err(|e| TrainError::io(&dir.join(name), e));
    let bundle = ModelBundle::from_json(&read(MODEL_FILE)?, &read(SCHEMA_FILE)?)?;
    let card = match std::fs::read(dir.join(CARD_FILE)) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
            TrainError::Artifact(format!("{}: {e}", dir.join(CARD_FILE).display()))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(TrainError::io(&dir.join(CARD_FILE), e)),
    };
    Ok((bundle, card))
}
