//! Server-side sessions of signed-in staff: opened at sign-in (a fresh id, of which only the
//! SHA-256 is stored), resolved from the cookie on every request, ended by signing out or by
//! their idle and absolute timeouts.

use chrono::{DateTime, Duration, Utc};
use lendscope_domain::Role;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use subtle::ConstantTimeEq;

use crate::audit::{Actor, AuditEvent, Outcome};
use crate::entity::{login_attempt, session, user};
use crate::error::{ServiceError, ServiceResult};
use crate::tokens::{random_token, sha256_hex};
use crate::{RequestMeta, Services};

/// How stale a last-seen time may get before it is written again (sessions and API keys).
pub(super) const LAST_SEEN_GRANULARITY_SECS: i64 = 30;

/// The signed-in staff member behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The per-session anti-CSRF token that forms must send back.
    pub csrf_token: String,
    /// SHA-256 of the session id; identifies the session without revealing it.
    pub session_hash: String,
}

impl SessionUser {
    pub fn actor(&self) -> Actor {
        Actor::User(self.username.clone())
    }

    /// Constant-time comparison of a submitted anti-CSRF token.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        !submitted.is_empty() && bool::from(self.csrf_token.as_bytes().ct_eq(submitted.as_bytes()))
    }
}

/// A successful sign-in: the new session id (to be set as a cookie) and who it belongs to.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub session_token: String,
    pub user: SessionUser,
}

impl Services {
    /// Opens a new session for `owner` (a fresh 256-bit id and anti-CSRF token); only the id's
    /// SHA-256 is stored.
    pub(crate) async fn open_session(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        owner: &user::Model,
        role: Role,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> ServiceResult<LoginOutcome> {
        let token = random_token();
        let csrf = random_token();
        let id_hash = sha256_hex(&token);
        session::ActiveModel {
            id_hash: Set(id_hash.clone()),
            user_id: Set(owner.id),
            csrf_token: Set(csrf.clone()),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(now + self.auth_settings().absolute_timeout),
            client_ip: Set(meta.client_ip.clone()),
            user_agent: Set(meta
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(512).collect())),
        }
        .insert(conn)
        .await?;
        Ok(LoginOutcome {
            session_token: token,
            user: SessionUser {
                user_id: owner.id,
                username: owner.username.clone(),
                role,
                csrf_token: csrf,
                session_hash: id_hash,
            },
        })
    }

    /// Resolves a session cookie to its user. Sessions past their idle or absolute timeout, and
    /// sessions of disabled users, are deleted and resolve to `None`.
    pub async fn resolve_session(&self, token: &str) -> ServiceResult<Option<SessionUser>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let id_hash = sha256_hex(token);
        let Some((found, owner)) = session::Entity::find_by_id(id_hash.clone())
            .find_also_related(user::Entity)
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let now = self.now();
        let settings = self.auth_settings();
        let owner = owner.filter(|u| !u.disabled);
        let expired = now >= found.expires_at || now - found.last_seen_at >= settings.idle_timeout;
        let Some(owner) = owner.filter(|_| !expired) else {
            session::Entity::delete_by_id(id_hash)
                .exec(self.db())
                .await?;
            return Ok(None);
        };
        let role: Role = owner
            .role
            .parse()
            .map_err(|e| ServiceError::Internal(format!("user {} has bad role: {e}", owner.id)))?;
        if (now - found.last_seen_at).num_seconds() >= LAST_SEEN_GRANULARITY_SECS {
            session::Entity::update_many()
                .col_expr(
                    session::Column::LastSeenAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(session::Column::IdHash.eq(id_hash.clone()))
                .exec(self.db())
                .await?;
        }
        Ok(Some(SessionUser {
            user_id: owner.id,
            username: owner.username,
            role,
            csrf_token: found.csrf_token,
            session_hash: id_hash,
        }))
    }

    /// Ends a session on the server.
    pub async fn logout(&self, user: &SessionUser, meta: &RequestMeta) -> ServiceResult<()> {
        session::Entity::delete_by_id(user.session_hash.clone())
            .exec(self.db())
            .await?;
        self.audit(
            meta,
            AuditEvent::new(user.actor(), "logout", Outcome::Success).target(user.username.clone()),
        )
        .await?;
        Ok(())
    }

    /// Whether a session id is still stored (for tests of logout and rotation).
    pub async fn session_exists(&self, token: &str) -> ServiceResult<bool> {
        Ok(session::Entity::find_by_id(sha256_hex(token))
            .one(self.db())
            .await?
            .is_some())
    }

    /// Deletes expired sessions and login attempts older than the throttling window.
    /// Returns (sessions, attempts) removed.
    pub async fn purge_expired_credentials(&self) -> ServiceResult<(u64, u64)> {
        let now = self.now();
        let idle_cutoff = now - self.auth_settings().idle_timeout;
        let sessions = session::Entity::delete_many()
            .filter(
                session::Column::ExpiresAt
                    .lte(now)
                    .or(session::Column::LastSeenAt.lte(idle_cutoff)),
            )
            .exec(self.db())
            .await?
            .rows_affected;
        let attempts = login_attempt::Entity::delete_many()
            .filter(login_attempt::Column::AttemptedAt.lt(now - Duration::days(1)))
            .exec(self.db())
            .await?
            .rows_affected;
        Ok((sessions, attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_comparison_rejects_empty_and_wrong_tokens() {
        let user = SessionUser {
            user_id: 1,
            username: "u".into(),
            role: Role::Officer,
            csrf_token: "abc".into(),
            session_hash: "h".into(),
        };
        assert!(user.csrf_matches("abc"));
        assert!(!user.csrf_matches("abd"));
        assert!(!user.csrf_matches(""));
    }
}
