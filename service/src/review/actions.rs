//! Officer actions on a case: claims, so that two officers do not work the same case, and
//! final decisions — each an append-only, versioned action (optimistic concurrency: an action
//! names the version it was based on, and only one action can take each version).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde_json::json;

use lendscope_domain::review::{
    OfficerRow, ReasonChoice, StatedReason, MAX_STATED_REASONS, OFFICER_REASONS,
};
use lendscope_domain::{CaseState, Decision};

use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::{case, review_action};
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::replay::decision_row;
use crate::scoring::DecisionRecord;
use crate::{RequestMeta, Services};

pub use lendscope_domain::ReviewAction;

/// Reads an officer action from a form or API field named `action`.
/// Reads an application's case inside `txn` after locking it: a no-op write first takes
/// SQLite's write lock at once (a read first could deadlock with another writing transaction)
/// and locks the row on PostgreSQL. Officer actions and outcomes both lock this way, so each
/// sees the other's committed change.
pub(crate) async fn locked_case(
    txn: &sea_orm::DatabaseTransaction,
    application_id: &str,
) -> ServiceResult<Option<case::Model>> {
    case::Entity::update_many()
        .col_expr(
            case::Column::Version,
            Expr::col(case::Column::Version).into(),
        )
        .filter(case::Column::ApplicationId.eq(application_id))
        .exec(txn)
        .await?;
    Ok(case::Entity::find_by_id(application_id.to_owned())
        .one(txn)
        .await?)
}

/// Whether `action` against the stored recommendation `recommended` overrides the model.
pub(crate) fn overrides(action: ReviewAction, recommended: &str) -> bool {
    Decision::parse(recommended).is_some_and(|d| action.overrides(d))
}

/// The reasons an officer can give for rejecting an application whose automated decision
/// stated `model_reasons`: those first, then the officer catalog.
pub fn reason_choices(model_reasons: &[crate::scoring::reasons::Reason]) -> Vec<ReasonChoice> {
    model_reasons
        .iter()
        .map(|r| ReasonChoice {
            code: r.code.clone(),
            text: r.text.clone(),
            from_model: true,
        })
        .chain(OFFICER_REASONS.iter().map(|(code, text)| ReasonChoice {
            code: (*code).to_owned(),
            text: (*text).to_owned(),
            from_model: false,
        }))
        .collect()
}

/// Reads an officer's reasons for a rejection: 1 to 4 distinct codes, each one of `choices`.
pub fn stated_reasons(
    codes: &[String],
    choices: &[ReasonChoice],
) -> ServiceResult<Vec<StatedReason>> {
    let codes: Vec<&str> = codes
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    if codes.is_empty() || codes.len() > MAX_STATED_REASONS {
        return Err(ServiceError::invalid(
            "reasons",
            format!("a rejection states 1 to {MAX_STATED_REASONS} principal reasons"),
        ));
    }
    let mut out: Vec<StatedReason> = Vec::with_capacity(codes.len());
    for code in codes {
        let Some(choice) = choices.iter().find(|c| c.code == code) else {
            return Err(ServiceError::invalid(
                "reasons",
                format!("'{code}' is not a reason for this application"),
            ));
        };
        if out.iter().any(|s| s.code == code) {
            return Err(ServiceError::invalid(
                "reasons",
                format!("'{code}' is given twice"),
            ));
        }
        out.push(StatedReason {
            code: choice.code.clone(),
            text: choice.text.clone(),
        });
    }
    Ok(out)
}

/// The reasons a counteroffer states: those of the automated decision, for the request as
/// made (12 CFR 1002.9(a)(1)(iv)). Refused when the decision has no counteroffer.
async fn counteroffer_reasons<C: sea_orm::ConnectionTrait>(
    db: &C,
    application_id: &str,
) -> ServiceResult<Vec<StatedReason>> {
    let row = decision_row(db, application_id, None).await?;
    let record = DecisionRecord::from_content(&row.content)?;
    if record
        .alternatives
        .as_ref()
        .and_then(|a| a.counteroffer.as_ref())
        .is_none()
    {
        return Err(ServiceError::invalid(
            "action",
            "this application has no counteroffer to make",
        ));
    }
    // A counteroffer is adverse action on the request as made: its notice needs reasons.
    if record.reasons.is_empty() {
        return Err(ServiceError::invalid(
            "action",
            "the automated decision states no principal reasons for declining the request as \
             made; reject with your own reasons, or approve",
        ));
    }
    Ok(record
        .reasons
        .iter()
        .map(|r| StatedReason {
            code: r.code.clone(),
            text: r.text.clone(),
        })
        .collect())
}

impl Services {
    /// An officer's reasons for rejecting `application_id` (see [`stated_reasons`]): the
    /// choices are the reasons its automated decision stated, then the officer catalog.
    async fn officer_reasons<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        application_id: &str,
        codes: &[String],
    ) -> ServiceResult<Vec<StatedReason>> {
        let row = decision_row(db, application_id, None).await?;
        let record = DecisionRecord::from_content(&row.content)?;
        stated_reasons(codes, &reason_choices(&record.reasons))
    }

    /// Every action on a case, oldest first.
    pub async fn case_history(
        &self,
        application_id: &str,
    ) -> ServiceResult<Vec<review_action::Model>> {
        Ok(review_action::Entity::find()
            .filter(review_action::Column::ApplicationId.eq(application_id))
            .order_by_asc(review_action::Column::Version)
            .all(self.db())
            .await?)
    }

    /// Applies an officer action based on the case version the officer saw. Returns the new
    /// version. A stale version, another officer's claim, a decided case, a missing note on
    /// an override or a `shown` token that is not this application's are refused and nothing
    /// is recorded. `shown` is the token of the case page (the decision's chain hash): with
    /// it, the model output the officer had on screen is recorded with the action.
    #[allow(clippy::too_many_arguments)]
    pub async fn review(
        &self,
        application_id: &str,
        officer: &str,
        action: ReviewAction,
        expected_version: i32,
        note: Option<&str>,
        shown: Option<&str>,
        reasons: &[String],
        meta: &RequestMeta,
    ) -> ServiceResult<i32> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 2000) {
            return Err(ServiceError::invalid(
                "note",
                "must be at most 2000 characters",
            ));
        }
        let txn = self.db().begin().await?;
        let current = locked_case(&txn, application_id)
            .await?
            .ok_or(ServiceError::NotFound("application"))?;
        if current.version != expected_version {
            return Err(ServiceError::Conflict(format!(
                "this case changed while you were looking at it (now at step {}); reload it",
                current.version
            )));
        }
        if current.state != CaseState::Open.as_str() {
            return Err(ServiceError::Conflict(format!(
                "this case was already decided ({})",
                current.final_decision.as_deref().unwrap_or("?")
            )));
        }
        if action == ReviewAction::Reject
            && crate::entity::outcome::Entity::find()
                .filter(crate::entity::outcome::Column::ApplicationId.eq(application_id))
                .one(&txn)
                .await?
                .is_some()
        {
            return Err(ServiceError::Conflict(
                "this loan has an observed outcome: it was disbursed and cannot be rejected now"
                    .into(),
            ));
        }
        let model_shown = self.model_shown(&txn, application_id, shown).await?;
        let claimed_by_other = current.claimed_by.as_deref().is_some_and(|c| c != officer);
        match action {
            ReviewAction::Release if current.claimed_by.as_deref() != Some(officer) => {
                return Err(ServiceError::Conflict("you do not hold this case".into()))
            }
            _ if claimed_by_other => {
                return Err(ServiceError::Conflict(format!(
                    "{} is working on this case",
                    current.claimed_by.as_deref().unwrap_or("another officer")
                )))
            }
            a if overrides(a, &current.recommended) && note.is_none() => {
                return Err(ServiceError::invalid(
                    "note",
                    "a note is required when the decision differs from the recommendation",
                ))
            }
            _ => {}
        }
        let stated = match action {
            ReviewAction::Reject => {
                Some(self.officer_reasons(&txn, application_id, reasons).await?)
            }
            ReviewAction::Counteroffer => Some(counteroffer_reasons(&txn, application_id).await?),
            _ => None,
        };
        let now = self.now();
        let version = expected_version + 1;
        let written = review_action::ActiveModel {
            id: NotSet,
            application_id: Set(application_id.to_owned()),
            version: Set(version),
            action: Set(action.as_str().to_owned()),
            officer: Set(officer.to_owned()),
            note: Set(note.map(str::to_owned)),
            recommended: Set(current.recommended.clone()),
            model_shown: Set(model_shown),
            created_at: Set(now),
            reasons: Set(stated
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| ServiceError::Internal(format!("officer reasons: {e}")))?),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if ServiceError::is_unique_violation(&e) {
                ServiceError::Conflict(
                    "another action was recorded on this case at the same moment; reload it".into(),
                )
            } else {
                e.into()
            }
        })?;
        crate::audit::records::link(
            &txn,
            crate::audit::records::REVIEW_ACTIONS_CHAIN,
            written.id,
            application_id,
            &crate::audit::records::action_content(&written),
            now,
        )
        .await?;
        let mut next: case::ActiveModel = current.clone().into();
        next.version = Set(version);
        match action {
            ReviewAction::Claim => {
                next.claimed_by = Set(Some(officer.to_owned()));
                next.claimed_at = Set(Some(now));
            }
            ReviewAction::Release => {
                next.claimed_by = Set(None);
                next.claimed_at = Set(None);
            }
            ReviewAction::Escalate => {
                next.priority = Set(0);
                next.claimed_by = Set(None);
                next.claimed_at = Set(None);
            }
            ReviewAction::Approve | ReviewAction::Reject | ReviewAction::Counteroffer => {
                next.state = Set(CaseState::Decided.as_str().to_owned());
                next.final_decision = Set(Some(action.as_str().to_owned()));
                next.decided_by = Set(Some(officer.to_owned()));
                next.decided_at = Set(Some(now));
                next.claimed_by = Set(None);
                next.claimed_at = Set(None);
            }
        }
        let updated = case::Entity::update_many()
            .set(next)
            .filter(case::Column::ApplicationId.eq(application_id))
            .filter(case::Column::Version.eq(expected_version))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(ServiceError::Conflict(
                "this case changed at the same moment; reload it".into(),
            ));
        }
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(Actor::User(officer.to_owned()), "review", Outcome::Success)
                .target(application_id.to_owned())
                .detail(json!({
                    "action": action.as_str(),
                    "recommended": current.recommended,
                    "override": overrides(action, &current.recommended),
                    "reasons": stated.as_ref().map(|s| s.iter().map(|r| r.code.as_str()).collect::<Vec<_>>()),
                    "version": version,
                })),
        )
        .await?;
        txn.commit().await?;
        use super::counts::CountChange;
        let was_claimed = current.claimed_by.is_some();
        let change = match action {
            ReviewAction::Claim => Some(CountChange::Claimed),
            ReviewAction::Release => Some(CountChange::Released),
            ReviewAction::Escalate => was_claimed.then_some(CountChange::Released),
            ReviewAction::Approve | ReviewAction::Reject | ReviewAction::Counteroffer => {
                Decision::parse(&current.recommended).map(|recommended| CountChange::Decided {
                    recommended,
                    was_claimed,
                })
            }
        };
        if let Some(change) = change {
            self.counts_cache().apply(change);
        }
        Ok(version)
    }

    /// Final decisions per officer, overrides and how many were taken with the model shown.
    pub async fn officer_stats(&self) -> ServiceResult<Vec<OfficerRow>> {
        let rows = review_action::Entity::find()
            .filter(review_action::Column::Action.is_in([
                ReviewAction::Approve.as_str(),
                ReviewAction::Reject.as_str(),
                ReviewAction::Counteroffer.as_str(),
            ]))
            .order_by_asc(review_action::Column::Officer)
            .all(self.db())
            .await?;
        let mut out: Vec<OfficerRow> = Vec::new();
        for r in rows {
            if out.last().is_none_or(|s| s.officer != r.officer) {
                out.push(OfficerRow {
                    officer: r.officer.clone(),
                    decisions: 0,
                    approvals: 0,
                    rejections: 0,
                    counteroffers: 0,
                    overrides: 0,
                    aided: 0,
                });
            }
            let Some(s) = out.last_mut() else { continue };
            s.decisions += 1;
            s.approvals += u64::from(r.action == ReviewAction::Approve.as_str());
            s.rejections += u64::from(r.action == ReviewAction::Reject.as_str());
            s.counteroffers += u64::from(r.action == ReviewAction::Counteroffer.as_str());
            s.overrides += u64::from(
                ReviewAction::parse(&r.action).is_some_and(|a| overrides(a, &r.recommended)),
            );
            s.aided += u64::from(r.model_shown.is_some());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_states_one_to_four_distinct_reasons_of_its_choices() {
        let model = vec![crate::scoring::reasons::Reason {
            code: "R12".into(),
            feature: "late_payments_12m".into(),
            text: "4 late payments in the last 12 months".into(),
            contribution: 0.3,
        }];
        let choices = reason_choices(&model);
        assert!(choices[0].from_model && choices[0].code == "R12");
        assert_eq!(choices.len(), 1 + OFFICER_REASONS.len());
        let codes = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let stated = stated_reasons(&codes(&["O01", "R12"]), &choices).unwrap();
        assert_eq!(
            stated.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
            [
                "Unable to verify income",
                "4 late payments in the last 12 months"
            ]
        );
        for bad in [
            codes(&[]),
            codes(&["", " "]),
            codes(&["O01", "O02", "O03", "O04", "O05"]),
            codes(&["R13"]),
            codes(&["O01", "O01"]),
        ] {
            let err = stated_reasons(&bad, &choices).unwrap_err();
            assert!(
                matches!(err, ServiceError::Invalid(ref f) if f.field == "reasons"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn overrides_are_decisions_against_the_stored_recommendation() {
        assert!(overrides(ReviewAction::Approve, "reject"));
        assert!(overrides(ReviewAction::Reject, "approve"));
        assert!(!overrides(ReviewAction::Approve, "approve"));
        assert!(!overrides(ReviewAction::Reject, "manual_review"));
        assert!(!overrides(ReviewAction::Escalate, "approve"));
        assert!(!overrides(ReviewAction::Approve, "unknown"));
        assert!(ReviewAction::parse("delete").is_none());
        assert_eq!(
            ReviewAction::parse("escalate"),
            Some(ReviewAction::Escalate)
        );
    }
}
