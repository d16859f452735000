//! One module per page.

pub mod audit;
pub mod home;
pub mod login;
pub mod not_found;
pub mod notice;
pub mod pending;
pub mod users;
