//! Audit entries parked by a write on PostgreSQL (issue 16, H109).
//!
//! Each write on PostgreSQL is a transaction of its own ([`crate::group`]). Its
//! audit entries moved the chain's head row, which PostgreSQL keeps locked until
//! the commit has been flushed to disk: concurrent writes passed the head one
//! flush at a time (447 dispensings a second). Now a write chains its entries
//! itself only if the head row is free and holds the head this process last saw;
//! otherwise, in the same statement, it parks them in `audit_parked`, committed
//! with what they record, and takes no lock on the head. After its commit the
//! write hands over to the process's audit writer ([`crate::audit_queue`]),
//! whose next batch moves every parked entry into the chain, and is answered
//! once that batch is committed. An entry is in the database with its write or
//! not at all, and is chained before anyone is told it was written.
//!
//! Entries a stopped process left parked are chained by the next batch of any
//! process on the database, and at a server's start ([`crate::Store::chain_parked_audit_entries`]).
//! [`crate::anchor::verify`] counts them.

use sqlx::Row;

use crate::audit::{FROM_JSON, Unchained, chain, fields_json, insert_links, rows_json};
use crate::codec::{int, text};
use crate::db::{Result, Store, WriteTx};
use crate::native::FetchOn;

/// Parked entries moved into the chain per batch at most; more are moved by the
/// batches after it.
pub(crate) const PARKED_PER_WRITE: i64 = 500;

/// The parked rows as a JSON array of entries reads them.
const PARKED_JSON: &str = "json_to_recordset(CAST($1 AS JSON)) AS p(at BIGINT, actor_id TEXT, actor_role TEXT, actor_organisation TEXT, patient_id TEXT, category TEXT, action TEXT, allowed BIGINT, relation TEXT, detail TEXT, linked TEXT)";

const INSERT_PARKED: &str = "INSERT INTO audit_parked (at, actor_id, actor_role, actor_organisation, patient_id, category, action, allowed, relation, detail, linked) \
     SELECT p.at, p.actor_id, p.actor_role, p.actor_organisation, p.patient_id, p.category, p.action, p.allowed, p.relation, p.detail, p.linked";

/// A write's entries on PostgreSQL, while it holds no head: chained onto the head
/// this process last saw if the head row is free and still holds it (taking it
/// until the commit), else parked; one statement either way.
pub(crate) async fn chain_or_park(
    store: &Store,
    tx: &mut WriteTx,
    entries: Vec<Unchained<'_>>,
) -> Result<()> {
    let expected = tx.last_committed_audit_head();
    let (Some(expected), false) = (expected, tx.has_parked()) else {
        // Once parked, a write's later entries park too, so that they are chained
        // in the order it made them.
        return park(store, tx, &entries).await;
    };
    let count = entries.len() as i64;
    let (rows, links, head) = chain(store, entries, expected.clone());
    let keyed = i64::from(store.audit_key().is_some());
    let sql = format!(
        "WITH moved AS (UPDATE audit_head SET seq = $2, hash = $3 WHERE id = \
         (SELECT id FROM audit_head WHERE id = 1 AND seq = $4 AND hash = $5 FOR UPDATE SKIP LOCKED) RETURNING id), \
         chained AS ({INSERT} SELECT v.* FROM moved, {FROM_JSON} RETURNING seq), \
         parked AS ({INSERT_PARKED} FROM {PARKED_JSON} WHERE NOT EXISTS (SELECT 1 FROM moved) RETURNING id) \
         SELECT (SELECT COUNT(*) FROM chained) AS chained, (SELECT COUNT(*) FROM parked) AS parked",
        INSERT = crate::audit::INSERT,
    );
    let row = sqlx::query(&sql)
        .bind(rows_json(&rows, keyed))
        .bind(head.0)
        .bind(head.1.clone())
        .bind(expected.0)
        .bind(expected.1)
        .fetch_one_on(tx)
        .await?;
    if int(&row, "chained")? == count {
        tx.set_audit_head(head.0, head.1, false);
        return insert_links(tx, &links).await;
    }
    debug_assert_eq!(int(&row, "parked")?, count);
    tx.mark_parked(store);
    Ok(())
}

/// Parks entries, in order.
async fn park(store: &Store, tx: &mut WriteTx, entries: &[Unchained<'_>]) -> Result<()> {
    let json: Vec<serde_json::Value> = entries
        .iter()
        .map(|f| serde_json::Value::Object(fields_json(f)))
        .collect();
    sqlx::query(&format!("{INSERT_PARKED} FROM {PARKED_JSON}"))
        .bind(serde_json::Value::Array(json).to_string())
        .execute_on(tx)
        .await?;
    tx.mark_parked(store);
    Ok(())
}

/// An entry as parked.
pub(crate) struct Parked {
    id: i64,
    at: i64,
    actor_id: String,
    role: String,
    org: String,
    patient: Option<String>,
    category: String,
    action: String,
    allowed: i64,
    relation: String,
    detail: String,
    linked: Vec<String>,
}

impl Parked {
    pub(crate) fn unchained(&self) -> Unchained<'_> {
        Unchained {
            at: self.at,
            actor_id: self.actor_id.clone(),
            role: &self.role,
            org: self.org.clone(),
            patient: self.patient.clone(),
            category: &self.category,
            action: &self.action,
            allowed: self.allowed,
            relation: &self.relation,
            detail: &self.detail,
            linked: &self.linked,
        }
    }
}

/// Takes the oldest parked entries, up to [`PARKED_PER_WRITE`], out of the park
/// within the caller's batch, in the order they were parked. Entries another
/// process is taking now are passed over.
pub(crate) async fn take(tx: &mut WriteTx) -> Result<Vec<Parked>> {
    let rows = sqlx::query(
        "DELETE FROM audit_parked WHERE id IN \
         (SELECT id FROM audit_parked ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, at, actor_id, actor_role, actor_organisation, patient_id, category, action, allowed, relation, detail, linked",
    )
    .bind(PARKED_PER_WRITE)
    .fetch_all_on(tx)
    .await?;
    let mut parked = rows
        .iter()
        .map(|row| {
            Ok(Parked {
                id: int(row, "id")?,
                at: int(row, "at")?,
                actor_id: text(row, "actor_id")?,
                role: text(row, "actor_role")?,
                org: text(row, "actor_organisation")?,
                patient: row.try_get("patient_id")?,
                category: text(row, "category")?,
                action: text(row, "action")?,
                allowed: int(row, "allowed")?,
                relation: text(row, "relation")?,
                detail: text(row, "detail")?,
                linked: text(row, "linked")?
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    parked.sort_by_key(|p| p.id);
    Ok(parked)
}

/// Entries parked and not yet chained, in the whole database.
pub(crate) async fn count(conn: &mut sqlx::AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS parked FROM audit_parked")
        .fetch_one(conn)
        .await?;
    int(&row, "parked")
}
