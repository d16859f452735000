use sea_orm::entity::prelude::*;

/// One sign-in attempt, kept for throttling (a sliding one-hour window).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The user name as submitted (normalised), whether or not such a user exists.
    pub username: String,
    pub client_ip: String,
    pub succeeded: bool,
    pub attempted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
