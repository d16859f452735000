//! Hash chains over officer actions and outcomes, beside the decisions' chain.
//!
//! Each record gets a link in `record_links` when it is written, in the same transaction: the
//! chain's next sequence number, the previous link's hash and
//! `SHA-256(prev_hash ‖ "\n" ‖ content)` over the record's canonical content. The chain's head
//! is kept in `chain_heads` and signed into checkpoints. `audit verify` walks each chain: a
//! changed record breaks its link, a removed one is missing (unless a retention purge removed
//! its whole application), and a record written around Lendscope has no link at all.
//! Records written before the chains existed are linked once, in id order, when the server
//! starts ([`Services::link_unchained_records`]).

use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::entity::{chain_head, decision, outcome, record_link, review_action};
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::chain::{append_links, chain_start, head_of, link_hash, locked_head, GENESIS};
use crate::Services;

/// The chain of officer actions.
pub const REVIEW_ACTIONS_CHAIN: &str = "review_actions";
/// The chain of outcomes.
pub const OUTCOMES_CHAIN: &str = "outcomes";
/// Both record chains.
pub const RECORD_CHAINS: [&str; 2] = [REVIEW_ACTIONS_CHAIN, OUTCOMES_CHAIN];

/// The hashed content of an officer action: every column, keys sorted.
pub fn action_content(a: &review_action::Model) -> String {
    json!({
        "id": a.id,
        "application_id": a.application_id,
        "version": a.version,
        "action": a.action,
        "officer": a.officer,
        "note": a.note,
        "recommended": a.recommended,
        "model_shown": a.model_shown,
        "created_at": a.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "reasons": a.reasons,
    })
    .to_string()
}

/// The hashed content of an outcome: every column, keys sorted.
pub fn outcome_content(o: &outcome::Model) -> String {
    json!({
        "id": o.id,
        "application_id": o.application_id,
        "outcome": o.outcome,
        "observed_at": o.observed_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "recorded_at": o.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "recorded_by": o.recorded_by,
    })
    .to_string()
}

/// Appends the link of a record just written (inside the transaction that wrote it).
pub(crate) async fn link<C: ConnectionTrait>(
    db: &C,
    chain: &str,
    record_id: i64,
    application_id: &str,
    content: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    let decision_seq = decision::Entity::find()
        .select_only()
        .column(decision::Column::Seq)
        .filter(decision::Column::ApplicationId.eq(application_id))
        .into_tuple::<i64>()
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    let (seq, prev) = locked_head(db, chain).await?;
    let hash = link_hash(&prev, content);
    let row = record_link::Entity::insert(record_link::ActiveModel {
        id: NotSet,
        chain: Set(chain.to_owned()),
        seq: Set(seq + 1),
        record_id: Set(record_id),
        decision_seq: Set(decision_seq),
        prev_hash: Set(prev),
        hash: Set(hash.clone()),
        created_at: Set(now),
    })
    .into_query();
    append_links(db, chain, seq + 1, hash, vec![row]).await?;
    Ok(())
}

/// What checking one record chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChainReport {
    pub chain: String,
    pub links: u64,
    /// Links whose record a retention purge removed with its application.
    pub purged: u64,
    /// The first problem, if any.
    pub broken: Option<String>,
}

impl Services {
    /// Links the records written before the record chains existed (once per chain: only while
    /// the chain has no head). Run at start, before serving.
    pub async fn link_unchained_records(&self) -> ServiceResult<()> {
        for chain in RECORD_CHAINS {
            let txn = self.db().begin().await?;
            let exists = chain_head::Entity::find_by_id(chain.to_owned())
                .one(&txn)
                .await?
                .is_some();
            if exists {
                txn.rollback().await?;
                continue;
            }
            // Creates (and on PostgreSQL locks) the head. A second process starting at the same
            // time waits here, then finds the head moved past link 0 and links nothing again.
            let (seq, _) = locked_head(&txn, chain).await?;
            if seq > 0 {
                txn.rollback().await?;
                continue;
            }
            let now = self.now();
            if chain == REVIEW_ACTIONS_CHAIN {
                for a in review_action::Entity::find()
                    .order_by_asc(review_action::Column::Id)
                    .all(&txn)
                    .await?
                {
                    link(
                        &txn,
                        chain,
                        a.id,
                        &a.application_id,
                        &action_content(&a),
                        now,
                    )
                    .await?;
                }
            } else {
                for o in outcome::Entity::find()
                    .order_by_asc(outcome::Column::Id)
                    .all(&txn)
                    .await?
                {
                    link(
                        &txn,
                        chain,
                        o.id,
                        &o.application_id,
                        &outcome_content(&o),
                        now,
                    )
                    .await?;
                }
            }
            txn.commit().await?;
        }
        Ok(())
    }

    /// Checks the chains of officer actions and outcomes.
    pub async fn verify_record_chains(&self) -> ServiceResult<Vec<RecordChainReport>> {
        let (first_kept, _) = chain_start(self.db()).await?;
        let mut reports = Vec::new();
        for chain in RECORD_CHAINS {
            reports.push(self.verify_record_chain(chain, first_kept).await?);
        }
        Ok(reports)
    }

    async fn verify_record_chain(
        &self,
        chain: &str,
        first_kept: i64,
    ) -> ServiceResult<RecordChainReport> {
        let mut report = RecordChainReport {
            chain: chain.to_owned(),
            links: 0,
            purged: 0,
            broken: None,
        };
        let links = record_link::Entity::find()
            .filter(record_link::Column::Chain.eq(chain))
            .order_by_asc(record_link::Column::Seq)
            .all(self.db())
            .await?;
        let what = if chain == REVIEW_ACTIONS_CHAIN {
            "officer action"
        } else {
            "outcome"
        };
        let (mut prev, mut expected) = (GENESIS.to_owned(), 1i64);
        let mut linked = std::collections::HashSet::with_capacity(links.len());
        for l in &links {
            let problem = if l.seq != expected {
                Some(format!("link {expected} is missing (found {})", l.seq))
            } else if l.prev_hash != prev {
                Some(format!("link {} does not follow the link before it", l.seq))
            } else {
                match self.record_content(chain, l.record_id).await? {
                    None if l.decision_seq < first_kept => {
                        report.purged += 1;
                        None
                    }
                    None => Some(format!("{what} {} was removed", l.record_id)),
                    Some(content) if link_hash(&prev, &content) != l.hash => Some(format!(
                        "{what} {} was changed after it was written",
                        l.record_id
                    )),
                    Some(_) => None,
                }
            };
            if let Some(p) = problem {
                report.broken = Some(format!("{p} (link {})", l.seq));
                return Ok(report);
            }
            linked.insert(l.record_id);
            prev.clone_from(&l.hash);
            expected += 1;
            report.links += 1;
        }
        let head = head_of(self.db(), chain).await?;
        if head != (expected - 1, prev) {
            report.broken = Some(format!(
                "the chain head (link {}) does not match its last link ({}): links were removed",
                head.0,
                expected - 1
            ));
            return Ok(report);
        }
        let ids: Vec<i64> = if chain == REVIEW_ACTIONS_CHAIN {
            review_action::Entity::find()
                .select_only()
                .column(review_action::Column::Id)
                .into_tuple()
                .all(self.db())
                .await?
        } else {
            outcome::Entity::find()
                .select_only()
                .column(outcome::Column::Id)
                .into_tuple()
                .all(self.db())
                .await?
        };
        if let Some(id) = ids.into_iter().find(|id| !linked.contains(id)) {
            report.broken = Some(format!(
                "{what} {id} is in no link: it was written around Lendscope"
            ));
        }
        Ok(report)
    }

    async fn record_content(&self, chain: &str, id: i64) -> ServiceResult<Option<String>> {
        Ok(if chain == REVIEW_ACTIONS_CHAIN {
            review_action::Entity::find_by_id(id)
                .one(self.db())
                .await?
                .map(|a| action_content(&a))
        } else {
            outcome::Entity::find_by_id(id)
                .one(self.db())
                .await?
                .map(|o| outcome_content(&o))
        })
    }

    /// The number of links in a record chain (for tests and the checkpoint).
    pub async fn record_links(&self, chain: &str) -> ServiceResult<u64> {
        Ok(record_link::Entity::find()
            .filter(record_link::Column::Chain.eq(chain))
            .count(self.db())
            .await?)
    }
}
