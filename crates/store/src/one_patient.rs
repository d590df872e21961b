//! What a request about one patient reads before its access decision, in one
//! statement (issue 16): the patient, the schedule's inputs (episodes, orders,
//! arrangements, covers), which kinds of privacy fact there are any rows of, and
//! on request the dispensing event of an idempotency key, the recorded doses
//! the window reads about a day with the kept dosing state, and the overview's
//! history (the identity's versions and the last days' recordings). A dispensing
//! and an overview each read these on every request; as separate statements they
//! were eight to ten of them.
//!
//! The statement is a UNION ALL of one SELECT per kind of row, each the very query
//! the kind's own reader runs (the same SELECT text, so the same indexes), tagged
//! with its kind in `input`. Every branch gives every column of every kind, its
//! own and typed NULLs for the others' (PostgreSQL types a UNION's columns pair
//! by pair, so an untyped NULL would not do), and the rows are decoded by the
//! kinds' own row readers, which read their columns by name. Privacy facts of the
//! kinds present are then read as [`crate::privacy::facts_of`] reads them; a kept
//! row that does not reach back far enough falls back to the history, as
//! [`crate::day_state::dosed_days_of`] does.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use jiff::civil::Date;
use samhand_domain::arrangement::Arrangement;
use samhand_domain::dose_order::DoseOrder;
use samhand_domain::ids::PatientId;
use samhand_domain::patient::{Episode, IdentityVersion, Patient};
use samhand_domain::privacy::PrivacyFacts;
use samhand_domain::schedule::{Cover, IntakeMode};

use crate::codec::{date_text, text};
use crate::day_state::DoseDayState;
use crate::db::Result;
use crate::dispensing::{DispensedDose, DispensingEvent, RecentDoses};

/// A column's type, for the typed NULL of the branches without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    Int,
}

use crate::native::{Fetch, FetchOn};
use Ty::{Int, Text};

impl Ty {
    fn sql(self) -> &'static str {
        match self {
            Text => "TEXT",
            Int => "BIGINT",
        }
    }
}

type Columns = &'static [(&'static str, Ty)];

/// The patient, with the kinds of privacy fact they have any rows of
/// ([`crate::privacy::fact_kinds_listed`]) in the same row: each branch of the
/// statement gives every column, and one branch more cost PostgreSQL more to
/// start than its row to read (issue 16).
const PATIENT: Columns = &[
    ("id", Text),
    ("national_id", Text),
    ("given_name", Text),
    ("family_name", Text),
    ("phone", Text),
    ("address", Text),
    ("photos", Int),
    ("fact_kinds", Text),
];

const EPISODE: Columns = &[
    ("id", Text),
    ("patient_id", Text),
    ("responsible_unit", Text),
    ("doctor_id", Text),
    ("consultant_id", Text),
    ("started_on", Text),
    ("phase", Text),
    ("created_at", Int),
    ("ended_on", Text),
    ("end_reason", Text),
    ("end_note", Text),
    ("end_by", Text),
];

const ORDER: Columns = &[
    ("id", Text),
    ("patient_id", Text),
    ("episode_id", Text),
    ("substance", Text),
    ("form", Text),
    ("parts", Text),
    ("effective_from", Text),
    ("titration", Text),
    ("reason", Text),
    ("created_by", Text),
    ("created_at", Int),
    ("version", Int),
    ("signed_by", Text),
    ("signed_at", Int),
    ("warnings_confirmed", Text),
    ("discarded_by", Text),
    ("discarded_at", Int),
    ("discard_reason", Text),
];

const ARRANGEMENT: Columns = &[
    ("id", Text),
    ("patient_id", Text),
    ("version", Int),
    ("place_id", Text),
    ("week", Text),
    ("valid_from", Text),
    ("review_on", Text),
    ("group_id", Text),
    ("window_start", Text),
    ("window_end", Text),
    ("reason", Text),
    ("decided_by", Text),
    ("decided_at", Int),
];

const COVER: Columns = &[
    ("id", Text),
    ("patient_id", Text),
    ("cover_date", Text),
    ("kind", Text),
    ("take_home_from", Text),
    ("place_id", Text),
    ("decided_by", Text),
    ("decided_at", Int),
];

const EVENT: Columns = &[
    ("id", Text),
    ("idempotency_key", Text),
    ("patient_id", Text),
    ("place_id", Text),
    ("day", Text),
    ("outcome", Text),
    ("reason", Text),
    ("identity_confirmed_by", Text),
    ("recorded_by", Text),
    ("recorded_at", Int),
];

const IDENTITY: Columns = &[
    ("patient_id", Text),
    ("version", Int),
    ("national_id", Text),
    ("given_name", Text),
    ("family_name", Text),
    ("phone", Text),
    ("address", Text),
    ("reason", Text),
    ("recorded_by", Text),
    ("recorded_at", Int),
];

const KEPT: Columns = &[
    ("patient_id", Text),
    ("last_dosed_day", Text),
    ("dosed_days", Text),
    ("ever_given", Int),
    ("assessed_days", Text),
];

const DOSE: Columns = &[
    ("event_id", Text),
    ("patient_id", Text),
    ("dose_date", Text),
    ("part", Int),
    ("mode", Text),
    ("substance", Text),
    ("order_id", Text),
    ("amount_ug", Int),
    ("ordered_ug", Int),
    ("generation", Int),
    ("outcome", Text),
    ("reason", Text),
    ("place_id", Text),
    ("recorded_at", Int),
    ("recorded_by", Text),
    ("voided_by", Text),
];

const HEALTH: Columns = &[
    ("id", Text),
    ("patient_id", Text),
    ("kind", Text),
    ("text", Text),
    ("active", Int),
    ("replaces", Text),
    ("reason", Text),
    ("recorded_by", Text),
    ("recorded_at", Int),
];

/// What else to read with the patient's record.
#[derive(Debug, Clone, Copy, Default)]
pub struct Also<'a> {
    /// The dispensing event recorded under this idempotency key, if any (a
    /// retried recording is answered with it).
    pub event_key: Option<&'a str>,
    /// The recorded doses of dose dates in [from, to], in full from `near` on, and
    /// the kept dosing state: `(from, near, to)`, as
    /// [`crate::dispensing::recent_doses_of`] reads them.
    pub recent: Option<(Date, Date, Date)>,
    /// The overview's history: `(lookback, from, to)`, the days dosed in
    /// [lookback, to] from the kept dosing state, and every recorded dose of dose
    /// dates in [from, to], voided ones too.
    pub history: Option<(Date, Date, Date)>,
    /// Every version of the health notes the patient shares, as
    /// [`crate::health::notes_of`] reads them.
    pub health: bool,
}

/// What [`Also::history`] reads.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Every version of the patient's identity, oldest first.
    pub identity: Vec<IdentityVersion>,
    /// The recorded doses, voided ones beside their corrections, by dose date,
    /// part and generation.
    pub doses: Vec<DispensedDose>,
    /// The days of the lookback with a dose had, ascending.
    pub dosed_days: Vec<Date>,
}

/// One patient's record as read by [`read`].
#[derive(Debug, Clone, Default)]
pub struct OnePatient {
    /// None when there is no such patient.
    pub patient: Option<Patient>,
    /// Oldest first.
    pub episodes: Vec<Episode>,
    /// Every order, drafts and discarded ones too, in the order written.
    pub orders: Vec<DoseOrder>,
    /// By version.
    pub arrangements: Vec<Arrangement>,
    /// By date.
    pub covers: Vec<Cover>,
    pub privacy: PrivacyFacts,
    /// The event of [`Also::event_key`] (of whichever patient it was recorded for).
    pub event_by_key: Option<DispensingEvent>,
    /// When [`Also::recent`] was asked for.
    pub recent: Option<RecentDoses>,
    /// The kept dosing state as read (the default where the patient has no row),
    /// when [`Also::recent`] was asked for.
    pub kept: Option<DoseDayState>,
    /// When [`Also::history`] was asked for.
    pub history: Option<History>,
    /// When [`Also::health`] was asked for: every version, oldest first.
    pub health: Option<Vec<samhand_domain::health::HealthNote>>,
}

/// One branch of the statement: its kind, its columns and its SELECT.
struct Part {
    input: &'static str,
    columns: Columns,
    select: String,
}

/// The UNION ALL of the parts, each giving every part's columns.
fn union_sql(parts: &[Part]) -> String {
    let mut all: Vec<(&str, Ty)> = Vec::new();
    for part in parts {
        for &(name, ty) in part.columns {
            match all.iter().find(|(n, _)| *n == name) {
                Some((_, known)) => assert_eq!(*known, ty, "column {name} with two types"),
                None => all.push((name, ty)),
            }
        }
    }
    parts
        .iter()
        .map(|part| {
            let columns = all
                .iter()
                .map(|(name, ty)| {
                    if part.columns.iter().any(|(n, _)| n == name) {
                        format!("q.{name}")
                    } else {
                        format!("CAST(NULL AS {}) AS {name}", ty.sql())
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "SELECT CAST('{}' AS TEXT) AS input, {columns} FROM ({}) q",
                part.input, part.select
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Which of the optional parts a statement has.
#[derive(Debug, Clone, Copy)]
struct Optional {
    event: bool,
    recent: bool,
    history: bool,
    health: bool,
}

/// The statement of [`read`] with or without the event of a key, the recent
/// doses, the history and the health notes: sixteen texts, each built once
/// (building it took a fifteenth of an overview's time, issue 16). `$1` is the
/// patient, then the key, then the recent days, then the history's.
fn statement(with: Optional) -> &'static str {
    static BUILT: [OnceLock<String>; 16] = [const { OnceLock::new() }; 16];
    let index = usize::from(with.event) * 8
        + usize::from(with.recent) * 4
        + usize::from(with.history) * 2
        + usize::from(with.health);
    BUILT[index].get_or_init(|| union_sql(&parts(with)))
}

/// The kept dosing state's part.
fn kept_part() -> Part {
    Part {
        input: "kept",
        columns: KEPT,
        select: format!("{} WHERE patient_id = $1", crate::day_state::KEPT_SELECT),
    }
}

/// The parts of [`statement`].
fn parts(with: Optional) -> Vec<Part> {
    let Optional {
        event,
        recent,
        history,
        health,
    } = with;
    let mut parts = vec![
        Part {
            input: "patient",
            columns: PATIENT,
            select: format!(
                "SELECT p.*, ({}) AS fact_kinds FROM ({} WHERE p.id = $1) p",
                crate::privacy::fact_kinds_listed("= $1"),
                crate::patients::PATIENT_SELECT
            ),
        },
        Part {
            input: "episode",
            columns: EPISODE,
            select: format!("{} WHERE e.patient_id = $1", crate::patients::EPISODE_SELECT),
        },
        Part {
            input: "order",
            columns: ORDER,
            select: format!("{} WHERE o.patient_id = $1", crate::orders::ORDER_SELECT),
        },
        Part {
            input: "arrangement",
            columns: ARRANGEMENT,
            select: format!("{} WHERE patient_id = $1", crate::orders::ARRANGEMENT_SELECT),
        },
        Part {
            input: "cover",
            columns: COVER,
            select: format!("{} WHERE patient_id = $1", crate::orders::COVER_SELECT),
        },
    ];
    if event {
        parts.push(Part {
            input: "event",
            columns: EVENT,
            select: format!(
                "SELECT {} FROM dispensing_events WHERE idempotency_key = $2",
                crate::dispensing::EVENT_COLUMNS
            ),
        });
    }
    if recent {
        let n = 1 + usize::from(event);
        let (near, to, from, mode) = (n + 1, n + 2, n + 3, n + 4);
        let doses = crate::dispensing::DOSE_SELECT;
        // As `recent_doses_of`: the days near in full, and the depot injections
        // before them, each a range of the (patient, day) index.
        parts.push(Part {
            input: "dose",
            columns: DOSE,
            select: format!(
                "{doses} WHERE d.patient_id = $1 AND v.correction_event_id IS NULL
                 AND d.dose_date >= ${near} AND d.dose_date <= ${to}"
            ),
        });
        parts.push(Part {
            input: "dose",
            columns: DOSE,
            select: format!(
                "{doses} WHERE d.patient_id = $1 AND v.correction_event_id IS NULL
                 AND d.dose_date >= ${from} AND d.dose_date < ${near} AND d.mode = ${mode}"
            ),
        });
        parts.push(kept_part());
    }
    if history {
        let n = 1 + usize::from(event) + 4 * usize::from(recent);
        let (from, to) = (n + 1, n + 2);
        parts.push(Part {
            input: "identity",
            columns: IDENTITY,
            select: format!(
                "{} WHERE patient_id = $1",
                crate::patients::IDENTITY_VERSION_SELECT
            ),
        });
        // As `dose_history_of`: corrected recordings too.
        parts.push(Part {
            input: "history",
            columns: DOSE,
            select: format!(
                "{} WHERE d.patient_id = $1 AND d.dose_date >= ${from} AND d.dose_date <= ${to}",
                crate::dispensing::DOSE_SELECT
            ),
        });
        if !recent {
            parts.push(kept_part());
        }
    }
    if health {
        parts.push(Part {
            input: "health",
            columns: HEALTH,
            select: format!("{} WHERE patient_id = $1", crate::health::NOTE_SELECT),
        });
    }
    parts
}

/// Reads one patient's record (see the module's text): one statement, and one
/// more per kind of privacy fact present, and one for a kept dosing state that
/// does not reach back to the start of [`Also::recent`].
pub async fn read(conn: &mut impl Fetch, patient: PatientId, also: Also<'_>) -> Result<OnePatient> {
    let mut binds = vec![patient.to_string()];
    binds.extend(also.event_key.map(str::to_string));
    if let Some((from, near, to)) = also.recent {
        let near = near.clamp(from, to);
        binds.extend([
            date_text(near),
            date_text(to),
            date_text(from),
            IntakeMode::Injection.code().to_string(),
        ]);
    }
    if let Some((_, from, to)) = also.history {
        binds.extend([date_text(from), date_text(to)]);
    }
    let sql = statement(Optional {
        event: also.event_key.is_some(),
        recent: also.recent.is_some(),
        history: also.history.is_some(),
        health: also.health,
    });
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all_on(&mut *conn).await?;

    let mut found = OnePatient::default();
    let mut present = HashSet::new();
    let mut doses = Vec::new();
    let mut history = History::default();
    let mut kept = None;
    let mut health = also.health.then(Vec::new);
    // The overview alone needs the kept days from its lookback on.
    let kept_from = match (also.recent, also.history) {
        (None, Some((lookback, _, _))) => date_text(lookback),
        _ => String::new(),
    };
    for row in &rows {
        match text(row, "input")?.as_str() {
            "patient" => {
                found.patient = Some(crate::patients::patient_from_row(row)?);
                let kinds = text(row, "fact_kinds")?;
                present.extend(kinds.split(',').filter(|k| !k.is_empty()).map(str::to_string));
            }
            "episode" => found.episodes.push(crate::patients::episode_from_row(row)?),
            "order" => found.orders.push(crate::orders::order_from_row(row)?),
            "arrangement" => found.arrangements.push(crate::orders::arrangement_from_row(row)?),
            "cover" => found.covers.push(crate::orders::cover_from_row(row)?),
            "event" => found.event_by_key = Some(crate::dispensing::event_from_row(row)?),
            "dose" => doses.push(crate::dispensing::dose_from_row(row)?),
            "history" => history.doses.push(crate::dispensing::dose_from_row(row)?),
            "identity" => history
                .identity
                .push(crate::patients::identity_version_from_row(row)?),
            "kept" => kept = Some(crate::day_state::state_from_row(row, &kept_from)?),
            "health" => {
                if let Some(notes) = health.as_mut() {
                    notes.push(crate::health::from_row(row)?);
                }
            }
            other => return Err(crate::codec::corrupt(format!("input {other}"))),
        }
    }
    found.episodes.sort_by_key(|e| (e.started_on, e.created_at));
    found.orders.sort_by_key(|o| (o.created_at, o.id));
    found.arrangements.sort_by_key(|a| a.version);
    found.covers.sort_by_key(|c| (c.date, c.decided_at));
    if let Some(notes) = health.as_mut() {
        notes.sort_by_key(|n| (n.recorded_at, n.id));
    }
    found.health = health;
    if !present.is_empty() {
        let facts = HashMap::from([(patient, PrivacyFacts::default())]);
        found.privacy = crate::privacy::facts_of_kinds(conn, &[patient], &present, facts)
            .await?
            .remove(&patient)
            .unwrap_or_default();
    }
    // The kept state as the readers of many patients have it: the row, if any.
    let mut kept_rows: HashMap<PatientId, DoseDayState> = kept.map(|k| (patient, k)).into_iter().collect();
    if let Some((from, _, to)) = also.recent {
        doses.sort_by_key(|d| (d.key.date, d.key.part));
        let (dosed_days, ever_given) =
            crate::day_state::dosed_days_of_kept(conn, &kept_rows, from, to).await?;
        found.recent = Some(RecentDoses {
            doses,
            dosed_days,
            ever_given,
        });
    }
    if let Some((lookback, _, to)) = also.history {
        history.identity.sort_by_key(|v| v.version);
        history
            .doses
            .sort_by_key(|d| (d.key.date, d.key.part, d.generation));
        let (mut dosed, _) = crate::day_state::dosed_days_of_kept(conn, &kept_rows, lookback, to).await?;
        history.dosed_days = dosed.remove(&patient).unwrap_or_default();
        found.history = Some(history);
    }
    if also.recent.is_some() {
        found.kept = Some(kept_rows.remove(&patient).unwrap_or_default());
    }
    Ok(found)
}
