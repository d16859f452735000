//! The audit trail: an append-only record of who did what, when (UTC), to what, and how it
//! ended. Sign-ins, sign-outs, denials and every administrative change are recorded. Beside it:
//! the compliance view of decisions, and the retention purge of old ones.

pub mod checkpoint;
pub mod compliance;
pub mod records;
pub mod retention;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::entity::audit_log;
use crate::error::ServiceResult;
use crate::{RequestMeta, Services};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    ApiKey(String),
    System,
    Anonymous,
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ApiKey(_) => "api_key",
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
        }
    }

    fn name(&self) -> Option<String> {
        match self {
            Actor::User(n) | Actor::ApiKey(n) => Some(n.clone()),
            Actor::System | Actor::Anonymous => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// How an actor is written in `created_by`-style columns.
pub fn actor_label(actor: &Actor) -> String {
    match actor {
        Actor::User(n) => n.clone(),
        Actor::ApiKey(n) => format!("api_key:{n}"),
        Actor::System => "system".to_owned(),
        Actor::Anonymous => "anonymous".to_owned(),
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: Actor,
    pub action: &'static str,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(actor: Actor, action: &'static str, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            target: None,
            outcome,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A stored audit event, as shown to compliance staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: serde_json::Value,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
}

impl From<audit_log::Model> for AuditRecord {
    fn from(m: audit_log::Model) -> Self {
        Self {
            id: m.id,
            occurred_at: m.occurred_at,
            actor_kind: m.actor_kind,
            actor: m.actor,
            action: m.action,
            target: m.target,
            outcome: m.outcome,
            detail: serde_json::from_str(&m.detail).unwrap_or(serde_json::Value::Null),
            client_ip: m.client_ip,
            request_id: m.request_id,
        }
    }
}

/// A page of the audit log, newest first, continuing below `before_id` when given.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub before_id: Option<i64>,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub limit: u64,
}

/// Appends one event inside whatever connection or transaction the caller holds.
pub async fn append<C: ConnectionTrait>(
    conn: &C,
    at: DateTime<Utc>,
    meta: &RequestMeta,
    event: AuditEvent,
) -> ServiceResult<i64> {
    let row = audit_log::ActiveModel {
        id: NotSet,
        occurred_at: Set(at),
        actor_kind: Set(event.actor.kind().to_owned()),
        actor: Set(event.actor.name()),
        action: Set(event.action.to_owned()),
        target: Set(event.target),
        outcome: Set(event.outcome.as_str().to_owned()),
        detail: Set(event.detail.to_string()),
        client_ip: Set(meta.client_ip.clone()),
        request_id: Set(meta.request_id.clone()),
    };
    let res = audit_log::Entity::insert(row).exec(conn).await?;
    Ok(res.last_insert_id)
}

impl Services {
    /// Records an audit event on its own.
    pub async fn audit(&self, meta: &RequestMeta, event: AuditEvent) -> ServiceResult<i64> {
        append(self.db(), self.now(), meta, event).await
    }

    /// Reads a page of the audit log, newest first.
    pub async fn audit_page(&self, query: AuditQuery) -> ServiceResult<Vec<AuditRecord>> {
        let mut select = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
        if let Some(before) = query.before_id {
            select = select.filter(audit_log::Column::Id.lt(before));
        }
        if let Some(action) = query.action.filter(|a| !a.is_empty()) {
            select = select.filter(audit_log::Column::Action.eq(action));
        }
        if let Some(actor) = query.actor.filter(|a| !a.is_empty()) {
            select = select.filter(audit_log::Column::Actor.eq(actor));
        }
        let rows = select
            .limit(query.limit.clamp(1, 500))
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }
}
