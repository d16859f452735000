//! Scoring one application: answer a repeated Idempotency-Key from the stored decision, route
//! the application to the champion or the challenger, score it with both (the other one in the
//! shadow), give principal reasons, and commit the decision to the hash chain.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lendscope_model::scale::{PointsScale, RiskBands};
use lendscope_model::shap::Explanation;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::alternatives::{alternatives, Alternatives};
use super::ids::{random_token, uuid_v4};
use super::policy::DecisionPolicy;
use super::reasons::{self, Reason};
use super::record::{DecisionRecord, ExplanationJson, ModelInfo, ModelScore};
use super::request::{self, ApplicationInput};
use super::writer;
use crate::entity::decision;
use crate::error::{ServiceError, ServiceResult};
use crate::registry::{LoadedModel, ModelRole, ServingPair};
use crate::Services;

/// The result of a scoring call: the response body, and whether it was created now or
/// replayed for a repeated Idempotency-Key.
#[derive(Debug, Clone)]
pub struct Scored {
    pub created: bool,
    pub application_id: String,
    /// Where the applicant reads the notice.
    pub notice_url: String,
    pub response: Value,
}

/// The path of an applicant's notice page.
pub fn notice_url(notice_token: &str) -> String {
    format!("/notice/{notice_token}")
}

/// The routing bucket (0–99) of an applicant: stable across requests and processes.
pub fn bucket(applicant_id: &str) -> u8 {
    let digest = Sha256::digest(applicant_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

fn explanation_json(model: &LoadedModel, e: &Explanation) -> ExplanationJson {
    let contributions = model
        .bundle
        .schema()
        .features()
        .iter()
        .zip(&e.contributions)
        .map(|(f, c)| (f.clone(), json!(c)))
        .collect();
    ExplanationJson {
        base_value: e.bias,
        contributions,
        margin: e.margin,
    }
}

/// Scores one application with one model (CPU work: run off the async runtime).
pub(super) fn score_with(
    model: &LoadedModel,
    role: ModelRole,
    input: &ApplicationInput,
    policy: &DecisionPolicy,
) -> ServiceResult<(ModelScore, Vec<f64>, Vec<Option<f32>>)> {
    let x = model.bundle.encode(|c| input.raw(c)).map_err(|e| {
        ServiceError::Internal(format!("encoding for model {}: {e}", model.meta.id))
    })?;
    // One walk of the trees gives the probability and the explanation's margin.
    let prediction = model
        .bundle
        .prediction(&x)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let pd = prediction
        .probability()
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let e = model
        .bundle
        .explain_predicted(&x, prediction)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let outcome = policy.decide(pd.value(), input.loan_amount(), input.loan_term_months());
    let features = x
        .as_slice()
        .iter()
        .map(|v| (!v.is_nan()).then_some(*v))
        .collect();
    Ok((
        ModelScore {
            model: ModelInfo {
                id: model.meta.id,
                name: model.meta.name.clone(),
                version: model.meta.version,
                role,
                sha256: Some(model.sha256.clone()),
            },
            probability_of_default: pd.value(),
            score: PointsScale::default().score(pd),
            risk_band: RiskBands::default().band(pd).to_owned(),
            decision: outcome.decision,
            rule: outcome.rule,
            explanation: explanation_json(model, &e),
        },
        e.contributions,
        features,
    ))
}

/// The reasons given to the applicant under reason-selection `method` (see [`reasons`]):
/// - method 2 (new decisions): a policy rule's reason (amount or term out of range) alone when
///   a rule decided — the model did not cause the decision — else the model's principal reasons;
/// - method 1 (records before it): the rule's reason first, then the model's largest positive
///   contributions, at most [`reasons::MAX_REASONS`] in all.
pub(super) fn decision_reasons(
    method: u32,
    policy: &DecisionPolicy,
    rule: &str,
    schema: &lendscope_model::FeatureSchema,
    contributions: &[f64],
    input: &ApplicationInput,
) -> Vec<Reason> {
    let mut reasons: Vec<Reason> = policy
        .rule_reason(rule)
        .map(|r| Reason {
            code: r.code.to_owned(),
            feature: if r.code == "P01" {
                "loan_amount"
            } else {
                "loan_term_months"
            }
            .to_owned(),
            text: r.text,
            contribution: 0.0,
        })
        .into_iter()
        .collect();
    if method >= 2 {
        if reasons.is_empty() {
            reasons = reasons::principal_reasons(schema, contributions, input);
        }
    } else {
        reasons.extend(reasons::principal_reasons_v1(schema, contributions, input));
    }
    reasons.truncate(reasons::MAX_REASONS);
    reasons
}

/// Validates an Idempotency-Key: 1 to 128 visible ASCII characters.
pub fn check_idempotency_key(key: &str) -> ServiceResult<()> {
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServiceError::invalid(
            "Idempotency-Key",
            "must be 1 to 128 visible ASCII characters",
        ));
    }
    Ok(())
}

/// The model that serves an application with its role, and the one scored in the shadow with
/// its role (or why the other model could not be loaded).
struct Routed {
    served: Arc<LoadedModel>,
    served_role: ModelRole,
    shadow: Option<Arc<LoadedModel>>,
    shadow_role: ModelRole,
    shadow_failed: Option<String>,
}

/// Routes an applicant: to the challenger when there is one and the applicant's bucket is
/// below its share (sticky by applicant), else to the champion; the other model is the shadow.
fn route(pair: &ServingPair, applicant_id: &str) -> Routed {
    let to_challenger = pair.challenger.is_some() && bucket(applicant_id) < pair.challenger_share;
    match (&pair.challenger, to_challenger) {
        (Some(ch), true) => Routed {
            served: ch.clone(),
            served_role: ModelRole::Challenger,
            shadow: Some(pair.champion.clone()),
            shadow_role: ModelRole::Champion,
            shadow_failed: None,
        },
        (ch, _) => Routed {
            served: pair.champion.clone(),
            served_role: ModelRole::Champion,
            shadow: ch.clone(),
            shadow_role: ModelRole::Challenger,
            shadow_failed: pair.challenger_error.clone(),
        },
    }
}

/// An application scored by the serving model and the shadow model.
struct Predicted {
    input: ApplicationInput,
    served: ModelScore,
    /// The serving model's feature schema, for the reasons.
    schema: lendscope_model::FeatureSchema,
    contributions: Vec<f64>,
    features: Vec<Option<f32>>,
    shadow: Option<ModelScore>,
    /// Why the shadow model gave no output, if it failed.
    shadow_error: Option<String>,
    policy: DecisionPolicy,
    /// The serving model's counteroffer and recourse.
    alternatives: Alternatives,
}

/// Scores the application with the routed models, off the async runtime.
async fn predict(
    routed: Routed,
    input: ApplicationInput,
    policy: DecisionPolicy,
) -> ServiceResult<Predicted> {
    let Routed {
        served,
        served_role,
        shadow,
        shadow_role,
        shadow_failed,
    } = routed;
    // The shadow model scores on another blocking thread (with its own copy of the application)
    // while the serving model scores and searches alternatives: the two are independent, so with
    // a core to spare the decision waits for the longer of the two, not their sum.
    let shadow_task = shadow.map(|m| {
        let (input, policy) = (input.clone(), policy.clone());
        tokio::task::spawn_blocking(move || {
            score_with(&m, shadow_role, &input, &policy)
                .map_err(|e| format!("model {}: {e}", m.meta.id))
        })
    });
    let served_task = tokio::task::spawn_blocking(move || {
        let (s, contributions, features) = score_with(&served, served_role, &input, &policy)?;
        let (alternatives, _) = alternatives(&served.bundle, &input, &policy, s.decision)?;
        Ok::<_, ServiceError>(Predicted {
            schema: served.bundle.schema().clone(),
            input,
            served: s,
            contributions,
            features,
            shadow: None,
            shadow_error: None,
            policy,
            alternatives,
        })
    });
    let mut predicted = served_task
        .await
        .map_err(|e| ServiceError::Internal(format!("scoring task: {e}")))??;
    // The shadow never decides, so its failure — an error or its task's panic — never fails
    // the decision: it is recorded.
    match shadow_task {
        Some(task) => match task.await {
            Ok(Ok((score, _, _))) => predicted.shadow = Some(score),
            Ok(Err(e)) => predicted.shadow_error = Some(e),
            Err(e) => predicted.shadow_error = Some(format!("shadow scoring task: {e}")),
        },
        None => predicted.shadow_error = shadow_failed,
    }
    Ok(predicted)
}

/// Who asked for a new decision, and the identifiers it is given.
struct Issued<'a> {
    application_id: String,
    notice_token: String,
    created_at: DateTime<Utc>,
    api_client: &'a str,
    idempotency_key: Option<&'a str>,
    request_hash: String,
}

/// The response body of a new decision.
fn response_body(issued: &Issued<'_>, p: &Predicted, reasons: &[Reason]) -> Value {
    let served_score = &p.served;
    json!({
        "application_id": issued.application_id,
        "created_at": issued.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "decision": served_score.decision,
        "probability_of_default": served_score.probability_of_default,
        "score": served_score.score,
        "risk_band": served_score.risk_band,
        "model": {
            "name": served_score.model.name,
            "version": served_score.model.version,
            "role": served_score.model.role,
        },
        "policy": { "version": p.policy.version, "rule": served_score.rule },
        "reasons": reasons,
        "counteroffer": p.alternatives.counteroffer,
        "recourse": p.alternatives.recourse,
        "explanation": served_score.explanation,
        "notice_url": notice_url(&issued.notice_token),
    })
}

/// The record of a new decision: what is stored, hashed and chained.
fn decision_content(
    issued: &Issued<'_>,
    p: &Predicted,
    reasons: &[Reason],
    response: &Value,
) -> DecisionRecord {
    let served_score = &p.served;
    DecisionRecord {
        application_id: issued.application_id.clone(),
        notice_token: issued.notice_token.clone(),
        created_at: issued
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        api_client: issued.api_client.to_owned(),
        idempotency_key: issued.idempotency_key.map(str::to_owned),
        request_hash: issued.request_hash.clone(),
        applicant_id: p.input.applicant_id.clone(),
        input: serde_json::to_value(&p.input.body).unwrap_or(Value::Null),
        protected: p.input.protected.clone(),
        features: p.features.clone(),
        model: served_score.model.clone(),
        probability_of_default: served_score.probability_of_default,
        decision: served_score.decision,
        policy: p.policy.clone(),
        served: served_score.clone(),
        shadow: p.shadow.clone(),
        shadow_error: p.shadow_error.clone(),
        reasons: reasons.to_vec(),
        reasons_method: Some(reasons::REASONS_METHOD),
        alternatives: Some(p.alternatives.clone()),
        response: response.clone(),
        seq: None,
    }
}

/// What the decision writer commits for a new decision.
fn pending_decision(
    issued: Issued<'_>,
    p: &Predicted,
    record: DecisionRecord,
) -> writer::PendingDecision {
    let served_score = &p.served;
    writer::PendingDecision {
        application_id: issued.application_id,
        notice_token: issued.notice_token,
        created_at: issued.created_at,
        api_client: issued.api_client.to_owned(),
        idempotency_key: issued.idempotency_key.map(str::to_owned),
        request_hash: issued.request_hash,
        applicant_id: p.input.applicant_id.clone(),
        model_id: served_score.model.id,
        role: served_score.model.role.as_str().to_owned(),
        decision: served_score.decision.as_str().to_owned(),
        probability_of_default: served_score.probability_of_default,
        policy_version: p.policy.version.clone(),
        record,
        case: writer::CaseSeed {
            recommended: served_score.decision.as_str().to_owned(),
            risk_band: served_score.risk_band.clone(),
            model_version: served_score.model.version,
            amount: p.input.loan_amount(),
        },
    }
}

impl Services {
    /// Scores an application for an API client. With an Idempotency-Key, a repeat of the same
    /// body returns the stored response; another body under the same key is refused.
    pub async fn score_application(
        &self,
        api_client: &str,
        idempotency_key: Option<&str>,
        body: &[u8],
    ) -> ServiceResult<Scored> {
        let request_hash = hex::encode(Sha256::digest(body));
        self.score_once(api_client, idempotency_key, request_hash, || {
            request::parse(body)
        })
        .await
    }

    /// Scores an application once per Idempotency-Key: a repeat with the same `request_hash`
    /// returns the stored answer, another request under the key is refused; otherwise `input`
    /// gives the parsed application (the API parses the body, the web form builds it).
    pub(crate) async fn score_once(
        &self,
        api_client: &str,
        idempotency_key: Option<&str>,
        request_hash: String,
        input: impl FnOnce() -> ServiceResult<ApplicationInput>,
    ) -> ServiceResult<Scored> {
        let m = self.metrics();
        if let Some(key) = idempotency_key {
            check_idempotency_key(key)?;
            let started = std::time::Instant::now();
            let stored = self.stored_answer(api_client, key, &request_hash).await?;
            m.stage("idempotency", started);
            if let Some(stored) = stored {
                return Ok(stored);
            }
        }
        let input = input()?;
        let pair = self.serving_pair().await?;
        let policy = self.current_policy().await?;
        let routed = route(&pair, &input.applicant_id);
        let started = std::time::Instant::now();
        let p = predict(routed, input, policy).await?;
        m.stage("model", started);

        let started = std::time::Instant::now();
        let reasons = decision_reasons(
            reasons::REASONS_METHOD,
            &p.policy,
            &p.served.rule,
            &p.schema,
            &p.contributions,
            &p.input,
        );

        let issued = Issued {
            created_at: self.now(),
            application_id: uuid_v4(),
            notice_token: random_token(),
            api_client,
            idempotency_key,
            request_hash,
        };
        let response = response_body(&issued, &p, &reasons);
        let record = decision_content(&issued, &p, &reasons, &response);
        let application_id = issued.application_id.clone();
        let notice_url = notice_url(&issued.notice_token);
        let pending = pending_decision(issued, &p, record);
        m.stage("build", started);
        let started = std::time::Instant::now();
        self.decision_writer().commit(pending).await?;
        m.stage("commit", started);
        self.count_new_decision(&p.served, p.shadow.as_ref(), p.shadow_error.is_some());
        Ok(Scored {
            created: true,
            application_id,
            notice_url,
            response,
        })
    }

    /// The stored answer to a repeated Idempotency-Key (`None` for a key not used yet); the
    /// key used with a different body is refused.
    async fn stored_answer(
        &self,
        api_client: &str,
        key: &str,
        request_hash: &str,
    ) -> ServiceResult<Option<Scored>> {
        if let Some(existing) = decision::Entity::find()
            .filter(decision::Column::ApiClient.eq(api_client))
            .filter(decision::Column::IdempotencyKey.eq(key))
            .one(self.db())
            .await?
        {
            if existing.request_hash != request_hash {
                return Err(ServiceError::invalid(
                    "Idempotency-Key",
                    "this key was used with a different request body",
                ));
            }
            let record = DecisionRecord::from_content(&existing.content)?;
            return Ok(Some(Scored {
                created: false,
                application_id: existing.application_id,
                notice_url: notice_url(&record.notice_token),
                response: record.response,
            }));
        }
        Ok(None)
    }

    /// Counts a committed new decision: the review queue's counts and the decision metrics.
    fn count_new_decision(
        &self,
        served_score: &ModelScore,
        shadow_score: Option<&ModelScore>,
        shadow_failed: bool,
    ) {
        self.counts_cache()
            .apply(crate::review::counts::CountChange::Opened(
                served_score.decision,
            ));
        let version = served_score.model.version.to_string();
        let m = self.metrics();
        m.inc(
            "lendscope_decisions_total",
            &[
                ("decision", served_score.decision.as_str()),
                ("model_version", &version),
                ("role", served_score.model.role.as_str()),
            ],
        );
        m.observe(
            "lendscope_probability_of_default",
            crate::metrics::PD_BUCKETS,
            &[("role", served_score.model.role.as_str())],
            served_score.probability_of_default,
        );
        m.observe(
            "lendscope_score",
            crate::metrics::SCORE_BUCKETS,
            &[("role", served_score.model.role.as_str())],
            served_score.score as f64,
        );
        if shadow_failed {
            m.inc(
                "lendscope_shadow_failures_total",
                &[("served_role", served_score.model.role.as_str())],
            );
        }
        if let Some(shadow) = shadow_score {
            let role = served_score.model.role.as_str();
            m.inc(
                "lendscope_shadow_comparisons_total",
                &[("served_role", role)],
            );
            if shadow.decision != served_score.decision {
                m.inc(
                    "lendscope_shadow_disagreements_total",
                    &[("served_role", role)],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(bucket("A-1"), bucket("A-1"));
        let mut counts = [0usize; 10];
        for i in 0..10_000 {
            counts[usize::from(bucket(&format!("applicant-{i}")) / 10)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
