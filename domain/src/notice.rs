//! The applicant-facing notice of a decision (shared by the API, the service and the page).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub application_id: String,
    pub decided_at: String,
    pub decision: crate::kinds::Decision,
    pub headline: String,
    /// Principal reasons, most important first (for declined applications).
    pub reasons: Vec<String>,
    pub next_steps: Vec<String>,
    pub ecoa_statement: Option<String>,
}
