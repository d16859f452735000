//! The model registry: the registered model versions (artifact, lineage, active or archived),
//! the `champion` and `challenger` aliases that serve traffic (with their history and the
//! challenger's share of applicants), the champion-versus-challenger comparison with the
//! promotion gate, promotion with four eyes (one admin requests, another approves, requests
//! expire), rollback to an earlier champion, archiving, training runs and retraining.
//!
//! - `store`: versions, parsed-model cache, aliases and routing (everything else builds on it);
//! - `exposure`: the emergency bypass and the return to shadow;
//! - `applications`: the stored applications versions are re-scored on;
//! - `versions`: the list of versions and their names;
//! - `runs`: training-run bookkeeping;
//! - `compare`: the comparison and its gate;
//! - `promotion`: four-eyes promotion, rollback, challenger, archiving;
//! - `views`: the registry's front page and a version's page;
//! - `retrain`: retraining with XGBoost (`lendscope_trainer`) as a background job; only with
//!   the `train` feature (without it `start_retrain` is refused, 503).

mod applications;
mod compare;
mod exposure;
mod promotion;
mod retrain;
mod runs;
mod store;
mod validation;
mod versions;
mod views;

pub use compare::GateSettings;
pub use exposure::{Emergency, EMERGENCY_ALIAS, EMERGENCY_SHARE};
pub use promotion::RequestKind;
pub use promotion::Resolution;
#[cfg(feature = "train")]
pub use retrain::generated_base;
pub use retrain::BaseData;
pub use runs::RunResult;
pub use store::{
    artifact_sha256, LoadedModel, ModelRef, ModelRole, Provenance, RegistryCache, ServingPair,
    MAX_ARTIFACT_BYTES,
};
pub use validation::report_pdf;

pub(crate) use applications::{stored, Stored};
pub(crate) use compare::{judged_groups, PROTECTED_ATTRIBUTES};
