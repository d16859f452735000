//! What the model registry pages show: versions with lineage, training runs, the promotion
//! gate, the champion-versus-challenger comparison and promotion requests. Plain data built
//! by the service and rendered by the pages (server and browser).

use serde::{Deserialize, Serialize};

/// One registered model version in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    pub id: i64,
    pub name: String,
    pub version: i32,
    /// `trained`, `retrained` or `imported`.
    pub source: String,
    pub created_at: String,
    pub created_by: String,
    /// The alias it holds now (`champion`, `challenger`), if any.
    pub alias: Option<String>,
    pub archived: bool,
    /// Held the champion alias at some time (a rollback target when not champion now).
    pub was_champion: bool,
    /// Test AUC from the model card, when the card has one.
    pub test_auc: Option<f64>,
    /// `name vN` of the version it was retrained from.
    pub parent: Option<String>,
}

/// A period during which a version held an alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasPeriod {
    pub alias: String,
    pub from: String,
    /// `None`: still holds it.
    pub to: Option<String>,
    pub set_by: String,
    /// For champion periods begun by an approved promotion: who requested and who approved.
    pub approved_by: Option<String>,
}

/// One labelled-data metric row of a version page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub label: String,
    pub validation: Option<f64>,
    pub test: Option<f64>,
}

/// A version page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDetail {
    pub row: ModelRow,
    pub sha256: String,
    pub features: usize,
    pub trees: usize,
    /// Lineage facts (label, value), in order.
    pub lineage: Vec<(String, String)>,
    /// Training parameters (name, value).
    pub parameters: Vec<(String, String)>,
    pub metrics: Vec<MetricRow>,
    pub periods: Vec<AliasPeriod>,
    /// Realized performance on decided applications with outcomes, scored by this version.
    pub realized: Option<RealizedView>,
    /// Why there is no realized performance yet.
    pub realized_note: Option<String>,
    /// Calibration of the card's test set (SVG), when the card has one.
    pub card_calibration_svg: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealizedView {
    pub rows: usize,
    pub positives: usize,
    pub auc: f64,
    pub ks: f64,
    pub gini: f64,
    pub brier: f64,
    pub roc_svg: String,
    pub calibration_svg: String,
}

/// A training run in the runs table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub requested_by: String,
    pub started_at: String,
    pub seconds: Option<f64>,
    pub data_sha256: Option<String>,
    pub data_rows: Option<i64>,
    pub labelled_rows: Option<i64>,
    /// Parameters as `name=value` pairs.
    pub params: Vec<(String, String)>,
    pub test_auc: Option<f64>,
    pub test_ks: Option<f64>,
    pub model: Option<String>,
    pub model_id: Option<i64>,
    pub error: Option<String>,
    pub round: i32,
    pub rounds: i32,
}

/// One check of the promotion gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    pub name: String,
    pub passed: bool,
    /// What was measured, in words and figures.
    pub measured: String,
    /// The bound it must meet.
    pub bound: String,
}

/// A statistic with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Approval rates per group of one protected attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupParity {
    pub attribute: String,
    /// (group, members, approval rate)
    pub groups: Vec<(String, usize, f64)>,
    pub difference: Option<f64>,
    pub ratio: Option<f64>,
    pub note: Option<String>,
}

/// The champion and challenger compared, with the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub champion: ModelRow,
    pub challenger: ModelRow,
    pub challenger_share: u8,
    /// Recent applications re-scored by both versions.
    pub window: usize,
    /// Of those, where the policy's recommendation of both versions agrees.
    pub agreement: f64,
    /// Applications scored live with the other version in the shadow.
    pub shadow_compared: usize,
    pub shadow_disagreements: usize,
    pub mean_abs_pd_difference: f64,
    /// Overlaid probability-of-default histograms (SVG).
    pub distribution_svg: String,
    pub psi: Option<f64>,
    /// Labelled outcomes: rows, positives, AUC and KS per version and their differences.
    pub labelled_rows: usize,
    pub labelled_positives: usize,
    pub auc: Option<(Interval, Interval, Interval)>,
    pub ks: Option<(Interval, Interval, Interval)>,
    pub labelled_note: Option<String>,
    pub fairness: Vec<GroupParity>,
    /// Final decisions (the officer's, else the automated one) of the same recent
    /// applications, whichever version served them; undecided manual reviews left out.
    pub final_decided: usize,
    pub final_fairness: Vec<GroupParity>,
    /// Both versions on a generated through-the-door population whose every outcome is
    /// known, declined applicants included (what reject inference is for).
    pub through_the_door: Option<ThroughTheDoor>,
    /// Why there is no through-the-door check.
    pub through_the_door_note: Option<String>,
    /// How the challenger's training treated declined applicants (its run's record).
    pub challenger_reject_inference: String,
    pub latency_p50_us: f64,
    pub latency_p99_us: f64,
    pub gate: Vec<GateCheck>,
    pub gate_passed: bool,
}

/// Champion and challenger on one generated through-the-door population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughTheDoor {
    pub rows: usize,
    pub seed: u64,
    /// The share each version approves (its least risky applicants): the champion's approval
    /// rate on the recent applications.
    pub approval_rate: f64,
    pub champion_auc: f64,
    pub challenger_auc: f64,
    pub champion_bad_rate: f64,
    pub challenger_bad_rate: f64,
}

/// A promotion request and how it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionView {
    pub id: i64,
    pub model: String,
    pub model_id: i64,
    pub champion: String,
    pub requested_by: String,
    pub requested_at: String,
    pub expires_at: String,
    pub reason: String,
    /// `None`: make the version champion; `Some(p)`: route p % of applicants to it.
    pub challenger_share: Option<u8>,
    /// `open`, `approved`, `rejected`, `cancelled` or `expired`.
    pub state: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub note: Option<String>,
}

/// An alias or share changed by the command line's emergency bypass (from the audit log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergencyView {
    pub at: String,
    pub actor: String,
    /// What changed, e.g. "champion → model 3" or "challenger's share → 20 %".
    pub change: String,
    pub reason: String,
}

/// The registry's front page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryView {
    pub models: Vec<ModelRow>,
    pub challenger_share: u8,
    pub runs: Vec<RunRow>,
    pub promotions: Vec<PromotionView>,
    /// Changes made outside four eyes (`--emergency` on the command line), newest first.
    pub emergencies: Vec<EmergencyView>,
    /// The signed-in admin (set by the page: requesters cannot approve their own request).
    pub viewer: String,
}

/// One decision in the compliance search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRow {
    pub application_id: String,
    pub created_at: String,
    pub model: String,
    pub role: crate::kinds::ModelRole,
    pub decision: crate::kinds::Decision,
    pub probability_of_default: f64,
    pub policy_version: String,
}

/// Everything an auditor needs about one decision: which model (and who put it in service),
/// which policy, the shadow model's view, every officer action, and the hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTrace {
    pub row: TraceRow,
    pub seq: i64,
    pub api_client: String,
    pub model_id: i64,
    pub model_sha256: String,
    /// How the version came to hold its alias when it decided: set by whom, when, and the
    /// approved promotion if it was one.
    pub model_authorised: String,
    pub rule: String,
    pub shadow: Option<String>,
    pub reasons: Vec<String>,
    pub final_decision: Option<crate::kinds::Decision>,
    pub actions: Vec<crate::review::HistoryEntry>,
    /// This record's own link: previous-hash, hash and columns check out.
    pub record_verified: bool,
    pub record_problem: Option<String>,
    /// The whole chain: "N decisions, intact" or where it breaks.
    pub chain: String,
    pub chain_intact: bool,
    pub hash: String,
}

/// A table in a validation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One section of a validation report: what it says, its facts (label, value) and tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSection {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub facts: Vec<(String, String)>,
    pub tables: Vec<ReportTable>,
}

/// The validation report of one model version, generated only from stored facts, in the
/// order of model documentation under SR 11-7 / OCC 2011-12.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub model_id: i64,
    /// e.g. "alt-credit v2".
    pub model: String,
    /// The newest stored fact the report reads (its "as of"), so the same facts give the same
    /// report.
    pub as_of: String,
    pub sections: Vec<ReportSection>,
}
