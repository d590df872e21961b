//! The audit log: the only writer of `audit_log`. Every read and write of patient
//! data is one entry; entries are append-only and chained by a MAC under the audit
//! key, so an edited, removed or reordered entry is found by
//! [`crate::anchor::verify`].

use jiff::Timestamp;
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::ids::PatientId;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{int, micros, text};
use crate::db::{Result, Store, WriteTx};
use crate::native::FetchOn;

/// One access to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub at: Timestamp,
    pub actor: &'a Actor,
    pub patient: Option<PatientId>,
    pub category: DataCategory,
    pub action: Action,
    pub allowed: bool,
    /// The relation or reason that allowed it, or why it was denied.
    pub relation: &'a str,
    /// What was touched, e.g. "patient overview" or "dispensing recorded".
    pub detail: &'a str,
}

/// The fields as hashed: a stable, unambiguous line.
#[allow(clippy::too_many_arguments)]
fn canonical(
    seq: i64,
    at: i64,
    actor_id: &str,
    role: &str,
    org: &str,
    patient: &str,
    category: &str,
    action: &str,
    allowed: i64,
    relation: &str,
    detail: &str,
    prev_hash: &str,
    linked: &[String],
) -> String {
    let mut fields = vec![
        seq.to_string(),
        at.to_string(),
        actor_id.into(),
        role.into(),
        org.into(),
        patient.into(),
        category.into(),
        action.into(),
        allowed.to_string(),
        relation.into(),
        detail.into(),
        prev_hash.into(),
    ];
    // An entry about many patients names them (sorted) in one more field; an
    // entry without links hashes as entries always have.
    if !linked.is_empty() {
        fields.push(linked.join(","));
    }
    // Length-prefixed, so no field can be shifted into its neighbour.
    fields
        .iter()
        .map(|f| format!("{}:{f}", f.len()))
        .collect::<Vec<_>>()
        .join("|")
}

/// The hash of an entry written without a key (before one was configured).
pub(crate) fn plain_hash(line: &str) -> String {
    crate::anchor::hex(&Sha256::digest(line.as_bytes()))
}

/// The line a stored entry was hashed from, given the patients linked to it
/// (the members of the set it names, sorted).
pub(crate) fn canonical_row(row: &AnyRow, linked: &[String]) -> Result<String> {
    let patient: Option<String> = sqlx::Row::try_get(row, "patient_id")?;
    Ok(canonical(
        int(row, "seq")?,
        int(row, "at")?,
        &text(row, "actor_id")?,
        &text(row, "actor_role")?,
        &text(row, "actor_organisation")?,
        &patient.unwrap_or_default(),
        &text(row, "category")?,
        &text(row, "action")?,
        int(row, "allowed")?,
        &text(row, "relation")?,
        &text(row, "detail")?,
        &text(row, "prev_hash")?,
        linked,
    ))
}

/// Appends an entry within the caller's transaction, extending the chain.
pub async fn append(store: &Store, tx: &mut WriteTx, entry: &AuditEntry<'_>) -> Result<()> {
    append_all(store, tx, std::slice::from_ref(entry)).await
}

/// Columns written per audit entry.
const COLUMNS: usize = 14;

/// Rows per multi-row INSERT of audit entries (14 binds each, under both databases'
/// limits).
const ROWS_PER_INSERT: usize = 200;

/// Members per multi-row INSERT into `audit_patient_sets`.
const MEMBERS_PER_INSERT: usize = 1000;

/// Appends entries in order within the caller's transaction: the chain's head is
/// read (and on PostgreSQL locked) once per batch of writes, each entry hashed onto
/// the one before, the rows written in multi-row inserts, and the head row written
/// once, when the batch commits ([`crate::group`]).
pub async fn append_all(store: &Store, tx: &mut WriteTx, entries: &[AuditEntry<'_>]) -> Result<()> {
    let entries: Vec<(&AuditEntry<'_>, Vec<String>)> = entries.iter().map(|e| (e, Vec::new())).collect();
    append_entries(store, tx, &entries).await
}

/// Appends one entry about many patients within the caller's transaction (a view
/// of a list): one row in the log without a patient, and one link per patient in
/// a set of patients (`audit_patient_sets`, written once per set), which the
/// entry's hash covers. Every reader of a patient's
/// entries sees it as an entry about that patient.
pub async fn append_about_many(
    store: &Store,
    tx: &mut WriteTx,
    entry: &AuditEntry<'_>,
    patients: &[PatientId],
) -> Result<()> {
    match about_many(entry, patients) {
        Some((entry, linked)) => append_entries(store, tx, &[(&entry, linked)]).await,
        None => Ok(()),
    }
}

/// The entry about many patients as written: without a patient of its own, and
/// the patients it names (its own among them), sorted; none when it names nobody.
fn about_many<'a>(entry: &AuditEntry<'a>, patients: &[PatientId]) -> Option<(AuditEntry<'a>, Vec<String>)> {
    let mut linked: Vec<String> = patients.iter().map(ToString::to_string).collect();
    linked.extend(entry.patient.map(|p| p.to_string()));
    linked.sort();
    linked.dedup();
    if linked.is_empty() {
        return None;
    }
    let entry = AuditEntry {
        patient: None,
        ..entry.clone()
    };
    Some((entry, linked))
}

/// Records the entries of a read, all it writes; returns once they are durably
/// committed, all of them or none. On PostgreSQL they are queued with other
/// reads' and written together with them ([`crate::audit_queue`]). On SQLite
/// they are a write of their own in the batch: its statements are calls on this
/// thread, and handing the entries to the queue's task cost more CPU than the
/// INSERTs it saved (BENCHMARKS.md, 7 December, morning).
pub async fn record(store: &Store, entries: &[AuditEntry<'_>]) -> Result<()> {
    let entries: Vec<(&AuditEntry<'_>, Vec<String>)> = entries.iter().map(|e| (e, Vec::new())).collect();
    record_entries(store, &entries).await
}

/// [`record`] of entries each with the patients it names.
async fn record_entries(store: &Store, entries: &[(&AuditEntry<'_>, Vec<String>)]) -> Result<()> {
    if store.backend() == crate::Backend::Postgres {
        return store.audit_queue().record(store, entries).await;
    }
    if entries.is_empty() {
        return Ok(());
    }
    let mut tx = store.write_audit().await?;
    append_entries(store, &mut tx, entries).await?;
    tx.commit().await
}

/// As [`record`], for entries about many patients each (the views of a list, as
/// [`append_about_many`] writes them).
pub async fn record_about_many(store: &Store, about: &[(AuditEntry<'_>, &[PatientId])]) -> Result<()> {
    let (entries, linked): (Vec<AuditEntry<'_>>, Vec<Vec<String>>) = about
        .iter()
        .filter_map(|(entry, patients)| about_many(entry, patients))
        .unzip();
    let entries: Vec<(&AuditEntry<'_>, Vec<String>)> = entries.iter().zip(linked).collect();
    record_entries(store, &entries).await
}

/// An entry's fields as chained and written, before its place in the chain is
/// known: a request's entry, or one parked by a write on PostgreSQL
/// ([`crate::audit_parked`]).
pub(crate) struct Unchained<'e> {
    pub at: i64,
    pub actor_id: String,
    pub role: &'e str,
    pub org: String,
    pub patient: Option<String>,
    pub category: &'e str,
    pub action: &'e str,
    pub allowed: i64,
    pub relation: &'e str,
    pub detail: &'e str,
    /// The patients an entry about many names (sorted), else empty.
    pub linked: &'e [String],
}

impl<'e> Unchained<'e> {
    pub(crate) fn of(entry: &'e AuditEntry<'_>, linked: &'e [String]) -> Self {
        Self {
            at: micros(entry.at),
            actor_id: entry.actor.audit_id(),
            role: entry.actor.role_code(),
            org: entry.actor.organisation_code(),
            patient: entry.patient.map(|p| p.to_string()),
            category: entry.category.code(),
            action: entry.action.code(),
            allowed: i64::from(entry.allowed),
            relation: entry.relation,
            detail: entry.detail,
            linked,
        }
    }
}

/// One audit row as written: the entry with its place in the chain.
pub(crate) struct Row<'e> {
    seq: i64,
    fields: Unchained<'e>,
    prev_hash: String,
    hash: String,
}

/// The entries chained onto the head `(seq, hash)`: their rows, the patients
/// linked to each entry that names many, and the head after them.
#[allow(clippy::type_complexity)]
pub(crate) fn chain<'e>(
    store: &Store,
    entries: Vec<Unchained<'e>>,
    (mut seq, mut prev_hash): (i64, String),
) -> (Vec<Row<'e>>, Vec<(i64, &'e [String])>, (i64, String)) {
    let mut rows = Vec::with_capacity(entries.len());
    let mut links: Vec<(i64, &[String])> = Vec::new();
    for fields in entries {
        seq += 1;
        let line = canonical(
            seq,
            fields.at,
            &fields.actor_id,
            fields.role,
            &fields.org,
            fields.patient.as_deref().unwrap_or_default(),
            fields.category,
            fields.action,
            fields.allowed,
            fields.relation,
            fields.detail,
            &prev_hash,
            fields.linked,
        );
        if !fields.linked.is_empty() {
            links.push((seq, fields.linked));
        }
        let hash = match store.audit_key() {
            Some(key) => key.mac(&line),
            None => plain_hash(&line),
        };
        rows.push(Row {
            seq,
            fields,
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    (rows, links, (seq, prev_hash))
}

/// Binds the rows' values in the order of [`COLUMNS`].
fn bind_rows<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    rows: &'q [Row<'_>],
    keyed: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for row in rows {
        let f = &row.fields;
        query = query
            .bind(row.seq)
            .bind(f.at)
            .bind(f.actor_id.clone())
            .bind(f.role)
            .bind(f.org.clone())
            .bind(f.patient.clone())
            .bind(f.category)
            .bind(f.action)
            .bind(f.allowed)
            .bind(f.relation)
            .bind(f.detail)
            .bind(row.prev_hash.clone())
            .bind(row.hash.clone())
            .bind(keyed);
    }
    query
}

pub(crate) const INSERT: &str = "INSERT INTO audit_log (seq, at, actor_id, actor_role, actor_organisation, patient_id, category, action, allowed, relation, detail, prev_hash, hash, keyed)";

/// On PostgreSQL the rows come as one JSON array, `$1`, whatever their number:
/// one statement text, prepared once per connection. As many texts as numbers of
/// rows (a batch of reads' entries has any number up to 200) were each prepared
/// and kept by every connection of the pool, some 30 MB of them.
pub(crate) const FROM_JSON: &str = "json_to_recordset(CAST($1 AS JSON)) AS v(seq BIGINT, at BIGINT, actor_id TEXT, actor_role TEXT, actor_organisation TEXT, patient_id TEXT, category TEXT, action TEXT, allowed BIGINT, relation TEXT, detail TEXT, prev_hash TEXT, hash TEXT, keyed BIGINT)";

/// An entry's fields as a JSON object, with the patients it names
/// (comma-separated) for [`crate::audit_parked`].
pub(crate) fn fields_json(f: &Unchained<'_>) -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(fields) = serde_json::json!({
        "at": f.at,
        "actor_id": f.actor_id,
        "actor_role": f.role,
        "actor_organisation": f.org,
        "patient_id": f.patient,
        "category": f.category,
        "action": f.action,
        "allowed": f.allowed,
        "relation": f.relation,
        "detail": f.detail,
        "linked": f.linked.join(","),
    }) else {
        unreachable!("a JSON object")
    };
    fields
}

/// The rows as [`FROM_JSON`] reads them.
pub(crate) fn rows_json(rows: &[Row<'_>], keyed: i64) -> String {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut fields = fields_json(&row.fields);
            fields.insert("seq".into(), row.seq.into());
            fields.insert("prev_hash".into(), row.prev_hash.clone().into());
            fields.insert("hash".into(), row.hash.clone().into());
            fields.insert("keyed".into(), keyed.into());
            serde_json::Value::Object(fields)
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// Writes the rows chained onto `expected`, the head as this process's last
/// commit left it, only if the head row still holds it, in one statement; false
/// (nothing written) when it does not. On PostgreSQL the same statement moves the
/// head row to `head` (and so locks it until the commit); on SQLite, whose batch
/// holds the database's write lock, the head row is written at the commit.
async fn insert_if_head_is(
    store: &Store,
    tx: &mut WriteTx,
    rows: &[Row<'_>],
    expected: &(i64, String),
    head: &(i64, String),
) -> Result<bool> {
    let keyed = i64::from(store.audit_key().is_some());
    let postgres = store.backend() == crate::Backend::Postgres;
    let sql = if postgres {
        format!(
            "WITH moved AS (UPDATE audit_head SET seq = $2, hash = $3 WHERE id = 1 AND seq = $4 AND hash = $5 RETURNING id) \
             {INSERT} SELECT v.* FROM moved, {FROM_JSON}"
        )
    } else {
        let values = crate::db::row_placeholders(tx, rows.len(), COLUMNS);
        format!(
            "{INSERT} SELECT * FROM (VALUES {values}) WHERE EXISTS (SELECT 1 FROM audit_head WHERE id = 1 AND seq = ? AND hash = ?)"
        )
    };
    let query = match postgres {
        true => sqlx::query(&sql)
            .bind(rows_json(rows, keyed))
            .bind(head.0)
            .bind(head.1.clone()),
        false => bind_rows(sqlx::query(&sql), rows, keyed),
    };
    let done = query
        .bind(expected.0)
        .bind(expected.1.clone())
        .execute_on(tx)
        .await?;
    if done != rows.len() as u64 {
        return Ok(false);
    }
    tx.set_audit_head(head.0, head.1.clone(), !postgres);
    Ok(true)
}

/// Appends entries, each with the patients linked to it, in order.
pub(crate) async fn append_entries(
    store: &Store,
    tx: &mut WriteTx,
    entries: &[(&AuditEntry<'_>, Vec<String>)],
) -> Result<()> {
    let entries = entries
        .iter()
        .map(|(entry, linked)| Unchained::of(entry, linked))
        .collect();
    append_unchained(store, tx, entries).await
}

/// Appends entries in order: chained onto the head, or on PostgreSQL, by a write
/// of its own that finds the head taken, parked ([`crate::audit_parked`]).
pub(crate) async fn append_unchained(
    store: &Store,
    tx: &mut WriteTx,
    entries: Vec<Unchained<'_>>,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    if tx.is_alone() && !tx.holds_audit_head() {
        return crate::audit_parked::chain_or_park(store, tx, entries).await;
    }
    // The batch's first entries go onto the head the last commit left, checked by
    // the statement that writes them (issue 16: no read of the head row per
    // request); should the row hold another head, it is read (and on PostgreSQL
    // locked) and the entries chained again onto it.
    let entries = if !tx.holds_audit_head()
        && entries.len() <= ROWS_PER_INSERT
        && let Some(expected) = tx.last_committed_audit_head()
    {
        let (rows, links, head) = chain(store, entries, expected.clone());
        if insert_if_head_is(store, tx, &rows, &expected, &head).await? {
            return insert_links(tx, &links).await;
        }
        rows.into_iter().map(|row| row.fields).collect()
    } else {
        entries
    };
    let start = tx.audit_head(store.lock_audit_head_sql()).await?;
    let (rows, links, (seq, hash)) = chain(store, entries, start);
    let keyed = i64::from(store.audit_key().is_some());
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        if store.backend() == crate::Backend::Postgres {
            let sql = format!("{INSERT} SELECT v.* FROM {FROM_JSON}");
            sqlx::query(&sql)
                .bind(rows_json(chunk, keyed))
                .execute_on(tx)
                .await?;
            continue;
        }
        let sql = format!(
            "{INSERT} VALUES {}",
            crate::db::row_placeholders(tx, chunk.len(), COLUMNS)
        );
        bind_rows(sqlx::query(&sql), chunk, keyed).execute_on(tx).await?;
    }
    insert_links(tx, &links).await?;
    tx.move_audit_head(seq, hash);
    Ok(())
}

/// The name of a set of patients (sorted ids): the SHA-256 of the ids as the
/// entry's line names them, so that the same patients are one set however many
/// entries name them.
pub(crate) fn set_id(linked: &[String]) -> String {
    crate::anchor::hex(&Sha256::digest(linked.join(",").as_bytes()))
}

/// Writes the links of entries about many patients: each entry's set of patients
/// (`audit_entry_sets`), and the set's members (`audit_patient_sets`) unless the
/// set is already stored, as it is from the second view of the same list on.
pub(crate) async fn insert_links(tx: &mut WriteTx, links: &[(i64, &[String])]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let named: Vec<(i64, String)> = links.iter().map(|(seq, linked)| (*seq, set_id(linked))).collect();
    let mut written: Vec<&str> = Vec::new();
    for ((_, linked), (_, set)) in links.iter().zip(&named) {
        if written.contains(&set.as_str()) {
            continue;
        }
        written.push(set);
        let stored = sqlx::query("SELECT 1 AS one FROM audit_patient_sets WHERE set_id = $1 LIMIT 1")
            .bind(set.as_str())
            .fetch_optional_on(tx)
            .await?;
        if stored.is_none() {
            insert_members(tx, set, linked).await?;
        }
    }
    let sql = format!(
        "INSERT INTO audit_entry_sets (seq, set_id) VALUES {}",
        crate::db::row_placeholders(tx, named.len(), 2)
    );
    let mut query = sqlx::query(&sql);
    for (seq, set) in &named {
        query = query.bind(*seq).bind(set.as_str());
    }
    query.execute_on(tx).await?;
    Ok(())
}

/// Writes the members of a set of patients; another process writing the same set
/// at the same time (PostgreSQL) writes the same rows, so a member already there
/// is passed over.
async fn insert_members(tx: &mut WriteTx, set: &str, linked: &[String]) -> Result<()> {
    for chunk in linked.chunks(MEMBERS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO audit_patient_sets (set_id, patient_id) VALUES {} ON CONFLICT DO NOTHING",
            crate::db::row_placeholders(tx, chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for patient in chunk {
            query = query.bind(set).bind(patient.as_str());
        }
        query.execute_on(tx).await?;
    }
    Ok(())
}

/// Appends one entry in a transaction of its own (for reads).
pub async fn append_alone(store: &Store, entry: &AuditEntry<'_>) -> Result<()> {
    let mut tx = store.write().await?;
    append(store, &mut tx, entry).await?;
    tx.commit().await
}

/// A stored entry, as read back.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor_id: String,
    pub actor_role: String,
    /// The organisation the actor acted for; empty for a patient.
    pub actor_organisation: String,
    pub patient_id: Option<String>,
    pub category: String,
    pub action: String,
    pub allowed: bool,
    pub relation: String,
    pub detail: String,
}

fn stored_from_row(row: &AnyRow) -> Result<StoredEntry> {
    Ok(StoredEntry {
        seq: int(row, "seq")?,
        at: crate::codec::instant(row, "at")?,
        actor_id: text(row, "actor_id")?,
        actor_role: text(row, "actor_role")?,
        actor_organisation: text(row, "actor_organisation")?,
        patient_id: sqlx::Row::try_get(row, "patient_id")?,
        category: text(row, "category")?,
        action: text(row, "action")?,
        allowed: int(row, "allowed")? != 0,
        relation: text(row, "relation")?,
        detail: text(row, "detail")?,
    })
}

pub(crate) const SELECT: &str = "SELECT seq, at, actor_id, actor_role, actor_organisation, patient_id, category, action, allowed, relation, detail, prev_hash, hash, keyed FROM audit_log";

/// An entry about one patient (`{cond}` on `patient_id`, `{range}` on `at` or
/// nothing): the entries naming them in `patient_id`, and those naming a set of
/// patients with them in it (a list view), with `patient_id` set to them.
fn about_patient_sql(cond: &str, range: &str) -> String {
    format!(
        "SELECT seq, at, actor_id, actor_role, actor_organisation, patient_id, category, action, allowed, relation, detail FROM audit_log WHERE patient_id {cond}{range} \
         UNION ALL SELECT a.seq, a.at, a.actor_id, a.actor_role, a.actor_organisation, m.patient_id, a.category, a.action, a.allowed, a.relation, a.detail \
         FROM audit_patient_sets m JOIN audit_entry_sets l ON l.set_id = m.set_id JOIN audit_log a ON a.seq = l.seq WHERE m.patient_id {cond}{}",
        range.replace(" at ", " a.at ").replace(" seq ", " a.seq ")
    )
}

/// The entries about one patient, newest first: their own and the list views that
/// named them.
pub async fn for_patient(
    conn: &mut AnyConnection,
    patient: PatientId,
    limit: i64,
) -> Result<Vec<StoredEntry>> {
    let rows = sqlx::query(&format!(
        "{} ORDER BY seq DESC LIMIT $2",
        about_patient_sql("= $1", "")
    ))
    .bind(patient.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(stored_from_row).collect()
}

/// The entries about one patient made in [from, until), newest first, at most
/// `limit`: their own and the list views that named them.
pub async fn for_patient_between(
    conn: &mut AnyConnection,
    patient: PatientId,
    from: Timestamp,
    until: Timestamp,
    limit: i64,
) -> Result<Vec<StoredEntry>> {
    let rows = sqlx::query(&format!(
        "{} ORDER BY seq DESC LIMIT $4",
        about_patient_sql("= $1", " AND at >= $2 AND at < $3")
    ))
    .bind(patient.to_string())
    .bind(micros(from))
    .bind(micros(until))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(stored_from_row).collect()
}

/// The next `limit` entries about some patients after sequence number `after`, in
/// the log's order: for paging through the log without loading it. A list view
/// that named several of them is one entry, given as about the first of them.
pub async fn for_patients_after(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEntry>> {
    // Each chunk of ids gives its first `limit` entries; the first `limit` of them
    // all are among those.
    let sql = format!(
        "SELECT * FROM ({}) e ORDER BY seq, patient_id LIMIT {limit}",
        about_patient_sql("IN ({ids})", &format!(" AND seq > {after}"))
    );
    let rows = crate::db::rows_for_patients(conn, &sql, &[], patients).await?;
    let mut entries = rows.iter().map(stored_from_row).collect::<Result<Vec<_>>>()?;
    entries.sort_by(|a, b| (a.seq, &a.patient_id).cmp(&(b.seq, &b.patient_id)));
    entries.dedup_by_key(|e| e.seq);
    entries.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(entries)
}

/// The newest entries of all.
pub async fn latest(conn: &mut AnyConnection, limit: i64) -> Result<Vec<StoredEntry>> {
    let rows = sqlx::query(&format!("{SELECT} ORDER BY seq DESC LIMIT $1"))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(stored_from_row).collect()
}

#[cfg(test)]
mod tests {
    use samhand_domain::ids::PatientId;

    use super::{COLUMNS, INSERT, Unchained, bind_rows, chain};
    use crate::anchor::{self, Verification};
    use crate::{Store, migrate};

    /// Migration 0050 moves the links written before it (one row per patient and
    /// entry in `audit_patients`) into sets: the chain stays intact, and each
    /// patient's log still shows the view.
    #[tokio::test]
    async fn the_links_written_before_sets_are_moved_into_sets_with_the_chain_intact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = crate::testing::fresh_database_url(dir.path()).await;
        let store = Store::open(&url, 2)
            .await
            .expect("open")
            .with_audit_key(crate::testing::audit_key());
        migrate::run_up_to(&store, 49).await.expect("up to 0049");
        let actor = crate::testing::dispensing_staff();
        let entry = crate::testing::list_view_entry(&actor, None);
        let mut listed: Vec<String> = (0..3).map(|_| PatientId::new().to_string()).collect();
        listed.sort();
        // As the build before 0050 wrote a list view: the entry, then a link per patient.
        let (rows, _, (seq, hash)) = chain(&store, vec![Unchained::of(&entry, &listed)], (0, String::new()));
        let mut conn = store.read().await.expect("conn");
        let sql = format!(
            "{INSERT} VALUES {}",
            crate::db::row_placeholders(&*conn, rows.len(), COLUMNS)
        );
        bind_rows(sqlx::query(&sql), &rows, 1)
            .execute(&mut *conn)
            .await
            .expect("entry");
        for patient in &listed {
            sqlx::query("INSERT INTO audit_patients (seq, patient_id) VALUES (1, $1)")
                .bind(patient)
                .execute(&mut *conn)
                .await
                .expect("link");
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(hash)
            .execute(&mut *conn)
            .await
            .expect("head");
        drop(conn);
        migrate::run(&store).await.expect("0050");
        assert!(matches!(
            anchor::verify(&store, None).await.expect("verify"),
            Verification::Intact { entries: 1, .. }
        ));
        let mut conn = store.read().await.expect("conn");
        for patient in &listed {
            let id: PatientId = patient.parse().expect("id");
            let log = super::for_patient(&mut conn, id, 10).await.expect("log");
            assert_eq!(
                log.iter().map(|e| e.seq).collect::<Vec<_>>(),
                vec![1],
                "{patient}"
            );
        }
    }
}
