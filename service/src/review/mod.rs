//! Officer review: the queue of applications awaiting a person, claims and final decisions
//! (append-only, versioned actions), each case's file for the officer's page, and the
//! queue's counts kept in memory.

pub mod actions;
pub mod casefile;
pub mod counts;
pub mod finals;
pub mod queue;

pub use actions::ReviewAction;
pub use queue::{CaseSummary, QueueFilter, QueuePage};

/// The decision an officer's final action stored in a case makes ("approve", "reject",
/// "counteroffer"; a counteroffer approves a loan on its terms).
pub(crate) fn final_decision_of(action: &str) -> Option<lendscope_domain::Decision> {
    ReviewAction::parse(action).and_then(ReviewAction::decision)
}
