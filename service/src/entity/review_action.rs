use sea_orm::entity::prelude::*;

/// One officer action on an application, append-only; `(application_id, version)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_actions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub application_id: String,
    pub version: i32,
    /// `claim`, `release`, `approve`, `reject` or `escalate`.
    pub action: String,
    pub officer: String,
    pub note: Option<String>,
    /// The model's recommendation at the time.
    pub recommended: String,
    /// The model output the officer saw (JSON), when the page showed it.
    pub model_shown: Option<String>,
    pub created_at: DateTimeUtc,
    /// A rejection's principal reasons as the notice states them (JSON `[{code, text}]`).
    pub reasons: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// A rejection's principal reasons as its notice states them (their texts); `None` for an
    /// action that carries none (not a rejection, or recorded before officers gave reasons).
    pub fn stated_reason_texts(&self) -> crate::error::ServiceResult<Option<Vec<String>>> {
        self.reasons
            .as_deref()
            .map(|r| {
                serde_json::from_str::<Vec<lendscope_domain::review::StatedReason>>(r)
                    .map(|s| s.into_iter().map(|s| s.text).collect())
                    .map_err(|e| {
                        crate::error::ServiceError::Internal(format!("stored reasons: {e}"))
                    })
            })
            .transpose()
    }
}
