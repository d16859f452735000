//! Promotion with four eyes: one admin requests that the challenger become champion, or that
//! a share of live decisions go to it (the gate must pass either way), another approves or
//! rejects, the requester may cancel, requests expire. Also rollback to an earlier champion,
//! making a version challenger (in shadow), and archiving.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lendscope_domain::governance::{ModelRow, PromotionView};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;

use super::applications::internal;
use super::store::{
    current_alias, is_archived, lock_champion, refuse_archived, write_alias, write_share, ModelRole,
};
use super::versions::stamp;
use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::{alias_history, model, model_status, promotion_request, promotion_resolution};
use crate::error::{ServiceError, ServiceResult};
use crate::{RequestMeta, Services};

fn model_label(rows: &HashMap<i64, ModelRow>, id: i64) -> String {
    rows.get(&id).map_or_else(
        || format!("model {id}"),
        |r| format!("{} v{}", r.name, r.version),
    )
}

fn promotion_state(
    req: &promotion_request::Model,
    res: Option<&promotion_resolution::Model>,
    now: DateTime<Utc>,
) -> &'static str {
    match res.map(|r| r.resolution.as_str()) {
        Some("approved") => "approved",
        Some("rejected") => "rejected",
        Some(_) => "cancelled",
        None if now >= req.expires_at => "expired",
        None => "open",
    }
}

/// A required free-text reason or note: trimmed, 1 to 2,000 characters.
fn reason_text<'a>(field: &str, text: &'a str) -> ServiceResult<&'a str> {
    let text = text.trim();
    if text.is_empty() || text.len() > 2000 {
        return Err(ServiceError::invalid(
            field,
            "say why (1 to 2000 characters)",
        ));
    }
    Ok(text)
}

/// What a promotion request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// The challenger becomes champion.
    Champion,
    /// The challenger decides for this share of applicants (1–100 %).
    Share(u8),
}

impl RequestKind {
    /// A share request: 1 to 100 % (0 needs no request: see `return_to_shadow`).
    pub fn share(percent: u8) -> ServiceResult<Self> {
        if (1..=100).contains(&percent) {
            Ok(Self::Share(percent))
        } else {
            Err(ServiceError::invalid(
                "percent",
                "a share request is for 1 to 100 % (0 returns the challenger to shadow at once)",
            ))
        }
    }

    fn stored(self) -> Option<i32> {
        match self {
            Self::Champion => None,
            Self::Share(p) => Some(i32::from(p)),
        }
    }
}

/// How a promotion request is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Approve,
    Reject,
    Cancel,
}

impl Resolution {
    pub fn parse(s: &str) -> ServiceResult<Self> {
        match s {
            "approve" => Ok(Self::Approve),
            "reject" => Ok(Self::Reject),
            "cancel" => Ok(Self::Cancel),
            _ => Err(ServiceError::invalid(
                "resolution",
                "must be approve, reject or cancel",
            )),
        }
    }

    fn stored(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Cancel => "cancelled",
        }
    }
}

impl Services {
    pub(super) async fn promotions(
        &self,
        models: &[ModelRow],
        limit: u64,
    ) -> ServiceResult<Vec<PromotionView>> {
        let by_id: HashMap<i64, ModelRow> = models.iter().map(|m| (m.id, m.clone())).collect();
        let requests = promotion_request::Entity::find()
            .order_by_desc(promotion_request::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        let ids: Vec<i64> = requests.iter().map(|r| r.id).collect();
        let resolutions: HashMap<i64, promotion_resolution::Model> =
            promotion_resolution::Entity::find()
                .filter(promotion_resolution::Column::RequestId.is_in(ids))
                .all(self.db())
                .await?
                .into_iter()
                .map(|r| (r.request_id, r))
                .collect();
        let now = self.now();
        Ok(requests
            .into_iter()
            .map(|req| {
                let res = resolutions.get(&req.id);
                PromotionView {
                    id: req.id,
                    model: model_label(&by_id, req.model_id),
                    model_id: req.model_id,
                    champion: model_label(&by_id, req.champion_id),
                    challenger_share: req
                        .challenger_share
                        .and_then(|p| u8::try_from(p.clamp(0, 100)).ok()),
                    state: promotion_state(&req, res, now).to_owned(),
                    requested_by: req.requested_by,
                    requested_at: stamp(req.requested_at),
                    expires_at: stamp(req.expires_at),
                    reason: req.reason,
                    resolved_by: res.map(|r| r.resolved_by.clone()),
                    resolved_at: res.map(|r| stamp(r.resolved_at)),
                    note: res.map(|r| r.note.clone()),
                }
            })
            .collect())
    }

    /// (when, "requested by A, approved by B") of the approved promotions of `model_id`.
    pub(crate) async fn approvals_of(
        &self,
        model_id: i64,
    ) -> ServiceResult<Vec<(DateTime<Utc>, String)>> {
        let requests = promotion_request::Entity::find()
            .filter(promotion_request::Column::ModelId.eq(model_id))
            .all(self.db())
            .await?;
        let mut out = Vec::new();
        for r in requests {
            if let Some(res) = promotion_resolution::Entity::find()
                .filter(promotion_resolution::Column::RequestId.eq(r.id))
                .filter(promotion_resolution::Column::Resolution.eq("approved"))
                .one(self.db())
                .await?
            {
                let what = r
                    .challenger_share
                    .map(|p| format!("live share of {p} % "))
                    .unwrap_or_default();
                out.push((
                    res.resolved_at,
                    format!(
                        "{what}requested by {}, approved by {} (request #{})",
                        r.requested_by, res.resolved_by, r.id
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// Asks for the challenger to become champion, or to decide for a share of applicants.
    /// The gate must pass now; only one request may be open at a time; another admin must
    /// approve it before it expires.
    pub async fn request_promotion(
        &self,
        admin: &str,
        kind: RequestKind,
        reason: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<i64> {
        let reason = reason_text("reason", reason)?;
        // Cheap refusal first (checked again inside the transaction against races).
        if let Some(r) = self.open_requests(self.db(), self.now()).await?.first() {
            return Err(ServiceError::Conflict(format!(
                "promotion request #{} by {} is still open; resolve it first",
                r.id, r.requested_by
            )));
        }
        let comparison = self.compare_serving().await?;
        if !comparison.gate_passed {
            let failed: Vec<&str> = comparison
                .gate
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.as_str())
                .collect();
            return Err(ServiceError::Conflict(format!(
                "the promotion gate does not pass ({}); nothing was requested",
                failed.join(", ")
            )));
        }
        let now = self.now();
        let ttl = self.gate_settings().request_ttl;
        let gate = serde_json::to_string(&json!({
            "gate": comparison.gate,
            "psi": comparison.psi,
            "auc": comparison.auc,
            "ks": comparison.ks,
            "labelled_rows": comparison.labelled_rows,
            "window": comparison.window,
            "fairness": comparison.fairness,
            "final_decided": comparison.final_decided,
            "final_fairness": comparison.final_fairness,
        }))
        .map_err(internal)?;
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.promotion.request",
                Outcome::Success,
            )
            .target(format!(
                "{} v{}",
                comparison.challenger.name, comparison.challenger.version
            ))
            .detail(json!({
                "model_id": comparison.challenger.id,
                "champion_id": comparison.champion.id,
                "challenger_share": kind.stored(),
                "reason": reason,
            })),
        )
        .await?;
        lock_champion(&txn).await?;
        let open = self.open_requests(&txn, now).await?;
        if let Some(r) = open.first() {
            return Err(ServiceError::Conflict(format!(
                "promotion request #{} by {} is still open; resolve it first",
                r.id, r.requested_by
            )));
        }
        let current = current_alias(&txn, ModelRole::Champion).await?;
        let challenger = current_alias(&txn, ModelRole::Challenger).await?;
        if current != Some(comparison.champion.id) || challenger != Some(comparison.challenger.id) {
            return Err(ServiceError::Conflict(
                "the champion or challenger changed while the gate was computed; look again".into(),
            ));
        }
        let row = promotion_request::ActiveModel {
            id: NotSet,
            model_id: Set(comparison.challenger.id),
            champion_id: Set(comparison.champion.id),
            requested_by: Set(admin.to_owned()),
            requested_at: Set(now),
            expires_at: Set(now + ttl),
            reason: Set(reason.to_owned()),
            gate_json: Set(gate),
            challenger_share: Set(kind.stored()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(row.id)
    }

    async fn open_requests(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<promotion_request::Model>> {
        let pending = promotion_request::Entity::find()
            .filter(promotion_request::Column::ExpiresAt.gt(now))
            .all(db)
            .await?;
        let mut open = Vec::new();
        for r in pending {
            let resolved = promotion_resolution::Entity::find()
                .filter(promotion_resolution::Column::RequestId.eq(r.id))
                .one(db)
                .await?
                .is_some();
            if !resolved {
                open.push(r);
            }
        }
        Ok(open)
    }

    /// Approves, rejects or cancels a promotion request. Approving and rejecting need an admin
    /// other than the requester; cancelling is the requester's. An approval makes the model
    /// champion (the challenger alias is cleared), or puts the requested share in force, in
    /// the same transaction, provided the champion (and for a share, the challenger) is still
    /// the one the request was made against and the request has not expired.
    pub async fn resolve_promotion(
        &self,
        request_id: i64,
        admin: &str,
        resolution: Resolution,
        note: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let note = note.trim();
        if note.len() > 2000 {
            return Err(ServiceError::invalid("note", "at most 2000 characters"));
        }
        let now = self.now();
        let req = promotion_request::Entity::find_by_id(request_id)
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("promotion request"))?;
        let own = req.requested_by == admin;
        match resolution {
            Resolution::Cancel if !own => {
                return Err(ServiceError::Conflict(
                    "only the admin who requested a promotion can cancel it".into(),
                ))
            }
            Resolution::Approve | Resolution::Reject if own => {
                let event = AuditEvent::new(
                    Actor::User(admin.to_owned()),
                    "model.promotion.resolve",
                    Outcome::Denied,
                )
                .target(format!("request #{request_id}"))
                .detail(json!({ "resolution": resolution.stored(), "why": "four eyes" }));
                self.audit(meta, event).await?;
                return Err(ServiceError::Conflict(
                    "four eyes: the admin who requested a promotion cannot resolve it; another admin must".into(),
                ));
            }
            _ => {}
        }
        let txn = self.db().begin().await?;
        // Write first: the unique request id makes a second resolution fail here.
        promotion_resolution::ActiveModel {
            id: NotSet,
            request_id: Set(request_id),
            resolution: Set(resolution.stored().to_owned()),
            resolved_by: Set(admin.to_owned()),
            resolved_at: Set(now),
            note: Set(note.to_owned()),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if ServiceError::is_unique_violation(&e) {
                ServiceError::Conflict("this request was resolved already".into())
            } else {
                e.into()
            }
        })?;
        if now >= req.expires_at {
            return Err(ServiceError::Conflict(format!(
                "request #{request_id} expired at {}; request the promotion again",
                stamp(req.expires_at)
            )));
        }
        if resolution == Resolution::Approve {
            lock_champion(&txn).await?;
            if current_alias(&txn, ModelRole::Champion).await? != Some(req.champion_id) {
                return Err(ServiceError::Conflict(
                    "the champion changed since this request was made; nothing was promoted".into(),
                ));
            }
            if is_archived(&txn, req.model_id).await? {
                return Err(ServiceError::Conflict(
                    "the requested version was archived; nothing was promoted".into(),
                ));
            }
            match req.challenger_share {
                None => {
                    write_alias(&txn, ModelRole::Champion, Some(req.model_id), admin, now).await?;
                    if current_alias(&txn, ModelRole::Challenger).await?.is_some() {
                        write_alias(&txn, ModelRole::Challenger, None, admin, now).await?;
                    }
                }
                Some(percent) => {
                    if current_alias(&txn, ModelRole::Challenger).await? != Some(req.model_id) {
                        return Err(ServiceError::Conflict(
                            "the challenger changed since this request was made; no share was given".into(),
                        ));
                    }
                    let percent = u8::try_from(percent.clamp(0, 100)).unwrap_or(0);
                    write_share(&txn, percent, admin, now).await?;
                }
            }
        }
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.promotion.resolve",
                Outcome::Success,
            )
            .target(format!("request #{request_id}"))
            .detail(json!({
                "resolution": resolution.stored(),
                "model_id": req.model_id,
                "champion_id": req.champion_id,
                "challenger_share": req.challenger_share,
                "requested_by": req.requested_by,
                "note": note,
            })),
        )
        .await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Makes an earlier champion the champion again (a single admin may do this: it restores
    /// a version that passed review before). The current challenger is left as it is.
    pub async fn rollback_champion(
        &self,
        model_id: i64,
        admin: &str,
        note: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let note = reason_text("note", note)?;
        let now = self.now();
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.rollback",
                Outcome::Success,
            )
            .target(format!("model {model_id}"))
            .detail(json!({ "model_id": model_id, "note": note })),
        )
        .await?;
        lock_champion(&txn).await?;
        let was_champion = alias_history::Entity::find()
            .filter(alias_history::Column::Alias.eq(ModelRole::Champion.as_str()))
            .filter(alias_history::Column::ModelId.eq(model_id))
            .one(&txn)
            .await?
            .is_some();
        if !was_champion {
            return Err(ServiceError::Conflict(
                "rollback restores an earlier champion; this version never was one".into(),
            ));
        }
        if current_alias(&txn, ModelRole::Champion).await? == Some(model_id) {
            return Err(ServiceError::Conflict(
                "this version is the champion already".into(),
            ));
        }
        refuse_archived(&txn, model_id).await?;
        if current_alias(&txn, ModelRole::Challenger).await? == Some(model_id) {
            write_alias(&txn, ModelRole::Challenger, None, admin, now).await?;
        }
        write_alias(&txn, ModelRole::Champion, Some(model_id), admin, now).await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Makes a version the challenger (not the champion, not archived).
    pub async fn make_challenger(
        &self,
        model_id: i64,
        admin: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let now = self.now();
        let txn = self.db().begin().await?;
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.challenger",
                Outcome::Success,
            )
            .target(format!("model {model_id}"))
            .detail(json!({ "model_id": model_id })),
        )
        .await?;
        if model::Entity::find_by_id(model_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ServiceError::NotFound("model"));
        }
        if current_alias(&txn, ModelRole::Champion).await? == Some(model_id) {
            return Err(ServiceError::Conflict(
                "this version is the champion".into(),
            ));
        }
        refuse_archived(&txn, model_id).await?;
        write_alias(&txn, ModelRole::Challenger, Some(model_id), admin, now).await?;
        txn.commit().await?;
        self.registry().invalidate_pair();
        Ok(())
    }

    /// Archives a version that serves no traffic; it can no longer take an alias.
    pub async fn archive_model(
        &self,
        model_id: i64,
        admin: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<()> {
        let reason = reason_text("reason", reason)?;
        let now = self.now();
        let txn = self.db().begin().await?;
        model_status::ActiveModel {
            id: NotSet,
            model_id: Set(model_id),
            status: Set("archived".to_owned()),
            reason: Set(reason.to_owned()),
            set_at: Set(now),
            set_by: Set(admin.to_owned()),
        }
        .insert(&txn)
        .await?;
        if model::Entity::find_by_id(model_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ServiceError::NotFound("model"));
        }
        for role in [ModelRole::Champion, ModelRole::Challenger] {
            if current_alias(&txn, role).await? == Some(model_id) {
                return Err(ServiceError::Conflict(format!(
                    "this version is the {}; archive it after it stops serving",
                    role.as_str()
                )));
            }
        }
        audit::append(
            &txn,
            now,
            meta,
            AuditEvent::new(
                Actor::User(admin.to_owned()),
                "model.archive",
                Outcome::Success,
            )
            .target(format!("model {model_id}"))
            .detail(json!({ "model_id": model_id, "reason": reason })),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
