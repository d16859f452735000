//! Retention: decisions and their notices are kept at least [`RETENTION_MONTHS`] months. A
//! purge removes a prefix of the decision chain older than a cutoff — the decisions (with
//! their stored inputs), their outcomes, review actions and queue entries — and records, in
//! the append-only `chain_anchors`, the last purged link so that `audit verify` checks the
//! remaining chain from there. A cutoff younger than the retention period is refused, as is
//! purging a chain that does not verify. The purge lifts the append-only triggers only inside
//! its own transaction (it needs the database owner's rights; the application role has none).

use chrono::{DateTime, Months, Utc};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;

use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::{chain_anchor, decision};
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::chain::{self, DECISIONS_CHAIN};
use crate::{RequestMeta, Services};

/// Decisions and notices are kept at least this many months.
pub const RETENTION_MONTHS: u32 = 25;

/// What a purge removes (or removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgePlan {
    pub cutoff: DateTime<Utc>,
    /// The latest cutoff allowed now.
    pub latest_allowed: DateTime<Utc>,
    /// The chain links removed: `first..=last`, none when empty.
    pub links: Option<(i64, i64)>,
    pub decisions: u64,
}

/// The latest cutoff a purge may use at `now`.
pub fn latest_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(RETENTION_MONTHS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Tables whose rows belong to a decision (besides `decisions`), by application id.
const DEPENDENT: [&str; 3] = ["outcomes", "review_actions", "cases"];

impl Services {
    /// What purging everything decided before `cutoff` would remove; refuses a cutoff within
    /// the retention period.
    pub async fn purge_plan(&self, cutoff: DateTime<Utc>) -> ServiceResult<PurgePlan> {
        let latest_allowed = latest_cutoff(self.now());
        if cutoff > latest_allowed {
            return Err(ServiceError::invalid(
                "before",
                format!(
                    "decisions and notices are kept at least {RETENTION_MONTHS} months: the latest cutoff allowed now is {}",
                    latest_allowed.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
        let (first, _) = chain::chain_start(self.db()).await?;
        // The purged prefix ends before the first decision made at or after the cutoff.
        let first_young: Option<i64> = decision::Entity::find()
            .select_only()
            .column(decision::Column::Seq)
            .filter(decision::Column::CreatedAt.gte(cutoff))
            .order_by_asc(decision::Column::Seq)
            .limit(1)
            .into_tuple()
            .one(self.db())
            .await?;
        let last: Option<i64> = match first_young {
            Some(s) => Some(s - 1),
            None => {
                decision::Entity::find()
                    .select_only()
                    .column(decision::Column::Seq)
                    .order_by_desc(decision::Column::Seq)
                    .limit(1)
                    .into_tuple()
                    .one(self.db())
                    .await?
            }
        };
        let links = last.filter(|&l| l >= first).map(|l| (first, l));
        Ok(PurgePlan {
            cutoff,
            latest_allowed,
            links,
            decisions: links.map_or(0, |(a, b)| (b - a + 1) as u64),
        })
    }

    /// Purges what [`Services::purge_plan`] lists, in one transaction, and records the anchor.
    pub async fn purge(
        &self,
        cutoff: DateTime<Utc>,
        by: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<PurgePlan> {
        let plan = self.purge_plan(cutoff).await?;
        let Some((first, last)) = plan.links else {
            return Ok(plan);
        };
        let report = self.verify_decisions().await?;
        if let Some(b) = report.broken {
            return Err(ServiceError::Conflict(format!(
                "the decision chain does not verify (link {}: {}); nothing is purged",
                b.seq, b.problem
            )));
        }
        let last_row = decision::Entity::find()
            .filter(decision::Column::Seq.eq(last))
            .one(self.db())
            .await?
            .ok_or_else(|| ServiceError::Internal(format!("link {last} vanished")))?;
        let ids: Vec<String> = decision::Entity::find()
            .select_only()
            .column(decision::Column::ApplicationId)
            .filter(decision::Column::Seq.between(first, last))
            .into_tuple()
            .all(self.db())
            .await?;
        let now = self.now();
        let txn = self.db().begin().await?;
        // Written first (SQLite: a write transaction must write before it reads).
        chain_anchor::Entity::insert(chain_anchor::ActiveModel {
            id: NotSet,
            chain: Set(DECISIONS_CHAIN.to_owned()),
            seq: Set(last),
            hash: Set(last_row.hash.clone()),
            cutoff: Set(cutoff),
            purged: Set(plan.decisions as i64),
            created_at: Set(now),
            created_by: Set(by.to_owned()),
        })
        .exec(&txn)
        .await?;
        let backend = txn.get_database_backend();
        let guarded = ["decisions", "outcomes", "review_actions"];
        for t in guarded {
            txn.execute_unprepared(&match backend {
                DatabaseBackend::Sqlite => format!("DROP TRIGGER {t}_no_delete"),
                _ => format!("ALTER TABLE {t} DISABLE TRIGGER {t}_no_update_delete"),
            })
            .await?;
        }
        for chunk in ids.chunks(500) {
            let list = chunk
                .iter()
                .map(|id| format!("'{}'", id.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(",");
            for t in DEPENDENT {
                txn.execute_unprepared(&format!(
                    "DELETE FROM {t} WHERE application_id IN ({list})"
                ))
                .await?;
            }
        }
        txn.execute_unprepared(&format!(
            "DELETE FROM decisions WHERE seq BETWEEN {first} AND {last}"
        ))
        .await?;
        for t in guarded {
            txn.execute_unprepared(&match backend {
                DatabaseBackend::Sqlite => {
                    lendscope_migrations::sqlite_append_only_trigger(t, "DELETE")
                }
                _ => format!("ALTER TABLE {t} ENABLE TRIGGER {t}_no_update_delete"),
            })
            .await?;
        }
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(by.to_owned()),
                "retention.purge",
                Outcome::Success,
            )
            .target(format!("decisions {first}–{last}"))
            .detail(json!({
                "cutoff": cutoff.to_rfc3339(),
                "decisions": plan.decisions,
                "anchor_hash": last_row.hash,
            })),
        )
        .await?;
        txn.commit().await?;
        Ok(plan)
    }
}
