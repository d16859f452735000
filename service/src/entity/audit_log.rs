use sea_orm::entity::prelude::*;

/// One audit event. The table is append-only (database triggers refuse UPDATE and DELETE).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    /// `user`, `api_key`, `system` or `anonymous`.
    pub actor_kind: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// A JSON object with event-specific details.
    pub detail: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
