//! View models of the monitoring pages (admins and compliance): stored runs, the alerts of a
//! run, data and prediction drift per input with charts, fairness per protected attribute
//! and realized performance per model version and period.

use serde::{Deserialize, Serialize};

/// A stored run in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunListRow {
    pub id: i64,
    pub finished_at: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub requested_by: String,
    pub reference_rows: i64,
    pub current_rows: i64,
    pub dataset_drift: bool,
    pub drifted_features: i32,
    pub tested_features: i32,
    pub alerts: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub kind: String,
    pub severity: crate::kinds::AlertSeverity,
    pub subject: String,
    pub message: String,
}

/// One input's (or the prediction's) drift result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDriftRow {
    pub column: String,
    pub kind: String,
    pub test: Option<String>,
    pub statistic: Option<f64>,
    pub threshold: Option<f64>,
    pub drifted: Option<bool>,
    pub psi: Option<f64>,
    /// `stable`, `moderate` or `significant`.
    pub psi_band: Option<String>,
    /// Missing values left out on each side, e.g. "3 / 12".
    pub missing: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessView {
    pub attribute: String,
    /// (group, members, approval rate)
    pub groups: Vec<(String, usize, f64)>,
    pub parity_difference: Option<f64>,
    pub parity_ratio: Option<f64>,
    pub four_fifths_violated: bool,
    /// The final decisions (officer, else automated) of the window's decided applications:
    /// (group, decided, approval rate), their parity difference and how many were decided.
    pub final_groups: Vec<(String, usize, f64)>,
    pub final_parity_difference: Option<f64>,
    pub final_decided: usize,
    pub equal_opportunity_difference: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
    pub alert: bool,
    pub notes: Vec<String>,
    pub svg: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceView {
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
    pub note: Option<String>,
}

/// One chunk of a version's decisions with its estimated and realized figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatedChunkView {
    /// e.g. "#1,201–#1,700 (2026-12-01 – 2026-12-03)".
    pub decisions: String,
    pub rows: usize,
    pub labelled: usize,
    pub auc: Option<f64>,
    pub auc_band: Option<(f64, f64)>,
    pub realized_auc: Option<f64>,
    pub default_rate: Option<f64>,
    pub default_rate_band: Option<(f64, f64)>,
    pub realized_default_rate: Option<f64>,
    pub auc_alert: bool,
    pub default_rate_alert: bool,
}

/// Performance of one version estimated before outcomes (CBPE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatedView {
    pub model: String,
    /// e.g. "fitted on the oldest 1,400 labelled scores (231 defaulted); calibrated: isotonic;
    /// chunks of 350 decisions".
    pub basis: String,
    /// e.g. "ROC AUC 0.712–0.801; default rate 0.121–0.198".
    pub thresholds: String,
    pub chunks: Vec<EstimatedChunkView>,
    pub svg: Option<String>,
    pub note: Option<String>,
}

/// One run in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub summary: RunListRow,
    pub champion: String,
    pub reference: String,
    pub current: String,
    pub alerts: Vec<AlertView>,
    /// e.g. "4 of 23 inputs drifted (17.4 %): no dataset drift (threshold: half)".
    pub dataset_verdict: Option<String>,
    pub features: Vec<FeatureDriftRow>,
    pub psi_svg: Option<String>,
    /// (column, overlaid histogram SVG) for the inputs with the largest PSI.
    pub histograms: Vec<(String, String)>,
    pub prediction: Option<FeatureDriftRow>,
    pub prediction_svg: Option<String>,
    pub fairness: Vec<FairnessView>,
    /// `day`, `week` or `month`.
    pub period: String,
    pub performance: Vec<PerformanceView>,
    pub performance_svg: Option<String>,
    /// (model, calibration SVG) per version with realized performance.
    pub calibration: Vec<(String, String)>,
    /// Performance estimated before outcomes, one entry (and chart) per version.
    pub estimated: Vec<EstimatedView>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringView {
    pub runs: Vec<RunListRow>,
    pub selected: Option<RunView>,
    /// Seconds between scheduled runs (0: off).
    pub interval_secs: u64,
    pub window: usize,
}
