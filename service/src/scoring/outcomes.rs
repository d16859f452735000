//! Observed outcomes of loans: recorded by the API client that asked for the decision (repaid
//! or defaulted, once), and shown with the application.

use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::{json, Value};

use crate::entity::outcome;
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::replay::decision_row;
use crate::Services;

impl Services {
    /// What an API client sees of an application: the scoring response and the outcome.
    pub async fn application_view(
        &self,
        application_id: &str,
        api_client: &str,
    ) -> ServiceResult<Value> {
        let record = self
            .decision_record(application_id, Some(api_client))
            .await?;
        let mut view = record.response;
        let outcome = outcome::Entity::find()
            .filter(outcome::Column::ApplicationId.eq(application_id))
            .one(self.db())
            .await?;
        if let Value::Object(map) = &mut view {
            map.insert(
                "outcome".into(),
                outcome.map_or(Value::Null, |o| {
                    json!({ "outcome": o.outcome, "observed_at": o.observed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
                }),
            );
        }
        Ok(view)
    }

    /// Records the observed outcome of a loan. Only an approved application is a loan: the
    /// officer's final decision where one was made, else the automated decision must be
    /// `approve`; anything else is refused (409, the reason named, nothing stored). Repeating
    /// the same outcome is harmless; a different outcome for the same application is a
    /// conflict.
    pub async fn record_outcome(
        &self,
        application_id: &str,
        api_client: &str,
        outcome_value: &str,
        observed_at: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<(bool, Value)> {
        if !matches!(outcome_value, "repaid" | "defaulted") {
            return Err(ServiceError::invalid(
                "outcome",
                "must be repaid or defaulted",
            ));
        }
        let row = decision_row(self.db(), application_id, Some(api_client)).await?;
        if observed_at > self.now() + chrono::Duration::minutes(5) {
            return Err(ServiceError::invalid("observed_at", "lies in the future"));
        }
        if observed_at < row.created_at {
            return Err(ServiceError::invalid(
                "observed_at",
                "is before the application was decided",
            ));
        }
        let view = |o: &outcome::Model| {
            json!({
                "application_id": o.application_id,
                "outcome": o.outcome,
                "observed_at": o.observed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "recorded_at": o.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        };
        let existing = outcome::Entity::find()
            .filter(outcome::Column::ApplicationId.eq(application_id))
            .one(self.db())
            .await?;
        if let Some(o) = existing {
            return same_or_conflict(&o, outcome_value).map(|()| (false, view(&o)));
        }
        // The outcome and its link in the outcomes' chain are written together, after the
        // case is locked (as an officer's action locks it) and found to be an approved loan:
        // a rejection recorded at the same moment is seen, and refuses the outcome.
        let inserted = async {
            let txn = self.db().begin().await?;
            let officer = crate::review::actions::locked_case(&txn, application_id)
                .await?
                .and_then(|c| c.final_decision);
            if let Some(why) = not_a_loan(&row.decision, officer.as_deref()) {
                return Err(ServiceError::Conflict(format!(
                    "outcomes are recorded for approved loans only: this application {why}; nothing was stored"
                )));
            }
            let o = outcome::ActiveModel {
                id: NotSet,
                application_id: Set(application_id.to_owned()),
                outcome: Set(outcome_value.to_owned()),
                observed_at: Set(observed_at),
                recorded_at: Set(self.now()),
                recorded_by: Set(format!("api_key:{api_client}")),
            }
            .insert(&txn)
            .await?;
            crate::audit::records::link(
                &txn,
                crate::audit::records::OUTCOMES_CHAIN,
                o.id,
                application_id,
                &crate::audit::records::outcome_content(&o),
                self.now(),
            )
            .await?;
            txn.commit().await?;
            Ok::<_, ServiceError>(o)
        }
        .await;
        match inserted {
            Ok(o) => Ok((true, view(&o))),
            Err(ServiceError::Database(e)) if ServiceError::is_unique_violation(&e) => {
                let o = outcome::Entity::find()
                    .filter(outcome::Column::ApplicationId.eq(application_id))
                    .one(self.db())
                    .await?
                    .ok_or(ServiceError::NotFound("outcome"))?;
                same_or_conflict(&o, outcome_value).map(|()| (false, view(&o)))
            }
            Err(e) => Err(e),
        }
    }
}

/// Why an application with this automated decision and officer decision (if any) is not a
/// loan, or `None` when it was approved.
fn not_a_loan(automated: &str, officer: Option<&str>) -> Option<String> {
    if crate::review::finals::final_approval(automated, officer) == Some(true) {
        return None;
    }
    match (officer, automated) {
        (Some(decided), _) => Some(format!("was decided by an officer: {decided}")),
        (None, "manual_review") => {
            Some("awaits an officer's review (recommended for manual review)".to_owned())
        }
        (None, other) => Some(format!("was not approved (decision: {other})")),
    }
}

fn same_or_conflict(existing: &outcome::Model, wanted: &str) -> ServiceResult<()> {
    if existing.outcome == wanted {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!(
            "the outcome of this application is already recorded as {}",
            existing.outcome
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::not_a_loan;

    #[test]
    fn only_approved_applications_are_loans() {
        assert_eq!(not_a_loan("approve", None), None);
        assert_eq!(not_a_loan("reject", Some("approve")), None);
        assert_eq!(not_a_loan("manual_review", Some("approve")), None);
        assert!(
            not_a_loan("approve", Some("reject")).is_some_and(|w| w.contains("officer: reject"))
        );
        assert!(not_a_loan("reject", None).is_some_and(|w| w.contains("decision: reject")));
        assert!(not_a_loan("manual_review", None).is_some_and(|w| w.contains("review")));
    }
}
