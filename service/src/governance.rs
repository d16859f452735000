//! Model governance: the registry's views (versions with lineage, alias periods, training
//! runs), the champion-versus-challenger comparison with its promotion gate, four-eyes
//! promotion (one admin requests, another approves, requests expire), rollback to an earlier
//! champion and archiving.
//!
//! Comparisons re-score stored applications: every decision keeps its validated input, so
//! any version can be evaluated on the same recent applications (agreement, score
//! distributions, fairness) and on the decided applications whose outcome is known (AUC and
//! KS with paired bootstrap intervals), whether or not it served them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use lendscope_domain::governance::{
    AliasPeriod, Comparison, GateCheck, GroupParity, Interval, MetricRow, ModelDetail, ModelRow,
    PromotionView, RealizedView, RegistryView, RunRow,
};
use lendscope_model::compare::{self, Estimate};
use lendscope_model::metrics;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{json, Value};

use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::{
    alias_history, decision, model, model_alias, model_status, outcome, promotion_request,
    promotion_resolution, training_run,
};
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::policy::{Decision, DecisionPolicy};
use crate::scoring::registry::{write_alias, LoadedModel, Role};
use crate::scoring::request::{self, ApplicationInput};
use crate::{RequestMeta, Services};

/// The bounds a challenger must meet before anyone may request its promotion.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// The challenger's AUC on labelled outcomes may be at most this much below the champion's.
    pub auc_tolerance: f64,
    /// Fewest labelled decisions (with both outcomes) for the performance check.
    pub min_labelled: usize,
    /// Largest demographic parity difference of approval rates across groups.
    pub max_parity_difference: f64,
    /// Smallest ratio of approval rates (the four-fifths rule).
    pub min_disparate_impact: f64,
    /// Groups with fewer applications in the window are listed but not judged: with 100
    /// members an approval rate's standard error is up to 5 points, with 30 up to 9.
    pub min_group_members: usize,
    /// Largest PSI between the champion's and the challenger's scores on the same applications.
    pub max_psi: f64,
    /// Largest 99th percentile of the challenger's scoring time (encode, predict, explain).
    pub max_latency_p99_us: f64,
    /// Recent applications re-scored for agreement, distributions and fairness.
    pub window: u64,
    /// Labelled decisions used at most (the newest).
    pub max_labelled: u64,
    /// How long a promotion request waits for its approval.
    pub request_ttl: Duration,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            auc_tolerance: 0.02,
            min_labelled: 100,
            max_parity_difference: 0.10,
            min_disparate_impact: 0.8,
            min_group_members: 100,
            max_psi: 0.25,
            max_latency_p99_us: 5_000.0,
            window: 2_000,
            max_labelled: 20_000,
            request_ttl: Duration::hours(24),
        }
    }
}

const BOOTSTRAP_RESAMPLES: usize = 300;
const HIST_BINS: usize = 20;
pub(crate) const PROTECTED_ATTRIBUTES: [&str; 2] = ["gender", "age_band"];

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// Whether a model's latest status is `archived`.
pub(crate) async fn is_archived(db: &impl ConnectionTrait, model_id: i64) -> ServiceResult<bool> {
    Ok(model_status::Entity::find()
        .filter(model_status::Column::ModelId.eq(model_id))
        .order_by_desc(model_status::Column::Id)
        .one(db)
        .await?
        .is_some_and(|s| s.status == "archived"))
}

/// Refuses an archived version as champion or challenger.
pub(crate) async fn refuse_archived(db: &impl ConnectionTrait, model_id: i64) -> ServiceResult<()> {
    if is_archived(db, model_id).await? {
        return Err(ServiceError::Conflict(
            "this version is archived; archived versions cannot serve".into(),
        ));
    }
    Ok(())
}

/// A stored application, re-read for evaluation.
pub(crate) struct Stored {
    pub(crate) input: ApplicationInput,
    pub(crate) served_model: Option<i64>,
    pub(crate) served_pd: Option<f64>,
    pub(crate) served_decision: Option<String>,
    pub(crate) shadow_model: Option<i64>,
    pub(crate) shadow_pd: Option<f64>,
    pub(crate) shadow_decision: Option<String>,
}

pub(crate) fn stored(content: &str) -> ServiceResult<Stored> {
    let v: Value = serde_json::from_str(content).map_err(internal)?;
    let body = serde_json::to_vec(&v["input"]).map_err(internal)?;
    let input = request::parse(&body)
        .map_err(|e| ServiceError::Internal(format!("a stored input does not parse: {e}")))?;
    let model_id = |s: &Value| s["model"]["id"].as_i64();
    Ok(Stored {
        input,
        served_model: model_id(&v["served"]),
        served_pd: v["served"]["probability_of_default"].as_f64(),
        served_decision: v["served"]["decision"].as_str().map(str::to_owned),
        shadow_model: model_id(&v["shadow"]),
        shadow_pd: v["shadow"]["probability_of_default"].as_f64(),
        shadow_decision: v["shadow"]["decision"].as_str().map(str::to_owned),
    })
}

/// Probability of default and the policy's recommendation of `model` for each input.
fn rescore(
    model: &LoadedModel,
    inputs: &[&ApplicationInput],
    policy: &DecisionPolicy,
) -> ServiceResult<Vec<(f64, Decision)>> {
    inputs
        .iter()
        .map(|input| {
            let x = model.bundle.encode(|c| input.raw(c)).map_err(internal)?;
            let pd = model.bundle.predict(&x).map_err(internal)?.value();
            let d = policy
                .decide(pd, input.loan_amount(), input.loan_term_months())
                .decision;
            Ok((pd, d))
        })
        .collect()
}

/// Scoring time per application (encode, predict, explain) in microseconds: (p50, p99).
fn latency(model: &LoadedModel, inputs: &[&ApplicationInput]) -> ServiceResult<(f64, f64)> {
    let mut times = Vec::with_capacity(inputs.len());
    for input in inputs.iter().take(500) {
        let start = std::time::Instant::now();
        let x = model.bundle.encode(|c| input.raw(c)).map_err(internal)?;
        let p = model.bundle.predict(&x).map_err(internal)?;
        let e = model.bundle.explain(&x).map_err(internal)?;
        std::hint::black_box((p, e));
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    if times.is_empty() {
        return Ok((0.0, 0.0));
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.5), at(0.99)))
}

fn interval(e: Estimate) -> Interval {
    Interval {
        value: e.value,
        low: e.low,
        high: e.high,
    }
}

pub(crate) fn protected_value<'a>(input: &'a ApplicationInput, attribute: &str) -> Option<&'a str> {
    match attribute {
        "gender" => input.protected.gender.as_deref(),
        "age_band" => input.protected.age_band.as_deref(),
        _ => None,
    }
}

/// The members of each group of a protected attribute, with what goes with each application,
/// keeping only groups of at least `min_members` (smaller groups' rates are too uncertain to
/// judge); also "group (n)" for each group left out.
pub(crate) fn judged_groups<'a, T>(
    items: impl IntoIterator<Item = (&'a ApplicationInput, T)>,
    attribute: &str,
    min_members: usize,
) -> (Vec<(&'a str, T)>, Vec<String>) {
    let pairs: Vec<(&'a str, T)> = items
        .into_iter()
        .filter_map(|(i, t)| protected_value(i, attribute).map(|g| (g, t)))
        .collect();
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, _) in &pairs {
        *sizes.entry(g).or_default() += 1;
    }
    let small = sizes
        .iter()
        .filter(|(_, &n)| n < min_members)
        .map(|(g, n)| format!("{g} ({n})"))
        .collect();
    let judged = pairs
        .into_iter()
        .filter(|(g, _)| sizes.get(g).copied().unwrap_or(0) >= min_members)
        .collect();
    (judged, small)
}

/// Approval-rate parity per protected attribute of the recommendations `approved`.
fn fairness(
    inputs: &[&ApplicationInput],
    approved: &[bool],
    min_members: usize,
) -> Vec<GroupParity> {
    PROTECTED_ATTRIBUTES
        .iter()
        .map(|&attribute| {
            let (judged, small) = judged_groups(
                inputs.iter().copied().zip(approved.iter().copied()),
                attribute,
                min_members,
            );
            let (groups, sel): (Vec<&str>, Vec<bool>) = judged.into_iter().unzip();
            let small_note = (!small.is_empty()).then(|| {
                format!(
                    "groups with fewer than {min_members} applications are not judged (their approval rate is too uncertain): {}",
                    small.join(", ")
                )
            });
            match lendscope_model::fairness::report(&groups, &sel, None) {
                Ok(p) => GroupParity {
                    attribute: attribute.to_owned(),
                    groups: p
                        .groups
                        .iter()
                        .map(|g| (g.group.clone(), g.members, g.selection_rate))
                        .collect(),
                    difference: Some(p.demographic_parity_difference),
                    ratio: Some(p.demographic_parity_ratio),
                    note: small_note,
                },
                Err(e) => GroupParity {
                    attribute: attribute.to_owned(),
                    groups: Vec::new(),
                    difference: None,
                    ratio: None,
                    note: Some(match small_note {
                        Some(n) => format!("not computable: {e}; {n}"),
                        None => format!("not computable: {e}"),
                    }),
                },
            }
        })
        .collect()
}

fn model_label(rows: &HashMap<i64, ModelRow>, id: i64) -> String {
    rows.get(&id).map_or_else(
        || format!("model {id}"),
        |r| format!("{} v{}", r.name, r.version),
    )
}

fn promotion_state(
    req: &promotion_request::Model,
    res: Option<&promotion_resolution::Model>,
    now: DateTime<Utc>,
) -> &'static str {
    match res.map(|r| r.resolution.as_str()) {
        Some("approved") => "approved",
        Some("rejected") => "rejected",
        Some(_) => "cancelled",
        None if now >= req.expires_at => "expired",
        None => "open",
    }
}

/// A required free-text reason or note: trimmed, 1 to 2,000 characters.
fn reason_text<'a>(field: &str, text: &'a str) -> ServiceResult<&'a str> {
    let text = text.trim();
    if text.is_empty() || text.len() > 2000 {
        return Err(ServiceError::invalid(
            field,
            "say why (1 to 2000 characters)",
        ));
    }
    Ok(text)
}

/// How a promotion request is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Approve,
    Reject,
    Cancel,
}

impl Resolution {
    pub fn parse(s: &str) -> ServiceResult<Self> {
        match s {
            "approve" => Ok(Self::Approve),
            "reject" => Ok(Self::Reject),
            "cancel" => Ok(Self::Cancel),
            _ => Err(ServiceError::invalid(
                "resolution",
                "must be approve, reject or cancel",
            )),
        }
    }

    fn stored(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Cancel => "cancelled",
        }
    }
}

/// What a finished training run produced.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub data_sha256: Option<String>,
    pub data_rows: Option<i64>,
    pub labelled_rows: Option<i64>,
    pub metrics: Option<Value>,
    pub model_id: Option<i64>,
}

impl Services {
    /// Every version, newest first, with its alias, status and lineage summary.
    pub async fn model_rows(&self) -> ServiceResult<Vec<ModelRow>> {
        let rows = model::Entity::find()
            .select_only()
            .columns([
                model::Column::Id,
                model::Column::Name,
                model::Column::Version,
                model::Column::Source,
                model::Column::CreatedAt,
                model::Column::CreatedBy,
                model::Column::ParentId,
                model::Column::CardJson,
            ])
            .order_by_desc(model::Column::Id)
            .into_tuple::<(
                i64,
                String,
                i32,
                String,
                DateTime<Utc>,
                String,
                Option<i64>,
                String,
            )>()
            .all(self.db())
            .await?;
        let aliases: HashMap<i64, String> = model_alias::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|a| (a.model_id, a.alias))
            .collect();
        let mut archived: HashMap<i64, bool> = HashMap::new();
        for s in model_status::Entity::find()
            .order_by_asc(model_status::Column::Id)
            .all(self.db())
            .await?
        {
            archived.insert(s.model_id, s.status == "archived");
        }
        let champions: HashSet<i64> = alias_history::Entity::find()
            .filter(alias_history::Column::Alias.eq(Role::Champion.as_str()))
            .all(self.db())
            .await?
            .into_iter()
            .filter_map(|h| h.model_id)
            .collect();
        let names: HashMap<i64, String> = rows
            .iter()
            .map(|r| (r.0, format!("{} v{}", r.1, r.2)))
            .collect();
        Ok(rows
            .into_iter()
            .map(
                |(id, name, version, source, created_at, created_by, parent_id, card)| {
                    let card: Value = serde_json::from_str(&card).unwrap_or(Value::Null);
                    ModelRow {
                        id,
                        name,
                        version,
                        source,
                        created_at: stamp(created_at),
                        created_by,
                        alias: aliases.get(&id).cloned(),
                        archived: archived.get(&id).copied().unwrap_or(false),
                        was_champion: champions.contains(&id),
                        test_auc: card["metrics"]["test"]["auc"].as_f64(),
                        parent: parent_id.map(|p| {
                            names
                                .get(&p)
                                .cloned()
                                .unwrap_or_else(|| format!("model {p}"))
                        }),
                    }
                },
            )
            .collect())
    }

    /// The registry's front page: versions, the challenger's share, runs, promotions.
    pub async fn registry_view(&self) -> ServiceResult<RegistryView> {
        let models = self.model_rows().await?;
        let share = self.serving_share().await?;
        let runs = self.training_runs(50).await?;
        let promotions = self.promotions(&models, 20).await?;
        Ok(RegistryView {
            models,
            challenger_share: share,
            runs,
            promotions,
            viewer: String::new(),
        })
    }

    async fn promotions(
        &self,
        models: &[ModelRow],
        limit: u64,
    ) -> ServiceResult<Vec<PromotionView>> {
        let by_id: HashMap<i64, ModelRow> = models.iter().map(|m| (m.id, m.clone())).collect();
        let requests = promotion_request::Entity::find()
            .order_by_desc(promotion_request::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        let ids: Vec<i64> = requests.iter().map(|r| r.id).collect();
        let resolutions: HashMap<i64, promotion_resolution::Model> =
            promotion_resolution::Entity::find()
                .filter(promotion_resolution::Column::RequestId.is_in(ids))
                .all(self.db())
                .await?
                .into_iter()
                .map(|r| (r.request_id, r))
                .collect();
        let now = self.now();
        Ok(requests
            .into_iter()
            .map(|req| {
                let res = resolutions.get(&req.id);
                PromotionView {
                    id: req.id,
                    model: model_label(&by_id, req.model_id),
                    model_id: req.model_id,
                    champion: model_label(&by_id, req.champion_id),
                    state: promotion_state(&req, res, now).to_owned(),
                    requested_by: req.requested_by,
                    requested_at: stamp(req.requested_at),
                    expires_at: stamp(req.expires_at),
                    reason: req.reason,
                    resolved_by: res.map(|r| r.resolved_by.clone()),
                    resolved_at: res.map(|r| stamp(r.resolved_at)),
                    note: res.map(|r| r.note.clone()),
                }
            })
            .collect())
    }

    /// The challenger's share of traffic in force.
    pub async fn serving_share(&self) -> ServiceResult<u8> {
        Ok(self.pair_ids().await?.share)
    }

    /// Labelled decisions (newest outcomes first, at most `limit`): inputs and whether the
    /// applicant defaulted.
    async fn labelled(&self, limit: u64) -> ServiceResult<Vec<(Stored, bool)>> {
        let outcomes = outcome::Entity::find()
            .order_by_desc(outcome::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        let ids: Vec<String> = outcomes.iter().map(|o| o.application_id.clone()).collect();
        let mut contents: HashMap<String, String> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = decision::Entity::find()
                .select_only()
                .columns([decision::Column::ApplicationId, decision::Column::Content])
                .filter(decision::Column::ApplicationId.is_in(chunk.to_vec()))
                .into_tuple::<(String, String)>()
                .all(self.db())
                .await?;
            contents.extend(rows);
        }
        // In the outcomes' order (newest first), so that bootstrap intervals and retraining
        // data are the same for the same data.
        outcomes
            .iter()
            .filter_map(|o| {
                contents
                    .remove(&o.application_id)
                    .map(|c| (c, o.outcome == "defaulted"))
            })
            .map(|(c, defaulted)| Ok((stored(&c)?, defaulted)))
            .collect()
    }

    /// Inputs of labelled decisions and whether each applicant defaulted (for retraining).
    pub(crate) async fn labelled_inputs(
        &self,
        limit: u64,
    ) -> ServiceResult<Vec<(ApplicationInput, bool)>> {
        Ok(self
            .labelled(limit)
            .await?
            .into_iter()
            .map(|(s, l)| (s.input, l))
            .collect())
    }

    /// The newest `limit` decisions' stored applications.
    async fn recent(&self, limit: u64) -> ServiceResult<Vec<Stored>> {
        decision::Entity::find()
            .select_only()
            .column(decision::Column::Content)
            .order_by_desc(decision::Column::Seq)
            .limit(limit)
            .into_tuple::<String>()
            .all(self.db())
            .await?
            .iter()
            .map(|c| stored(c))
            .collect()
    }

    /// A version page: lineage, card metrics, alias periods and realized performance.
    pub async fn model_detail(&self, id: i64) -> ServiceResult<ModelDetail> {
        let rows = self.model_rows().await?;
        let row = rows
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or(ServiceError::NotFound("model"))?;
        let stored_row = model::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        let loaded = self.load_model(id).await?;
        let (features, trees) = (
            loaded.bundle.schema().features().len(),
            loaded.bundle.model().num_trees(),
        );
        let card: Value = serde_json::from_str(&stored_row.card_json).unwrap_or(Value::Null);
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => "—".to_owned(),
            other => other.to_string(),
        };
        let mut lineage = vec![
            ("Source".to_owned(), row.source.clone()),
            (
                "Registered".to_owned(),
                format!("{} by {}", row.created_at, row.created_by),
            ),
            (
                "Retrained from".to_owned(),
                row.parent.clone().unwrap_or_else(|| "—".to_owned()),
            ),
            (
                "Training run".to_owned(),
                stored_row
                    .run_id
                    .map_or_else(|| "—".to_owned(), |r| format!("#{r}")),
            ),
            (
                "Training data SHA-256".to_owned(),
                stored_row
                    .data_sha256
                    .clone()
                    .unwrap_or_else(|| "—".to_owned()),
            ),
            (
                "Training data rows".to_owned(),
                stored_row
                    .data_rows
                    .map_or_else(|| "—".to_owned(), |r| r.to_string()),
            ),
        ];
        let data = &card["data"];
        for (label, key) in [
            ("Data file", "file"),
            ("Target", "target"),
            ("Train / validation / test rows", ""),
        ] {
            let value = if key.is_empty() {
                match (
                    data["train_rows"].as_u64(),
                    data["valid_rows"].as_u64(),
                    data["test_rows"].as_u64(),
                ) {
                    (Some(a), Some(b), Some(c)) => format!("{a} / {b} / {c}"),
                    _ => "—".to_owned(),
                }
            } else {
                text(&data[key])
            };
            lineage.push((label.to_owned(), value));
        }
        lineage.push(("Code version".to_owned(), text(&card["code_version"])));
        lineage.push((
            "XGBoost version".to_owned(),
            loaded.bundle.model().xgboost_version().to_owned(),
        ));
        let parameters = card["parameters"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
            .unwrap_or_default();
        let metric = |split: &str, key: &str| card["metrics"][split][key].as_f64();
        let metrics = [
            ("AUC", "auc"),
            ("Gini", "gini"),
            ("KS", "ks"),
            ("Brier score", "brier"),
            ("Log loss", "log_loss"),
        ]
        .iter()
        .map(|(label, key)| MetricRow {
            label: (*label).to_owned(),
            validation: metric("validation", key),
            test: metric("test", key),
        })
        .filter(|m| m.validation.is_some() || m.test.is_some())
        .collect();
        let card_calibration_svg = card["metrics"]["test"]["calibration"]
            .as_array()
            .map(|bins| {
                bins.iter()
                    .filter_map(|b| {
                        Some((b["mean_predicted"].as_f64()?, b["observed_rate"].as_f64()?))
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|b| !b.is_empty())
            .map(|b| lendscope_charts::quality::calibration(&b, 360).map_err(internal))
            .transpose()?;
        let periods = self.alias_periods(id).await?;

        let labelled = self.labelled(self.gate_settings().max_labelled).await?;
        let policy = self.current_policy().await?;
        let (realized, realized_note) = tokio::task::spawn_blocking(move || {
            let inputs: Vec<&ApplicationInput> = labelled.iter().map(|(s, _)| &s.input).collect();
            let labels: Vec<bool> = labelled.iter().map(|(_, l)| *l).collect();
            let scores: Vec<f64> = rescore(&loaded, &inputs, &policy)?
                .into_iter()
                .map(|s| s.0)
                .collect();
            realized_view(&scores, &labels)
        })
        .await
        .map_err(internal)??;
        Ok(ModelDetail {
            sha256: stored_row.sha256,
            features,
            trees,
            row,
            lineage,
            parameters,
            metrics,
            periods,
            realized,
            realized_note,
            card_calibration_svg,
        })
    }

    /// The periods during which `model_id` held an alias, with the approvers of promotions.
    async fn alias_periods(&self, model_id: i64) -> ServiceResult<Vec<AliasPeriod>> {
        let history = alias_history::Entity::find()
            .order_by_asc(alias_history::Column::Id)
            .all(self.db())
            .await?;
        let approvals = self.approvals_of(model_id).await?;
        let mut periods = Vec::new();
        for (k, h) in history.iter().enumerate() {
            if h.model_id != Some(model_id) {
                continue;
            }
            let to = history[k + 1..]
                .iter()
                .find(|n| n.alias == h.alias)
                .map(|n| stamp(n.set_at));
            let approved_by = approvals
                .iter()
                .find(|(at, _)| *at == h.set_at && h.alias == Role::Champion.as_str())
                .map(|(_, who)| who.clone());
            periods.push(AliasPeriod {
                alias: h.alias.clone(),
                from: stamp(h.set_at),
                to,
                set_by: h.set_by.clone(),
                approved_by,
            });
        }
        Ok(periods)
    }

    /// (when, "requested by A, approved by B") of the approved promotions of `model_id`.
    pub(crate) async fn approvals_of(
        &self,
        model_id: i64,
    ) -> ServiceResult<Vec<(DateTime<Utc>, String)>> {
        let requests = promotion_request::Entity::find()
            .filter(promotion_request::Column::ModelId.eq(model_id))
            .all(self.db())
            .await?;
        let mut out = Vec::new();
        for r in requests {
            if let Some(res) = promotion_resolution::Entity::find()
                .filter(promotion_resolution::Column::RequestId.eq(r.id))
                .filter(promotion_resolution::Column::Resolution.eq("approved"))
                .one(self.db())
                .await?
            {
                out.push((
                    res.resolved_at,
                    format!(
                        "requested by {}, approved by {} (request #{})",
                        r.requested_by, res.resolved_by, r.id
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// The champion and the challenger compared, with the promotion gate.
    pub async fn compare_serving(&self) -> ServiceResult<Comparison> {
        let settings = self.gate_settings();
        let pair = self.serving_pair().await?;
        let challenger = pair.challenger.clone().ok_or_else(|| {
            ServiceError::Conflict(
                "no challenger is set; register one and make it challenger".into(),
            )
        })?;
        let rows: HashMap<i64, ModelRow> = self
            .model_rows()
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let row = |id: i64| {
            rows.get(&id)
                .cloned()
                .ok_or(ServiceError::NotFound("model"))
        };
        let champion_row = row(pair.champion.meta.id)?;
        let challenger_row = row(challenger.meta.id)?;
        let recent = self.recent(settings.window).await?;
        let labelled = self.labelled(settings.max_labelled).await?;
        let policy = self.current_policy().await?;
        let champion = pair.champion.clone();
        let share = pair.challenger_share;
        tokio::task::spawn_blocking(move || {
            evaluate(
                &settings,
                &champion,
                &challenger,
                &recent,
                &labelled,
                &policy,
                champion_row,
                challenger_row,
                share,
            )
        })
        .await
        .map_err(internal)?
    }

    /// Asks for the challenger to become champion. The gate must pass now; only one request
    /// may be open at a time; another admin must approve it before it expires.
    pub async fn request_promotion(
        &self,
        admin: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<i64> {
        let reason = reason_text("reason", reason)?;
        // Cheap refusal first (checked again inside the transaction against races).
        if let Some(r) = self.open_requests(self.db(), self.now()).await?.first() {
            return Err(ServiceError::Conflict(format!(
                "promotion request #{} by {} is still open; resolve it first",
                r.id, r.requested_by
            )));
        }
        let comparison = self.compare_serving().await?;
        if !comparison.gate_passed {
            let failed: Vec<&str> = comparison
                .gate
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.as_str())
                .collect();
            return Err(ServiceError::Conflict(format!(
                "the promotion gate does not pass ({}); nothing was requested",
                failed.join(", ")
            )));
        }
        let now = self.now();
        let ttl = self.gate_settings().request_ttl;
        let gate = serde_json::to_string(&json!({
            "gate": comparison.gate,
            "psi": comparison.psi,
            "auc": comparison.auc,
            "ks": comparison.ks,
            "labelled_rows": comparison.labelled_rows,
            "window": comparison.window,
            "fairness": comparison.fairness,
        }))
        .map_err(internal)?;
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.promotion.request",
                Outcome::Success,
            )
            .target(format!(
                "{} v{}",
                comparison.challenger.name, comparison.challenger.version
            ))
            .detail(json!({
                "model_id": comparison.challenger.id,
                "champion_id": comparison.champion.id,
                "reason": reason,
            })),
        )
        .await?;
        lock_champion(&txn).await?;
        let open = self.open_requests(&txn, now).await?;
        if let Some(r) = open.first() {
            return Err(ServiceError::Conflict(format!(
                "promotion request #{} by {} is still open; resolve it first",
                r.id, r.requested_by
            )));
        }
        let current = current_alias(&txn, Role::Champion).await?;
        let challenger = current_alias(&txn, Role::Challenger).await?;
        if current != Some(comparison.champion.id) || challenger != Some(comparison.challenger.id) {
            return Err(ServiceError::Conflict(
                "the champion or challenger changed while the gate was computed; look again".into(),
            ));
        }
        let row = promotion_request::ActiveModel {
            id: NotSet,
            model_id: Set(comparison.challenger.id),
            champion_id: Set(comparison.champion.id),
            requested_by: Set(admin.to_owned()),
            requested_at: Set(now),
            expires_at: Set(now + ttl),
            reason: Set(reason.to_owned()),
            gate_json: Set(gate),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(row.id)
    }

    async fn open_requests(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<promotion_request::Model>> {
        let pending = promotion_request::Entity::find()
            .filter(promotion_request::Column::ExpiresAt.gt(now))
            .all(db)
            .await?;
        let mut open = Vec::new();
        for r in pending {
            let resolved = promotion_resolution::Entity::find()
                .filter(promotion_resolution::Column::RequestId.eq(r.id))
                .one(db)
                .await?
                .is_some();
            if !resolved {
                open.push(r);
            }
        }
        Ok(open)
    }

    /// Approves, rejects or cancels a promotion request. Approving and rejecting need an admin
    /// other than the requester; cancelling is the requester's. An approval makes the model
    /// champion (the challenger alias is cleared) in the same transaction, provided the
    /// champion is still the one the request was made against and the request has not expired.
    pub async fn resolve_promotion(
        &self,
        request_id: i64,
        admin: &str,
        resolution: Resolution,
        note: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let note = note.trim();
        if note.len() > 2000 {
            return Err(ServiceError::invalid("note", "at most 2000 characters"));
        }
        let now = self.now();
        let req = promotion_request::Entity::find_by_id(request_id)
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("promotion request"))?;
        let own = req.requested_by == admin;
        match resolution {
            Resolution::Cancel if !own => {
                return Err(ServiceError::Conflict(
                    "only the admin who requested a promotion can cancel it".into(),
                ))
            }
            Resolution::Approve | Resolution::Reject if own => {
                let event = AuditEvent::new(
                    Actor::User(admin.to_owned()),
                    "model.promotion.resolve",
                    Outcome::Denied,
                )
                .target(format!("request #{request_id}"))
                .detail(json!({ "resolution": resolution.stored(), "why": "four eyes" }));
                self.audit(meta, event).await?;
                return Err(ServiceError::Conflict(
                    "four eyes: the admin who requested a promotion cannot resolve it; another admin must".into(),
                ));
            }
            _ => {}
        }
        let txn = self.db().begin().await?;
        // Write first: the unique request id makes a second resolution fail here.
        promotion_resolution::ActiveModel {
            id: NotSet,
            request_id: Set(request_id),
            resolution: Set(resolution.stored().to_owned()),
            resolved_by: Set(admin.to_owned()),
            resolved_at: Set(now),
            note: Set(note.to_owned()),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if ServiceError::is_unique_violation(&e) {
                ServiceError::Conflict("this request was resolved already".into())
            } else {
                e.into()
            }
        })?;
        if now >= req.expires_at {
            return Err(ServiceError::Conflict(format!(
                "request #{request_id} expired at {}; request the promotion again",
                stamp(req.expires_at)
            )));
        }
        if resolution == Resolution::Approve {
            lock_champion(&txn).await?;
            if current_alias(&txn, Role::Champion).await? != Some(req.champion_id) {
                return Err(ServiceError::Conflict(
                    "the champion changed since this request was made; nothing was promoted".into(),
                ));
            }
            if is_archived(&txn, req.model_id).await? {
                return Err(ServiceError::Conflict(
                    "the requested version was archived; nothing was promoted".into(),
                ));
            }
            write_alias(&txn, Role::Champion, Some(req.model_id), admin, now).await?;
            if current_alias(&txn, Role::Challenger).await?.is_some() {
                write_alias(&txn, Role::Challenger, None, admin, now).await?;
            }
        }
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.promotion.resolve",
                Outcome::Success,
            )
            .target(format!("request #{request_id}"))
            .detail(json!({
                "resolution": resolution.stored(),
                "model_id": req.model_id,
                "champion_id": req.champion_id,
                "requested_by": req.requested_by,
                "note": note,
            })),
        )
        .await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Makes an earlier champion the champion again (a single admin may do this: it restores
    /// a version that passed review before). The current challenger is left as it is.
    pub async fn rollback_champion(
        &self,
        model_id: i64,
        admin: &str,
        note: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let note = reason_text("note", note)?;
        let now = self.now();
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.rollback",
                Outcome::Success,
            )
            .target(format!("model {model_id}"))
            .detail(json!({ "model_id": model_id, "note": note })),
        )
        .await?;
        lock_champion(&txn).await?;
        let was_champion = alias_history::Entity::find()
            .filter(alias_history::Column::Alias.eq(Role::Champion.as_str()))
            .filter(alias_history::Column::ModelId.eq(model_id))
            .one(&txn)
            .await?
            .is_some();
        if !was_champion {
            return Err(ServiceError::Conflict(
                "rollback restores an earlier champion; this version never was one".into(),
            ));
        }
        if current_alias(&txn, Role::Champion).await? == Some(model_id) {
            return Err(ServiceError::Conflict(
                "this version is the champion already".into(),
            ));
        }
        refuse_archived(&txn, model_id).await?;
        if current_alias(&txn, Role::Challenger).await? == Some(model_id) {
            write_alias(&txn, Role::Challenger, None, admin, now).await?;
        }
        write_alias(&txn, Role::Champion, Some(model_id), admin, now).await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Makes a version the challenger (not the champion, not archived).
    pub async fn make_challenger(
        &self,
        model_id: i64,
        admin: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let now = self.now();
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.challenger",
                Outcome::Success,
            )
            .target(format!("model {model_id}"))
            .detail(json!({ "model_id": model_id })),
        )
        .await?;
        if model::Entity::find_by_id(model_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ServiceError::NotFound("model"));
        }
        if current_alias(&txn, Role::Champion).await? == Some(model_id) {
            return Err(ServiceError::Conflict(
                "this version is the champion".into(),
            ));
        }
        refuse_archived(&txn, model_id).await?;
        write_alias(&txn, Role::Challenger, Some(model_id), admin, now).await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Archives a version that serves no traffic; it can no longer take an alias.
    pub async fn archive_model(
        &self,
        model_id: i64,
        admin: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let reason = reason_text("reason", reason)?;
        let now = self.now();
        let txn = self.db().begin().await?;
        model_status::ActiveModel {
            id: NotSet,
            model_id: Set(model_id),
            status: Set("archived".to_owned()),
            reason: Set(reason.to_owned()),
            set_at: Set(now),
            set_by: Set(admin.to_owned()),
        }
        .insert(&txn)
        .await?;
        if model::Entity::find_by_id(model_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ServiceError::NotFound("model"));
        }
        for role in [Role::Champion, Role::Challenger] {
            if current_alias(&txn, role).await? == Some(model_id) {
                return Err(ServiceError::Conflict(format!(
                    "this version is the {}; archive it after it stops serving",
                    role.as_str()
                )));
            }
        }
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.archive",
                Outcome::Success,
            )
            .target(format!("model {model_id}"))
            .detail(json!({ "model_id": model_id, "reason": reason })),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records the start of a training run; returns its id.
    pub async fn start_run(
        &self,
        kind: &str,
        requested_by: &str,
        params: &Value,
        parent_model_id: Option<i64>,
        rounds: u32,
    ) -> ServiceResult<i64> {
        let row = training_run::ActiveModel {
            id: NotSet,
            kind: Set(kind.to_owned()),
            state: Set("running".to_owned()),
            requested_by: Set(requested_by.to_owned()),
            started_at: Set(self.now()),
            finished_at: Set(None),
            parent_model_id: Set(parent_model_id),
            params_json: Set(params.to_string()),
            data_sha256: Set(None),
            data_rows: Set(None),
            labelled_rows: Set(None),
            metrics_json: Set(None),
            model_id: Set(None),
            error: Set(None),
            round: Set(0),
            rounds: Set(i32::try_from(rounds).unwrap_or(i32::MAX)),
        }
        .insert(self.db())
        .await?;
        Ok(row.id)
    }

    /// Records how far a running training run is.
    pub async fn run_progress(&self, id: i64, round: u32, rounds: u32) -> ServiceResult<()> {
        training_run::ActiveModel {
            id: Set(id),
            round: Set(i32::try_from(round).unwrap_or(i32::MAX)),
            rounds: Set(i32::try_from(rounds).unwrap_or(i32::MAX)),
            ..Default::default()
        }
        .update(self.db())
        .await?;
        Ok(())
    }

    /// Records how a training run ended.
    pub async fn finish_run(
        &self,
        id: i64,
        result: Result<RunResult, String>,
    ) -> ServiceResult<()> {
        let mut row = training_run::ActiveModel {
            id: Set(id),
            finished_at: Set(Some(self.now())),
            ..Default::default()
        };
        match result {
            Ok(r) => {
                row.state = Set("succeeded".to_owned());
                row.data_sha256 = Set(r.data_sha256);
                row.data_rows = Set(r.data_rows);
                row.labelled_rows = Set(r.labelled_rows);
                row.metrics_json = Set(r.metrics.map(|m| m.to_string()));
                row.model_id = Set(r.model_id);
            }
            Err(e) => {
                row.state = Set("failed".to_owned());
                row.error = Set(Some(e));
            }
        }
        row.update(self.db()).await?;
        Ok(())
    }

    /// Links a registered model to the run that trained it.
    pub async fn run_registered(&self, id: i64, model_id: i64) -> ServiceResult<()> {
        training_run::ActiveModel {
            id: Set(id),
            model_id: Set(Some(model_id)),
            ..Default::default()
        }
        .update(self.db())
        .await?;
        Ok(())
    }

    /// `name vN` of every version, by id.
    pub(crate) async fn model_names(&self) -> ServiceResult<HashMap<i64, String>> {
        Ok(model::Entity::find()
            .select_only()
            .columns([
                model::Column::Id,
                model::Column::Name,
                model::Column::Version,
            ])
            .into_tuple::<(i64, String, i32)>()
            .all(self.db())
            .await?
            .into_iter()
            .map(|(id, n, v)| (id, format!("{n} v{v}")))
            .collect())
    }

    /// The newest training runs.
    pub async fn training_runs(&self, limit: u64) -> ServiceResult<Vec<RunRow>> {
        let names = self.model_names().await?;
        Ok(training_run::Entity::find()
            .order_by_desc(training_run::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(|r| {
                let params: BTreeMap<String, Value> =
                    serde_json::from_str(&r.params_json).unwrap_or_default();
                let m: Value = r
                    .metrics_json
                    .as_deref()
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(Value::Null);
                RunRow {
                    id: r.id,
                    kind: r.kind,
                    state: r.state,
                    requested_by: r.requested_by,
                    started_at: stamp(r.started_at),
                    seconds: r
                        .finished_at
                        .map(|f| (f - r.started_at).num_milliseconds() as f64 / 1000.0),
                    data_sha256: r.data_sha256,
                    data_rows: r.data_rows,
                    labelled_rows: r.labelled_rows,
                    params: params
                        .into_iter()
                        .map(|(k, v)| {
                            let v = match v {
                                Value::String(s) => s,
                                other => other.to_string(),
                            };
                            (k, v)
                        })
                        .collect(),
                    test_auc: m["test"]["auc"].as_f64(),
                    test_ks: m["test"]["ks"].as_f64(),
                    model: r.model_id.and_then(|id| names.get(&id).cloned()),
                    model_id: r.model_id,
                    error: r.error,
                    round: r.round,
                    rounds: r.rounds,
                }
            })
            .collect())
    }
}

/// On PostgreSQL, locks the champion alias row so that promotions, rollbacks and requests
/// serialize (SQLite serializes writers already).
async fn lock_champion(txn: &sea_orm::DatabaseTransaction) -> ServiceResult<()> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared(
            "SELECT alias FROM model_aliases WHERE alias = 'champion' FOR UPDATE",
        )
        .await?;
    }
    Ok(())
}

async fn current_alias(db: &impl ConnectionTrait, role: Role) -> ServiceResult<Option<i64>> {
    Ok(model_alias::Entity::find_by_id(role.as_str().to_owned())
        .one(db)
        .await?
        .map(|a| a.model_id))
}

fn realized_view(
    scores: &[f64],
    labels: &[bool],
) -> ServiceResult<(Option<RealizedView>, Option<String>)> {
    let positives = labels.iter().filter(|&&l| l).count();
    if labels.len() < 20 || positives == 0 || positives == labels.len() {
        return Ok((
            None,
            Some(format!(
                "{} decided applications have an outcome ({} defaulted); realized performance needs at least 20 with both outcomes",
                labels.len(),
                positives
            )),
        ));
    }
    let s = metrics::summary(scores, labels).map_err(internal)?;
    let roc = compare::roc_curve(scores, labels, 200).map_err(internal)?;
    let bins: Vec<(f64, f64)> = s
        .calibration
        .iter()
        .map(|b| (b.mean_predicted, b.observed_rate))
        .collect();
    Ok((
        Some(RealizedView {
            rows: s.rows,
            positives: s.positives,
            auc: s.auc,
            ks: s.ks,
            gini: s.gini,
            brier: s.brier,
            roc_svg: lendscope_charts::quality::roc(&roc, s.auc, 360).map_err(internal)?,
            calibration_svg: lendscope_charts::quality::calibration(&bins, 360)
                .map_err(internal)?,
        }),
        None,
    ))
}

fn fmt(x: f64) -> String {
    format!("{x:.3}")
}

/// The comparison and its gate, from stored applications (pure; runs on a blocking thread).
#[allow(clippy::too_many_arguments)]
fn evaluate(
    settings: &GateSettings,
    champion: &Arc<LoadedModel>,
    challenger: &Arc<LoadedModel>,
    recent: &[Stored],
    labelled: &[(Stored, bool)],
    policy: &DecisionPolicy,
    champion_row: ModelRow,
    challenger_row: ModelRow,
    challenger_share: u8,
) -> ServiceResult<Comparison> {
    let inputs: Vec<&ApplicationInput> = recent.iter().map(|s| &s.input).collect();
    let a = rescore(champion, &inputs, policy)?;
    let b = rescore(challenger, &inputs, policy)?;
    let window = inputs.len();
    let agree = a.iter().zip(&b).filter(|(x, y)| x.1 == y.1).count();
    let pd_a: Vec<f64> = a.iter().map(|x| x.0).collect();
    let pd_b: Vec<f64> = b.iter().map(|x| x.0).collect();
    let distribution_svg = lendscope_charts::quality::overlaid_histograms(
        (
            &format!("champion {} v{}", champion_row.name, champion_row.version),
            &compare::histogram(&pd_a, 0.0, 1.0, HIST_BINS),
        ),
        (
            &format!(
                "challenger {} v{}",
                challenger_row.name, challenger_row.version
            ),
            &compare::histogram(&pd_b, 0.0, 1.0, HIST_BINS),
        ),
        "probability of default",
        720,
        300,
    )
    .map_err(internal)?;
    let psi = compare::psi(&pd_a, &pd_b, 10).ok();

    // Live shadow comparison: applications served by one of the pair with the other shadowing.
    let pair = [champion.meta.id, challenger.meta.id];
    let (mut shadow_compared, mut shadow_disagreements, mut abs_diff) = (0usize, 0usize, 0.0);
    for s in recent {
        if let (Some(sm), Some(hm), Some(sp), Some(hp)) =
            (s.served_model, s.shadow_model, s.served_pd, s.shadow_pd)
        {
            if pair.contains(&sm) && pair.contains(&hm) && sm != hm {
                shadow_compared += 1;
                abs_diff += (sp - hp).abs();
                if s.served_decision != s.shadow_decision {
                    shadow_disagreements += 1;
                }
            }
        }
    }

    // Labelled outcomes, both versions on the same rows.
    let l_inputs: Vec<&ApplicationInput> = labelled.iter().map(|(s, _)| &s.input).collect();
    let labels: Vec<bool> = labelled.iter().map(|(_, l)| *l).collect();
    let la: Vec<f64> = rescore(champion, &l_inputs, policy)?
        .into_iter()
        .map(|x| x.0)
        .collect();
    let lb: Vec<f64> = rescore(challenger, &l_inputs, policy)?
        .into_iter()
        .map(|x| x.0)
        .collect();
    let positives = labels.iter().filter(|&&l| l).count();
    let enough = labels.len() >= settings.min_labelled && positives > 0 && positives < labels.len();
    let paired = if enough {
        Some(
            compare::paired_comparison(&la, &lb, &labels, BOOTSTRAP_RESAMPLES, 20_261_126)
                .map_err(internal)?,
        )
    } else {
        None
    };
    let labelled_note = (!enough).then(|| {
        format!(
            "{} decided applications have an outcome ({positives} defaulted); the comparison needs at least {} with both outcomes",
            labels.len(),
            settings.min_labelled
        )
    });

    let approved: Vec<bool> = b.iter().map(|x| x.1 == Decision::Approve).collect();
    let fairness = fairness(&inputs, &approved, settings.min_group_members);
    let (p50, p99) = latency(challenger, &inputs)?;

    let mut gate = Vec::new();
    gate.push(GateCheck {
        name: "Not worse on labelled outcomes".into(),
        passed: paired
            .as_ref()
            .is_some_and(|p| p.auc_b.value >= p.auc_a.value - settings.auc_tolerance),
        measured: paired.as_ref().map_or_else(
            || labelled_note.clone().unwrap_or_default(),
            |p| {
                format!(
                    "AUC challenger {} vs champion {} (difference {} , 95% CI {} to {}) on {} labelled decisions",
                    fmt(p.auc_b.value),
                    fmt(p.auc_a.value),
                    fmt(p.auc_diff.value),
                    fmt(p.auc_diff.low),
                    fmt(p.auc_diff.high),
                    p.rows
                )
            },
        ),
        bound: format!(
            "challenger AUC ≥ champion AUC − {} on at least {} labelled decisions",
            settings.auc_tolerance, settings.min_labelled
        ),
    });
    for f in &fairness {
        gate.push(GateCheck {
            name: format!("Demographic parity ({})", f.attribute),
            passed: f
                .difference
                .is_some_and(|d| d < settings.max_parity_difference),
            measured: f.difference.map_or_else(
                || f.note.clone().unwrap_or_default(),
                |d| format!("approval-rate gap {:.1} percentage points", d * 100.0),
            ),
            bound: format!(
                "gap < {:.0} percentage points",
                settings.max_parity_difference * 100.0
            ),
        });
        gate.push(GateCheck {
            name: format!("Disparate impact ({})", f.attribute),
            passed: f.ratio.is_some_and(|r| r >= settings.min_disparate_impact),
            measured: f.ratio.map_or_else(
                || f.note.clone().unwrap_or_default(),
                |r| format!("lowest/highest approval rate {}", fmt(r)),
            ),
            bound: format!("ratio ≥ {}", settings.min_disparate_impact),
        });
    }
    gate.push(GateCheck {
        name: "Score distribution stability".into(),
        passed: psi.is_some_and(|p| p < settings.max_psi),
        measured: psi.map_or_else(
            || "no recent applications to compare".to_owned(),
            |p| {
                let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
                format!(
                    "PSI challenger vs champion {} on {window} recent applications (mean probability of default {} vs {})",
                    fmt(p),
                    fmt(mean(&pd_b)),
                    fmt(mean(&pd_a))
                )
            },
        ),
        bound: format!("PSI < {}", settings.max_psi),
    });
    gate.push(GateCheck {
        name: "Serving latency".into(),
        passed: window > 0 && p99 <= settings.max_latency_p99_us,
        measured: if window > 0 {
            format!("p50 {p50:.0} µs, p99 {p99:.0} µs per application (encode, predict, explain)")
        } else {
            "no recent applications to time".to_owned()
        },
        bound: format!("p99 ≤ {:.0} µs", settings.max_latency_p99_us),
    });
    gate.push(GateCheck {
        name: "Version is active".into(),
        passed: !challenger_row.archived,
        measured: if challenger_row.archived {
            "archived"
        } else {
            "active"
        }
        .into(),
        bound: "not archived".into(),
    });
    let gate_passed = gate.iter().all(|c| c.passed);
    let triple = |x: Estimate, y: Estimate, d: Estimate| (interval(x), interval(y), interval(d));
    Ok(Comparison {
        champion: champion_row,
        challenger: challenger_row,
        challenger_share,
        window,
        agreement: if window > 0 {
            agree as f64 / window as f64
        } else {
            0.0
        },
        shadow_compared,
        shadow_disagreements,
        mean_abs_pd_difference: if shadow_compared > 0 {
            abs_diff / shadow_compared as f64
        } else {
            0.0
        },
        distribution_svg,
        psi,
        labelled_rows: labels.len(),
        labelled_positives: positives,
        auc: paired
            .as_ref()
            .map(|p| triple(p.auc_a, p.auc_b, p.auc_diff)),
        ks: paired.as_ref().map(|p| triple(p.ks_a, p.ks_b, p.ks_diff)),
        labelled_note,
        fairness,
        latency_p50_us: p50,
        latency_p99_us: p99,
        gate,
        gate_passed,
    })
}

impl Services {
    /// The id of version `version` of model `name`.
    pub async fn model_id(&self, name: &str, version: i32) -> ServiceResult<i64> {
        model::Entity::find()
            .select_only()
            .column(model::Column::Id)
            .filter(model::Column::Name.eq(name))
            .filter(model::Column::Version.eq(version))
            .into_tuple::<i64>()
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("model"))
    }
}
