//! What the officer pages show: the review queue, the case file of one application and the
//! officer statistics. Plain data shared by the service (which builds it) and the pages
//! (which render it on the server and in the browser).

use serde::{Deserialize, Serialize};

use crate::kinds::{CaseState, Decision, ModelRole, ReviewAction};

/// Principal reasons an officer can give for a rejection besides the model's reasons for the
/// applicant (after Regulation B's sample notice, 12 CFR part 1002 appendix C, form C-1).
pub const OFFICER_REASONS: &[(&str, &str)] = &[
    ("O01", "Unable to verify income"),
    (
        "O02",
        "Insufficient income for the amount of credit requested",
    ),
    ("O03", "Incomplete application"),
    ("O04", "Unable to verify identity"),
    ("O05", "Unable to verify employment"),
    ("O06", "Excessive obligations in relation to income"),
    ("O07", "Delinquent past or present obligations with others"),
];

/// The most principal reasons a notice states (Regulation B comment 9(b)(2)-1).
pub const MAX_STATED_REASONS: usize = 4;

/// A reason an officer can choose for a rejection: the model's reasons for this applicant
/// first, then the officer catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonChoice {
    pub code: String,
    pub text: String,
    /// One of the model's principal reasons for this applicant.
    pub from_model: bool,
}

/// A principal reason as a notice states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatedReason {
    pub code: String,
    pub text: String,
}

/// Risk bands, best first.
pub const RISK_BANDS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// Groups digits in threes: 12345.5 with 1 decimal → "12,345.5"; negatives get "−".
pub fn grouped(x: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    let sign = if x < 0.0 { "−" } else { "" };
    if frac.is_empty() {
        format!("{sign}{out}")
    } else {
        format!("{sign}{out}.{frac}")
    }
}

/// Dollars: whole amounts without cents, others with.
pub fn money(x: f64) -> String {
    format!("${}", grouped(x, if x.fract() == 0.0 { 0 } else { 2 }))
}

/// A share as a percentage with `decimals` places.
pub fn percent(x: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, x * 100.0)
}

/// One open case in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub application_id: String,
    /// When the application was scored (UTC, `YYYY-MM-DD HH:MM`).
    pub received: String,
    pub recommended: Decision,
    pub risk_band: String,
    pub role: ModelRole,
    pub model_version: i32,
    pub amount: f64,
    pub probability_of_default: f64,
    pub claimed_by: Option<String>,
}

/// Counts of cases by state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueCounts {
    /// Open cases per recommendation, in [`Decision::ALL`] order.
    pub open_by_recommendation: Vec<(Decision, u64)>,
    /// Open cases an officer has claimed.
    pub claimed: u64,
    /// Cases an officer has decided.
    pub decided: u64,
}

impl QueueCounts {
    pub fn open(&self) -> u64 {
        self.open_by_recommendation.iter().map(|(_, n)| n).sum()
    }
}

/// A page of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueView {
    pub rows: Vec<QueueRow>,
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
    pub counts: QueueCounts,
}

/// A labelled value of the application, e.g. ("Monthly income", "2,400").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// A group of the application's data, e.g. "Payment patterns".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactGroup {
    pub title: String,
    pub facts: Vec<Fact>,
}

/// One input's share of the explanation (one-hot columns summed), in log-odds of default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub label: String,
    pub value: String,
    pub contribution: f64,
}

/// What one model made of the application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelView {
    pub name: String,
    pub version: i32,
    pub role: ModelRole,
    pub probability_of_default: f64,
    pub score: i64,
    pub risk_band: String,
    pub decision: Decision,
    pub rule: String,
}

/// One action in the history of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub officer: String,
    pub action: ReviewAction,
    pub note: Option<String>,
    /// The recommendation at the time.
    pub recommended: Decision,
    /// Whether the decision went against the recommendation.
    pub overrode: bool,
    /// The model output the officer had on screen, if any.
    pub model_shown: Option<String>,
    /// A rejection's principal reasons as the applicant's notice states them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// Everything the application page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFile {
    pub application_id: String,
    pub applicant_id: String,
    pub received: String,
    pub groups: Vec<FactGroup>,
    /// The model that decided (served) and the shadow model, if one ran.
    pub served: ModelView,
    pub shadow: Option<ModelView>,
    /// Plain-language description of the policy rule that drove the recommendation.
    pub rule_text: String,
    pub policy_version: String,
    /// The SHAP explanation: base value (log-odds), per-input contributions, final log-odds.
    pub base_value: f64,
    pub contributions: Vec<Contribution>,
    pub margin: f64,
    /// The waterfall chart (SVG markup rendered on the server).
    pub waterfall_svg: String,
    /// The principal reasons exactly as the applicant's notice states them if declined.
    pub reasons: Vec<String>,
    /// What an officer can give as reasons for a rejection (the model's first).
    pub reason_choices: Vec<ReasonChoice>,
    /// The counteroffer the model and policy approve instead of the request, if one was found
    /// ("a loan of $1,500 repaid over 12 months"), with its probability of default.
    pub counteroffer: Option<(String, f64)>,
    /// The recourse statements the applicant's notice carries.
    pub recourse: Vec<String>,
    pub notice_url: String,
    pub state: CaseState,
    pub final_decision: Option<Decision>,
    pub claimed_by: Option<String>,
    /// Version of the case (for optimistic concurrency of the next action).
    pub version: i32,
    /// Opaque proof of which model output the page showed, sent back with the decision.
    pub shown_token: String,
    pub history: Vec<HistoryEntry>,
}

/// Decisions per officer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficerRow {
    pub officer: String,
    pub decisions: u64,
    pub approvals: u64,
    pub rejections: u64,
    /// Decisions by the counteroffer.
    pub counteroffers: u64,
    pub overrides: u64,
    /// Decisions taken with the model's output shown.
    pub aided: u64,
}

impl OfficerRow {
    pub fn override_rate(&self) -> f64 {
        ratio(self.overrides, self.decisions)
    }

    pub fn aided_share(&self) -> f64 {
        ratio(self.aided, self.decisions)
    }
}

/// `part / whole`, 0 for an empty whole.
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The goal for the share of decisions taken with the model's output shown.
pub const AIDED_GOAL: f64 = 0.95;

/// One field of the public application form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    /// The form field name (the feature-set column, or `applicant_id`, `gender`, `age_band`).
    pub name: String,
    pub label: String,
    pub group: String,
    /// Choices for a select; empty for a number.
    pub options: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `1` for whole numbers, `any` otherwise.
    pub step: String,
    pub required: bool,
    pub help: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(grouped(1234567.0, 0), "1,234,567");
        assert_eq!(grouped(123.0, 0), "123");
        assert_eq!(grouped(-1234.5, 1), "−1,234.5");
        assert_eq!(money(1500.0), "$1,500");
        assert_eq!(money(1820.5), "$1,820.50");
        assert_eq!(percent(0.1234, 1), "12.3%");
    }

    #[test]
    fn shares_of_nothing_are_zero() {
        assert_eq!(ratio(1, 0), 0.0);
        let row = OfficerRow {
            officer: "o".into(),
            decisions: 4,
            approvals: 3,
            rejections: 1,
            counteroffers: 0,
            overrides: 1,
            aided: 4,
        };
        assert_eq!(row.override_rate(), 0.25);
        assert_eq!(row.aided_share(), 1.0);
    }
}
