//! Samhand at a dispensing place (`samhand edge`): the credentials a place's edge
//! syncs with, the rows of a place's snapshot copied table by table, what the edge
//! still has to push, and the recordings and audit entries the central server took
//! from an edge.
//!
//! A snapshot is rows as they are stored, column by column: the edge runs the same
//! migrations, so the same service code reads them there. Values travel as JSON:
//! null, an integer, a text, or `{"b64": …}` for bytes.

use base64::Engine as _;
use jiff::Timestamp;
use samhand_domain::ids::OrganisationId;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Column, Row, TypeInfo as _, ValueRef};

use crate::codec::{corrupt, instant_opt, micros, parsed, text};
use crate::db::{Result, StoreError, WriteTx};
use crate::native::{Fetch, FetchOn};

/// A place's edge credential, as found by its token.
#[derive(Debug, Clone)]
pub struct EdgeCredential {
    pub id: String,
    pub place_id: OrganisationId,
}

/// The central record's change mark: one row of cheap maxima (each over an index,
/// or over a small table) that moves whenever a row a snapshot holds is added or
/// the directory changes. Ids are UUIDv7 and grow with time. It can miss a change
/// (ids from two servers' clocks out of step), so an edge asks for the whole
/// snapshot now and then all the same.
pub async fn change_mark(conn: &mut AnyConnection) -> Result<String> {
    const BY_ID: &[&str] = &[
        "patients",
        "patient_photos",
        "episodes",
        "dose_orders",
        "arrangements",
        "covers",
        "stays",
        "stay_events",
        "consents",
        "care_team_members",
        "health_notes",
        "prescribing_handovers",
        "dispensing_events",
        "user_status_changes",
    ];
    const BY_TIME: &[(&str, &str)] = &[
        ("patient_identity_versions", "recorded_at"),
        ("episode_ends", "decided_at"),
        ("dose_order_signatures", "signed_at"),
        ("dose_order_discards", "discarded_at"),
        ("care_team_member_ends", "ended_at"),
    ];
    let parts: Vec<String> =
        std::iter::once("(SELECT CAST(version AS TEXT) FROM config_version WHERE id = 1)".to_string())
            .chain(BY_ID.iter().map(|t| format!("(SELECT MAX(id) FROM {t})")))
            .chain(
                BY_TIME
                    .iter()
                    .map(|(t, c)| format!("(SELECT CAST(MAX({c}) AS TEXT) FROM {t})")),
            )
            .collect();
    let sql = format!(
        "SELECT {} AS mark",
        parts
            .iter()
            .map(|p| format!("COALESCE({p}, '-')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ")
    );
    let row = sqlx::query(&sql).fetch_one(conn).await?;
    text(&row, "mark")
}

/// Keeps a new credential for a place (only the token's hash).
pub async fn insert_credential(
    tx: &mut WriteTx,
    id: &str,
    place: OrganisationId,
    token_hash: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO edge_credentials (id, place_id, token_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(place.to_string())
    .bind(token_hash)
    .bind(micros(now))
    .execute_on(tx)
    .await?;
    Ok(())
}

/// Revokes every credential of a place still in force; how many were.
pub async fn revoke_place(tx: &mut WriteTx, place: OrganisationId, now: Timestamp) -> Result<u64> {
    let done =
        sqlx::query("UPDATE edge_credentials SET revoked_at = $1 WHERE place_id = $2 AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(place.to_string())
            .execute_on(tx)
            .await?;
    Ok(done)
}

/// The credential in force with this token hash, if there is one.
pub async fn credential_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<EdgeCredential>> {
    let row =
        sqlx::query("SELECT id, place_id FROM edge_credentials WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash)
            .fetch_optional(conn)
            .await?;
    row.map(|r| {
        Ok(EdgeCredential {
            id: text(&r, "id")?,
            place_id: parsed(&r, "place_id")?,
        })
    })
    .transpose()
}

/// One table's rows of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl TableRows {
    pub fn to_json(&self) -> Value {
        json!({"table": self.table, "columns": self.columns, "rows": self.rows})
    }

    pub fn from_json(value: &Value) -> Result<Self> {
        let table = value["table"]
            .as_str()
            .ok_or_else(|| corrupt("snapshot table without a name"))?;
        let columns: Vec<String> = value["columns"]
            .as_array()
            .ok_or_else(|| corrupt("snapshot table without columns"))?
            .iter()
            .map(|c| {
                c.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| corrupt("column name"))
            })
            .collect::<Result<_>>()?;
        let rows = value["rows"]
            .as_array()
            .ok_or_else(|| corrupt("snapshot table without rows"))?
            .iter()
            .map(|r| r.as_array().cloned().ok_or_else(|| corrupt("snapshot row")))
            .collect::<Result<_>>()?;
        Ok(Self {
            table: table.to_string(),
            columns,
            rows,
        })
    }
}

/// One stored value as it travels.
fn cell(row: &AnyRow, index: usize) -> Result<Value> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_ascii_uppercase();
    Ok(match kind.as_str() {
        "BLOB" | "BYTEA" => {
            let bytes: Vec<u8> = row.try_get(index)?;
            json!({"b64": base64::engine::general_purpose::STANDARD.encode(bytes)})
        }
        "TEXT" | "VARCHAR" => Value::String(row.try_get::<String, _>(index)?),
        "BOOLEAN" | "BOOL" => Value::from(i64::from(row.try_get::<bool, _>(index)?)),
        _ => Value::from(row.try_get::<i64, _>(index)?),
    })
}

/// Reads a table's rows that `filter` selects, every column: a WHERE clause over
/// the table aliased `t`, with `$1…$n` the `leading` texts and `{ids}` standing
/// for the list of `ids` (as in `t.patient_id IN ({ids})`), when given.
pub async fn export_rows(
    conn: &mut AnyConnection,
    table: &str,
    filter: &str,
    leading: &[String],
    ids: Option<&[String]>,
) -> Result<TableRows> {
    let sql = format!("SELECT t.* FROM {table} t WHERE {filter}");
    let found = match ids {
        Some([]) => Vec::new(),
        Some(ids) => crate::db::rows_for_ids(conn, &sql, leading, ids).await?,
        None => {
            let mut query = sqlx::query(&sql);
            for value in leading {
                query = query.bind(value.clone());
            }
            query.fetch_all(conn).await?
        }
    };
    let columns: Vec<String> = found
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    let rows = found
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| cell(row, i))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    Ok(TableRows {
        table: table.to_string(),
        columns,
        rows,
    })
}

/// How a snapshot's rows go into the edge's copy of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// Append-only rows: a row the edge has is the same row; only new ones are added.
    Append,
    /// Rows kept up to date in place (users, organisations, the kept dosing state):
    /// the central row replaces the edge's.
    Replace,
}

/// Writes a table's rows into the edge's database (SQLite), in the caller's
/// transaction. Columns the edge does not know are refused: the two run the same
/// migrations, and a mismatch means they are of different versions.
pub async fn apply_rows(tx: &mut WriteTx, rows: &TableRows, apply: Apply, key: &[&str]) -> Result<()> {
    if rows.rows.is_empty() {
        return Ok(());
    }
    if !is_identifier(&rows.table) || !rows.columns.iter().all(|c| is_identifier(c)) {
        return Err(corrupt(format!(
            "snapshot names a table or column not allowed: {}",
            rows.table
        )));
    }
    let columns = rows.columns.join(", ");
    let marks = vec!["?"; rows.columns.len()].join(", ");
    let on_conflict = match apply {
        Apply::Append => "DO NOTHING".to_string(),
        Apply::Replace => {
            let set: Vec<String> = rows
                .columns
                .iter()
                .filter(|c| !key.contains(&c.as_str()))
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            if set.is_empty() {
                "DO NOTHING".to_string()
            } else {
                format!("({}) DO UPDATE SET {}", key.join(", "), set.join(", "))
            }
        }
    };
    let sql = format!(
        "INSERT INTO {} ({columns}) VALUES ({marks}) ON CONFLICT {on_conflict}",
        rows.table
    );
    for row in &rows.rows {
        if row.len() != rows.columns.len() {
            return Err(corrupt(format!(
                "a row of {} with {} values",
                rows.table,
                row.len()
            )));
        }
        let mut query = sqlx::query(&sql);
        for value in row {
            query = match value {
                Value::Null => query.bind(None::<String>),
                Value::Number(n) => {
                    query.bind(n.as_i64().ok_or_else(|| corrupt("a number that is no integer"))?)
                }
                Value::String(s) => query.bind(s.clone()),
                Value::Object(o) => {
                    let b64 = o
                        .get("b64")
                        .and_then(Value::as_str)
                        .ok_or_else(|| corrupt("bytes without b64"))?;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| corrupt(format!("bytes: {e}")))?;
                    query.bind(bytes)
                }
                other => return Err(corrupt(format!("a value of {}: {other}", rows.table))),
            };
        }
        query.execute_on(tx).await?;
    }
    Ok(())
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The edge's sync state.
#[derive(Debug, Clone)]
pub struct EdgeState {
    pub instance_id: String,
    pub etag: Option<String>,
    pub change_cursor: Option<String>,
    pub last_pulled_at: Option<Timestamp>,
    pub offline_since: Option<Timestamp>,
    pub audit_shipped_seq: i64,
}

/// The edge's sync state, made on first use with a new instance id.
pub async fn edge_state(tx: &mut WriteTx, new_instance: &str) -> Result<EdgeState> {
    sqlx::query("INSERT INTO edge_state (id, instance_id) VALUES (1, $1) ON CONFLICT DO NOTHING")
        .bind(new_instance)
        .execute_on(tx)
        .await?;
    let row = sqlx::query("SELECT * FROM edge_state WHERE id = 1")
        .fetch_one_on(tx)
        .await?;
    state_from_row(&row)
}

fn state_from_row(row: &AnyRow) -> Result<EdgeState> {
    Ok(EdgeState {
        instance_id: text(row, "instance_id")?,
        etag: row.try_get("etag")?,
        change_cursor: row.try_get("change_cursor")?,
        last_pulled_at: instant_opt(row, "last_pulled_at")?,
        offline_since: instant_opt(row, "offline_since")?,
        audit_shipped_seq: row.try_get("audit_shipped_seq")?,
    })
}

/// Reads the edge's sync state (none before the first sync).
pub async fn read_edge_state(conn: &mut AnyConnection) -> Result<Option<EdgeState>> {
    let row = sqlx::query("SELECT * FROM edge_state WHERE id = 1")
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(state_from_row).transpose()
}

/// A snapshot was applied (or found unchanged): the link is up.
pub async fn mark_pulled(
    tx: &mut WriteTx,
    etag: Option<&str>,
    cursor: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE edge_state SET etag = COALESCE($1, etag), change_cursor = COALESCE($3, change_cursor),
         last_pulled_at = $2, offline_since = NULL WHERE id = 1",
    )
    .bind(etag)
    .bind(micros(now))
    .bind(cursor)
    .execute_on(tx)
    .await?;
    Ok(())
}

/// The central server did not answer: offline since now, unless already.
pub async fn mark_offline(tx: &mut WriteTx, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE edge_state SET offline_since = COALESCE(offline_since, $1) WHERE id = 1")
        .bind(micros(now))
        .execute_on(tx)
        .await?;
    Ok(())
}

/// The edge's audit entries up to this sequence number are in the central chain.
pub async fn mark_audit_shipped(tx: &mut WriteTx, seq: i64) -> Result<()> {
    sqlx::query("UPDATE edge_state SET audit_shipped_seq = $1 WHERE id = 1 AND audit_shipped_seq < $1")
        .bind(seq)
        .execute_on(tx)
        .await?;
    Ok(())
}

/// These events are in the central record.
pub async fn mark_known(tx: &mut WriteTx, events: &[String], now: Timestamp) -> Result<()> {
    for event in events {
        sqlx::query(
            "INSERT INTO edge_known_events (event_id, known_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(event)
        .bind(micros(now))
        .execute_on(tx)
        .await?;
    }
    Ok(())
}

/// The edge's recordings the central server does not have yet, oldest first
/// (by the time given, then the UUIDv7 id, which grows with it).
pub async fn unpushed_events(conn: &mut AnyConnection, limit: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT e.id FROM dispensing_events e
         WHERE NOT EXISTS (SELECT 1 FROM edge_known_events k WHERE k.event_id = e.id)
         ORDER BY e.recorded_at, e.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| text(r, "id")).collect()
}

/// How many recordings the edge still has to push.
pub async fn unpushed_count(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM dispensing_events e
         WHERE NOT EXISTS (SELECT 1 FROM edge_known_events k WHERE k.event_id = e.id)",
    )
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// The edge's own audit entries after a sequence number, oldest first, as
/// exported rows (with the patients linked to each).
pub async fn audit_after(conn: &mut AnyConnection, seq: i64, limit: i64) -> Result<Vec<Value>> {
    let rows = sqlx::query(
        "SELECT seq, at, actor_id, actor_role, actor_organisation, patient_id, category, action, allowed, relation, detail
         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq: i64 = row.try_get("seq")?;
        let linked = sqlx::query(
            "SELECT m.patient_id FROM audit_entry_sets e JOIN audit_patient_sets m ON m.set_id = e.set_id \
             WHERE e.seq = $1 ORDER BY m.patient_id",
        )
        .bind(seq)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| text(r, "patient_id"))
        .collect::<Result<Vec<_>>>()?;
        let patient: Option<String> = row.try_get("patient_id")?;
        out.push(json!({
            "seq": seq,
            "at": row.try_get::<i64, _>("at")?,
            "actor_id": text(row, "actor_id")?,
            "actor_role": text(row, "actor_role")?,
            "actor_organisation": text(row, "actor_organisation")?,
            "patient_id": patient,
            "linked": linked,
            "category": text(row, "category")?,
            "action": text(row, "action")?,
            "allowed": row.try_get::<i64, _>("allowed")? != 0,
            "relation": text(row, "relation")?,
            "detail": text(row, "detail")?,
        }));
    }
    Ok(out)
}

/// A recording the central server took from an edge, as kept.
#[derive(Debug, Clone)]
pub struct ReceivedRecording {
    pub event_id: String,
    pub place_id: OrganisationId,
    pub instance_id: String,
    pub given_at: Timestamp,
    pub received_at: Timestamp,
    pub conflicts: Vec<String>,
    pub payload: String,
}

/// Keeps a recording as it came from the edge, with the deviation its conflicts
/// raised if any, in the transaction of the recording's own write.
pub async fn insert_received(
    write: &mut crate::PatientWrite,
    patient: samhand_domain::ids::PatientId,
    r: &ReceivedRecording,
    deviation: Option<&crate::stock::Deviation>,
) -> Result<()> {
    let conn = write.of(patient)?;
    if let Some(deviation) = deviation {
        crate::stock::insert_deviation(&mut *conn, deviation).await?;
    }
    sqlx::query(
        "INSERT INTO edge_recordings (event_id, place_id, instance_id, given_at, received_at, conflicts, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.event_id)
    .bind(r.place_id.to_string())
    .bind(&r.instance_id)
    .bind(micros(r.given_at))
    .bind(micros(r.received_at))
    .bind(r.conflicts.join(" "))
    .bind(&r.payload)
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// The recording an edge pushed with this event id, if one did.
pub async fn received(conn: &mut AnyConnection, event_id: &str) -> Result<Option<ReceivedRecording>> {
    let row = sqlx::query("SELECT * FROM edge_recordings WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(received_from_row).transpose()
}

/// The recordings an edge of a place pushed, oldest given first.
pub async fn received_at_place(
    conn: &mut AnyConnection,
    place: OrganisationId,
) -> Result<Vec<ReceivedRecording>> {
    let rows = sqlx::query("SELECT * FROM edge_recordings WHERE place_id = $1 ORDER BY given_at, event_id")
        .bind(place.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(received_from_row).collect()
}

fn received_from_row(row: &AnyRow) -> Result<ReceivedRecording> {
    let conflicts = text(row, "conflicts")?;
    Ok(ReceivedRecording {
        event_id: text(row, "event_id")?,
        place_id: parsed(row, "place_id")?,
        instance_id: text(row, "instance_id")?,
        given_at: crate::codec::instant(row, "given_at")?,
        received_at: crate::codec::instant(row, "received_at")?,
        conflicts: conflicts.split_whitespace().map(str::to_string).collect(),
        payload: text(row, "payload")?,
    })
}

/// Marks an edge's audit entry as taken into the central chain; false when it
/// was already (a retry).
pub async fn take_audit_entry(
    conn: &mut impl Fetch,
    instance: &str,
    seq: i64,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO edge_audit_received (instance_id, edge_seq, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(instance)
    .bind(seq)
    .bind(micros(now))
    .execute_on(conn)
    .await?;
    Ok(done == 1)
}

impl From<base64::DecodeError> for StoreError {
    fn from(error: base64::DecodeError) -> Self {
        corrupt(error.to_string())
    }
}

/// What the edge deletes of a patient who left the place, table by table in an
/// order where nothing is deleted while a row still refers to it: the rows the
/// snapshots brought, and what the edge wrote itself (its recordings, their
/// stock lines and messages). `$1` is the patient.
const PURGE: &[(&str, &str)] = &[
    (
        "message_recipients",
        "message_id IN (SELECT id FROM messages WHERE patient_id = $1)",
    ),
    (
        "message_receipts",
        "message_id IN (SELECT id FROM messages WHERE patient_id = $1)",
    ),
    ("message_patient_receipts", "patient_id = $1"),
    ("messages", "patient_id = $1"),
    (
        "stock_ledger",
        "dispensing_event_id IN (SELECT id FROM dispensing_events WHERE patient_id = $1)",
    ),
    (
        "stock_entries",
        "dispensing_event_id IN (SELECT id FROM dispensing_events WHERE patient_id = $1)",
    ),
    (
        "edge_known_events",
        "event_id IN (SELECT id FROM dispensing_events WHERE patient_id = $1)",
    ),
    ("dose_day_state", "patient_id = $1"),
    ("dispensing_voids", "patient_id = $1"),
    (
        "dispensing_corrections",
        "event_id IN (SELECT id FROM dispensing_events WHERE patient_id = $1)",
    ),
    ("dispensed_doses", "patient_id = $1"),
    ("dispensing_events", "patient_id = $1"),
    ("health_notes", "patient_id = $1"),
    ("prescribing_handovers", "patient_id = $1"),
    (
        "care_team_member_ends",
        "member_id IN (SELECT id FROM care_team_members WHERE patient_id = $1)",
    ),
    ("care_team_members", "patient_id = $1"),
    ("consents", "patient_id = $1"),
    (
        "stay_events",
        "stay_id IN (SELECT id FROM stays WHERE patient_id = $1)",
    ),
    ("stays", "patient_id = $1"),
    ("covers", "patient_id = $1"),
    ("arrangements", "patient_id = $1"),
    ("dose_order_discards", "patient_id = $1"),
    ("dose_order_signatures", "patient_id = $1"),
    ("dose_orders", "patient_id = $1"),
    (
        "episode_ends",
        "episode_id IN (SELECT id FROM episodes WHERE patient_id = $1)",
    ),
    ("episodes", "patient_id = $1"),
    ("patient_photos", "patient_id = $1"),
    ("patient_identity_versions", "patient_id = $1"),
    ("patients", "id = $1"),
];

/// Lets the edge delete what it holds of a patient who left the place: the
/// edge's copy of the record is a cache of central's, which keeps every row, so
/// the triggers that refuse deletes at central are dropped from the edge's own
/// SQLite (never at central: PostgreSQL is refused, and a SQLite database is
/// changed only when `samhand edge` runs on it).
pub async fn allow_purge(store: &crate::Store) -> Result<()> {
    if store.backend() != crate::Backend::Sqlite {
        return Err(StoreError::Corrupt(
            "only an edge's SQLite database is purged".into(),
        ));
    }
    let mut conn = store.read().await?;
    let tables: Vec<&str> = PURGE.iter().map(|(t, _)| *t).collect();
    let rows = sqlx::query(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_delete'",
    )
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    for row in rows {
        let (name, table) = (text(&row, "name")?, text(&row, "tbl_name")?);
        if tables.contains(&table.as_str()) && is_identifier(&name) {
            let mut tx = store.write().await?;
            sqlx::query(&format!("DROP TRIGGER IF EXISTS {name}"))
                .execute_on(&mut tx)
                .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Deletes what the edge holds of the patients not in `keep` (the place's
/// patients by the latest snapshot), except those with recordings still to push;
/// returns whom it removed.
pub async fn purge_patients(tx: &mut WriteTx, keep: &[String]) -> Result<Vec<String>> {
    let keep_json = serde_json::to_string(keep).map_err(|e| corrupt(e.to_string()))?;
    let leaving: Vec<String> = sqlx::query(
        "SELECT p.id FROM patients p
         WHERE p.id NOT IN (SELECT value FROM json_each($1))
           AND NOT EXISTS (SELECT 1 FROM dispensing_events e WHERE e.patient_id = p.id
                           AND NOT EXISTS (SELECT 1 FROM edge_known_events k WHERE k.event_id = e.id))",
    )
    .bind(keep_json)
    .fetch_all_on(tx)
    .await?
    .iter()
    .map(|r| text(r, "id"))
    .collect::<Result<_>>()?;
    for patient in &leaving {
        for (table, filter) in PURGE {
            sqlx::query(&format!("DELETE FROM {table} WHERE {filter}"))
                .bind(patient)
                .execute_on(tx)
                .await?;
        }
    }
    if !leaving.is_empty() {
        // Their recordings' stock lines went: the kept balances follow the
        // ledger that is left (H104).
        crate::stock_balance::rederive_all(tx).await?;
    }
    Ok(leaving)
}
