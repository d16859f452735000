//! sea-orm entities, one module per table. Tables are created by `lendscope-migrations`.

pub mod alias_history;
pub mod api_key;
pub mod audit_log;
pub mod case;
pub mod chain_anchor;
pub mod chain_head;
pub mod decision;
pub mod decision_policy;
pub mod login_attempt;
pub mod model;
pub mod model_alias;
pub mod model_status;
pub mod monitoring_run;
pub mod outcome;
pub mod promotion_request;
pub mod promotion_resolution;
pub mod record_link;
pub mod review_action;
pub mod routing_setting;
pub mod session;
pub mod training_run;
pub mod user;
