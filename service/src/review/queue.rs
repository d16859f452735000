//! The review queue: the open cases awaiting a person, filtered and paged (manual review first,
//! then oldest first).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use crate::entity::case;
use lendscope_domain::{CaseState, Decision, ModelRole};

use crate::error::{known, ServiceError, ServiceResult};
use crate::Services;

/// Filters of the review queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFilter {
    pub recommended: Option<Decision>,
    pub risk_band: Option<String>,
    pub role: Option<ModelRole>,
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
        use lendscope_domain::review::RISK_BANDS;
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        fn one_of<T: Copy>(
            field: &str,
            v: Option<&str>,
            allowed: &[T],
            spelling: fn(T) -> &'static str,
        ) -> ServiceResult<Option<T>> {
            match given(v) {
                None => Ok(None),
                Some(v) => allowed
                    .iter()
                    .find(|a| spelling(**a) == v)
                    .map(|a| Some(*a))
                    .ok_or_else(|| {
                        let names: Vec<&str> = allowed.iter().map(|a| spelling(*a)).collect();
                        ServiceError::invalid(
                            field,
                            format!("'{v}' is not one of {}", names.join(", ")),
                        )
                    }),
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
            recommended: one_of("recommended", recommended, Decision::ALL, Decision::as_str)?,
            risk_band: one_of("band", risk_band, &RISK_BANDS, |b| b)?.map(str::to_owned),
            role: one_of("role", role, ModelRole::ALL, ModelRole::as_str)?,
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
    pub recommended: Decision,
    pub risk_band: String,
    pub role: ModelRole,
    pub model_version: i32,
    pub amount: f64,
    pub probability_of_default: f64,
    pub claimed_by: Option<String>,
    pub version: i32,
    pub state: CaseState,
    pub final_decision: Option<Decision>,
}

impl TryFrom<case::Model> for CaseSummary {
    type Error = ServiceError;

    fn try_from(c: case::Model) -> ServiceResult<Self> {
        Ok(Self {
            application_id: c.application_id,
            created_at: c.created_at,
            recommended: known("recommendation", &c.recommended, Decision::parse)?,
            risk_band: c.risk_band,
            role: known("model role", &c.role, ModelRole::parse)?,
            model_version: c.model_version,
            amount: c.amount,
            probability_of_default: c.probability_of_default,
            claimed_by: c.claimed_by,
            version: c.version,
            state: known("case state", &c.state, CaseState::parse)?,
            final_decision: c
                .final_decision
                .map(|d| known("final decision", &d, crate::review::final_decision_of))
                .transpose()?,
        })
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
        let mut q = case::Entity::find().filter(case::Column::State.eq(CaseState::Open.as_str()));
        if let Some(v) = filter.recommended {
            q = q.filter(case::Column::Recommended.eq(v.as_str()));
        }
        if let Some(v) = filter.risk_band.as_deref().filter(|v| !v.is_empty()) {
            q = q.filter(case::Column::RiskBand.eq(v));
        }
        if let Some(v) = filter.role {
            q = q.filter(case::Column::Role.eq(v.as_str()));
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
            items: rows
                .into_iter()
                .map(CaseSummary::try_from)
                .collect::<ServiceResult<_>>()?,
            next: next.flatten(),
        })
    }

    pub async fn case_summary(&self, application_id: &str) -> ServiceResult<CaseSummary> {
        case::Entity::find_by_id(application_id.to_owned())
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("application"))
            .and_then(CaseSummary::try_from)
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
        assert_eq!(f.recommended, Some(Decision::Reject));
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
