//! The registered versions as a list: each with its alias, status and lineage summary, their
//! `name vN` labels, and a version looked up by name and number.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use lendscope_domain::governance::ModelRow;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use super::store::ModelRole;
use crate::entity::{alias_history, model, model_alias, model_status};
use crate::error::{ServiceError, ServiceResult};
use crate::Services;

pub(super) fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

impl Services {
    /// Every version, newest first, with its alias, status and lineage summary.
    pub async fn model_rows(&self) -> ServiceResult<Vec<ModelRow>> {
        let rows = model::Entity::find()
            .select_only()
            .columns([
                model::Column::Id,
                model::Column::Name,
                model::Column::Version,
                model::Column::Source,
                model::Column::CreatedAt,
                model::Column::CreatedBy,
                model::Column::ParentId,
                model::Column::CardJson,
            ])
            .order_by_desc(model::Column::Id)
            .into_tuple::<(
                i64,
                String,
                i32,
                String,
                DateTime<Utc>,
                String,
                Option<i64>,
                String,
            )>()
            .all(self.db())
            .await?;
        let aliases: HashMap<i64, String> = model_alias::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|a| (a.model_id, a.alias))
            .collect();
        let mut archived: HashMap<i64, bool> = HashMap::new();
        for s in model_status::Entity::find()
            .order_by_asc(model_status::Column::Id)
            .all(self.db())
            .await?
        {
            archived.insert(s.model_id, s.status == "archived");
        }
        let champions: HashSet<i64> = alias_history::Entity::find()
            .filter(alias_history::Column::Alias.eq(ModelRole::Champion.as_str()))
            .all(self.db())
            .await?
            .into_iter()
            .filter_map(|h| h.model_id)
            .collect();
        let names: HashMap<i64, String> = rows
            .iter()
            .map(|r| (r.0, format!("{} v{}", r.1, r.2)))
            .collect();
        Ok(rows
            .into_iter()
            .map(
                |(id, name, version, source, created_at, created_by, parent_id, card)| {
                    let card: Value = serde_json::from_str(&card).unwrap_or(Value::Null);
                    ModelRow {
                        id,
                        name,
                        version,
                        source,
                        created_at: stamp(created_at),
                        created_by,
                        alias: aliases.get(&id).cloned(),
                        archived: archived.get(&id).copied().unwrap_or(false),
                        was_champion: champions.contains(&id),
                        test_auc: card["metrics"]["test"]["auc"].as_f64(),
                        parent: parent_id.map(|p| {
                            names
                                .get(&p)
                                .cloned()
                                .unwrap_or_else(|| format!("model {p}"))
                        }),
                    }
                },
            )
            .collect())
    }

    /// `name vN` of every version, by id.
    pub(crate) async fn model_names(&self) -> ServiceResult<HashMap<i64, String>> {
        Ok(model::Entity::find()
            .select_only()
            .columns([
                model::Column::Id,
                model::Column::Name,
                model::Column::Version,
            ])
            .into_tuple::<(i64, String, i32)>()
            .all(self.db())
            .await?
            .into_iter()
            .map(|(id, n, v)| (id, format!("{n} v{v}")))
            .collect())
    }
}

impl Services {
    /// The id of version `version` of model `name`.
    pub async fn model_id(&self, name: &str, version: i32) -> ServiceResult<i64> {
        model::Entity::find()
            .select_only()
            .column(model::Column::Id)
            .filter(model::Column::Name.eq(name))
            .filter(model::Column::Version.eq(version))
            .into_tuple::<i64>()
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("model"))
    }
}
