use sea_orm::entity::prelude::*;

/// A link of the hash chain of officer actions or of outcomes (append-only; outlives a
/// retention purge of the record it covers).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "record_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `review_actions` or `outcomes`.
    pub chain: String,
    pub seq: i64,
    /// The id of the record in its table.
    pub record_id: i64,
    /// The sequence number of the application's decision (a purge removes decisions before a
    /// sequence number, with their records).
    pub decision_seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
