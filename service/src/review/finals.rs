//! Final decisions: what an applicant was actually told. An officer's decision where one was
//! made; else the automated decision when it decides (approve or reject); none while a
//! recommended manual review awaits an officer. Fairness monitoring and the promotion gate
//! show these beside the recommendations; outcomes exist only for final approvals.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::case;
use crate::error::ServiceResult;
use crate::Services;

/// Whether the final decision approved (`Some(true)`), declined (`Some(false)`) or is not
/// made yet (`None`), from the automated decision and the officer's decision, if any.
pub fn final_approval(automated: &str, officer: Option<&str>) -> Option<bool> {
    match officer.unwrap_or(automated) {
        // A counteroffer lends on the offered terms.
        "approve" | "counteroffer" => Some(true),
        "reject" => Some(false),
        _ => None,
    }
}

impl Services {
    /// Final approvals of the decisions with chain positions `from..=to`, by position
    /// (decisions still awaiting an officer are absent).
    pub(crate) async fn final_approvals(
        &self,
        from: i64,
        to: i64,
    ) -> ServiceResult<HashMap<i64, bool>> {
        let rows: Vec<(i64, String, Option<String>)> = case::Entity::find()
            .select_only()
            .columns([
                case::Column::Seq,
                case::Column::Recommended,
                case::Column::FinalDecision,
            ])
            .filter(case::Column::Seq.between(from, to))
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(seq, automated, officer)| {
                final_approval(&automated, officer.as_deref()).map(|a| (seq, a))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::final_approval;

    #[test]
    fn the_officer_decides_over_the_recommendation() {
        assert_eq!(final_approval("approve", None), Some(true));
        assert_eq!(final_approval("reject", None), Some(false));
        assert_eq!(final_approval("manual_review", None), None);
        assert_eq!(final_approval("manual_review", Some("approve")), Some(true));
        assert_eq!(final_approval("approve", Some("reject")), Some(false));
        assert_eq!(final_approval("reject", Some("approve")), Some(true));
        assert_eq!(final_approval("reject", Some("counteroffer")), Some(true));
    }
}
