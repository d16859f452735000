//! Real-time scoring: validate the application, route it to the champion or the challenger
//! (sticky by applicant), score it with both (the other one in the shadow), decide by the
//! versioned policy, give principal reasons, and append the decision to the hash chain —
//! answering only once it is committed.

pub mod alternatives;
pub mod chain;
pub mod display;
pub mod form;
mod ids;
pub mod notice;
mod outcomes;
mod pipeline;
pub mod policy;
pub mod reasons;
pub mod record;
pub(crate) mod replay;
pub mod request;
pub mod writer;

pub use pipeline::{bucket, check_idempotency_key, notice_url, Scored};
pub use record::{DecisionRecord, ExplanationJson, ModelInfo, ModelScore};
pub use replay::Reproduction;
pub use writer::DecisionWriter;
