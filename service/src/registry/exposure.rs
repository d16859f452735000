//! Changes of exposure outside the promotion workflow: the command line's emergency bypass
//! (`lendscope models alias|share --emergency --reason TEXT`, and the demo's set-up), audited
//! with its reason and operator and listed on the registry page, and an admin's return of the
//! challenger to the shadow (lowering exposure needs no second admin).

use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::json;

use super::store::{check_share, refuse_archived, write_alias, write_share, ModelRole};
use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::model;
use crate::error::{ServiceError, ServiceResult};
use crate::{RequestMeta, Services};

/// Audit actions of the emergency bypass (the registry page lists them).
pub const EMERGENCY_ALIAS: &str = "model.alias.emergency";
pub const EMERGENCY_SHARE: &str = "routing.share.emergency";

/// Why an alias or share changes outside the promotion gate and four eyes: the command line's
/// `--emergency --reason TEXT` (or the demo's set-up). A reason of 1 to 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emergency {
    reason: String,
    /// Who ran the command (the operating-system user or `--by`), when known.
    operator: Option<String>,
}

impl Emergency {
    pub fn new(reason: &str) -> ServiceResult<Self> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(ServiceError::invalid(
                "reason",
                "an emergency change needs a reason (1 to 2000 characters)",
            ));
        }
        Ok(Self {
            reason: reason.to_owned(),
            operator: None,
        })
    }

    /// Names the person who made the change (recorded with it and shown on the registry page).
    pub fn by(mut self, operator: &str) -> Self {
        let operator = operator.trim();
        if !operator.is_empty() {
            self.operator = Some(operator.chars().take(128).collect());
        }
        self
    }

    /// The audit event of a change made under this emergency: `detail` (an object) with the
    /// reason and the operator added.
    fn event(
        &self,
        actor: Actor,
        action: &'static str,
        mut detail: serde_json::Value,
    ) -> AuditEvent {
        if let Some(fields) = detail.as_object_mut() {
            fields.insert("reason".to_owned(), json!(self.reason));
            fields.insert("operator".to_owned(), json!(self.operator));
        }
        AuditEvent::new(actor, action, Outcome::Success).detail(detail)
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn operator(&self) -> Option<&str> {
        self.operator.as_deref()
    }
}

impl Services {
    /// Points an alias at a model (or removes it) outside the promotion gate and four eyes:
    /// the command line's emergency bypass (and the demo's set-up), audited with its reason
    /// and shown on the registry page. Archived versions cannot take an alias.
    pub async fn set_alias(
        &self,
        role: ModelRole,
        model_id: Option<i64>,
        actor: Actor,
        emergency: &Emergency,
    ) -> ServiceResult<()> {
        let by = audit::actor_label(&actor);
        let now = self.now();
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            &RequestMeta::default(),
            emergency
                .event(actor, EMERGENCY_ALIAS, json!({ "model_id": model_id }))
                .target(role.as_str()),
        )
        .await?;
        if let Some(id) = model_id {
            if model::Entity::find_by_id(id).one(&txn).await?.is_none() {
                return Err(ServiceError::NotFound("model"));
            }
            refuse_archived(&txn, id).await?;
        }
        write_alias(&txn, role, model_id, &by, now).await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Sets the challenger's share of live decisions (0–100 %) outside the promotion gate and
    /// four eyes: the command line's emergency bypass (and the demo's set-up), audited with
    /// its reason and shown on the registry page. Admins on the page request a share instead
    /// (see `request_promotion`), or return the challenger to shadow (`return_to_shadow`).
    pub async fn set_challenger_share(
        &self,
        percent: u8,
        actor: Actor,
        emergency: &Emergency,
    ) -> ServiceResult<()> {
        check_share(percent)?;
        let by = audit::actor_label(&actor);
        let now = self.now();
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            &RequestMeta::default(),
            emergency.event(
                actor,
                EMERGENCY_SHARE,
                json!({ "challenger_share": percent }),
            ),
        )
        .await?;
        write_share(&txn, percent, &by, now).await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Takes the challenger out of live decisions (share 0 %: it keeps scoring in the shadow).
    /// Lowering exposure needs no second admin; it is audited.
    pub async fn return_to_shadow(&self, admin: &str, meta: &RequestMeta) -> ServiceResult<()> {
        let now = self.now();
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "routing.shadow",
                Outcome::Success,
            )
            .detail(json!({ "challenger_share": 0 })),
        )
        .await?;
        write_share(&txn, 0, admin, now).await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }
}
