//! What a place's edge holds (`samhand edge`): the snapshot the central server
//! sends it, made of the rows the place may see under the policy. The patients are
//! those the place doses, or pauses for a stay, from today through the edge's days
//! ahead (policy `edge.days_ahead`); their health information only where the
//! patient shares it with the place; the place's staff with their passwords, every
//! other user without one (names only).

use std::collections::HashSet;

use jiff::Span;
use samhand_domain::access::DataCategory;
use samhand_domain::arrangement::effective_arrangement;
use samhand_domain::ids::PatientId;
use samhand_store::edge::{Apply, TableRows, export_rows};
use samhand_store::orders as order_store;
use serde_json::Value;

use super::{MISSED_LOOKBACK_DAYS, Service, relations_of, with_schedule};
use crate::error::AppResult;

/// One table of a snapshot: how its rows are chosen and applied at the edge.
pub struct SnapshotTable {
    pub table: &'static str,
    /// The rows: `$1` is the value of `bound`, `{ids}` the patients (or, for
    /// `health_notes`, those sharing it).
    pub filter: &'static str,
    pub bound: Bound,
    pub apply: Apply,
    /// The conflict key of a replaced row.
    pub key: &'static [&'static str],
}

/// What `$1` of a table's filter stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Nothing,
    /// The first day of the recordings the edge keeps.
    From,
    /// The place.
    Place,
}

const fn table(
    table: &'static str,
    filter: &'static str,
    apply: Apply,
    key: &'static [&'static str],
) -> SnapshotTable {
    let bound = if const_contains(filter.as_bytes(), b"t.place_id = $1") {
        Bound::Place
    } else if const_contains(filter.as_bytes(), b"$1") {
        Bound::From
    } else {
        Bound::Nothing
    };
    SnapshotTable {
        table,
        filter,
        bound,
        apply,
        key,
    }
}

const fn const_contains(haystack: &[u8], needle: &[u8]) -> bool {
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        let mut j = 0;
        while j < needle.len() && haystack[i + j] == needle[j] {
            j += 1;
        }
        if j == needle.len() {
            return true;
        }
        i += 1;
    }
    false
}

const DIRECTORY: &str = "1 = 1";
const OF_PATIENTS: &str = "t.patient_id IN ({ids})";

/// The tables of a snapshot, in an order where every row's references come
/// before it.
pub const SNAPSHOT_TABLES: &[SnapshotTable] = &[
    table(
        "organisations",
        "1 = 1 ORDER BY (t.responsible_unit_id IS NOT NULL), t.id",
        Apply::Replace,
        &["id"],
    ),
    table("users", DIRECTORY, Apply::Replace, &["id"]),
    table("user_roles", DIRECTORY, Apply::Append, &[]),
    table("user_status_changes", DIRECTORY, Apply::Append, &[]),
    table("policy_settings", DIRECTORY, Apply::Append, &[]),
    table("patient_groups", DIRECTORY, Apply::Replace, &["id"]),
    table("place_closed_days", "t.place_id = $1", Apply::Append, &[]),
    table("patients", "t.id IN ({ids})", Apply::Replace, &["id"]),
    table("patient_identity_versions", OF_PATIENTS, Apply::Append, &[]),
    table(
        "patient_photos",
        "t.patient_id IN ({ids}) AND t.created_at = (SELECT MAX(p.created_at) FROM patient_photos p WHERE p.patient_id = t.patient_id)",
        Apply::Append,
        &[],
    ),
    table("episodes", OF_PATIENTS, Apply::Append, &[]),
    table(
        "episode_ends",
        "t.episode_id IN (SELECT e.id FROM episodes e WHERE e.patient_id IN ({ids}))",
        Apply::Append,
        &[],
    ),
    table("dose_orders", OF_PATIENTS, Apply::Append, &[]),
    table("dose_order_signatures", OF_PATIENTS, Apply::Append, &[]),
    table("dose_order_discards", OF_PATIENTS, Apply::Append, &[]),
    table("arrangements", OF_PATIENTS, Apply::Append, &[]),
    table("covers", OF_PATIENTS, Apply::Append, &[]),
    table("stays", OF_PATIENTS, Apply::Append, &[]),
    table(
        "stay_events",
        "t.stay_id IN (SELECT s.id FROM stays s WHERE s.patient_id IN ({ids})) ORDER BY t.recorded_at",
        Apply::Append,
        &[],
    ),
    table("consents", OF_PATIENTS, Apply::Append, &[]),
    table("care_team_members", OF_PATIENTS, Apply::Append, &[]),
    table(
        "care_team_member_ends",
        "t.member_id IN (SELECT m.id FROM care_team_members m WHERE m.patient_id IN ({ids}))",
        Apply::Append,
        &[],
    ),
    table("prescribing_handovers", OF_PATIENTS, Apply::Append, &[]),
    table(
        "health_notes",
        "t.patient_id IN ({ids}) ORDER BY t.recorded_at",
        Apply::Append,
        &[],
    ),
    table(
        "dispensing_events",
        "t.day >= $1 AND t.patient_id IN ({ids})",
        Apply::Append,
        &[],
    ),
    table(
        "dispensed_doses",
        "t.event_id IN (SELECT e.id FROM dispensing_events e WHERE e.day >= $1 AND e.patient_id IN ({ids}))",
        Apply::Append,
        &[],
    ),
    table(
        "dispensing_corrections",
        "t.event_id IN (SELECT e.id FROM dispensing_events e WHERE e.day >= $1 AND e.patient_id IN ({ids}))",
        Apply::Append,
        &[],
    ),
    table(
        "dispensing_voids",
        "t.dose_date >= $1 AND t.patient_id IN ({ids})",
        Apply::Append,
        &[],
    ),
    table("dose_day_state", OF_PATIENTS, Apply::Replace, &["patient_id"]),
];

/// What a place's edge is sent.
#[derive(Debug, Clone)]
pub struct PlaceSnapshot {
    pub patients: Vec<PatientId>,
    pub tables: Vec<TableRows>,
}

impl PlaceSnapshot {
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "patients": self.patients.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "tables": self.tables.iter().map(TableRows::to_json).collect::<Vec<_>>(),
        })
    }
}

impl Service<'_> {
    /// The snapshot of the actor's place (the actor is the place's edge, acting as
    /// its dispensing staff), decided by the policy. Nothing is audited here: the
    /// caller records the reads with [`Self::record_edge_snapshot`] when the
    /// snapshot is sent, that is when it differs from what the edge holds.
    pub async fn edge_snapshot(&self, days_ahead: i64) -> AppResult<(PlaceSnapshot, Vec<PatientId>)> {
        let _heavy = self.heavy_work().await?;
        let place = self.own_place().await?;
        let today = self.today();
        let candidates = {
            let mut conn = self.state.store.read().await?;
            order_store::patients_at_place(&mut conn, place.id, today).await?
        };
        let data = self.load_data(&candidates).await?;
        let days: Vec<_> = (0..=days_ahead)
            .filter_map(|n| today.checked_add(Span::new().days(n)).ok())
            .collect();
        let in_window: Vec<PatientId> = candidates
            .iter()
            .copied()
            .filter(|id| {
                data.get(id).is_some_and(|d| {
                    days.iter().any(|day| {
                        effective_arrangement(&d.arrangements, *day)
                            .is_some_and(|a| a.content.place_id == place.id)
                            || with_schedule(d, *day, |s| !s.due_at(place.id, *day).is_empty())
                                .unwrap_or(false)
                    })
                })
            })
            .collect();
        let relations = relations_of(&data, &in_window, self.now());
        let allowed: Vec<PatientId> = self
            .repo
            .permitted_reads(&relations, DataCategory::Dispensing)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let allowed_set: HashSet<PatientId> = allowed.iter().copied().collect();
        let shared: Vec<_> = relations
            .into_iter()
            .filter(|(id, _)| allowed_set.contains(id))
            .collect();
        let health: Vec<String> = self
            .repo
            .permitted_reads(&shared, DataCategory::HealthInformation)
            .into_iter()
            .map(|(id, _)| id.to_string())
            .collect();
        let ids: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        let from = today
            .checked_sub(Span::new().days(MISSED_LOOKBACK_DAYS))
            .unwrap_or(today);
        let mut conn = self.state.store.read().await?;
        let mut tables = Vec::with_capacity(SNAPSHOT_TABLES.len());
        for t in SNAPSHOT_TABLES {
            let leading = match t.bound {
                Bound::Nothing => vec![],
                Bound::From => vec![from.to_string()],
                Bound::Place => vec![place.id.to_string()],
            };
            let list: Option<&[String]> = match (t.filter.contains("{ids}"), t.table) {
                (false, _) => None,
                (true, "health_notes") => Some(&health),
                (true, _) => Some(&ids),
            };
            tables.push(export_rows(&mut conn, t.table, t.filter, &leading, list).await?);
        }
        let place_id = place.id.to_string();
        let with_role_here = staff_of(&tables, &place_id);
        if let Some(users) = tables.iter_mut().find(|t| t.table == "users") {
            keep_passwords_of_place(users, &place_id, &with_role_here);
        }
        Ok((
            PlaceSnapshot {
                patients: allowed.clone(),
                tables,
            },
            allowed,
        ))
    }

    /// Records that the place's edge was sent its snapshot: one entry naming the
    /// patients (their access logs show it), of the dispensing data and, for those
    /// sharing it, the health information.
    pub async fn record_edge_snapshot(&self, patients: &[PatientId]) -> AppResult<()> {
        let data = self.load_data(patients).await?;
        let relations = relations_of(&data, patients, self.now());
        self.repo
            .optional_list_reads(
                &relations,
                DataCategory::Dispensing,
                "edge snapshot sent to the place",
            )
            .await?;
        Ok(())
    }
}

/// The users with a role at the place besides those whose own organisation it
/// is, from the snapshot's `user_roles` rows.
fn staff_of(tables: &[TableRows], place: &str) -> HashSet<String> {
    let Some(roles) = tables.iter().find(|t| t.table == "user_roles") else {
        return HashSet::new();
    };
    let column = |name: &str| roles.columns.iter().position(|c| c == name);
    let (Some(user), Some(org)) = (column("user_id"), column("organisation_id")) else {
        return HashSet::new();
    };
    roles
        .rows
        .iter()
        .filter(|r| r[org].as_str() == Some(place))
        .filter_map(|r| r[user].as_str().map(str::to_string))
        .collect()
}

/// Only the place's own staff can log in at the edge: every other user's
/// password hash stays at the central server.
fn keep_passwords_of_place(users: &mut TableRows, place: &str, with_role_here: &HashSet<String>) {
    let column = |name: &str| users.columns.iter().position(|c| c == name);
    let (Some(id), Some(org), Some(hash)) =
        (column("id"), column("organisation_id"), column("password_hash"))
    else {
        return;
    };
    for row in &mut users.rows {
        let here =
            row[org].as_str() == Some(place) || row[id].as_str().is_some_and(|u| with_role_here.contains(u));
        if !here {
            row[hash] = Value::Null;
        }
    }
}
