//! What a run produces and stores (as JSON): the two windows compared, the drift, fairness
//! and performance figures, and the alerts they raised.

use chrono::{DateTime, Utc};
use lendscope_model::cbpe::{ChunkEstimate, Thresholds};
use lendscope_model::drift::{ColumnDrift, DriftReport};
use lendscope_model::fairness::FairnessReport;
use serde::{Deserialize, Serialize};

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub description: String,
    pub rows: usize,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeFairness {
    pub attribute: String,
    /// Approval parity over the current window (groups large enough to judge).
    pub report: Option<FairnessReport>,
    /// Equal opportunity / equalized odds over the window's decisions that have outcomes.
    pub with_outcomes: Option<FairnessReport>,
    /// Approval parity of the final decisions (the officer's, else the automated one) over
    /// the window's decided applications (runs before this field have none).
    #[serde(default)]
    pub final_decisions: Option<FairnessReport>,
    /// How many of the window's applications had a final decision.
    #[serde(default)]
    pub final_decided: usize,
    pub notes: Vec<String>,
}

/// Realized performance of one version, overall (`period` "all") or in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceRow {
    pub model_id: i64,
    pub model: String,
    pub period: String,
    pub rows: usize,
    pub defaults: usize,
    pub auc: Option<f64>,
    pub ks: Option<f64>,
    pub gini: Option<f64>,
    pub brier: Option<f64>,
    pub mean_pd: Option<f64>,
    pub default_rate: Option<f64>,
    /// (mean predicted, observed default rate, count) per calibration bin (overall rows).
    pub calibration: Vec<(f64, f64, usize)>,
    pub note: Option<String>,
}

/// One chunk of a version's decisions, in decision order, with its estimated (and, where
/// outcomes exist, realized) ROC AUC and default rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatedChunk {
    pub first_seq: i64,
    pub last_seq: i64,
    /// Loans of the chunk that are in the reference the estimator was fitted on: there the
    /// estimate is in-sample, not a check (runs before this field have none).
    #[serde(default)]
    pub in_reference: usize,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub estimate: ChunkEstimate,
}

/// Performance of one version estimated before outcomes (CBPE): the reference it was fitted
/// on, its thresholds and the estimates of its newest decisions, chunk by chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatedVersion {
    pub model_id: i64,
    pub model: String,
    /// The version's oldest labelled scores the estimator was fitted on.
    pub reference_rows: usize,
    pub reference_defaults: usize,
    /// Isotonic calibration was fitted on the reference (it lowered the calibration error).
    pub calibrated: bool,
    pub chunk_size: usize,
    pub roc_auc_thresholds: Option<Thresholds>,
    pub default_rate_thresholds: Option<Thresholds>,
    /// Oldest first; the newest chunk is full, the oldest holds a remainder shorter than half a
    /// chunk besides its own (so it may be longer).
    pub chunks: Vec<EstimatedChunk>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `data_drift`, `feature_drift`, `prediction_drift`, `psi`, `fairness`, `performance`.
    pub kind: String,
    pub severity: lendscope_domain::AlertSeverity,
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringReport {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub trigger: String,
    pub requested_by: String,
    pub champion: Option<String>,
    pub reference: Window,
    pub current: Window,
    pub data_drift: Option<DriftReport>,
    pub prediction_drift: Option<ColumnDrift>,
    pub fairness: Vec<AttributeFairness>,
    /// Per version: the overall row first, then one row per period (oldest first).
    pub performance: Vec<PerformanceRow>,
    /// `day`, `week` or `month`.
    pub period: String,
    /// Performance estimated before outcomes, per version (runs before it have none).
    #[serde(default)]
    pub estimated: Vec<EstimatedVersion>,
    pub alerts: Vec<Alert>,
    pub notes: Vec<String>,
}

pub(super) fn enum_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
