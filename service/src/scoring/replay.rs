//! Stored decisions read back for audit: a decision's record, its reproduction from the stored
//! inputs with the model and policy versions it names, and the check of the whole chain.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::alternatives::{alternatives, ALTERNATIVES_METHOD};
use super::pipeline::{decision_reasons, score_with};
use super::record::DecisionRecord;
use super::{chain, notice};
use crate::entity::decision;
use crate::error::{ServiceError, ServiceResult};
use crate::Services;

/// A stored decision recomputed from its stored inputs with the model version and policy
/// version it names: the notice built from the recomputation against the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct Reproduction {
    pub application_id: String,
    pub model: String,
    pub policy_version: String,
    pub stored_probability: f64,
    pub recomputed_probability: f64,
    /// The notices (of the automated decision) as JSON bytes.
    pub stored_notice: String,
    pub regenerated_notice: String,
    /// The counteroffer and recourse as JSON bytes: stored, and searched again ("null" for
    /// records written before they were searched).
    pub stored_alternatives: String,
    pub regenerated_alternatives: String,
    /// SHA-256 of the notice's PDF, rendered from each notice.
    pub stored_pdf_sha256: String,
    pub regenerated_pdf_sha256: String,
}

impl Reproduction {
    pub fn identical(&self) -> bool {
        self.stored_notice == self.regenerated_notice
            && self.stored_alternatives == self.regenerated_alternatives
            && self.stored_pdf_sha256 == self.regenerated_pdf_sha256
            && self.stored_probability.to_bits() == self.recomputed_probability.to_bits()
    }
}

/// The stored decision of `application_id`, visible to `api_client` only when one is given.
pub(crate) async fn decision_row<C: ConnectionTrait>(
    db: &C,
    application_id: &str,
    api_client: Option<&str>,
) -> ServiceResult<decision::Model> {
    let mut q = decision::Entity::find().filter(decision::Column::ApplicationId.eq(application_id));
    if let Some(client) = api_client {
        q = q.filter(decision::Column::ApiClient.eq(client));
    }
    q.one(db)
        .await?
        .ok_or(ServiceError::NotFound("application"))
}

fn json_text<T: serde::Serialize>(value: &T) -> ServiceResult<String> {
    serde_json::to_string(value).map_err(|e| ServiceError::Internal(e.to_string()))
}

impl Services {
    /// A stored decision's record (the hashed content), visible to the client that created it
    /// (`None` for staff, who see every application).
    pub async fn decision_record(
        &self,
        application_id: &str,
        api_client: Option<&str>,
    ) -> ServiceResult<DecisionRecord> {
        let row = decision_row(self.db(), application_id, api_client).await?;
        DecisionRecord::from_content(&row.content)
    }

    /// Recomputes a stored decision from its stored inputs, model version and policy version,
    /// and regenerates its notice from the recomputation (see [`Reproduction`]).
    pub async fn reproduce_decision(&self, application_id: &str) -> ServiceResult<Reproduction> {
        let row = decision_row(self.db(), application_id, None).await?;
        let record = DecisionRecord::from_content(&row.content)?;
        let stored = crate::registry::stored(&row.content)?;
        let policy = self.policy_version(&row.policy_version).await?;
        let model = self.load_model(row.model_id).await?;
        let (score, contributions, _) =
            score_with(&model, record.model.role, &stored.input, &policy)?;
        let reasons = decision_reasons(
            record.reasons_method.unwrap_or(1),
            &policy,
            &score.rule,
            model.bundle.schema(),
            &contributions,
            &stored.input,
        );
        // Alternatives are recomputed for records that have them (method 1 is the only one).
        let alternatives = match &record.alternatives {
            Some(a) if a.method == ALTERNATIVES_METHOD => {
                Some(alternatives(&model.bundle, &stored.input, &policy, score.decision)?.0)
            }
            Some(a) => {
                return Err(ServiceError::Internal(format!(
                    "decision {application_id}: counteroffer and recourse method {} is not \
                     known to this version",
                    a.method
                )))
            }
            None => None,
        };
        let recomputed = DecisionRecord {
            decision: score.decision,
            reasons,
            alternatives,
            ..record.clone()
        };
        let (stored_notice, regenerated_notice) = (
            notice::build(&record, None)?,
            notice::build(&recomputed, None)?,
        );
        let pdf_hash = |n: &notice::Notice| hex::encode(Sha256::digest(notice::notice_pdf(n)));
        Ok(Reproduction {
            application_id: application_id.to_owned(),
            model: format!("{} v{}", model.meta.name, model.meta.version),
            policy_version: policy.version.clone(),
            stored_probability: row.probability_of_default,
            recomputed_probability: score.probability_of_default,
            stored_pdf_sha256: pdf_hash(&stored_notice),
            regenerated_pdf_sha256: pdf_hash(&regenerated_notice),
            stored_notice: json_text(&stored_notice)?,
            regenerated_notice: json_text(&regenerated_notice)?,
            stored_alternatives: json_text(&record.alternatives)?,
            regenerated_alternatives: json_text(&recomputed.alternatives)?,
        })
    }

    /// Checks the whole decision chain.
    pub async fn verify_decisions(&self) -> ServiceResult<chain::ChainReport> {
        chain::verify(self.db()).await
    }
}
