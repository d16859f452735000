//! A minimal model store: registered versions with their artifacts, the `champion` and
//! `challenger` aliases with their history, and the challenger's traffic share. Parsed
//! models are cached by id (a version never changes); aliases are re-read every few seconds.
//! A version whose latest status is `archived` cannot take an alias.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lendscope_model::{features, ModelBundle};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::{alias_history, model, model_alias, model_status, routing_setting};
use crate::error::{ServiceError, ServiceResult};
use crate::{RequestMeta, Services};

/// How long alias and routing changes made by another process may take to be seen.
const PAIR_TTL: Duration = Duration::from_secs(1);

pub use lendscope_domain::ModelRole;

/// A registered model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub id: i64,
    pub name: String,
    pub version: i32,
}

/// A model ready to score.
#[derive(Debug)]
pub struct LoadedModel {
    pub meta: ModelRef,
    pub bundle: ModelBundle,
    /// The registered SHA-256 of its artifact, checked against the stored bytes at load.
    pub sha256: String,
}

/// SHA-256 of a model artifact as the registry records it: the model JSON, then the schema JSON.
pub fn artifact_sha256(model_json: &str, schema_json: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [model_json, schema_json] {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The models that serve traffic now.
#[derive(Debug, Clone)]
pub struct ServingPair {
    pub champion: Arc<LoadedModel>,
    pub challenger: Option<Arc<LoadedModel>>,
    /// Percentage of applicants (by a hash of their id) scored by the challenger.
    pub challenger_share: u8,
    /// Why the challenger alias's version is not serving, when it could not be loaded.
    pub challenger_error: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PairIds {
    pub champion: Option<i64>,
    pub challenger: Option<i64>,
    pub share: u8,
}

/// Caches of the registry, held by [`Services`].
#[derive(Default)]
pub struct RegistryCache {
    models: std::sync::RwLock<std::collections::HashMap<i64, Arc<LoadedModel>>>,
    /// Versions refused for integrity, with the error: alerted once, refused from memory.
    refused: std::sync::RwLock<std::collections::HashMap<i64, String>>,
    pair: std::sync::RwLock<Option<(Instant, PairIds)>>,
}

impl RegistryCache {
    pub(crate) fn invalidate_pair(&self) {
        if let Ok(mut p) = self.pair.write() {
            *p = None;
        }
    }
}

/// The largest model artifact (model, schema and card together) the registry accepts.
pub const MAX_ARTIFACT_BYTES: usize = 32 * 1024 * 1024;

/// Where a version came from, stored as its lineage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `trained`, `retrained` or `imported`.
    pub source: &'static str,
    pub parent_id: Option<i64>,
    pub run_id: Option<i64>,
}

/// Lineage facts a Lendscope model card carries (absent for models trained elsewhere).
fn card_lineage(card: &serde_json::Value) -> (Option<String>, Option<i64>) {
    let data = &card["data"];
    (
        data["sha256"].as_str().map(str::to_owned),
        data["rows"].as_i64(),
    )
}

/// Writes `alias` → `model_id` (or removes it) and its history row inside `txn`. Any change
/// of the pair ends a live share (it was approved for that challenger against that
/// champion): the challenger, if any, is back in shadow. Takes the registry's lock first, so
/// that a concurrent share approval sees the change or is seen by it.
pub(crate) async fn write_alias(
    txn: &sea_orm::DatabaseTransaction,
    role: ModelRole,
    model_id: Option<i64>,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    lock_champion(txn).await?;
    model_alias::Entity::delete_by_id(role.as_str().to_owned())
        .exec(txn)
        .await?;
    if let Some(id) = model_id {
        model_alias::ActiveModel {
            alias: Set(role.as_str().to_owned()),
            model_id: Set(id),
            updated_at: Set(now),
            updated_by: Set(by.to_owned()),
        }
        .insert(txn)
        .await?;
    }
    alias_history::ActiveModel {
        id: NotSet,
        alias: Set(role.as_str().to_owned()),
        model_id: Set(model_id),
        set_at: Set(now),
        set_by: Set(by.to_owned()),
    }
    .insert(txn)
    .await?;
    // A new challenger starts in shadow: it scores every application and decides none until
    // a share of applicants is given to it afterwards (through the gate and four eyes).
    write_share(txn, 0, by, now).await
}

/// Records the challenger's share of live decisions in force from `now` inside `txn`, under
/// the registry's lock.
pub(crate) async fn write_share(
    txn: &sea_orm::DatabaseTransaction,
    percent: u8,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    lock_champion(txn).await?;
    routing_setting::ActiveModel {
        id: NotSet,
        challenger_share_percent: Set(i32::from(percent)),
        set_at: Set(now),
        set_by: Set(by.to_owned()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// A share of applicants in percent: 0 to 100.
pub(crate) fn check_share(percent: u8) -> ServiceResult<()> {
    if percent > 100 {
        return Err(ServiceError::invalid(
            "challenger_share",
            "must be between 0 and 100",
        ));
    }
    Ok(())
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

/// On PostgreSQL, locks the champion alias row so that promotions, rollbacks and requests
/// serialize (SQLite serializes writers already).
pub(super) async fn lock_champion(txn: &sea_orm::DatabaseTransaction) -> ServiceResult<()> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared(
            "SELECT alias FROM model_aliases WHERE alias = 'champion' FOR UPDATE",
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn current_alias(
    db: &impl ConnectionTrait,
    role: ModelRole,
) -> ServiceResult<Option<i64>> {
    Ok(model_alias::Entity::find_by_id(role.as_str().to_owned())
        .one(db)
        .await?
        .map(|a| a.model_id))
}

impl Services {
    /// Registers a model version. The artifact must parse, its schema must match its trees,
    /// and it must use the Lendscope feature set with its exact encoding. Lineage (data hash
    /// and rows) is taken from a Lendscope model card when there is one.
    pub async fn register_model(
        &self,
        name: &str,
        model_json: &str,
        schema_json: &str,
        card_json: &str,
        actor: Actor,
    ) -> ServiceResult<ModelRef> {
        let card: serde_json::Value = serde_json::from_str(card_json)
            .map_err(|e| ServiceError::invalid("card", format!("not JSON: {e}")))?;
        let source = if card.get("training").is_some() && card.get("parameters").is_some() {
            "trained"
        } else {
            "imported"
        };
        self.register_model_with(
            name,
            model_json,
            schema_json,
            card_json,
            actor,
            Provenance {
                source,
                ..Provenance::default()
            },
        )
        .await
    }

    /// [`Self::register_model`] with explicit provenance (retraining names its parent and run).
    pub async fn register_model_with(
        &self,
        name: &str,
        model_json: &str,
        schema_json: &str,
        card_json: &str,
        actor: Actor,
        provenance: Provenance,
    ) -> ServiceResult<ModelRef> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > 128
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ServiceError::invalid(
                "name",
                "must be 1 to 128 letters, digits, '-', '_' or '.'",
            ));
        }
        if model_json.len() + schema_json.len() + card_json.len() > MAX_ARTIFACT_BYTES {
            return Err(ServiceError::invalid(
                "model",
                format!(
                    "the artifact exceeds {} MiB",
                    MAX_ARTIFACT_BYTES / (1024 * 1024)
                ),
            ));
        }
        let card: serde_json::Value = serde_json::from_str(card_json)
            .map_err(|e| ServiceError::invalid("card", format!("not JSON: {e}")))?;
        if !card.is_object() {
            return Err(ServiceError::invalid("card", "must be a JSON object"));
        }
        let schema: lendscope_model::FeatureSchema = serde_json::from_str(schema_json)
            .map_err(|e| ServiceError::invalid("schema", format!("not a feature schema: {e}")))?;
        if let Some(why) = features::schema_mismatch(&schema) {
            return Err(ServiceError::invalid("schema", why));
        }
        let bundle = ModelBundle::from_json(model_json.as_bytes(), schema_json.as_bytes())
            .map_err(|e| ServiceError::invalid("model", e.to_string()))?;
        let sha = artifact_sha256(model_json, schema_json);
        let (data_sha256, data_rows) = card_lineage(&card);
        let by = audit::actor_label(&actor);
        let txn = self.db().begin().await?;
        // Write first (SQLite): the name's versions are read after this process holds the lock.
        audit::append(
            &txn,
            self.now(),
            &RequestMeta::default(),
            AuditEvent::new(actor, "model.register", Outcome::Success)
                .target(name.to_owned())
                .detail(json!({ "sha256": sha, "source": provenance.source })),
        )
        .await?;
        let latest = model::Entity::find()
            .filter(model::Column::Name.eq(name))
            .order_by_desc(model::Column::Version)
            .limit(1)
            .one(&txn)
            .await?;
        let version = latest.map_or(1, |m| m.version + 1);
        let row = model::ActiveModel {
            id: NotSet,
            name: Set(name.to_owned()),
            version: Set(version),
            feature_set: Set(bundle.schema().feature_set().map(str::to_owned)),
            model_json: Set(model_json.to_owned()),
            schema_json: Set(schema_json.to_owned()),
            card_json: Set(card_json.to_owned()),
            sha256: Set(sha.clone()),
            created_at: Set(self.now()),
            created_by: Set(by),
            parent_id: Set(provenance.parent_id),
            run_id: Set(provenance.run_id),
            data_sha256: Set(data_sha256),
            data_rows: Set(data_rows),
            source: Set(provenance.source.to_owned()),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if ServiceError::is_unique_violation(&e) {
                ServiceError::Conflict(format!(
                    "another version of {name} was registered at the same time; try again"
                ))
            } else {
                e.into()
            }
        })?;
        txn.commit().await?;
        Ok(ModelRef {
            id: row.id,
            name: row.name,
            version: row.version,
        })
    }

    pub(crate) async fn pair_ids(&self) -> ServiceResult<PairIds> {
        if let Ok(cached) = self.registry().pair.read() {
            if let Some((at, ids)) = *cached {
                if at.elapsed() < PAIR_TTL {
                    return Ok(ids);
                }
            }
        }
        let aliases = model_alias::Entity::find().all(self.db()).await?;
        let share = routing_setting::Entity::find()
            .order_by_desc(routing_setting::Column::Id)
            .limit(1)
            .one(self.db())
            .await?
            .map_or(0, |r| {
                u8::try_from(r.challenger_share_percent.clamp(0, 100)).unwrap_or(0)
            });
        let find = |role: ModelRole| {
            aliases
                .iter()
                .find(|a| a.alias == role.as_str())
                .map(|a| a.model_id)
        };
        let ids = PairIds {
            champion: find(ModelRole::Champion),
            challenger: find(ModelRole::Challenger),
            share,
        };
        if let Ok(mut p) = self.registry().pair.write() {
            *p = Some((Instant::now(), ids));
        }
        Ok(ids)
    }

    /// A model by id, parsed once and cached.
    pub async fn load_model(&self, id: i64) -> ServiceResult<Arc<LoadedModel>> {
        if let Some(m) = self
            .registry()
            .models
            .read()
            .ok()
            .and_then(|m| m.get(&id).cloned())
        {
            return Ok(m);
        }
        if let Some(why) = self
            .registry()
            .refused
            .read()
            .ok()
            .and_then(|r| r.get(&id).cloned())
        {
            return Err(ServiceError::Unavailable(why));
        }
        let row = model::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        let registered = row.sha256.clone();
        // The bytes are checked against their registered hash before they are parsed: an
        // altered artifact is refused as such, whether or not it would still parse.
        let parsed = tokio::task::spawn_blocking(move || {
            let actual = artifact_sha256(&row.model_json, &row.schema_json);
            if actual != row.sha256 {
                return Err(actual);
            }
            let meta = ModelRef {
                id: row.id,
                name: row.name,
                version: row.version,
            };
            Ok(
                ModelBundle::from_json(row.model_json.as_bytes(), row.schema_json.as_bytes())
                    .map(|b| (b, meta)),
            )
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("model loading task: {e}")))?;
        let (bundle, meta) = match parsed {
            Err(actual) => return Err(self.integrity_failure(id, &registered, &actual).await),
            Ok(bundle) => bundle.map_err(|e| {
                ServiceError::Internal(format!("stored model {id} does not load: {e}"))
            })?,
        };
        let loaded = Arc::new(LoadedModel {
            meta,
            bundle,
            sha256: registered,
        });
        if let Ok(mut m) = self.registry().models.write() {
            m.insert(id, loaded.clone());
        }
        Ok(loaded)
    }

    /// The champion (required) and challenger (optional) serving now.
    pub async fn serving_pair(&self) -> ServiceResult<ServingPair> {
        let ids = self.pair_ids().await?;
        let champion_id = ids.champion.ok_or_else(|| {
            ServiceError::Unavailable(
                "no champion model is registered; run `lendscope demo` or register one".into(),
            )
        })?;
        let champion = self.load_model(champion_id).await?;
        // A challenger that cannot be loaded (its integrity check failed, say) takes no
        // applicants and shadows none; the champion decides alone and each record says why.
        let (challenger, challenger_error) = match ids.challenger {
            Some(id) if id != champion_id => match self.load_model(id).await {
                Ok(m) => (Some(m), None),
                Err(e) => {
                    tracing::error!(model_id = id, error = %e, "the challenger cannot be loaded");
                    (
                        None,
                        Some(format!("challenger model {id} could not be loaded: {e}")),
                    )
                }
            },
            _ => (None, None),
        };
        Ok(ServingPair {
            champion,
            challenger,
            challenger_share: ids.share,
            challenger_error,
        })
    }
}

impl Services {
    /// A version whose stored bytes no longer match its registered hash: never served. Raises
    /// the alert (an error log, the `lendscope_model_integrity_failures_total` counter and an
    /// audit record) and returns the error that refuses it.
    async fn integrity_failure(&self, id: i64, registered: &str, actual: &str) -> ServiceError {
        tracing::error!(
            model_id = id,
            registered,
            actual,
            "model artifact does not match its registered SHA-256; refusing to serve it"
        );
        let model_id = id.to_string();
        self.metrics().inc(
            "lendscope_model_integrity_failures_total",
            &[("model_id", model_id.as_str())],
        );
        let event = AuditEvent::new(Actor::System, "model.integrity", Outcome::Failure)
            .target(model_id)
            .detail(json!({ "registered_sha256": registered, "stored_sha256": actual }));
        if let Err(e) = audit::append(self.db(), self.now(), &RequestMeta::default(), event).await {
            tracing::error!(error = %e, "could not record the model integrity failure");
        }
        let why = format!(
            "model {id} failed its integrity check (its stored artifact no longer matches its \
             registered SHA-256) and is not served"
        );
        if let Ok(mut r) = self.registry().refused.write() {
            r.insert(id, why.clone());
        }
        ServiceError::Unavailable(why)
    }
}
