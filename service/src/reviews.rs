//! Officer review: the queue of applications awaiting a person, claims so that two officers do
//! not work the same case, and final decisions — each an append-only, versioned action
//! (optimistic concurrency: an action names the version it was based on, and only one action
//! can take each version).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use lendscope_domain::review::OfficerRow;

use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::{case, review_action};
use crate::error::{ServiceError, ServiceResult};
use crate::{RequestMeta, Services};

/// What an officer does with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    Claim,
    Release,
    Approve,
    Reject,
    /// Send to manual review: joins the manual-review cases at the front of the queue; claim released.
    Escalate,
}

impl ReviewAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Claim => "claim",
            ReviewAction::Release => "release",
            ReviewAction::Approve => "approve",
            ReviewAction::Reject => "reject",
            ReviewAction::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> ServiceResult<Self> {
        Ok(match s {
            "claim" => ReviewAction::Claim,
            "release" => ReviewAction::Release,
            "approve" => ReviewAction::Approve,
            "reject" => ReviewAction::Reject,
            "escalate" => ReviewAction::Escalate,
            other => {
                return Err(ServiceError::invalid(
                    "action",
                    format!("'{other}' is not an action"),
                ))
            }
        })
    }

    /// Whether taking this action against `recommended` overrides the model.
    pub fn overrides(self, recommended: &str) -> bool {
        matches!(
            (self, recommended),
            (ReviewAction::Approve, "reject") | (ReviewAction::Reject, "approve")
        )
    }
}

/// Filters of the review queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFilter {
    pub recommended: Option<String>,
    pub risk_band: Option<String>,
    pub role: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub min_amount: Option<f64>,
    pub max_amount: Option<f64>,
}

impl QueueFilter {
    /// Parses the filters as a page's query string gives them (empty means no filter):
    /// dates as `YYYY-MM-DD` (the `to` day included), amounts as numbers.
    pub fn parse(
        recommended: Option<&str>,
        risk_band: Option<&str>,
        role: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        min_amount: Option<&str>,
        max_amount: Option<&str>,
    ) -> ServiceResult<Self> {
        use lendscope_domain::review::{DECISIONS, MODEL_ROLES, RISK_BANDS};
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        fn one_of(field: &str, v: Option<&str>, allowed: &[&str]) -> ServiceResult<Option<String>> {
            match given(v) {
                None => Ok(None),
                Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
                Some(v) => Err(ServiceError::invalid(
                    field,
                    format!("'{v}' is not one of {}", allowed.join(", ")),
                )),
            }
        }
        fn day(field: &str, v: Option<&str>, next: bool) -> ServiceResult<Option<DateTime<Utc>>> {
            let Some(v) = given(v) else { return Ok(None) };
            let date = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ServiceError::invalid(field, "must be a date (YYYY-MM-DD)"))?;
            let date = if next {
                date.succ_opt().unwrap_or(date)
            } else {
                date
            };
            Ok(date.and_hms_opt(0, 0, 0).map(|d| d.and_utc()))
        }
        fn amount(field: &str, v: Option<&str>) -> ServiceResult<Option<f64>> {
            let Some(v) = given(v) else { return Ok(None) };
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(Some)
                .ok_or_else(|| ServiceError::invalid(field, "must be a non-negative number"))
        }
        let filter = QueueFilter {
            recommended: one_of("recommended", recommended, &DECISIONS)?,
            risk_band: one_of("band", risk_band, &RISK_BANDS)?,
            role: one_of("role", role, &MODEL_ROLES)?,
            from: day("from", from, false)?,
            to: day("to", to, true)?,
            min_amount: amount("min", min_amount)?,
            max_amount: amount("max", max_amount)?,
        };
        if let (Some(a), Some(b)) = (filter.from, filter.to) {
            if a >= b {
                return Err(ServiceError::invalid(
                    "to",
                    "must not be before the start date",
                ));
            }
        }
        if let (Some(a), Some(b)) = (filter.min_amount, filter.max_amount) {
            if a > b {
                return Err(ServiceError::invalid(
                    "max",
                    "must not be below the minimum",
                ));
            }
        }
        Ok(filter)
    }
}

/// One row of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub application_id: String,
    pub created_at: DateTime<Utc>,
    pub recommended: String,
    pub risk_band: String,
    pub role: String,
    pub model_version: i32,
    pub amount: f64,
    pub probability_of_default: f64,
    pub claimed_by: Option<String>,
    pub version: i32,
    pub state: String,
    pub final_decision: Option<String>,
}

impl From<case::Model> for CaseSummary {
    fn from(c: case::Model) -> Self {
        Self {
            application_id: c.application_id,
            created_at: c.created_at,
            recommended: c.recommended,
            risk_band: c.risk_band,
            role: c.role,
            model_version: c.model_version,
            amount: c.amount,
            probability_of_default: c.probability_of_default,
            claimed_by: c.claimed_by,
            version: c.version,
            state: c.state,
            final_decision: c.final_decision,
        }
    }
}

/// A page of the queue: manual review first, then oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuePage {
    pub items: Vec<CaseSummary>,
    /// Cursor of the next page, when there is one.
    pub next: Option<String>,
}

fn cursor(c: &case::Model) -> String {
    format!("{}.{}", c.priority, c.seq)
}

fn parse_cursor(s: &str) -> ServiceResult<(i32, i64)> {
    let bad = || ServiceError::invalid("after", "is not a queue cursor");
    let (p, seq) = s.split_once('.').ok_or_else(bad)?;
    Ok((
        p.parse().map_err(|_| bad())?,
        seq.parse().map_err(|_| bad())?,
    ))
}

impl Services {
    /// A page of open cases (keyset pagination: stable and fast however deep).
    pub async fn review_queue(
        &self,
        filter: &QueueFilter,
        after: Option<&str>,
        limit: u64,
    ) -> ServiceResult<QueuePage> {
        let mut q = case::Entity::find().filter(case::Column::State.eq("open"));
        if let Some(v) = filter.recommended.as_deref().filter(|v| !v.is_empty()) {
            q = q.filter(case::Column::Recommended.eq(v));
        }
        if let Some(v) = filter.risk_band.as_deref().filter(|v| !v.is_empty()) {
            q = q.filter(case::Column::RiskBand.eq(v));
        }
        if let Some(v) = filter.role.as_deref().filter(|v| !v.is_empty()) {
            q = q.filter(case::Column::Role.eq(v));
        }
        if let Some(v) = filter.from {
            q = q.filter(case::Column::CreatedAt.gte(v));
        }
        if let Some(v) = filter.to {
            q = q.filter(case::Column::CreatedAt.lt(v));
        }
        if let Some(v) = filter.min_amount {
            q = q.filter(case::Column::Amount.gte(v));
        }
        if let Some(v) = filter.max_amount {
            q = q.filter(case::Column::Amount.lte(v));
        }
        if let Some(after) = after {
            let (p, seq) = parse_cursor(after)?;
            // A row-value comparison, which the (state, priority, seq) index serves directly.
            q = q.filter(
                Expr::tuple([
                    Expr::col(case::Column::Priority).into(),
                    Expr::col(case::Column::Seq).into(),
                ])
                .gt(Expr::tuple([Expr::value(p), Expr::value(seq)])),
            );
        }
        let limit = limit.clamp(1, 200);
        let mut rows = q
            .order_by_asc(case::Column::Priority)
            .order_by_asc(case::Column::Seq)
            .limit(limit + 1)
            .all(self.db())
            .await?;
        let next = (rows.len() as u64 > limit).then(|| {
            rows.truncate(limit as usize);
            rows.last().map(cursor)
        });
        Ok(QueuePage {
            items: rows.into_iter().map(CaseSummary::from).collect(),
            next: next.flatten(),
        })
    }

    pub async fn case_summary(&self, application_id: &str) -> ServiceResult<CaseSummary> {
        case::Entity::find_by_id(application_id.to_owned())
            .one(self.db())
            .await?
            .map(CaseSummary::from)
            .ok_or(ServiceError::NotFound("application"))
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
        // Write first: takes SQLite's write lock at once (a read first could deadlock with
        // another writing transaction) and locks the row on PostgreSQL.
        case::Entity::update_many()
            .col_expr(
                case::Column::Version,
                Expr::col(case::Column::Version).into(),
            )
            .filter(case::Column::ApplicationId.eq(application_id))
            .exec(&txn)
            .await?;
        let current = case::Entity::find_by_id(application_id.to_owned())
            .one(&txn)
            .await?
            .ok_or(ServiceError::NotFound("application"))?;
        if current.version != expected_version {
            return Err(ServiceError::Conflict(format!(
                "this case changed while you were looking at it (now at step {}); reload it",
                current.version
            )));
        }
        if current.state != "open" {
            return Err(ServiceError::Conflict(format!(
                "this case was already decided ({})",
                current.final_decision.as_deref().unwrap_or("?")
            )));
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
            a if a.overrides(&current.recommended) && note.is_none() => {
                return Err(ServiceError::invalid(
                    "note",
                    "a note is required when the decision differs from the recommendation",
                ))
            }
            _ => {}
        }
        let now = self.now();
        let version = expected_version + 1;
        review_action::ActiveModel {
            id: NotSet,
            application_id: Set(application_id.to_owned()),
            version: Set(version),
            action: Set(action.as_str().to_owned()),
            officer: Set(officer.to_owned()),
            note: Set(note.map(str::to_owned)),
            recommended: Set(current.recommended.clone()),
            model_shown: Set(model_shown),
            created_at: Set(now),
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
            ReviewAction::Approve | ReviewAction::Reject => {
                next.state = Set("decided".to_owned());
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
                    "override": action.overrides(&current.recommended),
                    "version": version,
                })),
        )
        .await?;
        txn.commit().await?;
        use crate::counts::CountChange;
        let was_claimed = current.claimed_by.is_some();
        let change = match action {
            ReviewAction::Claim => Some(CountChange::Claimed),
            ReviewAction::Release => Some(CountChange::Released),
            ReviewAction::Escalate => was_claimed.then_some(CountChange::Released),
            ReviewAction::Approve | ReviewAction::Reject => Some(CountChange::Decided {
                recommended: &current.recommended,
                was_claimed,
            }),
        };
        if let Some(change) = change {
            self.counts_cache().apply(change);
        }
        Ok(version)
    }

    /// Final decisions per officer, overrides and how many were taken with the model shown.
    pub async fn officer_stats(&self) -> ServiceResult<Vec<OfficerRow>> {
        let rows = review_action::Entity::find()
            .filter(review_action::Column::Action.is_in(["approve", "reject"]))
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
                    overrides: 0,
                    aided: 0,
                });
            }
            let Some(s) = out.last_mut() else { continue };
            let approve = r.action == "approve";
            s.decisions += 1;
            s.approvals += u64::from(approve);
            s.rejections += u64::from(!approve);
            s.overrides += u64::from(
                ReviewAction::parse(&r.action).is_ok_and(|a| a.overrides(&r.recommended)),
            );
            s.aided += u64::from(r.model_shown.is_some());
        }
        Ok(out)
    }

    /// Number of cases (for tests and the stats page).
    pub async fn count_cases(&self, state: &str) -> ServiceResult<u64> {
        Ok(case::Entity::find()
            .filter(case::Column::State.eq(state))
            .count(self.db())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_decisions_against_the_model() {
        assert!(ReviewAction::Approve.overrides("reject"));
        assert!(ReviewAction::Reject.overrides("approve"));
        assert!(!ReviewAction::Approve.overrides("approve"));
        assert!(!ReviewAction::Reject.overrides("manual_review"));
        assert!(!ReviewAction::Escalate.overrides("approve"));
        assert!(ReviewAction::parse("delete").is_err());
    }

    #[test]
    fn filters_parse_from_a_query_string() {
        let f = QueueFilter::parse(
            Some("reject"),
            Some(""),
            None,
            Some("2026-11-01"),
            Some("2026-11-30"),
            Some("500"),
            None,
        )
        .unwrap();
        assert_eq!(f.recommended.as_deref(), Some("reject"));
        assert_eq!(f.risk_band, None);
        assert_eq!(f.to.unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(f.min_amount, Some(500.0));
        let field = |r: ServiceResult<QueueFilter>| match r {
            Err(ServiceError::Invalid(e)) => e.field,
            other => panic!("{other:?}"),
        };
        let p =
            |rec, band, from, to, min, max| QueueFilter::parse(rec, band, None, from, to, min, max);
        assert_eq!(
            field(p(Some("delete"), None, None, None, None, None)),
            "recommended"
        );
        assert_eq!(field(p(None, Some("Z"), None, None, None, None)), "band");
        assert_eq!(
            field(p(None, None, Some("yesterday"), None, None, None)),
            "from"
        );
        assert_eq!(
            field(p(
                None,
                None,
                Some("2026-11-02"),
                Some("2026-11-01"),
                None,
                None
            )),
            "to"
        );
        assert_eq!(field(p(None, None, None, None, Some("-1"), None)), "min");
        assert_eq!(
            field(p(None, None, None, None, Some("900"), Some("800"))),
            "max"
        );
    }

    #[test]
    fn cursors_round_trip() {
        let c = case::Model {
            application_id: "0f0e0d0c-0b0a-4909-8807-060504030201".into(),
            seq: 42,
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            priority: 1,
            recommended: "approve".into(),
            risk_band: "B".into(),
            role: "champion".into(),
            model_version: 1,
            amount: 1000.0,
            probability_of_default: 0.05,
            state: "open".into(),
            claimed_by: None,
            claimed_at: None,
            version: 0,
            final_decision: None,
            decided_by: None,
            decided_at: None,
        };
        assert_eq!(parse_cursor(&cursor(&c)).unwrap(), (1, 42));
        assert!(parse_cursor("nonsense").is_err());
    }
}
