//! The compliance view: find decisions by application id or day, and trace one decision to
//! the model version that made it (and who authorised that version), the policy, the shadow
//! model's result, every officer action and the state of the hash chain.

use chrono::{NaiveDate, TimeZone, Utc};
use lendscope_domain::governance::{DecisionTrace, TraceRow};
use lendscope_domain::{Decision, ModelRole};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{alias_history, case, decision, model, routing_setting};
use crate::error::{known, ServiceError, ServiceResult};
use crate::scoring::replay::decision_row;
use crate::scoring::{chain, DecisionRecord};
use crate::Services;

const MAX_ROWS: u64 = 200;

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

impl Services {
    fn trace_row(
        &self,
        d: &decision::Model,
        names: &std::collections::HashMap<i64, String>,
    ) -> ServiceResult<TraceRow> {
        Ok(TraceRow {
            application_id: d.application_id.clone(),
            created_at: stamp(d.created_at),
            model: names
                .get(&d.model_id)
                .cloned()
                .unwrap_or_else(|| format!("model {}", d.model_id)),
            role: known("model role", &d.role, ModelRole::parse)?,
            decision: known("decision", &d.decision, Decision::parse)?,
            probability_of_default: d.probability_of_default,
            policy_version: d.policy_version.clone(),
        })
    }

    /// Decisions matching `query`: an application id (exact) or a day `YYYY-MM-DD` (UTC),
    /// at most 200, oldest first.
    pub async fn find_decisions(&self, query: &str) -> ServiceResult<Vec<TraceRow>> {
        let q = query.trim();
        if q.is_empty() || q.len() > 64 {
            return Err(ServiceError::invalid(
                "q",
                "enter an application id or a date (YYYY-MM-DD)",
            ));
        }
        let select = decision::Entity::find().order_by_asc(decision::Column::Seq);
        let rows = if let Ok(day) = NaiveDate::parse_from_str(q, "%Y-%m-%d") {
            let start = Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN));
            select
                .filter(decision::Column::CreatedAt.gte(start))
                .filter(decision::Column::CreatedAt.lt(start + chrono::Duration::days(1)))
                .limit(MAX_ROWS)
                .all(self.db())
                .await?
        } else {
            select
                .filter(decision::Column::ApplicationId.eq(q))
                .all(self.db())
                .await?
        };
        let names = self.model_names().await?;
        rows.iter().map(|d| self.trace_row(d, &names)).collect()
    }

    /// The full trace of one decision.
    pub async fn decision_trace(&self, application_id: &str) -> ServiceResult<DecisionTrace> {
        let d = decision_row(self.db(), application_id, None).await?;
        let names = self.model_names().await?;
        let record = DecisionRecord::from_content(&d.content)?;
        let m = model::Entity::find_by_id(d.model_id)
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        // Which alias change put this version in its role before the decision.
        let set = alias_history::Entity::find()
            .filter(alias_history::Column::Alias.eq(d.role.as_str()))
            .filter(alias_history::Column::ModelId.eq(d.model_id))
            .filter(alias_history::Column::SetAt.lte(d.created_at))
            .order_by_desc(alias_history::Column::Id)
            .one(self.db())
            .await?;
        let model_authorised = match set {
            None => "no alias change on record before this decision".to_owned(),
            Some(h) => {
                let approval = self
                    .approvals_of(d.model_id)
                    .await?
                    .into_iter()
                    .find(|(at, _)| *at == h.set_at)
                    .map(|(_, who)| format!("; promotion {who}"))
                    .unwrap_or_default();
                format!(
                    "{} since {} (set by {}){approval}",
                    h.alias,
                    stamp(h.set_at),
                    h.set_by
                )
            }
        };
        // A challenger decides only for a share of applicants: name the share in force and
        // the four-eyes request that gave it, when one did (emergency changes are listed on
        // the registry page and in the audit log).
        let model_authorised = if d.role == ModelRole::Challenger.as_str() {
            let share = routing_setting::Entity::find()
                .filter(routing_setting::Column::SetAt.lte(d.created_at))
                .order_by_desc(routing_setting::Column::Id)
                .one(self.db())
                .await?;
            let approved = match &share {
                Some(s) => self
                    .approvals_of(d.model_id)
                    .await?
                    .into_iter()
                    .find(|(at, who)| *at == s.set_at && who.starts_with("live share"))
                    .map(|(_, who)| who),
                None => None,
            };
            match (share, approved) {
                (Some(s), Some(who)) => format!(
                    "{model_authorised}; deciding for {} % of applicants since {}: {who}",
                    s.challenger_share_percent,
                    stamp(s.set_at)
                ),
                _ => model_authorised,
            }
        } else {
            model_authorised
        };
        let shadow = record.shadow.as_ref().map(|s| {
            let id = s.model.id;
            format!(
                "{} ({}) recommended {} with probability of default {:.4}",
                names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("model {id}")),
                s.model.role,
                s.decision,
                s.probability_of_default
            )
        });
        // The record before it, or the retention anchor when it is the first one kept.
        let (first_seq, anchor_hash) = chain::chain_start(self.db()).await?;
        let prev = if d.seq == first_seq {
            (first_seq > 1).then_some(anchor_hash)
        } else if d.seq > 1 {
            decision::Entity::find()
                .filter(decision::Column::Seq.eq(d.seq - 1))
                .one(self.db())
                .await?
                .map(|p| p.hash)
        } else {
            None
        };
        let record_check = if d.seq > 1 && prev.is_none() {
            Err("the record before it is missing".to_owned())
        } else {
            chain::verify_record(&d, prev.as_deref())
        };
        let report = self.verify_decisions().await?;
        let chain_text = match &report.broken {
            None => format!(
                "{} decisions, hash chain intact, head matches",
                report.records
            ),
            Some(b) => format!("broken at link {}: {}", b.seq, b.problem),
        };
        let final_decision = case::Entity::find_by_id(d.application_id.clone())
            .one(self.db())
            .await?
            .and_then(|c| c.final_decision)
            .map(|f| known("final decision", &f, crate::review::final_decision_of))
            .transpose()?;
        Ok(DecisionTrace {
            row: self.trace_row(&d, &names)?,
            seq: d.seq,
            api_client: d.api_client.clone(),
            model_id: d.model_id,
            model_sha256: m.sha256,
            model_authorised,
            rule: record.served.rule.clone(),
            shadow,
            reasons: record.reason_texts(),
            final_decision,
            actions: self.history_entries(&d.application_id).await?,
            record_verified: record_check.is_ok(),
            record_problem: record_check.err(),
            chain: chain_text,
            chain_intact: report.broken.is_none(),
            hash: d.hash,
        })
    }
}
