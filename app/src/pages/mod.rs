//! One module per page.

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
