//! The audit chain's anchors outside the database: the key its entries are MACed
//! with, and the signed checkpoints (sequence, head hash, time) the server writes
//! to a directory of its own. With both, someone who can write to the database but
//! holds neither the key nor the checkpoint directory cannot edit, remove or
//! append entries unnoticed: an edited entry fails its MAC, a recomputed chain
//! fails every MAC, and entries removed from the end (with the head row rewritten)
//! are missing from a checkpoint that saw them. [`verify`] walks the chain in pages
//! and names the first thing it finds.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use crate::codec::{int, text};
use crate::db::{Result, Store, StoreError};

/// The file in the checkpoint directory that checkpoints are appended to.
pub const CHECKPOINT_FILE: &str = "audit-checkpoints.log";

/// Entries read per page when the chain is walked.
const PAGE: i64 = 5_000;

/// The secret the audit chain and its checkpoints are MACed with. It is kept out
/// of the database (a file, `SAMHAND_AUDIT_KEY_FILE`) and never printed.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

impl AuditKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A key from its bytes (surrounding whitespace, such as a final newline,
    /// is not part of it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let trimmed = bytes.trim_ascii();
        if trimmed.len() < Self::MIN_LEN {
            return Err(format!(
                "the audit key must be at least {} bytes, this one has {}",
                Self::MIN_LEN,
                trimmed.len()
            ));
        }
        Ok(Self(trimmed.to_vec()))
    }

    /// The key in a file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read the audit key {}: {e}", path.display()))?;
        Self::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// HMAC-SHA256 of `line`, in hex.
    pub fn mac(&self, line: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(line.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signed statement that the chain had reached entry `seq`, whose hash was
/// `hash`, at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: Timestamp,
}

impl Checkpoint {
    fn signed_text(&self) -> String {
        format!(
            "samhand-audit-checkpoint-v1|{}|{}|{}",
            self.seq, self.hash, self.at
        )
    }

    fn line(&self, key: &AuditKey) -> String {
        format!(
            "seq={} hash={} at={} mac={}",
            self.seq,
            self.hash,
            self.at,
            key.mac(&self.signed_text())
        )
    }

    /// Reads a line as written by [`Checkpoint::line`]; `None` if it is not one or
    /// its MAC does not hold.
    fn parse(line: &str, key: &AuditKey) -> Option<Self> {
        let mut fields = BTreeMap::new();
        for part in line.split_whitespace() {
            let (name, value) = part.split_once('=')?;
            fields.insert(name, value);
        }
        let checkpoint = Self {
            seq: fields.get("seq")?.parse().ok()?,
            hash: (*fields.get("hash")?).to_string(),
            at: fields.get("at")?.parse().ok()?,
        };
        let mac = fields.get("mac")?;
        (key.mac(&checkpoint.signed_text()) == *mac).then_some(checkpoint)
    }
}

fn key_needed(store: &Store, what: &str) -> Result<AuditKey> {
    store.audit_key().cloned().ok_or_else(|| {
        StoreError::Anchor(format!(
            "the audit key is needed to {what} (SAMHAND_AUDIT_KEY_FILE)"
        ))
    })
}

fn checkpoint_file(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE)
}

/// Appends a checkpoint of the chain's head to `dir`, unless the last one there
/// already covers it; the checkpoint written, if any. The line is synced to disk
/// before this returns.
pub async fn write_checkpoint(store: &Store, dir: &Path, at: Timestamp) -> Result<Option<Checkpoint>> {
    let key = key_needed(store, "write an audit checkpoint")?;
    let mut conn = store.read().await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    drop(conn);
    let checkpoint = Checkpoint {
        seq: int(&head, "seq")?,
        hash: text(&head, "hash")?,
        at,
    };
    let last = last_checkpoint(dir, &key)?;
    if checkpoint.seq == 0 || last.is_some_and(|last| last.seq == checkpoint.seq) {
        return Ok(None);
    }
    let io = |e: std::io::Error| StoreError::Anchor(format!("cannot write to {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(checkpoint_file(dir))
        .map_err(io)?;
    writeln!(file, "{}", checkpoint.line(&key)).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(Some(checkpoint))
}

/// The newest checkpoint in `dir` whose MAC holds, read from the end of the file
/// (the file grows for as long as the server runs; this stays cheap).
fn last_checkpoint(dir: &Path, key: &AuditKey) -> Result<Option<Checkpoint>> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 4096;
    let path = checkpoint_file(dir);
    let mut file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Anchor(format!("cannot read {}: {e}", path.display()))),
    };
    let io = |e: std::io::Error| StoreError::Anchor(format!("cannot read {}: {e}", path.display()));
    let length = file.metadata().map_err(io)?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(TAIL)))
        .map_err(io)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io)?;
    let tail = String::from_utf8_lossy(&tail);
    Ok(tail.lines().rev().find_map(|line| Checkpoint::parse(line, key)))
}

/// One line of the checkpoint file: a checkpoint whose MAC holds, or the number
/// (from 1) of a line that is not one.
pub type CheckpointLine = std::result::Result<Checkpoint, usize>;

/// The checkpoints in `dir`, in the order written (none when there is no file).
pub fn read_checkpoints(dir: &Path, key: &AuditKey) -> Result<Vec<CheckpointLine>> {
    let path = checkpoint_file(dir);
    let content = match std::fs::read_to_string(&path) {
        Ok(content) => content,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Anchor(format!("cannot read {}: {e}", path.display()))),
    };
    Ok(content
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| Checkpoint::parse(line, key).ok_or(n + 1))
        .collect())
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Intact {
        entries: i64,
        /// Entries at the start of the chain written before a key was set.
        unkeyed: i64,
        /// Checkpoints the chain was checked against.
        checkpoints: usize,
        /// Entries written with their writes and waiting to be chained
        /// ([`crate::audit_parked`]): left by a process that stopped, until a
        /// server starts.
        parked: i64,
    },
    /// The first thing that does not hold: at which entry (if it is about one),
    /// and what.
    Broken { seq: Option<i64>, problem: String },
}

fn broken(seq: impl Into<Option<i64>>, problem: impl Into<String>) -> Result<Verification> {
    Ok(Verification::Broken {
        seq: seq.into(),
        problem: problem.into(),
    })
}

/// Where the walk of the chain has got to.
struct Walk {
    expected_seq: i64,
    prev_hash: String,
    unkeyed: i64,
    keyed_seen: bool,
}

/// Walks the whole chain, a page at a time, and checks it against the
/// checkpoints in `checkpoint_dir`: names the first entry that was edited,
/// removed, inserted or reordered, whose MAC fails, that is unkeyed after keyed
/// ones, or that differs from a checkpoint; a truncation after a checkpoint; a
/// checkpoint line that is forged; or a head row that does not match.
pub async fn verify(store: &Store, checkpoint_dir: Option<&Path>) -> Result<Verification> {
    let key = store.audit_key();
    let mut marks = BTreeMap::new();
    if let (Some(dir), Some(key)) = (checkpoint_dir, key) {
        for line in read_checkpoints(dir, key)? {
            match line {
                Ok(checkpoint) => {
                    marks.insert(checkpoint.seq, checkpoint);
                }
                Err(n) => {
                    return broken(
                        None,
                        format!(
                            "line {n} of {} is not a checkpoint signed with the audit key: the checkpoints were edited",
                            checkpoint_file(dir).display()
                        ),
                    );
                }
            }
        }
    }
    let mut walk = Walk {
        expected_seq: 1,
        prev_hash: String::new(),
        unkeyed: 0,
        keyed_seen: false,
    };
    let mut conn = store.read().await?;
    loop {
        let rows = sqlx::query(&format!(
            "{} WHERE seq >= $1 ORDER BY seq LIMIT $2",
            crate::audit::SELECT
        ))
        .bind(walk.expected_seq)
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let links = links_of_page(&mut conn, &rows).await?;
        for row in &rows {
            let linked = links.get(&int(row, "seq")?).map_or(&[][..], Vec::as_slice);
            if let Some(found) = check_entry(row, linked, key, &marks, &mut walk)? {
                return Ok(found);
            }
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    let last = walk.expected_seq - 1;
    if let Some((_, mark)) = marks.range(last + 1..).next_back() {
        return broken(
            last + 1,
            format!(
                "the log ends at entry {last}, but the checkpoint of {} saw entry {}: entries were removed from the end",
                mark.at, mark.seq
            ),
        );
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let head_seq = int(&head, "seq")?;
    if head_seq != last || text(&head, "hash")? != walk.prev_hash {
        return broken(
            last + 1,
            format!(
                "the log ends at entry {last} but {head_seq} were written: entries were removed from the end"
            ),
        );
    }
    let stray = sqlx::query("SELECT MIN(seq) AS seq FROM audit_entry_sets WHERE seq > $1")
        .bind(last)
        .fetch_one(&mut *conn)
        .await?;
    if let Some(seq) = sqlx::Row::try_get::<Option<i64>, _>(&stray, "seq")? {
        return broken(
            seq,
            format!("patients are linked to entry {seq}, which is not in the log: links were added"),
        );
    }
    Ok(Verification::Intact {
        entries: last,
        unkeyed: walk.unkeyed,
        checkpoints: marks.len(),
        parked: crate::audit_parked::count(&mut conn).await?,
    })
}

/// The patients linked to the entries of a page (the set each names,
/// `audit_entry_sets`, and its members, `audit_patient_sets`), sorted, by
/// sequence number. A set named by several entries of the page is read once.
async fn links_of_page(
    conn: &mut sqlx::AnyConnection,
    rows: &[sqlx::any::AnyRow],
) -> Result<BTreeMap<i64, Vec<String>>> {
    let mut links: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(links);
    };
    let named = sqlx::query("SELECT seq, set_id FROM audit_entry_sets WHERE seq >= $1 AND seq <= $2")
        .bind(int(first, "seq")?)
        .bind(int(last, "seq")?)
        .fetch_all(&mut *conn)
        .await?;
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &named {
        let set = text(row, "set_id")?;
        if !members.contains_key(&set) {
            let found = sqlx::query("SELECT patient_id FROM audit_patient_sets WHERE set_id = $1")
                .bind(&set)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| text(r, "patient_id"))
                .collect::<Result<Vec<_>>>()?;
            members.insert(set.clone(), found);
        }
        links.insert(int(row, "seq")?, members[&set].clone());
    }
    // Sorted here, as when hashed: a database's collation may order them otherwise.
    for linked in links.values_mut() {
        linked.sort();
    }
    Ok(links)
}

/// Checks one entry against the walk so far and moves the walk on; what is
/// wrong with it, if anything.
fn check_entry(
    row: &sqlx::any::AnyRow,
    linked: &[String],
    key: Option<&AuditKey>,
    marks: &BTreeMap<i64, Checkpoint>,
    walk: &mut Walk,
) -> Result<Option<Verification>> {
    let seq = int(row, "seq")?;
    let found = |problem: String| {
        Ok(Some(Verification::Broken {
            seq: Some(seq),
            problem,
        }))
    };
    if seq != walk.expected_seq {
        return found(format!(
            "expected entry {} here: an entry is missing or out of order",
            walk.expected_seq
        ));
    }
    let prev_hash = text(row, "prev_hash")?;
    if prev_hash != walk.prev_hash {
        return found("does not follow the entry before it".into());
    }
    let line = crate::audit::canonical_row(row, linked)?;
    let stored_hash = text(row, "hash")?;
    let keyed = int(row, "keyed")? != 0;
    if keyed {
        let Some(key) = key else {
            return Err(StoreError::Anchor(
                "the audit log is keyed: the audit key is needed to verify it (SAMHAND_AUDIT_KEY_FILE)"
                    .into(),
            ));
        };
        if key.mac(&line) != stored_hash {
            return found("its MAC fails: its content was changed after it was written, or it was written without the audit key".into());
        }
        walk.keyed_seen = true;
    } else if walk.keyed_seen {
        return found(
            "it is not keyed, but entries before it are: it was written or rewritten without the audit key"
                .into(),
        );
    } else if crate::audit::plain_hash(&line) != stored_hash {
        return found("its content was changed after it was written".into());
    } else {
        walk.unkeyed += 1;
    }
    if let Some(mark) = marks.get(&seq)
        && mark.hash != stored_hash
    {
        return found(format!(
            "it differs from the entry the checkpoint of {} saw: the log was rewritten from here",
            mark.at
        ));
    }
    walk.prev_hash = stored_hash;
    walk.expected_seq += 1;
    Ok(None)
}
