//! One module per page.
//!
//! Every component here returns its view type-erased (`.into_any()`), and sections of long views
//! are erased on their own. Leptos views are nested generic types; the hydration code walks them
//! with one nested `async` block per level, and laid out as one type a page overflowed the
//! compiler's query depth in the optimised `wasm-release` build ("queries overflow the depth
//! limit" while computing the layout of `hydrate_async`) although every debug build passed.
//! Erasing at component and section boundaries keeps each type shallow; `scripts/run.sh
//! --check` (part of the test command) builds in release, so a regression fails CI.

pub mod account;
pub mod apply;
pub mod audit;
pub mod case;
pub mod home;
pub mod login;
pub mod models;
pub mod monitoring;
pub mod not_found;
pub mod notice;
pub mod queue;
pub mod stats;
pub mod trace;
pub mod users;
pub mod validation;
