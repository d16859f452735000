//! sea-orm entities, one module per table. Tables are created by `lendscope-migrations`.

pub mod api_key;
pub mod audit_log;
pub mod login_attempt;
pub mod session;
pub mod user;
