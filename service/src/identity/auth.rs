//! Authentication: sign-in with throttling, and API keys for machine clients. The sessions that
//! a sign-in opens are in [`super::sessions`].

use chrono::{DateTime, Duration, Utc};
use lendscope_domain::{Role, Username};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use super::passwords::{self, Verification};
use super::sessions::{LoginOutcome, LAST_SEEN_GRANULARITY_SECS};
use crate::audit::{Actor, AuditEvent, Outcome};
use crate::entity::{api_key, login_attempt, session, user};
use crate::error::{ServiceError, ServiceResult};
use crate::{RequestMeta, Services};

/// Session and sign-in policy.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// A session unused for this long ends (ASVS L2: 30 minutes).
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not (ASVS L2: 12 hours).
    pub absolute_timeout: Duration,
    /// Failed sign-ins allowed per account, and per client address, in any one hour.
    pub max_failures_per_hour: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::minutes(30),
            absolute_timeout: Duration::hours(12),
            max_failures_per_hour: 100,
        }
    }
}

/// How long a resolved API key is trusted without asking the database again: a key revoked in
/// the database (`revoked_at` set) stops working in every server process within this time of
/// that process's last read of the key (about a second after the revocation commits).
pub const API_KEY_CACHE_TTL_MS: i64 = 1000;
/// At most this many resolved keys are remembered; only keys that resolved are.
const API_KEY_CACHE_LIMIT: usize = 1024;

/// API keys resolved in the last [`API_KEY_CACHE_TTL_MS`] (by the service clock), by the SHA-256
/// of the key: the scoring path asks the database about a key at most once a second instead of
/// once a request.
#[derive(Default)]
pub struct ApiKeyCache {
    resolved: std::sync::RwLock<std::collections::HashMap<String, (DateTime<Utc>, ApiClient)>>,
}

impl ApiKeyCache {
    fn fresh(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let age = now - at;
        age >= Duration::zero() && age < Duration::milliseconds(API_KEY_CACHE_TTL_MS)
    }

    fn get(&self, key_hash: &str, now: DateTime<Utc>) -> Option<ApiClient> {
        let resolved = self.resolved.read().ok()?;
        let (at, client) = resolved.get(key_hash)?;
        Self::fresh(*at, now).then(|| client.clone())
    }

    fn put(&self, key_hash: String, client: ApiClient, now: DateTime<Utc>) {
        if let Ok(mut resolved) = self.resolved.write() {
            if resolved.len() >= API_KEY_CACHE_LIMIT {
                resolved.retain(|_, (at, _)| Self::fresh(*at, now));
                if resolved.len() >= API_KEY_CACHE_LIMIT {
                    resolved.clear();
                }
            }
            resolved.insert(key_hash, (now, client));
        }
    }
}

/// A machine client authenticated by an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub key_id: i64,
    pub name: String,
}

impl ApiClient {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.name.clone())
    }
}

/// The prefix of every API key, so that leaked keys are easy to find by scanners.
pub const API_KEY_PREFIX: &str = "lsk_";
const THROTTLE_WINDOW_HOURS: i64 = 1;

use crate::tokens::{random_token, sha256_hex};

impl Services {
    /// Signs a staff member in. Unknown users, disabled users and wrong passwords get the same
    /// answer after the same work. Failed attempts are throttled per account and per client
    /// over a sliding hour; there is no permanent lock-out. Any session presented with the
    /// request is ended, and a new session id is issued (rotation).
    pub async fn login(
        &self,
        raw_username: &str,
        password: &str,
        meta: &RequestMeta,
        previous_session: Option<&str>,
    ) -> ServiceResult<LoginOutcome> {
        let key: String = raw_username
            .trim()
            .to_lowercase()
            .chars()
            .take(256)
            .collect();
        let now = self.now();
        let attempt = self
            .admit_attempt(&key, meta, (Actor::Anonymous, "login"))
            .await?;

        let candidate = match Username::parse(&key) {
            Ok(name) => user::Entity::find()
                .filter(user::Column::Username.eq(name.as_str()))
                .one(self.db())
                .await?
                .filter(|u| !u.disabled),
            Err(_) => None,
        };
        let password = password.to_owned();
        let (found, verification) = match candidate {
            Some(found) => {
                let stored = found.password_hash.clone();
                let pw = password.clone();
                let v = self
                    .passwords()
                    .run(move || passwords::verify(&stored, &pw))
                    .await?;
                (Some(found), v)
            }
            None => {
                let pw = password.clone();
                self.passwords()
                    .run(move || passwords::verify_dummy(&pw))
                    .await?;
                (None, Verification::Mismatch)
            }
        };

        let (found, needs_rehash) = match (found, verification) {
            (Some(found), Verification::Match { needs_rehash }) => (found, needs_rehash),
            (found, _) => {
                let reason = if found.is_some() {
                    "wrong_password"
                } else {
                    "unknown_user"
                };
                self.audit(
                    meta,
                    AuditEvent::new(Actor::Anonymous, "login", Outcome::Failure)
                        .target(key)
                        .detail(json!({ "reason": reason })),
                )
                .await?;
                return Err(ServiceError::InvalidCredentials);
            }
        };

        let role: Role = found
            .role
            .parse()
            .map_err(|e| ServiceError::Internal(format!("user {} has bad role: {e}", found.id)))?;
        if needs_rehash {
            let fresh = self
                .passwords()
                .run(move || passwords::hash(&password))
                .await??;
            let mut active: user::ActiveModel = found.clone().into();
            active.password_hash = Set(fresh);
            active.updated_at = Set(now);
            active.update(self.db()).await?;
            tracing::info!(user = %found.username, "password re-hashed with current parameters");
        }
        self.attempt_succeeded(attempt).await?;
        if let Some(previous) = previous_session {
            session::Entity::delete_by_id(sha256_hex(previous))
                .exec(self.db())
                .await?;
        }
        let outcome = self
            .open_session(self.db(), &found, role, meta, now)
            .await?;
        self.audit(
            meta,
            AuditEvent::new(outcome.user.actor(), "login", Outcome::Success)
                .target(found.username)
                .detail(json!({ "role": role.as_str(), "rehashed": needs_rehash })),
        )
        .await?;
        Ok(outcome)
    }

    /// Admits a password attempt (sign-in, or a password change) for the account `key` from
    /// the request's client address, or refuses it when either has used up its failures for
    /// the hour. The attempt
    /// is recorded as a failure before the limits are checked, so that concurrent attempts
    /// count each other: however many arrive at once, at most the limit of failures per hour is
    /// ever checked. A refused attempt takes its record back (and is audited as the actor's
    /// `action`, denied); a successful one is marked by [`Self::attempt_succeeded`].
    pub(crate) async fn admit_attempt(
        &self,
        key: &str,
        meta: &RequestMeta,
        (actor, action): (Actor, &'static str),
    ) -> ServiceResult<i64> {
        let client = meta.client_ip.as_deref().unwrap_or("unknown");
        let now = self.now();
        let attempt = self.record_failed_attempt(key, client, now).await?;
        let Some(retry_after_secs) = self.throttled(key, client, attempt, now).await? else {
            return Ok(attempt);
        };
        login_attempt::Entity::delete_by_id(attempt)
            .exec(self.db())
            .await?;
        self.audit(
            meta,
            AuditEvent::new(actor, action, Outcome::Denied)
                .target(key.to_owned())
                .detail(json!({ "reason": "throttled", "retry_after_secs": retry_after_secs })),
        )
        .await?;
        Err(ServiceError::Throttled { retry_after_secs })
    }

    /// Marks an admitted attempt as successful: it no longer counts against the limits.
    pub(crate) async fn attempt_succeeded(&self, attempt: i64) -> ServiceResult<()> {
        login_attempt::Entity::update_many()
            .col_expr(login_attempt::Column::Succeeded, true.into())
            .filter(login_attempt::Column::Id.eq(attempt))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Seconds until the next attempt may be made, when the account or the client has used up
    /// its failures for the sliding hour (counting every other attempt than `attempt`,
    /// including those still being checked).
    async fn throttled(
        &self,
        key: &str,
        client: &str,
        attempt: i64,
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<u64>> {
        let since = now - Duration::hours(THROTTLE_WINDOW_HOURS);
        let limit = self.auth_settings().max_failures_per_hour;
        for filter in [
            login_attempt::Column::Username.eq(key),
            login_attempt::Column::ClientIp.eq(client),
        ] {
            let failures = login_attempt::Entity::find()
                .filter(filter.clone())
                .filter(login_attempt::Column::Id.ne(attempt))
                .filter(login_attempt::Column::Succeeded.eq(false))
                .filter(login_attempt::Column::AttemptedAt.gt(since));
            if failures.clone().count(self.db()).await? >= limit {
                // The window frees a slot when the oldest counted failure leaves it.
                let oldest = failures
                    .order_by_desc(login_attempt::Column::AttemptedAt)
                    .offset(limit.saturating_sub(1))
                    .one(self.db())
                    .await?
                    .map(|a| a.attempted_at)
                    .unwrap_or(now);
                let secs = (oldest + Duration::hours(THROTTLE_WINDOW_HOURS) - now)
                    .num_seconds()
                    .max(1);
                return Ok(Some(u64::try_from(secs).unwrap_or(1)));
            }
        }
        Ok(None)
    }

    /// Records a failed attempt (or one not yet decided) and returns its id.
    async fn record_failed_attempt(
        &self,
        key: &str,
        client: &str,
        at: DateTime<Utc>,
    ) -> ServiceResult<i64> {
        let row = login_attempt::ActiveModel {
            id: NotSet,
            username: Set(key.to_owned()),
            client_ip: Set(client.to_owned()),
            succeeded: Set(false),
            attempted_at: Set(at),
        }
        .insert(self.db())
        .await?;
        Ok(row.id)
    }

    /// Creates an API key for a machine client and returns it. Only its hash is stored: the
    /// key cannot be shown again.
    pub async fn create_api_key(&self, name: &str, actor: Actor) -> ServiceResult<String> {
        let name = name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(ServiceError::invalid("name", "must be 1 to 128 characters"));
        }
        let key = format!("{API_KEY_PREFIX}{}", random_token());
        let prefix: String = key.chars().take(12).collect();
        let row = api_key::ActiveModel {
            id: NotSet,
            name: Set(name.to_owned()),
            prefix: Set(prefix.clone()),
            key_hash: Set(sha256_hex(&key)),
            created_at: Set(self.now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
        };
        match row.insert(self.db()).await {
            Ok(_) => {}
            Err(e) if ServiceError::is_unique_violation(&e) => {
                return Err(ServiceError::Conflict(format!(
                    "an API key named '{name}' already exists"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(
            &RequestMeta::default(),
            AuditEvent::new(actor, "api_key.create", Outcome::Success)
                .target(name.to_owned())
                .detail(json!({ "prefix": prefix })),
        )
        .await?;
        Ok(key)
    }

    /// Resolves a bearer token to an API client. Revoked and unknown keys resolve to `None`.
    pub async fn resolve_api_key(&self, presented: &str) -> ServiceResult<Option<ApiClient>> {
        if !presented.starts_with(API_KEY_PREFIX) || presented.len() > 128 {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let key_hash = sha256_hex(presented);
        let resolved = match self.api_key_cache().get(&key_hash, self.now()) {
            Some(client) => Ok(Some(client)),
            None => self.lookup_api_key(key_hash).await,
        };
        self.metrics().stage("api_key", started);
        resolved
    }

    /// Asks the database about a key (by its SHA-256), records when it was last used (to the
    /// nearest [`LAST_SEEN_GRANULARITY_SECS`]) and remembers a key that resolved.
    async fn lookup_api_key(&self, key_hash: String) -> ServiceResult<Option<ApiClient>> {
        let Some(found) = api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(key_hash.as_str()))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let now = self.now();
        let stale = found
            .last_used_at
            .is_none_or(|t| (now - t).num_seconds() >= LAST_SEEN_GRANULARITY_SECS);
        if stale {
            api_key::Entity::update_many()
                .col_expr(
                    api_key::Column::LastUsedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(api_key::Column::Id.eq(found.id))
                .exec(self.db())
                .await?;
        }
        let client = ApiClient {
            key_id: found.id,
            name: found.name,
        };
        self.api_key_cache().put(key_hash, client.clone(), now);
        Ok(Some(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_keys_are_remembered_for_the_ttl_only() {
        let cache = ApiKeyCache::default();
        let t0 = Utc::now();
        let client = ApiClient {
            key_id: 1,
            name: "partner".into(),
        };
        cache.put("h".into(), client.clone(), t0);
        assert_eq!(cache.get("h", t0), Some(client.clone()));
        let almost = t0 + Duration::milliseconds(API_KEY_CACHE_TTL_MS - 1);
        assert_eq!(cache.get("h", almost), Some(client));
        let expired = t0 + Duration::milliseconds(API_KEY_CACHE_TTL_MS);
        assert_eq!(cache.get("h", expired), None);
        // A clock that went back does not stretch an entry's life.
        assert_eq!(cache.get("h", t0 - Duration::seconds(5)), None);
        assert_eq!(cache.get("other", t0), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ApiKeyCache::default();
        let t0 = Utc::now();
        for i in 0..(API_KEY_CACHE_LIMIT * 3) {
            let client = ApiClient {
                key_id: i as i64,
                name: format!("c{i}"),
            };
            cache.put(format!("h{i}"), client, t0);
            assert!(cache.resolved.read().unwrap().len() <= API_KEY_CACHE_LIMIT);
        }
        let last = API_KEY_CACHE_LIMIT * 3 - 1;
        assert!(cache.get(&format!("h{last}"), t0).is_some());
    }
}
