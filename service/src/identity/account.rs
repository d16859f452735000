//! A staff member's own account: the sessions they have open, and their password.
//! OWASP ASVS level 2: V2.1.5 (users can change their password, with the current one),
//! V3.3.3 (a password change ends every other session), V3.3.4 (users see their active
//! sessions and can end any of them).

use chrono::{DateTime, Utc};
use lendscope_domain::{FieldError, NewPassword};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use serde_json::json;

use super::passwords::{self, Verification};
use super::sessions::{LoginOutcome, SessionUser};
use crate::audit::{AuditEvent, Outcome};
use crate::entity::{session, user};
use crate::error::{ServiceError, ServiceResult};
use crate::{RequestMeta, Services};

/// One of a user's open sessions, as they may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    /// Names the session in forms. It is the stored SHA-256 of the session id, which cannot
    /// be turned back into a cookie.
    pub handle: String,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// When it ends at the latest (the absolute time-out).
    pub ends_at: DateTime<Utc>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request was made with.
    pub current: bool,
}

impl Services {
    /// The user's sessions that have not timed out, most recently used first.
    pub async fn open_sessions(&self, me: &SessionUser) -> ServiceResult<Vec<OpenSession>> {
        let now = self.now();
        let idle_cutoff = now - self.auth_settings().idle_timeout;
        let rows = session::Entity::find()
            .filter(session::Column::UserId.eq(me.user_id))
            .filter(session::Column::ExpiresAt.gt(now))
            .filter(session::Column::LastSeenAt.gt(idle_cutoff))
            .order_by_desc(session::Column::LastSeenAt)
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|s| OpenSession {
                current: s.id_hash == me.session_hash,
                handle: s.id_hash,
                started_at: s.created_at,
                last_seen_at: s.last_seen_at,
                ends_at: s.expires_at,
                client_ip: s.client_ip,
                user_agent: s.user_agent,
            })
            .collect())
    }

    /// Ends one of the user's other sessions (`Some(handle)`), or all of them (`None`).
    /// Returns how many ended. The session in use is ended by signing out; another user's
    /// session, or one already ended, is not found.
    pub async fn end_sessions(
        &self,
        me: &SessionUser,
        handle: Option<&str>,
        meta: &RequestMeta,
    ) -> ServiceResult<u64> {
        let mut delete = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(me.user_id))
            .filter(session::Column::IdHash.ne(me.session_hash.clone()));
        if let Some(handle) = handle {
            if handle == me.session_hash {
                return Err(ServiceError::invalid(
                    "session",
                    "this is the session you are using: sign out to end it",
                ));
            }
            delete = delete.filter(session::Column::IdHash.eq(handle));
        }
        let ended = delete.exec(self.db()).await?.rows_affected;
        if handle.is_some() && ended == 0 {
            return Err(ServiceError::NotFound("session"));
        }
        self.audit(
            meta,
            AuditEvent::new(me.actor(), "session.end", Outcome::Success)
                .target(me.username.clone())
                .detail(json!({ "ended": ended, "all_others": handle.is_none() })),
        )
        .await?;
        Ok(ended)
    }

    /// Changes the user's password. The current password must be given (failures count
    /// against the same hourly limits as sign-ins); the new one must differ from it. Every
    /// session of the user ends, this one included, and a new session is opened for this
    /// request (its id and anti-CSRF token are new).
    pub async fn change_password(
        &self,
        me: &SessionUser,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> ServiceResult<LoginOutcome> {
        let new = NewPassword::parse(new)
            .map_err(|e| FieldError::new("new_password", e.message))
            .map_err(ServiceError::Invalid)?;
        if new.expose() == current {
            return Err(ServiceError::invalid(
                "new_password",
                "must differ from the current password",
            ));
        }
        let attempt = self
            .admit_attempt(&me.username, meta, (me.actor(), "password.change"))
            .await?;
        let owner = user::Entity::find_by_id(me.user_id)
            .one(self.db())
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ServiceError::Unauthenticated)?;
        let stored = owner.password_hash.clone();
        let given = current.to_owned();
        let verified = self
            .passwords()
            .run(move || passwords::verify(&stored, &given))
            .await?;
        if verified == Verification::Mismatch {
            self.audit(
                meta,
                AuditEvent::new(me.actor(), "password.change", Outcome::Failure)
                    .target(me.username.clone())
                    .detail(json!({ "reason": "wrong_password" })),
            )
            .await?;
            return Err(ServiceError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        self.attempt_succeeded(attempt).await?;
        let fresh = self
            .passwords()
            .run(move || passwords::hash(new.expose()))
            .await??;

        let now = self.now();
        let txn = self.db().begin().await?;
        let mut changed: user::ActiveModel = owner.clone().into();
        changed.password_hash = Set(fresh);
        changed.updated_at = Set(now);
        sea_orm::ActiveModelTrait::update(changed, &txn).await?;
        let ended = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(me.user_id))
            .exec(&txn)
            .await?
            .rows_affected;
        let outcome = self.open_session(&txn, &owner, me.role, meta, now).await?;
        txn.commit().await?;
        self.audit(
            meta,
            AuditEvent::new(me.actor(), "password.change", Outcome::Success)
                .target(me.username.clone())
                .detail(json!({ "sessions_ended": ended })),
        )
        .await?;
        Ok(outcome)
    }
}
