//! The stored applications the registry evaluates versions on. Every decision keeps its
//! validated input, so any version can be re-scored on the same applications: the newest
//! decisions, and the decided applications whose outcome is known (for comparisons, realized
//! performance and retraining).

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{decision, outcome};
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::request::{self, ApplicationInput};
use crate::scoring::DecisionRecord;
use crate::Services;
use lendscope_domain::Decision;

pub(super) fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// A stored application, re-read for evaluation.
pub(crate) struct Stored {
    pub(crate) input: ApplicationInput,
    pub(crate) served_model: Option<i64>,
    pub(crate) served_pd: Option<f64>,
    pub(crate) served_decision: Option<Decision>,
    pub(crate) shadow_model: Option<i64>,
    pub(crate) shadow_pd: Option<f64>,
    pub(crate) shadow_decision: Option<Decision>,
    /// The final decision approved it (officer or automated); `None` when not known or not
    /// made yet (filled in by [`Services::recent`]).
    pub(crate) final_approved: Option<bool>,
}

pub(crate) fn stored(content: &str) -> ServiceResult<Stored> {
    let record = DecisionRecord::from_content(content)?;
    let body = serde_json::to_vec(&record.input).map_err(internal)?;
    let input = request::parse(&body)
        .map_err(|e| ServiceError::Internal(format!("a stored input does not parse: {e}")))?;
    let shadow = record.shadow.as_ref();
    Ok(Stored {
        input,
        served_model: Some(record.served.model.id),
        served_pd: Some(record.served.probability_of_default),
        served_decision: Some(record.served.decision),
        shadow_model: shadow.map(|s| s.model.id),
        shadow_pd: shadow.map(|s| s.probability_of_default),
        shadow_decision: shadow.map(|s| s.decision),
        final_approved: None,
    })
}

impl Services {
    /// Labelled decisions (newest outcomes first, at most `limit`): inputs and whether the
    /// applicant defaulted.
    pub(super) async fn labelled(&self, limit: u64) -> ServiceResult<Vec<(Stored, bool)>> {
        let outcomes = outcome::Entity::find()
            .order_by_desc(outcome::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        let ids: Vec<String> = outcomes.iter().map(|o| o.application_id.clone()).collect();
        let mut contents: HashMap<String, String> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = decision::Entity::find()
                .select_only()
                .columns([decision::Column::ApplicationId, decision::Column::Content])
                .filter(decision::Column::ApplicationId.is_in(chunk.to_vec()))
                .into_tuple::<(String, String)>()
                .all(self.db())
                .await?;
            contents.extend(rows);
        }
        // In the outcomes' order (newest first), so that bootstrap intervals and retraining
        // data are the same for the same data.
        outcomes
            .iter()
            .filter_map(|o| {
                contents
                    .remove(&o.application_id)
                    .map(|c| (c, o.outcome == "defaulted"))
            })
            .map(|(c, defaulted)| Ok((stored(&c)?, defaulted)))
            .collect()
    }

    #[cfg(feature = "train")]
    /// Inputs of labelled decisions and whether each applicant defaulted (for retraining).
    pub(crate) async fn labelled_inputs(
        &self,
        limit: u64,
    ) -> ServiceResult<Vec<(ApplicationInput, bool)>> {
        Ok(self
            .labelled(limit)
            .await?
            .into_iter()
            .map(|(s, l)| (s.input, l))
            .collect())
    }

    /// The newest `limit` decisions' stored applications, with their final decisions.
    pub(super) async fn recent(&self, limit: u64) -> ServiceResult<Vec<Stored>> {
        let rows: Vec<(i64, String)> = decision::Entity::find()
            .select_only()
            .columns([decision::Column::Seq, decision::Column::Content])
            .order_by_desc(decision::Column::Seq)
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await?;
        let (from, to) = (
            rows.last().map_or(0, |r| r.0),
            rows.first().map_or(0, |r| r.0),
        );
        let finals = self.final_approvals(from, to).await?;
        rows.iter()
            .map(|(seq, c)| {
                let mut s = stored(c)?;
                s.final_approved = finals.get(seq).copied();
                Ok(s)
            })
            .collect()
    }
}
