//! The case file of one application for the officer's page: the data in readable groups, both
//! models' outputs, the SHAP waterfall, the applicant's reasons and the review history. Built
//! only from the stored, hash-chained decision record and the append-only review actions.

use lendscope_charts::{waterfall, WaterfallItem};
use lendscope_domain::review::{
    CaseFile, Contribution, Fact, FactGroup, HistoryEntry, ModelView, QueueCounts, QueueRow,
    QueueView,
};
use lendscope_domain::{CaseState, Decision};
use lendscope_model::features::{self, Input};
use sea_orm::sea_query::Expr;
use sea_orm::{EntityTrait, QuerySelect};
use serde_json::Value;

use super::{CaseSummary, QueueFilter, ReviewAction};
use crate::entity::case;
use crate::error::{known, ServiceError, ServiceResult};
use crate::scoring::policy::DecisionPolicy;
use crate::scoring::replay::decision_row;
use crate::scoring::{DecisionRecord, ModelScore};
use crate::Services;

/// How many factors get their own bar in the waterfall (the rest share one).
pub const WATERFALL_TOP: usize = 10;
const WATERFALL_WIDTH: u32 = 960;

pub use crate::scoring::display::display_value;

fn label_of(column: &str) -> String {
    features::input(column).map_or_else(|| column.replace('_', " "), |i| i.label.to_owned())
}

/// The value of a feature-set column in a stored request body.
fn input_value<'a>(body: &'a Value, column: &str) -> &'a Value {
    let path = crate::scoring::request::path_of(column);
    if path.is_empty() {
        return &Value::Null;
    }
    let pointer = format!("/{}", path.replace('.', "/"));
    body.pointer(&pointer).unwrap_or(&Value::Null)
}

fn model_view(score: &ModelScore) -> ModelView {
    ModelView {
        name: score.model.name.clone(),
        version: score.model.version,
        role: score.model.role,
        probability_of_default: score.probability_of_default,
        score: score.score,
        risk_band: score.risk_band.clone(),
        decision: score.decision,
        rule: score.rule.clone(),
    }
}

/// Officer-facing description of the policy rule behind a recommendation.
pub fn rule_text(policy: &DecisionPolicy, rule: &str) -> String {
    match rule {
        "kill_switch" => "Kill switch on: every application goes to manual review".to_owned(),
        "amount_out_of_range" | "term_out_of_range" => {
            policy.rule_reason(rule).map(|r| r.text).unwrap_or_default()
        }
        "pd_below_approve_threshold" => format!(
            "Probability of default below the approval threshold ({:.0}%)",
            policy.approve_below * 100.0
        ),
        "pd_at_or_above_reject_threshold" => format!(
            "Probability of default at or above the rejection threshold ({:.0}%)",
            policy.reject_from * 100.0
        ),
        "pd_between_thresholds" => format!(
            "Probability of default between the thresholds ({:.0}% – {:.0}%): a person decides",
            policy.approve_below * 100.0,
            policy.reject_from * 100.0
        ),
        other => other.replace('_', " "),
    }
}

/// What the officer had on screen, recorded with their decision.
fn shown_summary(served: &ModelView, decision_hash: &str) -> String {
    serde_json::json!({
        "model": served.name,
        "version": served.version,
        "role": served.role,
        "probability_of_default": served.probability_of_default,
        "score": served.score,
        "risk_band": served.risk_band,
        "recommended": served.decision,
        "decision_hash": decision_hash,
    })
    .to_string()
}

fn queue_row(c: CaseSummary) -> QueueRow {
    QueueRow {
        received: c.created_at.format("%Y-%m-%d %H:%M").to_string(),
        application_id: c.application_id,
        recommended: c.recommended,
        risk_band: c.risk_band,
        role: c.role,
        model_version: c.model_version,
        amount: c.amount,
        probability_of_default: c.probability_of_default,
        claimed_by: c.claimed_by,
    }
}

impl Services {
    /// Every officer action on an application, oldest first, as the pages show it.
    pub async fn history_entries(&self, application_id: &str) -> ServiceResult<Vec<HistoryEntry>> {
        self.case_history(application_id)
            .await?
            .into_iter()
            .map(|a| {
                let action = known("review action", &a.action, ReviewAction::parse)?;
                let recommended = known("recommendation", &a.recommended, Decision::parse)?;
                let reasons = a.stated_reason_texts()?.unwrap_or_default();
                Ok(HistoryEntry {
                    at: a.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    overrode: action.overrides(recommended),
                    officer: a.officer,
                    action,
                    note: a.note,
                    recommended,
                    model_shown: a.model_shown,
                    reasons,
                })
            })
            .collect()
    }
}

impl Services {
    /// The queue page: open cases (filters and keyset cursor as in [`Services::review_queue`])
    /// and the counts by state.
    pub async fn queue_view(
        &self,
        filter: &QueueFilter,
        after: Option<&str>,
        limit: u64,
    ) -> ServiceResult<QueueView> {
        let page = self.review_queue(filter, after, limit).await?;
        let counts = self.queue_counts().await?;
        Ok(QueueView {
            rows: page.items.into_iter().map(queue_row).collect(),
            next: page.next,
            counts,
        })
    }

    /// Cases by state: open per recommendation, claimed, decided — from memory (see
    /// [`crate::review::counts`]); computed from the database when missing, recomputed in the
    /// background when due.
    pub async fn queue_counts(&self) -> ServiceResult<QueueCounts> {
        use super::counts::Cached;
        let cache = self.counts_cache();
        match cache.get() {
            Cached::Fresh(c) => Ok(c),
            Cached::Stale(c) => {
                if let Some(generation) = cache.begin_refresh() {
                    let svc = self.clone();
                    tokio::spawn(async move {
                        match svc.count_cases_by_state().await {
                            Ok(fresh) => svc.counts_cache().store(generation, fresh),
                            Err(e) => {
                                tracing::warn!(error = %e, "queue counts not recomputed");
                                svc.counts_cache().end_refresh();
                            }
                        }
                    });
                }
                Ok(c)
            }
            Cached::Missing => {
                let generation = cache.begin_refresh();
                let result = self.count_cases_by_state().await;
                match (&result, generation) {
                    (Ok(c), Some(g)) => cache.store(g, c.clone()),
                    (Err(_), Some(_)) => cache.end_refresh(),
                    _ => {}
                }
                result
            }
        }
    }

    /// Counts the cases by state in the database (a scan of the cases table).
    pub async fn count_cases_by_state(&self) -> ServiceResult<QueueCounts> {
        let rows: Vec<(String, String, i64, i64)> = case::Entity::find()
            .select_only()
            .column(case::Column::State)
            .column(case::Column::Recommended)
            .column_as(Expr::col(case::Column::ApplicationId).count(), "n")
            .column_as(Expr::col(case::Column::ClaimedBy).count(), "claimed")
            .group_by(case::Column::State)
            .group_by(case::Column::Recommended)
            .into_tuple()
            .all(self.db())
            .await?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let mut counts = QueueCounts {
            open_by_recommendation: Decision::ALL.iter().map(|d| (*d, 0)).collect(),
            claimed: 0,
            decided: 0,
        };
        for (state, recommended, count, claimed) in rows {
            if state == CaseState::Open.as_str() {
                if let Some(slot) = counts
                    .open_by_recommendation
                    .iter_mut()
                    .find(|(d, _)| d.as_str() == recommended)
                {
                    slot.1 += n(count);
                }
                counts.claimed += n(claimed);
            } else {
                counts.decided += n(count);
            }
        }
        Ok(counts)
    }

    /// Everything the application page shows.
    pub async fn case_file(&self, application_id: &str) -> ServiceResult<CaseFile> {
        let summary = self.case_summary(application_id).await?;
        let row = decision_row(self.db(), application_id, None).await?;
        let record = DecisionRecord::from_content(&row.content)?;
        let served = model_view(&record.served);
        let shadow = record.shadow.as_ref().map(model_view);
        let policy = &record.policy;
        let body = &record.input;

        // The explanation per input column (one-hot columns summed), in the model's encoding.
        let model = self.load_model(row.model_id).await?;
        let schema = model.bundle.schema();
        let explanation = &record.served.explanation;
        let stored = &explanation.contributions;
        let per_feature: Vec<f64> = schema
            .features()
            .iter()
            .map(|f| stored.get(f).and_then(Value::as_f64).unwrap_or(0.0))
            .collect();
        let contributions: Vec<Contribution> = schema
            .per_column(&per_feature)
            .into_iter()
            .map(|(column, c)| Contribution {
                label: label_of(column),
                value: display_value(column, input_value(body, column)),
                contribution: c,
            })
            .collect();
        let (base_value, margin) = (explanation.base_value, explanation.margin);
        let items: Vec<WaterfallItem> = contributions
            .iter()
            .map(|c| WaterfallItem {
                label: c.label.clone(),
                value: c.value.clone(),
                contribution: c.contribution,
            })
            .collect();
        let waterfall_svg = waterfall(base_value, &items, WATERFALL_TOP, WATERFALL_WIDTH)
            .map_err(|e| ServiceError::Internal(format!("waterfall chart: {e}")))?;

        let groups = fact_groups(body);
        let history = self.history_entries(application_id).await?;
        Ok(CaseFile {
            application_id: row.application_id,
            applicant_id: row.applicant_id,
            received: row.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            groups,
            rule_text: rule_text(policy, &served.rule),
            policy_version: policy.version.clone(),
            served,
            shadow,
            base_value,
            contributions,
            margin,
            waterfall_svg,
            reasons: record.reason_texts(),
            reason_choices: super::actions::reason_choices(&record.reasons),
            counteroffer: crate::scoring::notice::offered_terms(&record, false)
                .zip(
                    record
                        .alternatives
                        .as_ref()
                        .and_then(|a| a.counteroffer.as_ref())
                        .map(|o| o.probability_of_default),
                )
                .map(|(t, pd)| (t.text, pd)),
            recourse: record
                .alternatives
                .iter()
                .flat_map(|a| a.recourse.iter().map(|r| r.statement.clone()))
                .collect(),
            notice_url: crate::scoring::notice_url(&row.notice_token),
            state: summary.state,
            final_decision: summary.final_decision,
            claimed_by: summary.claimed_by,
            version: summary.version,
            shown_token: row.hash,
            history,
        })
    }

    /// What an officer had on screen when acting on `application_id`, if the `shown` token
    /// they sent back is the one the case page carries; a different token is refused.
    pub(crate) async fn model_shown<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        application_id: &str,
        shown: Option<&str>,
    ) -> ServiceResult<Option<String>> {
        let Some(token) = shown.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let row = decision_row(db, application_id, None).await?;
        if row.hash != token {
            return Err(ServiceError::invalid(
                "shown",
                "does not match the model output of this application; reload the page",
            ));
        }
        let record = DecisionRecord::from_content(&row.content)?;
        Ok(Some(shown_summary(&model_view(&record.served), &row.hash)))
    }
}

/// The application's data in the feature set's groups (protected attributes are not shown:
/// they are kept for fairness monitoring only and must not influence the officer).
fn fact_groups(body: &Value) -> Vec<FactGroup> {
    let mut groups: Vec<FactGroup> = Vec::new();
    for input in features::INPUTS {
        let Input { name, group, .. } = *input;
        let fact = Fact {
            label: input.label.to_owned(),
            value: display_value(name, input_value(body, name)),
        };
        match groups.iter_mut().find(|g| g.title == group.label()) {
            Some(g) => g.facts.push(fact),
            None => groups.push(FactGroup {
                title: group.label().to_owned(),
                facts: vec![fact],
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_money_shares_counts_and_words() {
        assert_eq!(display_value("loan_amount", &json!(1500)), "$1,500");
        assert_eq!(
            display_value("avg_monthly_balance", &json!(1820.5)),
            "$1,820.50"
        );
        assert_eq!(display_value("min_balance_90d", &json!(-40)), "$−40");
        assert_eq!(display_value("rent_on_time_ratio", &json!(0.96)), "96%");
        assert_eq!(display_value("late_payments_12m", &json!(3)), "3");
        assert_eq!(display_value("income_volatility", &json!(0.2)), "0.20");
        assert_eq!(
            display_value("employment_status", &json!("full_time")),
            "full time"
        );
        assert_eq!(display_value("income_verified", &json!(true)), "yes");
        assert_eq!(
            display_value("device_tenure_months", &Value::Null),
            "not provided"
        );
    }

    #[test]
    fn every_input_is_shown_in_its_group() {
        let body = json!({
            "applicant": { "id": "A", "monthly_income": 2400 },
            "loan": { "amount": 1500, "term_months": 12, "purpose": "vehicle" },
            "alternative_data": { "employment": {}, "payments": {}, "digital": {}, "banking": {} }
        });
        let groups = fact_groups(&body);
        let total: usize = groups.iter().map(|g| g.facts.len()).sum();
        assert_eq!(total, features::INPUTS.len());
        assert_eq!(groups[0].title, "Loan request");
        assert!(groups[0]
            .facts
            .iter()
            .any(|f| f.label == "Loan amount" && f.value == "$1,500"));
    }

    #[test]
    fn rules_are_described_with_the_policy_thresholds() {
        let p = DecisionPolicy::default();
        assert!(rule_text(&p, "pd_between_thresholds").contains("10% – 30%"));
        assert!(rule_text(&p, "amount_out_of_range").contains("500"));
    }
}
