//! Durable decision writes with group commit.
//!
//! One task appends decisions to the hash chain. Requests queue up while a commit is in
//! flight, and the next commit takes everything queued (up to a batch limit): many requests
//! share one durable commit, and each is answered only after its commit.
//!
//! On PostgreSQL a commit is one statement, one round trip: it moves the chain head from the
//! link this writer last saw and inserts the batch's decisions and cases, or, when the head
//! moved meanwhile (another server process sharing the database), writes nothing, and the batch
//! is linked again onto the head read afresh. On SQLite a commit is a transaction that takes
//! the write lock with its first statement.

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryTrait, TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

use super::chain::{
    append_if_head, append_links, current_head, link_hash, locked_head, ValuesInsert,
    DECISIONS_CHAIN,
};
use crate::entity::{case, decision};
use crate::error::{ServiceError, ServiceResult};
use crate::metrics::{Metrics, BATCH_BUCKETS, LATENCY_BUCKETS};

const MAX_BATCH: usize = 256;
const QUEUE: usize = 4096;

/// A decision ready to be chained: everything but its position.
#[derive(Debug, Clone)]
pub struct PendingDecision {
    pub application_id: String,
    pub notice_token: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub api_client: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub applicant_id: String,
    pub model_id: i64,
    pub role: String,
    pub decision: String,
    pub probability_of_default: f64,
    pub policy_version: String,
    /// The full record; `seq` is added when it is chained.
    pub record: super::record::DecisionRecord,
    /// What the review queue needs to know about it.
    pub case: CaseSeed,
}

/// The review-queue entry of a new decision, written in the same transaction.
#[derive(Debug, Clone)]
pub struct CaseSeed {
    pub recommended: String,
    pub risk_band: String,
    pub model_version: i32,
    pub amount: f64,
}

/// Where a decision landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: i64,
    pub hash: String,
}

struct Job {
    decision: PendingDecision,
    reply: oneshot::Sender<ServiceResult<Committed>>,
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct DecisionWriter {
    tx: mpsc::Sender<Job>,
}

impl DecisionWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn(db: DatabaseConnection, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, rx, metrics));
        Self { tx }
    }

    /// Appends a decision; returns once it is committed.
    pub async fn commit(&self, decision: PendingDecision) -> ServiceResult<Committed> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { decision, reply })
            .await
            .map_err(|_| ServiceError::Unavailable("the decision writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| ServiceError::Unavailable("the decision writer has stopped".into()))?
    }
}

async fn run(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>, metrics: Arc<Metrics>) {
    // The chain head as this writer last wrote or read it; forgotten after a failed commit.
    let mut head = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let decisions: Vec<&PendingDecision> = batch.iter().map(|j| &j.decision).collect();
        let started = std::time::Instant::now();
        let committed = commit_batch(&db, &decisions, &mut head).await;
        metrics.observe(
            "lendscope_decision_commit_seconds",
            LATENCY_BUCKETS,
            &[],
            started.elapsed().as_secs_f64(),
        );
        metrics.observe(
            "lendscope_decision_commit_batch_size",
            BATCH_BUCKETS,
            &[],
            decisions.len() as f64,
        );
        let results = match committed {
            Ok(results) => results,
            Err(e) if batch.len() > 1 => {
                // Isolate what failed: commit the jobs one by one.
                tracing::warn!(error = %e, size = batch.len(), "batch commit failed; retrying singly");
                let mut results = Vec::with_capacity(batch.len());
                for d in &decisions {
                    results.push(match commit_batch(&db, &[*d], &mut head).await {
                        Ok(mut r) => r
                            .pop()
                            .unwrap_or_else(|| Err(ServiceError::Internal("empty commit".into()))),
                        Err(e) => Err(classify(e)),
                    });
                }
                results
            }
            Err(e) => vec![Err(classify(e))],
        };
        for (job, result) in batch.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

fn classify(e: DbErr) -> ServiceError {
    if ServiceError::is_unique_violation(&e) {
        ServiceError::Conflict(
            "a request with this Idempotency-Key is already being processed".into(),
        )
    } else {
        ServiceError::from(e)
    }
}

/// A batch linked onto a chain head: each decision's result, the rows to insert, and the head
/// they end on.
struct Linked {
    results: Vec<ServiceResult<Committed>>,
    rows: Vec<decision::ActiveModel>,
    cases: Vec<case::ActiveModel>,
    seq: i64,
    hash: String,
}

/// Links a batch onto the head (`seq`, `prev`): a repeated Idempotency-Key within the batch is
/// refused, every other decision becomes the next link.
fn link_batch(batch: &[&PendingDecision], mut seq: i64, mut prev: String) -> Linked {
    let mut keys = HashSet::new();
    let mut results = Vec::with_capacity(batch.len());
    let mut rows = Vec::with_capacity(batch.len());
    let mut cases = Vec::with_capacity(batch.len());
    for d in batch {
        if let Some(key) = &d.idempotency_key {
            if !keys.insert((d.api_client.as_str(), key.as_str())) {
                results.push(Err(ServiceError::Conflict(
                    "a request with this Idempotency-Key is already being processed".into(),
                )));
                continue;
            }
        }
        let content = match d.record.chained_content(seq + 1) {
            Ok(c) => c,
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        seq += 1;
        let hash = link_hash(&prev, &content);
        rows.push(decision::ActiveModel {
            id: NotSet,
            seq: Set(seq),
            application_id: Set(d.application_id.clone()),
            notice_token: Set(d.notice_token.clone()),
            created_at: Set(d.created_at),
            api_client: Set(d.api_client.clone()),
            idempotency_key: Set(d.idempotency_key.clone()),
            request_hash: Set(d.request_hash.clone()),
            applicant_id: Set(d.applicant_id.clone()),
            model_id: Set(d.model_id),
            role: Set(d.role.clone()),
            decision: Set(d.decision.clone()),
            probability_of_default: Set(d.probability_of_default),
            policy_version: Set(d.policy_version.clone()),
            content: Set(content),
            prev_hash: Set(prev.clone()),
            hash: Set(hash.clone()),
        });
        cases.push(case::ActiveModel {
            application_id: Set(d.application_id.clone()),
            seq: Set(seq),
            created_at: Set(d.created_at),
            priority: Set(if d.case.recommended == "manual_review" {
                0
            } else {
                1
            }),
            recommended: Set(d.case.recommended.clone()),
            risk_band: Set(d.case.risk_band.clone()),
            role: Set(d.role.clone()),
            model_version: Set(d.case.model_version),
            amount: Set(d.case.amount),
            probability_of_default: Set(d.probability_of_default),
            state: Set("open".to_owned()),
            claimed_by: Set(None),
            claimed_at: Set(None),
            version: Set(0),
            final_decision: Set(None),
            decided_by: Set(None),
            decided_at: Set(None),
        });
        results.push(Ok(Committed {
            seq,
            hash: hash.clone(),
        }));
        prev = hash;
    }
    Linked {
        results,
        rows,
        cases,
        seq,
        hash: prev,
    }
}

/// How often a PostgreSQL append links a batch again because another process moved the head.
const APPEND_ATTEMPTS: usize = 16;

/// Commits a batch. `head` is the chain head as this writer last wrote or read it (`None`:
/// unknown, read it).
async fn commit_batch(
    db: &DatabaseConnection,
    batch: &[&PendingDecision],
    head: &mut Option<(i64, String)>,
) -> Result<Vec<ServiceResult<Committed>>, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        return append_postgres(db, batch, head).await;
    }
    let txn = db.begin().await?;
    // Write first: on SQLite this takes the write lock at once (a read first could deadlock
    // with another writing transaction); it also creates the head row on first use.
    let (seq, prev) = locked_head(&txn, DECISIONS_CHAIN).await?;
    let linked = link_batch(batch, seq, prev);
    if !linked.rows.is_empty() {
        let inserts = vec![
            decision::Entity::insert_many(linked.rows).into_query(),
            case::Entity::insert_many(linked.cases).into_query(),
        ];
        append_links(&txn, DECISIONS_CHAIN, linked.seq, linked.hash, inserts).await?;
    }
    txn.commit().await?;
    Ok(linked.results)
}

/// PostgreSQL: one statement and one round trip per batch, no transaction around it. The batch
/// is linked onto the head this writer last saw, and the statement moves the head from exactly
/// that link while it inserts the rows ([`append_if_head`]); when another process (or an
/// operator) moved the head meanwhile, nothing is written, and the batch is linked again onto
/// the head read afresh.
async fn append_postgres(
    db: &DatabaseConnection,
    batch: &[&PendingDecision],
    head: &mut Option<(i64, String)>,
) -> Result<Vec<ServiceResult<Committed>>, DbErr> {
    for _ in 0..APPEND_ATTEMPTS {
        let (seq, prev) = match head.take() {
            Some(h) => h,
            None => current_head(db, DECISIONS_CHAIN).await?,
        };
        let linked = link_batch(batch, seq, prev.clone());
        if linked.rows.is_empty() {
            *head = Some((seq, prev));
            return Ok(linked.results);
        }
        let inserts = [
            ValuesInsert::of(linked.rows)?,
            ValuesInsert::of(linked.cases)?,
        ];
        let to = (linked.seq, linked.hash.clone());
        if append_if_head(db, DECISIONS_CHAIN, (seq, &prev), (to.0, &to.1), &inserts).await? {
            *head = Some(to);
            return Ok(linked.results);
        }
    }
    Err(DbErr::Custom(format!(
        "the {DECISIONS_CHAIN} chain head moved under {APPEND_ATTEMPTS} appends in a row"
    )))
}
