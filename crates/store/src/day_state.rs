//! The kept dosing state of each patient (issue 16, lever 1; migration 0037; H68,
//! H69): one row per patient with the days they had a dose (given, reduced or
//! handed over; not withheld, not voided) from [`KEPT_DAYS`] before their latest
//! such day on, that latest day, and whether a dose above zero ever stands. The
//! window, today's list, the alerts and a recording read it instead of
//! aggregating the 60-day lookback of doses joined to their events. Since
//! migration 0048 it also keeps the days with a dose recorded withheld or reduced
//! (any outcome but given), so that the alerts look up the doses of only those
//! patients with one today (H102).
//!
//! What is kept is the input of the missed-dose rule, not its verdict. The
//! verdict (the run of days without dose, the block) also depends on the
//! schedule, the stays and the reassessments, and on days passing without any
//! write; it is computed from this row and the patient's schedule data on every
//! read, as before, so nothing but the days dosed can go stale.
//!
//! The row is a function of the history ([`derived_of`]) and is written in the
//! transaction of every write that changes the history: a recording adds its
//! days ([`record`]), a correction derives the row again ([`rederive`]). Both
//! lock the row first, so concurrent writes of one patient on PostgreSQL cannot
//! lose each other's days. `samhand verify-state` compares kept with derived.

use std::collections::{HashMap, HashSet};

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::ids::PatientId;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, date_text, int, parsed, text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};

/// How many days before the latest day dosed the row keeps: twice the missed-dose
/// lookback, so that a read of the lookback as of any day up to that latest day
/// plus the lookback (and a week of take-home ahead) finds every day it needs.
/// An older range falls back to the history ([`DoseDayState::covers`]).
pub const KEPT_DAYS: i64 = 2 * samhand_domain::missed::LOOKBACK_DAYS;

/// One patient's kept (or derived) state. No row is the default: no day dosed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DoseDayState {
    /// The latest dose date of a dose had, future take-home days included.
    pub last_dosed: Option<Date>,
    /// The days dosed from `last_dosed - KEPT_DAYS` on, ascending, each once.
    pub dosed_days: Vec<Date>,
    /// Whether a dose with an amount above zero stands (the next dose is not the
    /// patient's first).
    pub ever_given: bool,
    /// The dose dates with a dose standing whose recording's outcome is not given
    /// (withheld, reduced, a correction), from the same first day on, ascending.
    pub assessed_days: Vec<Date>,
}

impl DoseDayState {
    /// The state of a history: every day dosed (any order) and whether a dose
    /// above zero stands.
    pub fn of_history(days: impl IntoIterator<Item = Date>, ever_given: bool) -> Self {
        let mut state = Self {
            ever_given,
            ..Self::default()
        };
        state.add(days);
        state
    }

    /// As [`Self::of_history`], with the days of a dose withheld or reduced.
    pub fn with_assessed(mut self, days: impl IntoIterator<Item = Date>) -> Self {
        self.add_assessed(days);
        self
    }

    /// The first day the row keeps, if any day is dosed or assessed: [`KEPT_DAYS`]
    /// before the later of the latest day dosed and the latest day assessed.
    fn kept_from(&self) -> Option<Date> {
        self.last_dosed
            .max(self.assessed_days.last().copied())
            .map(|last| last.checked_sub(Span::new().days(KEPT_DAYS)).unwrap_or(last))
    }

    /// Adds days dosed: the set grows, the latest day moves on, and days that fall
    /// out of the kept range go.
    pub fn add(&mut self, days: impl IntoIterator<Item = Date>) {
        self.dosed_days.extend(days);
        self.last_dosed = self.dosed_days.iter().copied().max().max(self.last_dosed);
        self.settle();
    }

    /// Adds days with a dose withheld or reduced, as [`Self::add`] adds days dosed.
    pub fn add_assessed(&mut self, days: impl IntoIterator<Item = Date>) {
        self.assessed_days.extend(days);
        self.settle();
    }

    /// Sorts both lists, each day once, and lets the days before the kept range go.
    fn settle(&mut self) {
        for days in [&mut self.dosed_days, &mut self.assessed_days] {
            days.sort();
            days.dedup();
        }
        if let Some(from) = self.kept_from() {
            self.dosed_days.retain(|d| *d >= from);
            self.assessed_days.retain(|d| *d >= from);
        }
    }

    /// Whether the row holds every day dosed from `from` on.
    pub fn covers(&self, from: Date) -> bool {
        self.kept_from().is_none_or(|kept| from >= kept)
    }

    /// The days dosed in [from, to] (only meaningful when [`Self::covers`] `from`).
    pub fn days_in(&self, from: Date, to: Date) -> Vec<Date> {
        self.dosed_days
            .iter()
            .copied()
            .filter(|d| *d >= from && *d <= to)
            .collect()
    }
}

fn encode(days: &[Date]) -> String {
    days.iter().map(|d| date_text(*d)).collect::<Vec<_>>().join(",")
}

fn decode(list: &str) -> Result<Vec<Date>> {
    decode_from(list, "")
}

/// The days of a kept list from `from` (a day as [`date_text`] writes it, or ""
/// for all) on. ISO days compare as text in the order of the days, so the days
/// before `from` are skipped unparsed; the rest are read as `YYYY-MM-DD` by hand
/// (a general date parser was a fifth of the alerts' time, H91), anything else
/// by the general parser.
fn decode_from(list: &str, from: &str) -> Result<Vec<Date>> {
    list.split(',')
        .filter(|d| !d.is_empty() && *d >= from)
        .map(|d| iso_day(d).map_or_else(|| d.parse::<Date>().map_err(corrupt), Ok))
        .collect()
}

/// A day written `YYYY-MM-DD`, or `None` when it is not written so (or is no day).
fn iso_day(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0i16, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + i16::from(c - b'0'))
        })
    };
    let month = i8::try_from(number(&b[5..7])?).ok()?;
    let day = i8::try_from(number(&b[8..10])?).ok()?;
    Date::new(number(&b[0..4])?, month, day).ok()
}

pub(crate) fn state_from_row(row: &AnyRow, from: &str) -> Result<DoseDayState> {
    Ok(DoseDayState {
        last_dosed: crate::codec::parsed_opt(row, "last_dosed_day")?,
        dosed_days: decode_from(&text(row, "dosed_days")?, from)?,
        ever_given: int(row, "ever_given")? != 0,
        assessed_days: decode_from(&text(row, "assessed_days")?, from)?,
    })
}

/// The kept rows of some patients (patients without a row are left out: their
/// state is the default).
pub async fn kept_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<HashMap<PatientId, DoseDayState>> {
    kept_rows(conn, patients, "").await
}

/// The kept rows, for a `WHERE` to follow.
pub(crate) const KEPT_SELECT: &str =
    "SELECT patient_id, last_dosed_day, dosed_days, ever_given, assessed_days FROM dose_day_state";

/// As [`kept_of`], with only the days from `from` (as text, "" for all) decoded:
/// what a read of a range needs, without the days before it.
async fn kept_rows(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    from: &str,
) -> Result<HashMap<PatientId, DoseDayState>> {
    let sql = format!("{KEPT_SELECT} WHERE patient_id IN ({{ids}})");
    rows_for_patients(conn, &sql, &[], patients)
        .await?
        .iter()
        .map(|row| Ok((parsed(row, "patient_id")?, state_from_row(row, from)?)))
        .collect()
}

/// Each dose day of some patients as the full history has it: whether a dose
/// stands that was had, and whether one above zero stands (voided doses left
/// out).
const HISTORY_DAYS: &str = "SELECT d.patient_id, d.dose_date,
        MAX(CASE WHEN e.outcome <> $1 THEN 1 ELSE 0 END) AS dosed,
        MAX(CASE WHEN d.amount_ug > 0 THEN 1 ELSE 0 END) AS given,
        MAX(CASE WHEN e.outcome <> $2 THEN 1 ELSE 0 END) AS assessed
    FROM dispensed_doses d JOIN dispensing_events e ON e.id = d.event_id
    LEFT JOIN dispensing_voids v ON v.patient_id = d.patient_id AND v.dose_date = d.dose_date
        AND v.part = d.part AND v.generation = d.generation
    WHERE v.correction_event_id IS NULL AND d.patient_id IN ({ids})
    GROUP BY d.patient_id, d.dose_date";

/// The state of some patients derived from their whole history of recorded doses,
/// corrections applied: what the kept row must equal. Patients with no dose that
/// counts are left out (their state is the default).
pub async fn derived_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
) -> Result<HashMap<PatientId, DoseDayState>> {
    let leading = [
        OutcomeKind::Withheld.code().to_string(),
        OutcomeKind::Given.code().to_string(),
    ];
    #[derive(Default)]
    struct History {
        dosed: Vec<Date>,
        given: bool,
        assessed: Vec<Date>,
    }
    let mut days: HashMap<PatientId, History> = HashMap::new();
    for row in rows_for_patients(conn, HISTORY_DAYS, &leading, patients).await? {
        let entry = days.entry(parsed(&row, "patient_id")?).or_default();
        let day: Date = parsed(&row, "dose_date")?;
        if int(&row, "dosed")? != 0 {
            entry.dosed.push(day);
        }
        if int(&row, "assessed")? != 0 {
            entry.assessed.push(day);
        }
        entry.given |= int(&row, "given")? != 0;
    }
    Ok(days
        .into_iter()
        .map(|(patient, h)| {
            (
                patient,
                DoseDayState::of_history(h.dosed, h.given).with_assessed(h.assessed),
            )
        })
        .filter(|(_, state)| *state != DoseDayState::default())
        .collect())
}

/// The days dosed of some patients in [from, to], from the history: the lookback
/// as read before the kept state, and still where the row does not reach back.
pub async fn dosed_days_from_history(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<HashMap<PatientId, Vec<Date>>> {
    if patients.is_empty() {
        return Ok(HashMap::new());
    }
    let aggregate = if crate::db::is_postgres(conn) {
        "string_agg(DISTINCT d.dose_date, ',')"
    } else {
        "group_concat(DISTINCT d.dose_date)"
    };
    let sql = format!(
        "SELECT d.patient_id, {aggregate} AS days
         FROM dispensed_doses d JOIN dispensing_events e ON e.id = d.event_id
         LEFT JOIN dispensing_voids v ON v.patient_id = d.patient_id AND v.dose_date = d.dose_date
             AND v.part = d.part AND v.generation = d.generation
         WHERE d.dose_date >= $1 AND d.dose_date <= $2 AND e.outcome <> $3
         AND d.patient_id IN ({{ids}}) AND v.correction_event_id IS NULL
         GROUP BY d.patient_id"
    );
    let leading = [
        date_text(from),
        date_text(to),
        OutcomeKind::Withheld.code().to_string(),
    ];
    let mut dosed = HashMap::new();
    for row in rows_for_patients(conn, &sql, &leading, patients).await? {
        let mut days = decode(&text(&row, "days")?)?;
        days.sort();
        dosed.insert(parsed(&row, "patient_id")?, days);
    }
    Ok(dosed)
}

/// Some patients' days dosed in [from, to] and which of them ever had a dose above
/// zero: from the kept rows, and from the history for a patient whose row does not
/// reach back to `from`.
pub async fn dosed_days_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<(HashMap<PatientId, Vec<Date>>, HashSet<PatientId>)> {
    let kept = kept_rows(conn, patients, &date_text(from)).await?;
    dosed_days_of_kept(conn, &kept, from, to).await
}

/// What the alerts read of some patients' kept rows about the lookback [from, to]
/// (H102).
#[derive(Debug, Clone, Default)]
pub struct Lookback {
    /// Each patient's days dosed in [from, to], as [`dosed_days_of`] gives them.
    pub dosed_days: HashMap<PatientId, Vec<Date>>,
    /// The patients who may have a dose withheld or reduced on `to`: those whose
    /// row has that day, and those whose row does not reach back to it. A patient
    /// without a row has no dose recorded at all.
    pub assessed_on_to: Vec<PatientId>,
}

/// The days dosed of some patients in [from, to], and who of them may have a dose
/// withheld or reduced on `to`: one kept row per patient.
pub async fn lookback_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<Lookback> {
    let kept = kept_rows(conn, patients, &date_text(from)).await?;
    let mut assessed_on_to: Vec<PatientId> = kept
        .iter()
        .filter(|(_, state)| !state.covers(to) || state.assessed_days.binary_search(&to).is_ok())
        .map(|(patient, _)| *patient)
        .collect();
    assessed_on_to.sort();
    let (dosed_days, _) = dosed_days_of_kept(conn, &kept, from, to).await?;
    Ok(Lookback {
        dosed_days,
        assessed_on_to,
    })
}

/// [`dosed_days_of`] from the kept rows as read already (patients without a row
/// left out).
pub(crate) async fn dosed_days_of_kept(
    conn: &mut impl Fetch,
    kept: &HashMap<PatientId, DoseDayState>,
    from: Date,
    to: Date,
) -> Result<(HashMap<PatientId, Vec<Date>>, HashSet<PatientId>)> {
    let mut dosed = HashMap::new();
    let mut ever_given = HashSet::new();
    let mut beyond = Vec::new();
    for (patient, state) in kept {
        if state.ever_given {
            ever_given.insert(*patient);
        }
        if !state.covers(from) {
            beyond.push(*patient);
            continue;
        }
        let days = state.days_in(from, to);
        if !days.is_empty() {
            dosed.insert(*patient, days);
        }
    }
    dosed.extend(dosed_days_from_history(conn, &beyond, from, to).await?);
    Ok((dosed, ever_given))
}

/// Locks a patient's row for the rest of the transaction (made when missing) and
/// reads it. On SQLite the write transaction already holds the database's one
/// write lock.
async fn lock(conn: &mut impl Fetch, patient: PatientId) -> Result<DoseDayState> {
    let select = if crate::db::is_postgres(conn) {
        "SELECT last_dosed_day, dosed_days, ever_given, assessed_days FROM dose_day_state WHERE patient_id = $1 FOR UPDATE"
    } else {
        "SELECT last_dosed_day, dosed_days, ever_given, assessed_days FROM dose_day_state WHERE patient_id = $1"
    };
    for _ in 0..2 {
        let row = sqlx::query(select)
            .bind(patient.to_string())
            .fetch_optional_on(&mut *conn)
            .await?;
        if let Some(row) = row {
            return state_from_row(&row, "");
        }
        // A concurrent first write of the same patient waits here for the other
        // to commit, and then finds its row.
        sqlx::query(
            "INSERT INTO dose_day_state (patient_id, last_dosed_day, dosed_days, ever_given, assessed_days) VALUES ($1, NULL, '', 0, '')
             ON CONFLICT (patient_id) DO NOTHING",
        )
        .bind(patient.to_string())
        .execute_on(&mut *conn)
        .await?;
    }
    Err(crate::StoreError::Corrupt(format!(
        "the kept dosing state of patient {patient} could not be locked"
    )))
}

async fn store(conn: &mut impl Fetch, patient: PatientId, state: &DoseDayState) -> Result<()> {
    sqlx::query(
        "UPDATE dose_day_state SET last_dosed_day = $2, dosed_days = $3, ever_given = $4, assessed_days = $5
         WHERE patient_id = $1",
    )
    .bind(patient.to_string())
    .bind(state.last_dosed.map(date_text))
    .bind(encode(&state.dosed_days))
    .bind(i64::from(state.ever_given))
    .bind(encode(&state.assessed_days))
    .execute_on(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a recording's doses to the patient's row, in the recording's transaction:
/// its days when the outcome is a dose had, its days as assessed when the outcome
/// is not given, and whether one is above zero.
pub(crate) async fn record(
    conn: &mut impl Fetch,
    patient: PatientId,
    outcome: OutcomeKind,
    days: &[Date],
    above_zero: bool,
) -> Result<()> {
    let dosed: &[Date] = if outcome.is_dosed() { days } else { &[] };
    let assessed: &[Date] = if outcome == OutcomeKind::Given { &[] } else { days };
    if dosed.is_empty() && assessed.is_empty() && !above_zero {
        // Nothing the derivation reads changes.
        return Ok(());
    }
    let mut state = lock(conn, patient).await?;
    state.add(dosed.iter().copied());
    state.add_assessed(assessed.iter().copied());
    state.ever_given |= above_zero;
    store(conn, patient, &state).await
}

/// Derives the patient's row again from the history, in the transaction of a
/// correction (a void can take a day away, and with it the latest day). The row
/// is locked before the history is read, so a concurrent recording's days are
/// either seen here or added after.
pub(crate) async fn rederive(conn: &mut impl Fetch, patient: PatientId) -> Result<()> {
    lock(conn, patient).await?;
    let state = derived_of(conn, &[patient])
        .await?
        .remove(&patient)
        .unwrap_or_default();
    store(conn, patient, &state).await
}

/// Writes the rows of patients whose whole history the caller derived or knows
/// (the backfill; the bench's synthetic world, written in bulk past the recording
/// path), in multi-row statements, replacing any row there.
pub(crate) async fn put_many(conn: &mut impl Fetch, states: &[(PatientId, DoseDayState)]) -> Result<()> {
    for chunk in states.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO dose_day_state (patient_id, last_dosed_day, dosed_days, ever_given, assessed_days) VALUES {}
             ON CONFLICT (patient_id) DO UPDATE SET last_dosed_day = excluded.last_dosed_day,
             dosed_days = excluded.dosed_days, ever_given = excluded.ever_given,
             assessed_days = excluded.assessed_days",
            crate::db::row_placeholders(conn, chunk.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for (patient, state) in chunk {
            query = query
                .bind(patient.to_string())
                .bind(state.last_dosed.map(date_text))
                .bind(encode(&state.dosed_days))
                .bind(i64::from(state.ever_given))
                .bind(encode(&state.assessed_days));
        }
        query.execute_on(&mut *conn).await?;
    }
    Ok(())
}

/// Rows per multi-row statement of [`put_many`].
const ROWS_PER_STATEMENT: usize = 200;

/// Every patient id, in batches for [`verify`] and [`backfill`].
async fn all_patients(conn: &mut impl Fetch) -> Result<Vec<PatientId>> {
    sqlx::query("SELECT id FROM patients ORDER BY id")
        .fetch_all_on(&mut *conn)
        .await?
        .iter()
        .map(|row| parsed(row, "id"))
        .collect()
}

/// Patients derived per query by [`verify`] and [`backfill`].
const BATCH: usize = 200;

/// A patient whose kept row differs from their history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub patient: PatientId,
    pub kept: DoseDayState,
    pub derived: DoseDayState,
}

/// Compares every patient's kept row with the state derived from their history.
/// Returns the patients compared and those that differ.
pub async fn verify(conn: &mut AnyConnection) -> Result<(usize, Vec<Mismatch>)> {
    let patients = all_patients(conn).await?;
    let mut mismatches = Vec::new();
    for batch in patients.chunks(BATCH) {
        let mut kept = kept_of(conn, batch).await?;
        let mut derived = derived_of(conn, batch).await?;
        for patient in batch {
            let kept = kept.remove(patient).unwrap_or_default();
            let derived = derived.remove(patient).unwrap_or_default();
            if kept != derived {
                mismatches.push(Mismatch {
                    patient: *patient,
                    kept,
                    derived,
                });
            }
        }
    }
    Ok((patients.len(), mismatches))
}

/// Builds the rows from the history once, when migration 0037 has left its mark
/// (`dose_day_state_backfill`): a database that had doses before the kept state
/// existed. The rows and the removal of the mark commit together, so a start
/// that stops half-way builds them again at the next start. Returns the number
/// of patients derived, or `None` when nothing was pending.
pub async fn backfill(store: &crate::Store) -> Result<Option<usize>> {
    let mut tx = store.write().await?;
    let pending = sqlx::query("SELECT COUNT(*) AS n FROM dose_day_state_backfill")
        .fetch_one_on(&mut tx)
        .await?;
    if int(&pending, "n")? == 0 {
        return Ok(None);
    }
    let patients = all_patients(&mut tx).await?;
    for batch in patients.chunks(BATCH) {
        let derived: Vec<_> = derived_of(&mut tx, batch).await?.into_iter().collect();
        put_many(&mut tx, &derived).await?;
    }
    sqlx::query("DELETE FROM dose_day_state_backfill")
        .execute_on(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(Some(patients.len()))
}

/// Derives every patient's row from the history again (`samhand verify-state
/// --rebuild`): sets the mark and runs [`backfill`]. Returns the patients derived.
pub async fn rebuild(store: &crate::Store) -> Result<usize> {
    let mut tx = store.write().await?;
    sqlx::query("INSERT INTO dose_day_state_backfill (pending) VALUES (1) ON CONFLICT (pending) DO NOTHING")
        .execute_on(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(backfill(store).await?.unwrap_or_default())
}

impl std::fmt::Display for DoseDayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last = self
            .last_dosed
            .map_or_else(|| "none".to_string(), |d| d.to_string());
        write!(
            f,
            "latest day dosed {last}, {} days kept ({}), dose above zero {}, days withheld or reduced ({})",
            self.dosed_days.len(),
            encode(&self.dosed_days),
            if self.ever_given { "yes" } else { "no" },
            encode(&self.assessed_days)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// H91: the hand decoder reads every day as the general parser does, refuses
    /// what is no day, and a range read skips exactly the days before it.
    #[test]
    fn the_hand_decoder_reads_days_as_the_general_parser_and_refuses_what_is_no_day() {
        let mut day = date(1899, 12, 25);
        while day < date(2101, 1, 10) {
            assert_eq!(iso_day(&date_text(day)), Some(day), "{day}");
            day = day.checked_add(Span::new().days(13)).expect("date");
        }
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-32",
            "20x6-01-01",
            "2026/01/01",
            "2026-1-01",
            "+2026-01-1",
            "2026-01-0a",
        ] {
            assert_eq!(iso_day(bad), None, "{bad}");
            assert_eq!(iso_day(bad).is_some(), bad.parse::<Date>().is_ok(), "{bad}");
        }
        let days = [
            date(2026, 1, 30),
            date(2026, 1, 31),
            date(2026, 2, 1),
            date(2026, 2, 2),
        ];
        let list = encode(&days);
        assert_eq!(decode(&list).expect("all"), days);
        assert_eq!(decode_from(&list, "2026-02-01").expect("from"), days[2..]);
        assert!(
            decode("2026-02-30").is_err(),
            "a kept day that is no day is corruption"
        );
    }

    /// H102: the days withheld or reduced are kept over the same range as the days
    /// dosed, a range that ends at the later of the two latest days, so a patient
    /// withheld day after day keeps a bounded list and the same row as derived.
    #[test]
    fn assessed_days_share_the_kept_range_and_move_it_on() {
        let last = date(2026, 6, 1);
        let days_before = |n: i64| last.checked_sub(Span::new().days(n)).expect("date");
        let mut withheld_only = DoseDayState::default();
        withheld_only.add_assessed((0..=KEPT_DAYS + 30).map(days_before));
        assert_eq!(withheld_only.assessed_days.len() as i64, KEPT_DAYS + 1);
        assert_eq!(withheld_only.assessed_days.first(), Some(&days_before(KEPT_DAYS)));
        assert_eq!(withheld_only.last_dosed, None);
        // Dosed long ago, withheld lately: the old dosed days fall out of the range,
        // and the row no longer covers them.
        let mut state = DoseDayState::default();
        state.add([days_before(KEPT_DAYS + 5)]);
        assert!(state.covers(days_before(KEPT_DAYS + 5)));
        state.add_assessed([last]);
        assert_eq!(state.dosed_days, Vec::<Date>::new());
        assert_eq!(state.last_dosed, Some(days_before(KEPT_DAYS + 5)));
        assert!(!state.covers(days_before(KEPT_DAYS + 5)));
        assert_eq!(
            state,
            DoseDayState::of_history([days_before(KEPT_DAYS + 5)], false).with_assessed([last])
        );
    }

    #[test]
    fn adding_days_keeps_the_range_before_the_latest_and_covers_only_within_it() {
        let last = date(2026, 6, 1);
        let old = last.checked_sub(Span::new().days(KEPT_DAYS + 1)).expect("date");
        let edge = last.checked_sub(Span::new().days(KEPT_DAYS)).expect("date");
        let mut state = DoseDayState::default();
        assert!(state.covers(old), "no day dosed: nothing to miss");
        state.add([old, edge]);
        assert_eq!(state.dosed_days, vec![old, edge]);
        state.add([last, last]);
        assert_eq!(state.dosed_days, vec![edge, last], "the day out of range goes");
        assert_eq!(state.last_dosed, Some(last));
        assert!(state.covers(edge));
        assert!(!state.covers(old));
        // An earlier day added later does not move the latest day back.
        state.add([date(2026, 5, 1)]);
        assert_eq!(state.last_dosed, Some(last));
        assert_eq!(
            state,
            DoseDayState::of_history([old, edge, last, date(2026, 5, 1)], false)
        );
        assert_eq!(
            decode(&encode(&state.dosed_days)).expect("decode"),
            state.dosed_days
        );
    }
}
