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
