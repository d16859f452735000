//! Staff user administration.

use chrono::{DateTime, Utc};
use lendscope_domain::{NewPassword, Role, Username};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, EntityTrait, PaginatorTrait,
    QueryOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::passwords;
use crate::audit::{Actor, AuditEvent, Outcome};
use crate::entity::user;
use crate::error::{ServiceError, ServiceResult};
use crate::{RequestMeta, Services};

/// A user as listed to administrators (never with the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl From<user::Model> for UserSummary {
    fn from(m: user::Model) -> Self {
        Self {
            id: m.id,
            username: m.username,
            role: m.role,
            disabled: m.disabled,
            created_at: m.created_at,
            created_by: m.created_by,
        }
    }
}

impl Services {
    /// Creates a staff user. A taken user name is a conflict.
    pub async fn create_user(
        &self,
        username: Username,
        role: Role,
        password: NewPassword,
        actor: Actor,
        meta: &RequestMeta,
    ) -> ServiceResult<UserSummary> {
        let hashed = self
            .passwords()
            .run(move || passwords::hash(password.expose()))
            .await??;
        let now = self.now();
        let created_by = crate::audit::actor_label(&actor);
        let row = user::ActiveModel {
            id: NotSet,
            username: Set(username.as_str().to_owned()),
            role: Set(role.as_str().to_owned()),
            password_hash: Set(hashed),
            disabled: Set(false),
            created_at: Set(now),
            created_by: Set(created_by),
            updated_at: Set(now),
        };
        let created = match row.insert(self.db()).await {
            Ok(m) => m,
            Err(e) if ServiceError::is_unique_violation(&e) => {
                return Err(ServiceError::Conflict(format!(
                    "the user name '{username}' is taken"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        self.audit(
            meta,
            AuditEvent::new(actor, "user.create", Outcome::Success)
                .target(created.username.clone())
                .detail(json!({ "role": role.as_str() })),
        )
        .await?;
        Ok(created.into())
    }

    pub async fn list_users(&self) -> ServiceResult<Vec<UserSummary>> {
        let rows = user::Entity::find()
            .order_by_asc(user::Column::Username)
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(UserSummary::from).collect())
    }

    pub async fn count_users(&self) -> ServiceResult<u64> {
        Ok(user::Entity::find().count(self.db()).await?)
    }

    /// The stored hash of a user's password (for tests and audits of the hashing policy).
    pub async fn password_hash_of(&self, username: &str) -> ServiceResult<Option<String>> {
        use sea_orm::{ColumnTrait, QueryFilter};
        Ok(user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(self.db())
            .await?
            .map(|u| u.password_hash))
    }
}
