//! The applicant-facing notice of a decision (shared by the API, the service and the page).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub application_id: String,
    /// Who decides: the creditor's name and address as the notice states them.
    pub creditor: String,
    pub decided_at: String,
    pub decision: crate::kinds::Decision,
    pub headline: String,
    /// The terms offered instead of the request, when there is a counteroffer (12 CFR
    /// 1002.9(a)(1)(iv)): the notice then states them with the reasons for the request as made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counteroffer: Option<OfferedTerms>,
    /// Principal reasons, most important first (for declined applications).
    pub reasons: Vec<String>,
    /// What would have changed the model's result, as conditional statements, each re-scored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recourse: Vec<String>,
    /// What the recourse statements are and are not (present with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recourse_disclaimer: Option<String>,
    pub next_steps: Vec<String>,
    pub ecoa_statement: Option<String>,
}

/// Loan terms offered in a counteroffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedTerms {
    /// The amount as the notice states it ("$1,500").
    pub amount: String,
    pub term_months: u32,
    /// The offer as one sentence: "a loan of $1,500 repaid over 12 months".
    pub text: String,
    /// Whether a loan officer made it the decision (else it is offered with the automated one).
    pub decided_by_officer: bool,
}
