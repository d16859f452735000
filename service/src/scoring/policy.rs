//! The decision policy: versioned, stored with every decision.
//!
//! Order of rules: the kill switch sends everything to manual review; requests outside the
//! product (amount, term) are rejected; then the probability of default decides: below
//! `approve_below` approve, at or above `reject_from` reject, manual review in between.
//!
//! Versions are stored append-only; the latest one is in force.

use std::time::{Duration, Instant};

use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor};
use crate::entity::decision_policy;
use crate::error::{ServiceError, ServiceResult};
use crate::Services;

pub use lendscope_domain::Decision;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionPolicy {
    pub version: String,
    /// Approve when PD is below this.
    pub approve_below: f64,
    /// Reject when PD is at or above this.
    pub reject_from: f64,
    pub min_amount: f64,
    pub max_amount: f64,
    pub min_term_months: f64,
    pub max_term_months: f64,
    /// Send every application to manual review.
    pub kill_switch: bool,
}

impl Default for DecisionPolicy {
    fn default() -> Self {
        Self {
            version: "default-1".to_owned(),
            approve_below: 0.10,
            reject_from: 0.30,
            min_amount: 500.0,
            max_amount: 5000.0,
            min_term_months: 3.0,
            max_term_months: 36.0,
            kill_switch: false,
        }
    }
}

/// What the policy decided and which rule drove it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyOutcome {
    pub decision: Decision,
    /// `kill_switch`, `amount_out_of_range`, `term_out_of_range`, `pd_below_approve_threshold`,
    /// `pd_at_or_above_reject_threshold`, `pd_between_thresholds`.
    pub rule: String,
}

/// A reason that comes from a policy rule rather than from the model.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleReason {
    pub code: &'static str,
    pub text: String,
}

impl DecisionPolicy {
    pub fn validate(&self) -> ServiceResult<()> {
        let bad = |f: &str, m: &str| Err(ServiceError::invalid(f, m));
        if self.version.trim().is_empty() || self.version.len() > 64 {
            return bad("version", "must be 1 to 64 characters");
        }
        if !(0.0 < self.approve_below
            && self.approve_below <= self.reject_from
            && self.reject_from <= 1.0)
        {
            return bad(
                "approve_below",
                "thresholds must satisfy 0 < approve_below ≤ reject_from ≤ 1",
            );
        }
        if !(0.0 < self.min_amount
            && self.min_amount <= self.max_amount
            && self.max_amount.is_finite())
        {
            return bad("min_amount", "amount bounds must be positive and ordered");
        }
        if !(0.0 < self.min_term_months
            && self.min_term_months <= self.max_term_months
            && self.max_term_months.is_finite())
        {
            return bad(
                "min_term_months",
                "term bounds must be positive and ordered",
            );
        }
        Ok(())
    }

    /// Whether the product lends `amount` (the amount rule).
    pub fn amount_in_range(&self, amount: f64) -> bool {
        !(amount < self.min_amount || amount > self.max_amount)
    }

    /// Whether the product offers `term_months` (the term rule).
    pub fn term_in_range(&self, term_months: f64) -> bool {
        !(term_months < self.min_term_months || term_months > self.max_term_months)
    }

    /// Whether a probability of default is low enough to approve (the approval rule).
    pub fn approves_pd(&self, pd: f64) -> bool {
        pd < self.approve_below
    }

    pub fn decide(&self, pd: f64, amount: f64, term_months: f64) -> PolicyOutcome {
        let (decision, rule) = if self.kill_switch {
            (Decision::ManualReview, "kill_switch")
        } else if !self.amount_in_range(amount) {
            (Decision::Reject, "amount_out_of_range")
        } else if !self.term_in_range(term_months) {
            (Decision::Reject, "term_out_of_range")
        } else if self.approves_pd(pd) {
            (Decision::Approve, "pd_below_approve_threshold")
        } else if pd >= self.reject_from {
            (Decision::Reject, "pd_at_or_above_reject_threshold")
        } else {
            (Decision::ManualReview, "pd_between_thresholds")
        };
        PolicyOutcome {
            decision,
            rule: rule.to_owned(),
        }
    }

    /// The applicant-facing reason of a rule that decided without the model.
    pub fn rule_reason(&self, rule: &str) -> Option<RuleReason> {
        match rule {
            "amount_out_of_range" => Some(RuleReason {
                code: "P01",
                text: format!(
                    "The requested amount is outside the range we lend ({:.0} to {:.0})",
                    self.min_amount, self.max_amount
                ),
            }),
            "term_out_of_range" => Some(RuleReason {
                code: "P02",
                text: format!(
                    "The requested term is outside the terms we offer ({:.0} to {:.0} months)",
                    self.min_term_months, self.max_term_months
                ),
            }),
            _ => None,
        }
    }
}

/// How long the policy in force is cached.
const POLICY_TTL: Duration = Duration::from_secs(2);

impl Services {
    /// The decision policy in force (the latest version; the default is stored on first use).
    pub async fn current_policy(&self) -> ServiceResult<DecisionPolicy> {
        if let Some((at, p)) = self.policy_cache().read().ok().and_then(|c| c.clone()) {
            if at.elapsed() < POLICY_TTL {
                return Ok(p);
            }
        }
        let latest = decision_policy::Entity::find()
            .order_by_desc(decision_policy::Column::Id)
            .limit(1)
            .one(self.db())
            .await?;
        let policy = match latest {
            Some(row) => serde_json::from_str(&row.policy).map_err(|e| {
                ServiceError::Internal(format!("stored policy {}: {e}", row.version))
            })?,
            None => {
                let p = DecisionPolicy::default();
                match self.store_policy(&p, "system").await {
                    Ok(()) => p,
                    // Another request stored it first.
                    Err(ServiceError::Database(e)) if ServiceError::is_unique_violation(&e) => p,
                    Err(e) => return Err(e),
                }
            }
        };
        if let Ok(mut c) = self.policy_cache().write() {
            *c = Some((Instant::now(), policy.clone()));
        }
        Ok(policy)
    }

    async fn store_policy(&self, policy: &DecisionPolicy, by: &str) -> ServiceResult<()> {
        let text =
            serde_json::to_string(policy).map_err(|e| ServiceError::Internal(e.to_string()))?;
        decision_policy::ActiveModel {
            id: NotSet,
            version: Set(policy.version.clone()),
            policy: Set(text),
            created_at: Set(self.now()),
            created_by: Set(by.to_owned()),
        }
        .insert(self.db())
        .await?;
        Ok(())
    }

    /// A stored policy version.
    pub async fn policy_version(&self, version: &str) -> ServiceResult<DecisionPolicy> {
        let row = decision_policy::Entity::find()
            .filter(decision_policy::Column::Version.eq(version))
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("policy version"))?;
        serde_json::from_str(&row.policy)
            .map_err(|e| ServiceError::Internal(format!("stored policy {}: {e}", row.version)))
    }

    /// Puts a new policy version in force.
    pub async fn set_policy(&self, policy: DecisionPolicy, actor: Actor) -> ServiceResult<()> {
        policy.validate()?;
        match self
            .store_policy(&policy, &audit::actor_label(&actor))
            .await
        {
            Err(ServiceError::Database(e)) if ServiceError::is_unique_violation(&e) => {
                return Err(ServiceError::Conflict(format!(
                    "policy version '{}' exists already",
                    policy.version
                )))
            }
            other => other?,
        }
        self.audit(
            &crate::RequestMeta::default(),
            audit::AuditEvent::new(actor, "policy.set", audit::Outcome::Success)
                .target(policy.version.clone())
                .detail(serde_json::to_value(&policy).unwrap_or_default()),
        )
        .await?;
        if let Ok(mut c) = self.policy_cache().write() {
            *c = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_in_order() {
        let mut p = DecisionPolicy::default();
        assert_eq!(p.decide(0.05, 1000.0, 12.0).decision, Decision::Approve);
        assert_eq!(
            p.decide(0.20, 1000.0, 12.0).decision,
            Decision::ManualReview
        );
        assert_eq!(p.decide(0.30, 1000.0, 12.0).decision, Decision::Reject);
        assert_eq!(p.decide(0.01, 9000.0, 12.0).rule, "amount_out_of_range");
        assert_eq!(p.decide(0.01, 1000.0, 48.0).rule, "term_out_of_range");
        p.kill_switch = true;
        assert_eq!(
            p.decide(0.01, 9000.0, 12.0),
            PolicyOutcome {
                decision: Decision::ManualReview,
                rule: "kill_switch".into()
            }
        );
    }

    #[test]
    fn inconsistent_policies_are_refused() {
        let p = DecisionPolicy {
            approve_below: 0.5,
            reject_from: 0.2,
            ..DecisionPolicy::default()
        };
        assert!(p.validate().is_err());
        assert!(DecisionPolicy::default().validate().is_ok());
    }
}
