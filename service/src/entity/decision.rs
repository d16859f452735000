use sea_orm::entity::prelude::*;

/// A scoring decision, append-only and hash-chained: `hash = SHA-256(prev_hash ‖ content)`,
/// where `content` is the canonical JSON of the whole record. The other columns repeat parts of
/// the content for querying; `lendscope audit verify` checks that they agree with it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "decisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Position in the chain, from 1 without gaps.
    #[sea_orm(unique)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub application_id: String,
    #[sea_orm(unique)]
    pub notice_token: String,
    pub created_at: DateTimeUtc,
    pub api_client: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub applicant_id: String,
    pub model_id: i64,
    pub role: String,
    pub decision: String,
    pub probability_of_default: f64,
    pub policy_version: String,
    pub content: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
