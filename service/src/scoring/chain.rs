//! The hash chain over decision records: `hash = SHA-256(prev_hash ‖ "\n" ‖ content)`, the
//! first record chained to 64 zeros, and the last link recorded in `chain_heads` so that a
//! removed tail is noticed too.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, CommonTableExpression, InsertStatement, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityName,
    EntityTrait, IdenStatic, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::record::DecisionRecord;
use crate::entity::{chain_anchor, chain_head, decision, model};
use crate::error::ServiceResult;
use crate::registry::artifact_sha256;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub const DECISIONS_CHAIN: &str = "decisions";

pub fn link_hash(prev: &str, content: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(content.as_bytes());
    hex::encode(h.finalize())
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    pub records: u64,
    /// The first broken link, if any: the sequence number and what is wrong.
    pub broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub application_id: Option<String>,
    pub problem: String,
}

/// Checks that the indexed columns of a row repeat its hashed record, and returns the record.
fn columns_agree(row: &decision::Model) -> Result<DecisionRecord, String> {
    let c: DecisionRecord = serde_json::from_str(&row.content)
        .map_err(|e| format!("content is not a decision record: {e}"))?;
    let checks = [
        ("seq", c.seq == Some(row.seq)),
        ("application_id", c.application_id == row.application_id),
        ("notice_token", c.notice_token == row.notice_token),
        ("api_client", c.api_client == row.api_client),
        ("idempotency_key", c.idempotency_key == row.idempotency_key),
        ("request_hash", c.request_hash == row.request_hash),
        ("applicant_id", c.applicant_id == row.applicant_id),
        ("model_id", c.model.id == row.model_id),
        ("role", c.model.role.as_str() == row.role),
        ("decision", c.decision.as_str() == row.decision),
        (
            "probability_of_default",
            c.probability_of_default.to_bits() == row.probability_of_default.to_bits(),
        ),
        ("policy_version", c.policy.version == row.policy_version),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((name, _)) => Err(format!("column {name} does not match the hashed content")),
        None => Ok(c),
    }
}

/// Every registered artifact: the SHA-256 the registry records for it, and the SHA-256 of the
/// bytes it holds now.
type Artifacts = HashMap<i64, (String, String)>;

async fn artifacts<C: ConnectionTrait>(db: &C) -> ServiceResult<Artifacts> {
    let rows: Vec<(i64, String, String, String)> = model::Entity::find()
        .select_only()
        .column(model::Column::Id)
        .column(model::Column::Sha256)
        .column(model::Column::ModelJson)
        .column(model::Column::SchemaJson)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, registered, m, s)| (id, (registered, artifact_sha256(&m, &s))))
        .collect())
}

/// Checks the artifacts a record was scored by (served and shadow): each is in the registry,
/// its stored bytes still hash to its registered SHA-256, and that is the hash the record
/// carries (records written before artifacts were anchored carry none).
fn artifacts_agree(record: &DecisionRecord, artifacts: &Artifacts) -> Result<(), String> {
    let models =
        std::iter::once(&record.served.model).chain(record.shadow.as_ref().map(|s| &s.model));
    for m in models {
        let Some((registered, stored)) = artifacts.get(&m.id) else {
            return Err(format!("model {} is not in the registry", m.id));
        };
        if stored != registered {
            return Err(format!(
                "the stored artifact of model {} no longer matches its registered SHA-256",
                m.id
            ));
        }
        if let Some(h) = m.sha256.as_ref().filter(|h| *h != registered) {
            return Err(format!(
                "it was scored by model {} with artifact SHA-256 {h}, but the registry holds {registered}",
                m.id
            ));
        }
    }
    Ok(())
}

/// Checks one record against the hash of the record before it (`None` for the first):
/// its previous-hash, its own hash and its indexed columns.
pub fn verify_record(row: &decision::Model, prev_hash: Option<&str>) -> Result<(), String> {
    let expected_prev = prev_hash.unwrap_or(GENESIS);
    if row.prev_hash != expected_prev {
        return Err("its previous-hash does not match the record before it".to_owned());
    }
    if link_hash(&row.prev_hash, &row.content) != row.hash {
        return Err("its content does not match its hash".to_owned());
    }
    columns_agree(row).map(|_| ())
}

/// A chain's head (sequence number, hash) inside a writing transaction: created at the
/// genesis hash on first use, and locked until the transaction ends on PostgreSQL (SQLite's
/// writer holds the whole database). One statement, one round trip: an insert that, when the
/// head exists, writes its key onto itself (`ON CONFLICT DO UPDATE`, which locks the row on
/// PostgreSQL as `FOR UPDATE` would, waiting for another writer's transaction and then reading
/// what it committed) and returns the row. A write first, so that on SQLite the transaction
/// takes the write lock at once (a read first could deadlock with another writer).
pub(crate) async fn locked_head<C: ConnectionTrait>(
    db: &C,
    chain: &str,
) -> Result<(i64, String), DbErr> {
    let mut insert = chain_head::Entity::insert(chain_head::ActiveModel {
        chain: Set(chain.to_owned()),
        seq: Set(0),
        hash: Set(GENESIS.to_owned()),
        updated_at: Set(chrono::Utc::now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(chain_head::Column::Chain)
            .update_column(chain_head::Column::Chain)
            .to_owned(),
    )
    .into_query();
    insert.returning(
        sea_orm::sea_query::Query::returning()
            .columns([chain_head::Column::Seq, chain_head::Column::Hash]),
    );
    let head = db
        .query_one(db.get_database_backend().build(&insert))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("the {chain} chain head")))?;
    Ok((head.try_get("", "seq")?, head.try_get("", "hash")?))
}

/// Writes `inserts` (the new links) and moves a chain's head to link `seq` with `hash`, inside
/// the transaction that holds the head ([`locked_head`]). On PostgreSQL that is one statement —
/// the inserts as data-modifying CTEs of the head's update, one round trip to the database; on
/// SQLite, which has no data-modifying CTEs, one statement each. Either way the head moves only
/// with its links.
pub(crate) async fn append_links<C: ConnectionTrait>(
    db: &C,
    chain: &str,
    seq: i64,
    hash: String,
    inserts: Vec<InsertStatement>,
) -> Result<(), DbErr> {
    let mut update = Query::update();
    update
        .table(chain_head::Entity)
        .value(chain_head::Column::Seq, seq)
        .value(chain_head::Column::Hash, hash)
        .value(chain_head::Column::UpdatedAt, chrono::Utc::now())
        .and_where(chain_head::Column::Chain.eq(chain));
    let backend = db.get_database_backend();
    let moved = if backend == DbBackend::Postgres && !inserts.is_empty() {
        let mut with = Query::with();
        for (i, insert) in inserts.into_iter().enumerate() {
            with.cte(
                CommonTableExpression::new()
                    .query(insert)
                    .table_name(Alias::new(format!("appended_{i}")))
                    .to_owned(),
            );
        }
        db.execute(backend.build(&update.with(with))).await?
    } else {
        for insert in &inserts {
            db.execute(backend.build(insert)).await?;
        }
        db.execute(backend.build(&update)).await?
    };
    if moved.rows_affected() != 1 {
        return Err(DbErr::RecordNotFound(format!("the {chain} chain head")));
    }
    Ok(())
}

/// A chain's head as it is now (read without a lock), created at link 0 when the chain has none.
pub(crate) async fn current_head<C: ConnectionTrait>(
    db: &C,
    chain: &str,
) -> Result<(i64, String), DbErr> {
    match chain_head::Entity::find_by_id(chain.to_owned())
        .one(db)
        .await?
    {
        Some(h) => Ok((h.seq, h.hash)),
        None => locked_head(db, chain).await,
    }
}

/// Rows for one table, as their columns and values (the columns set in the first row, in the
/// entity's order; every row must set the same ones).
pub(crate) struct ValuesInsert {
    table: String,
    columns: Vec<String>,
    rows: Vec<Vec<sea_orm::Value>>,
}

impl ValuesInsert {
    pub(crate) fn of<A: ActiveModelTrait>(rows: Vec<A>) -> Result<Self, DbErr> {
        let set = |row: &A, column: &<A::Entity as EntityTrait>::Column| match row.get(*column) {
            sea_orm::ActiveValue::Set(v) | sea_orm::ActiveValue::Unchanged(v) => Some(v),
            sea_orm::ActiveValue::NotSet => None,
        };
        let columns: Vec<_> = match rows.first() {
            Some(first) => <A::Entity as EntityTrait>::Column::iter()
                .filter(|c| set(first, c).is_some())
                .collect(),
            None => Vec::new(),
        };
        let table = A::Entity::default().table_name().to_owned();
        let rows = rows
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .map(|c| {
                        set(row, c).ok_or_else(|| {
                            DbErr::Custom(format!(
                                "a row for {table} leaves {} unset where the first sets it",
                                c.as_str()
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            columns: columns.iter().map(|c| c.as_str().to_owned()).collect(),
            table,
            rows,
        })
    }
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// PostgreSQL: in one statement (its own transaction), moves a chain's head from link `from` to
/// link `to` and writes `inserts` — only if the head is still at `from`. Returns whether it was
/// (`false`: nothing was written; another writer moved the head, read it again). The head's
/// update runs first and the inserts read its result, so a head that moved meanwhile (another
/// process's commit it waited for included) writes no row.
pub(crate) async fn append_if_head<C: ConnectionTrait>(
    db: &C,
    chain: &str,
    from: (i64, &str),
    to: (i64, &str),
    inserts: &[ValuesInsert],
) -> Result<bool, DbErr> {
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut param = |v: sea_orm::Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let mut sql = format!(
        "WITH moved AS (UPDATE chain_heads SET seq = {}, hash = {}, updated_at = {} \
         WHERE chain = {} AND seq = {} AND hash = {} RETURNING 1)",
        param(to.0.into()),
        param(to.1.into()),
        param(chrono::Utc::now().into()),
        param(chain.into()),
        param(from.0.into()),
        param(from.1.into()),
    );
    for (i, insert) in inserts.iter().enumerate() {
        if insert.rows.is_empty() {
            continue;
        }
        let columns: Vec<String> = insert.columns.iter().map(|c| quoted(c)).collect();
        let rows: Vec<String> = insert
            .rows
            .iter()
            .map(|row| {
                let cells: Vec<String> = row.iter().map(|v| param(v.clone())).collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        sql.push_str(&format!(
            ", appended_{i} AS (INSERT INTO {} ({}) SELECT * FROM (VALUES {}) AS v \
             WHERE EXISTS (SELECT 1 FROM moved))",
            quoted(&insert.table),
            columns.join(", "),
            rows.join(", ")
        ));
    }
    sql.push_str(" SELECT count(*) AS moved FROM moved");
    let moved: i64 = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("the {chain} chain head")))?
        .try_get("", "moved")?;
    Ok(moved == 1)
}

/// A chain's recorded head (sequence number, hash): link 0 on the genesis hash when the chain
/// has none yet.
pub(crate) async fn head_of<C: ConnectionTrait>(
    db: &C,
    chain: &str,
) -> ServiceResult<(i64, String)> {
    Ok(chain_head::Entity::find_by_id(chain.to_owned())
        .one(db)
        .await?
        .map_or((0, GENESIS.to_owned()), |h| (h.seq, h.hash)))
}

/// Where the chain starts: after the newest retention anchor, else at link 1 on the genesis
/// hash. Returns (first sequence number, the hash it must chain to).
pub async fn chain_start<C: ConnectionTrait>(db: &C) -> ServiceResult<(i64, String)> {
    let anchor = chain_anchor::Entity::find()
        .filter(chain_anchor::Column::Chain.eq(DECISIONS_CHAIN))
        .order_by_desc(chain_anchor::Column::Seq)
        .one(db)
        .await?;
    Ok(anchor.map_or((1, GENESIS.to_owned()), |a| (a.seq + 1, a.hash)))
}

/// Walks every decision in chain order and reports the first broken link.
pub async fn verify<C: ConnectionTrait>(db: &C) -> ServiceResult<ChainReport> {
    let artifacts = artifacts(db).await?;
    const PAGE: u64 = 1000;
    let (mut expected_seq, mut prev) = chain_start(db).await?;
    let mut records = 0u64;
    let broken = |seq: i64, app: Option<&str>, problem: String| BrokenLink {
        seq,
        application_id: app.map(str::to_owned),
        problem,
    };
    loop {
        let rows = decision::Entity::find()
            .filter(decision::Column::Seq.gte(expected_seq))
            .order_by_asc(decision::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let problem = if row.seq != expected_seq {
                Some(format!("expected link {expected_seq}, found link {} (a record is missing or out of order)", row.seq))
            } else if row.prev_hash != prev {
                Some("its previous-hash does not match the record before it".to_owned())
            } else if link_hash(&row.prev_hash, &row.content) != row.hash {
                Some("its content does not match its hash".to_owned())
            } else {
                match columns_agree(row) {
                    Err(problem) => Some(problem),
                    Ok(record) => artifacts_agree(&record, &artifacts).err(),
                }
            };
            if let Some(problem) = problem {
                return Ok(ChainReport {
                    records,
                    broken: Some(broken(expected_seq, Some(&row.application_id), problem)),
                });
            }
            records += 1;
            expected_seq += 1;
            prev.clone_from(&row.hash);
        }
        if (rows.len() as u64) < PAGE {
            break;
        }
    }
    let total = decision::Entity::find().count(db).await?;
    if total != records {
        return Ok(ChainReport {
            records,
            broken: Some(broken(
                0,
                None,
                format!("the table holds {total} records but only {records} form the chain (a record was inserted outside it)"),
            )),
        });
    }
    let (head_seq, head_hash) = head_of(db, DECISIONS_CHAIN).await?;
    let last = expected_seq - 1;
    let problem = if head_seq > last {
        Some((
            last + 1,
            format!(
                "the chain ends at link {last} but its recorded head is link {head_seq}: records after {last} are missing"
            ),
        ))
    } else if head_seq < last {
        Some((
            head_seq + 1,
            format!(
                "the chain goes on to link {last} past its recorded head, link {head_seq}: records {}–{last} were not written by Lendscope",
                head_seq + 1
            ),
        ))
    } else if head_hash != prev {
        Some((
            last,
            format!("link {last} does not match the recorded head's hash"),
        ))
    } else {
        None
    };
    if let Some((seq, problem)) = problem {
        return Ok(ChainReport {
            records,
            broken: Some(broken(seq, None, problem)),
        });
    }
    Ok(ChainReport {
        records,
        broken: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_inserts_keep_the_entity_column_order_and_refuse_ragged_rows() {
        let head = |seq: i64| chain_head::ActiveModel {
            chain: Set(format!("c{seq}")),
            seq: Set(seq),
            hash: Set(GENESIS.to_owned()),
            updated_at: Set(chrono::Utc::now()),
        };
        let v = ValuesInsert::of(vec![head(1), head(2)]).unwrap();
        assert_eq!(v.table, "chain_heads");
        assert_eq!(v.columns, ["chain", "seq", "hash", "updated_at"]);
        assert_eq!(v.rows.len(), 2);
        assert_eq!(v.rows[1][1], sea_orm::Value::BigInt(Some(2)));
        let ragged = chain_head::ActiveModel {
            updated_at: sea_orm::ActiveValue::NotSet,
            ..head(3)
        };
        assert!(ValuesInsert::of(vec![head(1), ragged]).is_err());
    }

    #[test]
    fn links_depend_on_the_previous_hash_and_the_content() {
        let a = link_hash(GENESIS, "{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, link_hash(GENESIS, "{ }"));
        assert_ne!(a, link_hash(&a, "{}"));
        assert_eq!(a, link_hash(GENESIS, "{}"));
    }
}
