//! What the job reads: windows of decisions (with their stored inputs) and the labelled
//! scores of the decisions that have an outcome.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::report::Window;
use crate::entity::{decision, outcome};
use crate::error::{ServiceError, ServiceResult};
use crate::registry::{stored, Stored};
use crate::Services;

/// A decision as the job reads it.
pub(super) struct Row {
    pub(super) seq: i64,
    pub(super) at: DateTime<Utc>,
    pub(super) pd: f64,
    pub(super) approved: bool,
    /// The final decision (officer, else automated) approved; `None` while undecided.
    pub(super) final_approved: Option<bool>,
    pub(super) stored: Stored,
}

pub(super) fn window_of(description: String, rows: &[Row]) -> Window {
    Window {
        description,
        rows: rows.len(),
        first_seq: rows.first().map(|r| r.seq),
        last_seq: rows.last().map(|r| r.seq),
        from: rows.first().map(|r| r.at),
        to: rows.last().map(|r| r.at),
    }
}

type DecisionTuple = (i64, DateTime<Utc>, f64, String, String);

fn rows_of(tuples: Vec<DecisionTuple>) -> ServiceResult<Vec<Row>> {
    tuples
        .into_iter()
        .map(|(seq, at, pd, decision, content)| {
            Ok(Row {
                seq,
                at,
                pd,
                approved: decision == "approve",
                final_approved: None,
                stored: stored(&content)?,
            })
        })
        .collect()
}

/// The part of a stored decision record the job needs: each version's probability.
#[derive(Deserialize)]
struct RecordScores {
    served: ModelScoreOnly,
    #[serde(default)]
    shadow: Option<ModelScoreOnly>,
}

#[derive(Deserialize)]
struct ModelScoreOnly {
    model: ModelIdOnly,
    probability_of_default: f64,
}

#[derive(Deserialize)]
struct ModelIdOnly {
    id: i64,
}

/// (version, probability of default) of the served score and the shadow score, if any.
fn scores_of(content: &str) -> ServiceResult<Vec<(i64, f64)>> {
    let r: RecordScores = serde_json::from_str(content)
        .map_err(|e| ServiceError::Internal(format!("stored decision: {e}")))?;
    Ok(std::iter::once(r.served)
        .chain(r.shadow)
        .map(|s| (s.model.id, s.probability_of_default))
        .collect())
}

/// Every version's score of one decision, served and shadow.
pub(super) struct Scores {
    pub(super) seq: i64,
    pub(super) at: DateTime<Utc>,
    pub(super) scores: Vec<(i64, f64)>,
    /// The final decision (officer, else automated) approved it: a loan was made, whose
    /// outcome will arrive; `None` while undecided.
    pub(super) approved: Option<bool>,
}

/// One labelled score of one version.
pub(super) struct Scored {
    pub(super) model_id: i64,
    /// The decision's place in the chain.
    pub(super) seq: i64,
    pub(super) at: DateTime<Utc>,
    pub(super) pd: f64,
    pub(super) defaulted: bool,
}

impl Services {
    pub(super) async fn decision_rows(
        &self,
        filter: Option<sea_orm::Condition>,
        newest_first: bool,
        limit: u64,
    ) -> ServiceResult<Vec<Row>> {
        let mut q = decision::Entity::find().select_only().columns([
            decision::Column::Seq,
            decision::Column::CreatedAt,
            decision::Column::ProbabilityOfDefault,
            decision::Column::Decision,
            decision::Column::Content,
        ]);
        if let Some(f) = filter {
            q = q.filter(f);
        }
        q = if newest_first {
            q.order_by_desc(decision::Column::Seq)
        } else {
            q.order_by_asc(decision::Column::Seq)
        };
        let tuples = q
            .limit(limit)
            .into_tuple::<DecisionTuple>()
            .all(self.db())
            .await?;
        let mut rows = rows_of(tuples)?;
        rows.sort_by_key(|r| r.seq);
        if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
            let finals = self.final_approvals(first.seq, last.seq).await?;
            for r in &mut rows {
                r.final_approved = finals.get(&r.seq).copied();
            }
        }
        Ok(rows)
    }

    /// The scores of the newest `limit` decisions, oldest first, with their final decisions.
    pub(super) async fn recent_scores(&self, limit: u64) -> ServiceResult<Vec<Scores>> {
        let rows: Vec<(i64, DateTime<Utc>, String)> = decision::Entity::find()
            .select_only()
            .columns([
                decision::Column::Seq,
                decision::Column::CreatedAt,
                decision::Column::Content,
            ])
            .order_by_desc(decision::Column::Seq)
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await?;
        let mut out = rows
            .into_iter()
            .map(|(seq, at, content)| {
                Ok(Scores {
                    seq,
                    at,
                    scores: scores_of(&content)?,
                    approved: None,
                })
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        out.reverse();
        if let (Some(first), Some(last)) = (out.first(), out.last()) {
            let finals = self.final_approvals(first.seq, last.seq).await?;
            for d in &mut out {
                d.approved = finals.get(&d.seq).copied();
            }
        }
        Ok(out)
    }

    /// Labelled decisions: (seq, defaulted, the labelled scores of every version that scored
    /// it — served and shadow).
    pub(super) async fn labelled_scores(
        &self,
        limit: u64,
    ) -> ServiceResult<Vec<(i64, bool, Vec<Scored>)>> {
        let outcomes: Vec<(String, String)> = outcome::Entity::find()
            .select_only()
            .columns([outcome::Column::ApplicationId, outcome::Column::Outcome])
            .order_by_desc(outcome::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await?;
        let defaulted: BTreeMap<String, bool> = outcomes
            .into_iter()
            .map(|(a, o)| (a, o == "defaulted"))
            .collect();
        let ids: Vec<String> = defaulted.keys().cloned().collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<(String, i64, DateTime<Utc>, String)> = decision::Entity::find()
                .select_only()
                .columns([
                    decision::Column::ApplicationId,
                    decision::Column::Seq,
                    decision::Column::CreatedAt,
                    decision::Column::Content,
                ])
                .filter(decision::Column::ApplicationId.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.db())
                .await?;
            for (app, seq, at, content) in rows {
                let d = defaulted.get(&app).copied().unwrap_or(false);
                let scores = scores_of(&content)?
                    .into_iter()
                    .map(|(model_id, pd)| Scored {
                        model_id,
                        seq,
                        at,
                        pd,
                        defaulted: d,
                    })
                    .collect();
                out.push((seq, d, scores));
            }
        }
        out.sort_by_key(|x| x.0);
        Ok(out)
    }
}
