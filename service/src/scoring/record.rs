//! The decision record: everything one decision was made from and said, as it is stored,
//! hashed and chained. The writer writes it ([`DecisionRecord::chained_content`]); `audit
//! verify` checks its indexed columns against it, `audit reproduce` recomputes it, and the
//! notice, the case file and the compliance trace are built from it
//! ([`DecisionRecord::from_content`]).
//!
//! The stored text is this struct turned into a JSON value (keys sorted, as `serde_json`'s map
//! keeps them) with the chain sequence number added: the bytes of every record written since
//! the first release are reproduced exactly, which the fixture test
//! (`server/tests/integration/fixture_chain.rs`) checks against a chain written before this
//! type existed. Field names and spellings are therefore part of the format: never rename one.

use lendscope_domain::{Decision, ModelRole};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::alternatives::Alternatives;
use super::policy::DecisionPolicy;
use super::reasons::Reason;
use super::request::Protected;
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub application_id: String,
    /// The unguessable token of the applicant's notice link.
    pub notice_token: String,
    /// When it was decided, RFC 3339 with microseconds (UTC).
    pub created_at: String,
    pub api_client: String,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request body as received.
    pub request_hash: String,
    pub applicant_id: String,
    /// The validated request body, normalised. Re-scoring parses it again with
    /// [`super::request::parse`], the same validation the API applies.
    pub input: Value,
    /// Protected attributes: never model inputs, kept for fairness monitoring.
    pub protected: Protected,
    /// The serving model's encoded feature vector (`None` for a missing value).
    pub features: Vec<Option<f32>>,
    /// The model that decided.
    pub model: ModelInfo,
    pub probability_of_default: f64,
    /// The automated recommendation.
    pub decision: Decision,
    /// The policy version in force, in full.
    pub policy: DecisionPolicy,
    /// The serving model's output and explanation.
    pub served: ModelScore,
    /// The other model's output, scored in the shadow.
    pub shadow: Option<ModelScore>,
    /// Why the shadow model gave no output, when it failed (the live decision stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_error: Option<String>,
    /// The principal reasons, as the notice states them.
    pub reasons: Vec<Reason>,
    /// How they were chosen ([`super::reasons::REASONS_METHOD`]); absent: method 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons_method: Option<u32>,
    /// The counteroffer and recourse offered with it (absent in records written before they
    /// were searched; see [`super::alternatives`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Alternatives>,
    /// The API response as it was sent (replayed for a repeated Idempotency-Key).
    pub response: Value,
    /// Its place in the chain; set by the writer when it is chained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

/// One model's view of an application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelScore {
    pub model: ModelInfo,
    pub probability_of_default: f64,
    pub score: i64,
    pub risk_band: String,
    pub decision: Decision,
    pub rule: String,
    pub explanation: ExplanationJson,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: i64,
    pub name: String,
    pub version: i32,
    pub role: ModelRole,
    /// SHA-256 of the artifact that scored (model JSON, then schema JSON), as registered.
    /// Absent in records written before artifacts were anchored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// SHAP values in log-odds: `base_value + Σ contributions = margin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplanationJson {
    pub base_value: f64,
    pub contributions: Map<String, Value>,
    pub margin: f64,
}

impl DecisionRecord {
    /// Reads a stored record.
    pub fn from_content(content: &str) -> ServiceResult<Self> {
        serde_json::from_str(content)
            .map_err(|e| ServiceError::Internal(format!("stored decision: {e}")))
    }

    /// The text stored and hashed for this record as link `seq` of the chain.
    pub fn chained_content(&self, seq: i64) -> ServiceResult<String> {
        // Through a `Value`, whose map keeps keys sorted: the stored format.
        let mut value = serde_json::to_value(self)
            .map_err(|e| ServiceError::Internal(format!("decision record: {e}")))?;
        if let Value::Object(map) = &mut value {
            map.insert("seq".to_owned(), Value::from(seq));
        }
        Ok(value.to_string())
    }

    /// The texts of the principal reasons, as the applicant reads them.
    pub fn reason_texts(&self) -> Vec<String> {
        self.reasons.iter().map(|r| r.text.clone()).collect()
    }
}
