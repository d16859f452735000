//! Stored decisions read back for audit: a decision's record, its reproduction from the stored
//! inputs with the model and policy versions it names, and the check of the whole chain.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

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
}

impl Reproduction {
    pub fn identical(&self) -> bool {
        self.stored_notice == self.regenerated_notice
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
        let recomputed = DecisionRecord {
            decision: score.decision,
            reasons,
            ..record.clone()
        };
        let bytes = |r: &DecisionRecord| -> ServiceResult<String> {
            serde_json::to_string(&notice::build(r, None)?)
                .map_err(|e| ServiceError::Internal(e.to_string()))
        };
        Ok(Reproduction {
            application_id: application_id.to_owned(),
            model: format!("{} v{}", model.meta.name, model.meta.version),
            policy_version: policy.version.clone(),
            stored_probability: row.probability_of_default,
            recomputed_probability: score.probability_of_default,
            stored_notice: bytes(&record)?,
            regenerated_notice: bytes(&recomputed)?,
        })
    }

    /// Checks the whole decision chain.
    pub async fn verify_decisions(&self) -> ServiceResult<chain::ChainReport> {
        chain::verify(self.db()).await
    }
}
