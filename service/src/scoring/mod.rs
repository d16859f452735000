//! Real-time scoring: validate the application, route it to the champion or the challenger
//! (sticky by applicant), score it with both (the other one in the shadow), decide by the
//! versioned policy, give principal reasons, and append the decision to the hash chain —
//! answering only once it is committed.

pub mod chain;
pub mod form;
pub mod notice;
pub mod policy;
pub mod reasons;
pub mod registry;
pub mod request;
pub mod writer;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lendscope_model::scale::{PointsScale, RiskBands};
use lendscope_model::shap::Explanation;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor};
use crate::entity::{decision, decision_policy, outcome};
use crate::error::{ServiceError, ServiceResult};
use crate::Services;
use policy::{Decision, DecisionPolicy};
use reasons::Reason;
use registry::{LoadedModel, Role};
use request::ApplicationInput;
pub use writer::DecisionWriter;

const POLICY_TTL: Duration = Duration::from_secs(2);

/// One model's view of an application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelScore {
    pub model: ModelInfo,
    pub probability_of_default: f64,
    pub score: i64,
    pub risk_band: String,
    pub decision: Decision,
    pub rule: String,
    pub explanation: ExplanationJson,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: i64,
    pub name: String,
    pub version: i32,
    pub role: Role,
}

/// SHAP values in log-odds: `base_value + Σ contributions = margin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplanationJson {
    pub base_value: f64,
    pub contributions: Map<String, Value>,
    pub margin: f64,
}

/// The result of a scoring call: the response body, and whether it was created now or
/// replayed for a repeated Idempotency-Key.
#[derive(Debug, Clone)]
pub struct Scored {
    pub created: bool,
    pub application_id: String,
    pub response: Value,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
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
fn score_with(
    model: &LoadedModel,
    role: Role,
    input: &ApplicationInput,
    policy: &DecisionPolicy,
) -> ServiceResult<(ModelScore, Vec<f64>, Vec<Option<f32>>)> {
    let x = model.bundle.encode(|c| input.raw(c)).map_err(|e| {
        ServiceError::Internal(format!("encoding for model {}: {e}", model.meta.id))
    })?;
    let pd = model
        .bundle
        .predict(&x)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let e = model
        .bundle
        .explain(&x)
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

/// The reasons given to the applicant: the policy rule's reason (amount or term out of range)
/// first, then the principal factors of the model's score, at most [`reasons::MAX_REASONS`].
fn decision_reasons(
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
    reasons.extend(reasons::principal_reasons(schema, contributions, input));
    reasons.truncate(reasons::MAX_REASONS);
    reasons
}

/// A stored decision recomputed from its stored inputs with the model version and policy
/// version it names: the notice built from the recomputation against the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct Reproduction {
    pub application_id: String,
    pub model: String,
    pub policy_version: String,
    pub stored_probability: f64,
    pub recomputed_probability: f64,
    /// The notices (of the automated decision) as JSON bytes.
    pub stored_notice: String,
    pub regenerated_notice: String,
}

impl Reproduction {
    pub fn identical(&self) -> bool {
        self.stored_notice == self.regenerated_notice
            && self.stored_probability.to_bits() == self.recomputed_probability.to_bits()
    }
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

    /// Recomputes a stored decision from its stored inputs, model version and policy version,
    /// and regenerates its notice from the recomputation (see [`Reproduction`]).
    pub async fn reproduce_decision(&self, application_id: &str) -> ServiceResult<Reproduction> {
        let row = decision::Entity::find()
            .filter(decision::Column::ApplicationId.eq(application_id))
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("application"))?;
        let record: Value = serde_json::from_str(&row.content)
            .map_err(|e| ServiceError::Internal(format!("stored decision: {e}")))?;
        let stored = crate::governance::stored(&row.content)?;
        let policy = self.policy_version(&row.policy_version).await?;
        let model = self.load_model(row.model_id).await?;
        let role = if row.role == "challenger" {
            Role::Challenger
        } else {
            Role::Champion
        };
        let (score, contributions, _) = score_with(&model, role, &stored.input, &policy)?;
        let reasons = decision_reasons(
            &policy,
            &score.rule,
            model.bundle.schema(),
            &contributions,
            &stored.input,
        );
        let mut recomputed = record.clone();
        recomputed["decision"] = json!(score.decision);
        recomputed["reasons"] = json!(reasons);
        let bytes = |r: &Value| -> ServiceResult<String> {
            serde_json::to_string(&notice::build(r, None)?)
                .map_err(|e| ServiceError::Internal(e.to_string()))
        };
        Ok(Reproduction {
            application_id: application_id.to_owned(),
            model: format!("{} v{}", model.meta.name, model.meta.version),
            policy_version: policy.version.clone(),
            stored_probability: row.probability_of_default,
            recomputed_probability: score.probability_of_default,
            stored_notice: bytes(&record)?,
            regenerated_notice: bytes(&recomputed)?,
        })
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

    /// Scores an application for an API client. With an Idempotency-Key, a repeat of the same
    /// body returns the stored response; another body under the same key is refused.
    pub async fn score_application(
        &self,
        api_client: &str,
        idempotency_key: Option<&str>,
        body: &[u8],
    ) -> ServiceResult<Scored> {
        if let Some(key) = idempotency_key {
            check_idempotency_key(key)?;
        }
        let request_hash = hex::encode(Sha256::digest(body));
        if let Some(key) = idempotency_key {
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
                let content: Value = serde_json::from_str(&existing.content)
                    .map_err(|e| ServiceError::Internal(format!("stored decision: {e}")))?;
                return Ok(Scored {
                    created: false,
                    application_id: existing.application_id,
                    response: content.get("response").cloned().unwrap_or(Value::Null),
                });
            }
        }
        let input = request::parse(body)?;
        let pair = self.serving_pair().await?;
        let policy = self.current_policy().await?;
        let to_challenger =
            pair.challenger.is_some() && bucket(&input.applicant_id) < pair.challenger_share;
        let (served, served_role, shadow, shadow_role) = match (&pair.challenger, to_challenger) {
            (Some(ch), true) => (
                ch.clone(),
                Role::Challenger,
                Some(pair.champion.clone()),
                Role::Champion,
            ),
            (ch, _) => (
                pair.champion.clone(),
                Role::Champion,
                ch.clone(),
                Role::Challenger,
            ),
        };
        let (input, served_score, contributions, features, shadow_score, policy) =
            tokio::task::spawn_blocking(move || {
                let (s, contributions, features) =
                    score_with(&served, served_role, &input, &policy)?;
                let shadow = match &shadow {
                    Some(m) => Some(score_with(m, shadow_role, &input, &policy)?.0),
                    None => None,
                };
                let reasons_schema = served.bundle.schema().clone();
                Ok::<_, ServiceError>((
                    input,
                    (s, reasons_schema),
                    contributions,
                    features,
                    shadow,
                    policy,
                ))
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("scoring task: {e}")))??;
        let (served_score, schema) = served_score;

        let reasons =
            decision_reasons(&policy, &served_score.rule, &schema, &contributions, &input);

        let now = self.now();
        let application_id = uuid_v4();
        let notice_token = random_token();
        let response = json!({
            "application_id": application_id,
            "created_at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "decision": served_score.decision,
            "probability_of_default": served_score.probability_of_default,
            "score": served_score.score,
            "risk_band": served_score.risk_band,
            "model": {
                "name": served_score.model.name,
                "version": served_score.model.version,
                "role": served_score.model.role,
            },
            "policy": { "version": policy.version, "rule": served_score.rule },
            "reasons": reasons,
            "explanation": served_score.explanation,
            "notice_url": format!("/notice/{notice_token}"),
        });
        let mut record = Map::new();
        record.insert("application_id".into(), json!(application_id));
        record.insert("notice_token".into(), json!(notice_token));
        record.insert(
            "created_at".into(),
            json!(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        record.insert("api_client".into(), json!(api_client));
        record.insert("idempotency_key".into(), json!(idempotency_key));
        record.insert("request_hash".into(), json!(request_hash));
        record.insert("applicant_id".into(), json!(input.applicant_id));
        record.insert(
            "input".into(),
            serde_json::to_value(&input.body).unwrap_or(Value::Null),
        );
        record.insert(
            "protected".into(),
            serde_json::to_value(&input.protected).unwrap_or(Value::Null),
        );
        record.insert("features".into(), json!(features));
        record.insert(
            "model".into(),
            serde_json::to_value(&served_score.model).unwrap_or(Value::Null),
        );
        record.insert(
            "probability_of_default".into(),
            json!(served_score.probability_of_default),
        );
        record.insert("decision".into(), json!(served_score.decision));
        record.insert(
            "policy".into(),
            serde_json::to_value(&policy).unwrap_or(Value::Null),
        );
        record.insert(
            "served".into(),
            serde_json::to_value(&served_score).unwrap_or(Value::Null),
        );
        record.insert(
            "shadow".into(),
            serde_json::to_value(&shadow_score).unwrap_or(Value::Null),
        );
        record.insert(
            "reasons".into(),
            serde_json::to_value(&reasons).unwrap_or(Value::Null),
        );
        record.insert("response".into(), response.clone());
        let pending = writer::PendingDecision {
            application_id: application_id.clone(),
            notice_token,
            created_at: now,
            api_client: api_client.to_owned(),
            idempotency_key: idempotency_key.map(str::to_owned),
            request_hash,
            applicant_id: input.applicant_id.clone(),
            model_id: served_score.model.id,
            role: served_score.model.role.as_str().to_owned(),
            decision: served_score.decision.as_str().to_owned(),
            probability_of_default: served_score.probability_of_default,
            policy_version: policy.version.clone(),
            record,
            case: writer::CaseSeed {
                recommended: served_score.decision.as_str().to_owned(),
                risk_band: served_score.risk_band.clone(),
                model_version: served_score.model.version,
                amount: input.loan_amount(),
            },
        };
        self.decision_writer().commit(pending).await?;
        self.counts_cache()
            .apply(crate::counts::CountChange::Opened(
                served_score.decision.as_str(),
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
        if let Some(shadow) = &shadow_score {
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
        Ok(Scored {
            created: true,
            application_id,
            response,
        })
    }

    /// A stored decision's record (the hashed content), visible to the client that created it
    /// (`None` for staff, who see every application).
    pub async fn decision_record(
        &self,
        application_id: &str,
        api_client: Option<&str>,
    ) -> ServiceResult<Value> {
        let mut q =
            decision::Entity::find().filter(decision::Column::ApplicationId.eq(application_id));
        if let Some(client) = api_client {
            q = q.filter(decision::Column::ApiClient.eq(client));
        }
        let row = q
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("application"))?;
        serde_json::from_str(&row.content)
            .map_err(|e| ServiceError::Internal(format!("stored decision: {e}")))
    }

    /// What an API client sees of an application: the scoring response and the outcome.
    pub async fn application_view(
        &self,
        application_id: &str,
        api_client: &str,
    ) -> ServiceResult<Value> {
        let record = self
            .decision_record(application_id, Some(api_client))
            .await?;
        let mut view = record.get("response").cloned().unwrap_or(Value::Null);
        let outcome = outcome::Entity::find()
            .filter(outcome::Column::ApplicationId.eq(application_id))
            .one(self.db())
            .await?;
        if let Value::Object(map) = &mut view {
            map.insert(
                "outcome".into(),
                outcome.map_or(Value::Null, |o| {
                    json!({ "outcome": o.outcome, "observed_at": o.observed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
                }),
            );
        }
        Ok(view)
    }

    /// Records the observed outcome of a loan. Repeating the same outcome is harmless; a
    /// different outcome for the same application is a conflict.
    pub async fn record_outcome(
        &self,
        application_id: &str,
        api_client: &str,
        outcome_value: &str,
        observed_at: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<(bool, Value)> {
        if !matches!(outcome_value, "repaid" | "defaulted") {
            return Err(ServiceError::invalid(
                "outcome",
                "must be repaid or defaulted",
            ));
        }
        let row = decision::Entity::find()
            .filter(decision::Column::ApplicationId.eq(application_id))
            .filter(decision::Column::ApiClient.eq(api_client))
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("application"))?;
        if observed_at > self.now() + chrono::Duration::minutes(5) {
            return Err(ServiceError::invalid("observed_at", "lies in the future"));
        }
        if observed_at < row.created_at {
            return Err(ServiceError::invalid(
                "observed_at",
                "is before the application was decided",
            ));
        }
        let view = |o: &outcome::Model| {
            json!({
                "application_id": o.application_id,
                "outcome": o.outcome,
                "observed_at": o.observed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "recorded_at": o.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        };
        let existing = outcome::Entity::find()
            .filter(outcome::Column::ApplicationId.eq(application_id))
            .one(self.db())
            .await?;
        if let Some(o) = existing {
            return same_or_conflict(&o, outcome_value).map(|()| (false, view(&o)));
        }
        let inserted = outcome::ActiveModel {
            id: NotSet,
            application_id: Set(application_id.to_owned()),
            outcome: Set(outcome_value.to_owned()),
            observed_at: Set(observed_at),
            recorded_at: Set(self.now()),
            recorded_by: Set(format!("api_key:{api_client}")),
        }
        .insert(self.db())
        .await;
        match inserted {
            Ok(o) => Ok((true, view(&o))),
            Err(e) if ServiceError::is_unique_violation(&e) => {
                let o = outcome::Entity::find()
                    .filter(outcome::Column::ApplicationId.eq(application_id))
                    .one(self.db())
                    .await?
                    .ok_or(ServiceError::NotFound("outcome"))?;
                same_or_conflict(&o, outcome_value).map(|()| (false, view(&o)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Checks the whole decision chain.
    pub async fn verify_decisions(&self) -> ServiceResult<chain::ChainReport> {
        chain::verify(self.db()).await
    }
}

fn same_or_conflict(existing: &outcome::Model, wanted: &str) -> ServiceResult<()> {
    if existing.outcome == wanted {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!(
            "the outcome of this application is already recorded as {}",
            existing.outcome
        )))
    }
}

/// A random (version 4) UUID.
fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
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

    #[test]
    fn uuids_look_like_uuids() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, uuid_v4());
    }
}
