//! The service layer of Lendscope.
//!
//! Everything that reads or writes state goes through [`Services`]: the JSON API handlers, the
//! Leptos server functions and the CLI are thin adapters over it. It knows nothing of HTTP.

pub mod audit;
pub mod clock;
pub mod db;
pub mod entity;
pub mod error;
pub mod identity;
pub mod metrics;
pub mod monitoring;
pub mod pdf;
pub mod registry;
pub mod review;
pub mod scoring;
mod tokens;

use std::sync::Arc;

pub use audit::{Actor, AuditEvent, AuditQuery, AuditRecord, Outcome};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ServiceError, ServiceResult};
pub use identity::{
    cookie_value, ApiClient, AuthSettings, CookiePolicy, LoginOutcome, SessionUser, UserSummary,
};

use sea_orm::DatabaseConnection;

/// Handle to every service. Cheap to clone; shared by all requests.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    auth: AuthSettings,
    passwords: identity::PasswordPool,
    api_keys: identity::auth::ApiKeyCache,
    registry: registry::RegistryCache,
    policy: PolicyCache,
    writer: scoring::DecisionWriter,
    metrics: Arc<metrics::Metrics>,
    counts: review::counts::CountsCache,
    gate: std::sync::RwLock<registry::GateSettings>,
    retrain_base: std::sync::RwLock<Option<std::path::PathBuf>>,
    monitoring: std::sync::RwLock<monitoring::MonitoringSettings>,
}

type PolicyCache = std::sync::RwLock<Option<(std::time::Instant, scoring::policy::DecisionPolicy)>>;

impl Services {
    /// Builds the services and starts the decision writer (needs a Tokio runtime).
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, auth: AuthSettings) -> Self {
        let metrics = Arc::new(metrics::Metrics::default());
        let writer = scoring::DecisionWriter::spawn(db.clone(), metrics.clone());
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                auth,
                passwords: identity::PasswordPool::per_core(),
                api_keys: identity::auth::ApiKeyCache::default(),
                registry: registry::RegistryCache::default(),
                policy: PolicyCache::default(),
                writer,
                metrics,
                counts: review::counts::CountsCache::default(),
                gate: std::sync::RwLock::default(),
                retrain_base: std::sync::RwLock::default(),
                monitoring: std::sync::RwLock::default(),
            }),
        }
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn passwords(&self) -> &identity::PasswordPool {
        &self.inner.passwords
    }

    pub(crate) fn api_key_cache(&self) -> &identity::auth::ApiKeyCache {
        &self.inner.api_keys
    }

    pub(crate) fn registry(&self) -> &registry::RegistryCache {
        &self.inner.registry
    }

    pub(crate) fn policy_cache(&self) -> &PolicyCache {
        &self.inner.policy
    }

    pub(crate) fn counts_cache(&self) -> &review::counts::CountsCache {
        &self.inner.counts
    }

    pub(crate) fn decision_writer(&self) -> &scoring::DecisionWriter {
        &self.inner.writer
    }

    /// The bounds of the promotion gate in force.
    pub fn gate_settings(&self) -> registry::GateSettings {
        self.inner
            .gate
            .read()
            .map(|g| g.clone())
            .unwrap_or_default()
    }

    /// Replaces the bounds of the promotion gate (configuration, tests).
    pub fn set_gate_settings(&self, settings: registry::GateSettings) {
        if let Ok(mut g) = self.inner.gate.write() {
            *g = settings;
        }
    }

    /// Where retraining reads its base training data (`None`: generated demo data).
    pub fn set_retrain_base(&self, path: Option<std::path::PathBuf>) {
        if let Ok(mut b) = self.inner.retrain_base.write() {
            *b = path;
        }
    }

    #[cfg(feature = "train")]
    pub(crate) fn retrain_base(&self) -> Option<std::path::PathBuf> {
        self.inner.retrain_base.read().ok().and_then(|b| b.clone())
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    pub fn auth_settings(&self) -> &AuthSettings {
        &self.inner.auth
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }
}

/// Where a request came from, for throttling and the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
}
