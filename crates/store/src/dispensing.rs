//! Dispensing events and the scheduled doses they cover, and corrections of them.
//! The unique constraint `dispensed_doses_once` makes a second recording of a dose
//! fail in the database; a correction voids a dose's generation (never deletes it),
//! and the dose is then recorded again under the next one.

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::dispensing::{CorrectionKind, OutcomeKind, RecordedDose};
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DispensingId, DoseOrderId, OrganisationId, PatientId, UserId};
use samhand_domain::schedule::{DoseKey, IntakeMode};
use samhand_domain::substance::Substance;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::PatientWrite;
use crate::codec::{
    coded, corrupt, date_text, dose, dose_ug, instant, int, micros, parsed, parsed_opt, text,
};
use crate::db::Result;
use crate::db::rows_for_patients;
use crate::native::{Fetch, FetchOn};

/// One recording at the window, as stored.
#[derive(Debug, Clone)]
pub struct DispensingEvent {
    pub id: DispensingId,
    pub idempotency_key: String,
    pub patient_id: PatientId,
    pub place_id: OrganisationId,
    pub day: Date,
    pub outcome: OutcomeKind,
    /// The pre-dose assessment's reason for a withheld or reduced dose, the reason
    /// for handing over take-home doses held by today's withheld dose, or the reason
    /// of a correction.
    pub reason: Option<String>,
    pub identity_confirmed_by: UserId,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// One scheduled dose as recorded, with what it belonged to.
#[derive(Debug, Clone)]
pub struct DispensedDose {
    pub event_id: DispensingId,
    pub patient_id: PatientId,
    pub key: DoseKey,
    pub mode: IntakeMode,
    pub substance: Substance,
    pub order_id: DoseOrderId,
    pub amount: Dose,
    pub ordered: Dose,
    /// The how-manieth recording of this (patient, day, part): 0, and one more after
    /// each correction that voided the one before.
    pub generation: i64,
    /// From the event.
    pub outcome: OutcomeKind,
    pub reason: Option<String>,
    pub place_id: OrganisationId,
    pub recorded_at: Timestamp,
    pub recorded_by: UserId,
    /// The correction event that voided this dose, if one did.
    pub voided_by: Option<DispensingId>,
}

pub(crate) const EVENT_COLUMNS: &str = "id, idempotency_key, patient_id, place_id, day, outcome, reason, identity_confirmed_by, recorded_by, recorded_at";
const EVENT_COLUMNS_E: &str = "e.id, e.idempotency_key, e.patient_id, e.place_id, e.day, e.outcome, e.reason, e.identity_confirmed_by, e.recorded_by, e.recorded_at";

fn outcome_of(row: &AnyRow) -> Result<OutcomeKind> {
    coded(row, "outcome")
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<DispensingEvent> {
    Ok(DispensingEvent {
        id: parsed(row, "id")?,
        idempotency_key: text(row, "idempotency_key")?,
        patient_id: parsed(row, "patient_id")?,
        place_id: parsed(row, "place_id")?,
        day: parsed(row, "day")?,
        outcome: outcome_of(row)?,
        reason: sqlx::Row::try_get(row, "reason")?,
        identity_confirmed_by: parsed(row, "identity_confirmed_by")?,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// Writes the event and its doses (in the caller's transaction). A dose recorded
/// before, or a reused idempotency key, fails with [`crate::StoreError::Conflict`].
pub async fn insert(
    write: &mut PatientWrite,
    event: &DispensingEvent,
    doses: &[RecordedDose],
    substance: Substance,
    order_ids: &[DoseOrderId],
) -> Result<()> {
    insert_returning(write, event, doses, substance, order_ids)
        .await
        .map(drop)
}

/// As [`insert`], giving back the doses as written (as [`doses_of_event`] would
/// read them after the commit, without reading them).
pub async fn insert_returning(
    write: &mut PatientWrite,
    event: &DispensingEvent,
    doses: &[RecordedDose],
    substance: Substance,
    order_ids: &[DoseOrderId],
) -> Result<Vec<DispensedDose>> {
    let conn = write.of(event.patient_id)?;
    insert_event(conn, event).await?;
    let mut written = insert_doses(conn, event, doses, substance, order_ids).await?;
    // The kept dosing state moves in the same transaction (H68).
    let days: Vec<Date> = doses.iter().map(|d| d.key.date).collect();
    let above_zero = doses.iter().any(|d| dose_ug(d.amount) > 0);
    crate::day_state::record(conn, event.patient_id, event.outcome, &days, above_zero).await?;
    written.sort_by_key(|d| (d.key.date, d.key.part));
    Ok(written)
}

async fn insert_event(conn: &mut impl Fetch, event: &DispensingEvent) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO dispensing_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(event.id.to_string())
    .bind(&event.idempotency_key)
    .bind(event.patient_id.to_string())
    .bind(event.place_id.to_string())
    .bind(date_text(event.day))
    .bind(event.outcome.code())
    .bind(event.reason.clone())
    .bind(event.identity_confirmed_by.to_string())
    .bind(event.recorded_by.to_string())
    .bind(micros(event.recorded_at))
    .execute_on(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the doses of an event, each under the generation after its last voided
/// one, and gives them back as written.
async fn insert_doses(
    conn: &mut impl Fetch,
    event: &DispensingEvent,
    doses: &[RecordedDose],
    substance: Substance,
    order_ids: &[DoseOrderId],
) -> Result<Vec<DispensedDose>> {
    let mut written = Vec::with_capacity(doses.len());
    for (recorded, order_id) in doses.iter().zip(order_ids) {
        // The generation after the dose's voided ones, counted in the same statement.
        let row = sqlx::query(
            "INSERT INTO dispensed_doses (event_id, patient_id, dose_date, part, mode, substance, order_id, amount_ug, ordered_ug, generation)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, COUNT(*) FROM dispensing_voids
             WHERE patient_id = $2 AND dose_date = $3 AND part = $4
             RETURNING generation",
        )
        .bind(event.id.to_string())
        .bind(event.patient_id.to_string())
        .bind(date_text(recorded.key.date))
        .bind(i64::from(recorded.key.part))
        .bind(recorded.mode.code())
        .bind(substance.code())
        .bind(order_id.to_string())
        .bind(dose_ug(recorded.amount))
        .bind(dose_ug(recorded.ordered))
        .fetch_one_on(&mut *conn)
        .await?;
        written.push(DispensedDose {
            event_id: event.id,
            patient_id: event.patient_id,
            key: recorded.key,
            mode: recorded.mode,
            substance,
            order_id: *order_id,
            amount: recorded.amount,
            ordered: recorded.ordered,
            generation: int(&row, "generation")?,
            outcome: event.outcome,
            reason: event.reason.clone(),
            place_id: event.place_id,
            // As stored: in microseconds.
            recorded_at: Timestamp::from_microsecond(micros(event.recorded_at)).map_err(corrupt)?,
            recorded_by: event.recorded_by,
            voided_by: None,
        });
    }
    Ok(written)
}

/// A correction as stored: its own event, the event it corrects, and how.
#[derive(Debug, Clone)]
pub struct CorrectionRecord {
    pub event: DispensingEvent,
    pub corrects: DispensingId,
    pub kind: String,
}

/// Writes a correction (in the caller's transaction): its event, the link to the
/// event it corrects, the voids of that event's doses, and for a wrong amount the
/// dose as actually given. A second correction of the same event fails with
/// [`crate::StoreError::Conflict`], as does a void of a dose voided meanwhile.
pub async fn insert_correction(
    write: &mut PatientWrite,
    event: &DispensingEvent,
    corrects: DispensingId,
    kind: CorrectionKind,
    voided: &[DispensedDose],
    replacement: Option<(&RecordedDose, Substance, DoseOrderId)>,
) -> Result<()> {
    let conn = write.of(event.patient_id)?;
    insert_event(conn, event).await?;
    sqlx::query("INSERT INTO dispensing_corrections (event_id, corrects_event_id, kind) VALUES ($1, $2, $3)")
        .bind(event.id.to_string())
        .bind(corrects.to_string())
        .bind(kind.code())
        .execute_on(&mut *conn)
        .await?;
    for dose in voided {
        sqlx::query(
            "INSERT INTO dispensing_voids (correction_event_id, patient_id, dose_date, part, generation) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.id.to_string())
        .bind(dose.patient_id.to_string())
        .bind(date_text(dose.key.date))
        .bind(i64::from(dose.key.part))
        .bind(dose.generation)
        .execute_on(&mut *conn)
        .await
        ?;
    }
    if let Some((dose, substance, order)) = replacement {
        insert_doses(conn, event, std::slice::from_ref(dose), substance, &[order]).await?;
    }
    // A void can take a day away: the kept dosing state is derived again, in the
    // same transaction (H68).
    crate::day_state::rederive(conn, event.patient_id).await
}

fn correction_from_row(row: &AnyRow) -> Result<CorrectionRecord> {
    Ok(CorrectionRecord {
        event: event_from_row(row)?,
        corrects: parsed(row, "corrects_event_id")?,
        kind: text(row, "kind")?,
    })
}

/// The corrections of some patients' recordings made on days in [from, to].
pub async fn corrections_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<Vec<CorrectionRecord>> {
    let sql = format!(
        "SELECT {cols}, c.corrects_event_id, c.kind FROM dispensing_corrections c JOIN dispensing_events e ON e.id = c.event_id
         WHERE e.day >= $1 AND e.day <= $2 AND e.patient_id IN ({{ids}}) ORDER BY e.recorded_at",
        cols = EVENT_COLUMNS_E
    );
    let rows = rows_for_patients(conn, &sql, &[date_text(from), date_text(to)], patients).await?;
    rows.iter().map(correction_from_row).collect()
}

/// The correction of an event, if it has been corrected.
pub async fn correction_of_event(
    conn: &mut AnyConnection,
    event: DispensingId,
) -> Result<Option<CorrectionRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS_E}, c.corrects_event_id, c.kind FROM dispensing_corrections c JOIN dispensing_events e ON e.id = c.event_id
         WHERE c.corrects_event_id = $1"
    ))
    .bind(event.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(correction_from_row).transpose()
}

pub async fn event_by_key(conn: &mut impl Fetch, key: &str) -> Result<Option<DispensingEvent>> {
    let row = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM dispensing_events WHERE idempotency_key = $1"
    ))
    .bind(key)
    .fetch_optional_on(conn)
    .await?;
    row.as_ref().map(event_from_row).transpose()
}

pub async fn event_of(conn: &mut AnyConnection, id: DispensingId) -> Result<Option<DispensingEvent>> {
    let row = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM dispensing_events WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(event_from_row).transpose()
}

/// The columns [`dose_from_row`] reads: a dose (`d`), its event (`e`) and its void
/// (`v`), as text both selects of doses share.
macro_rules! dose_columns {
    () => {
        "SELECT d.event_id, d.patient_id, d.dose_date, d.part, d.mode, d.substance, d.order_id,
    d.amount_ug, d.ordered_ug, d.generation, e.outcome, e.reason, e.place_id, e.recorded_at, e.recorded_by,
    v.correction_event_id AS voided_by"
    };
}

/// A dose's void, if a correction voided it.
macro_rules! void_join {
    () => {
        " LEFT JOIN dispensing_voids v ON v.patient_id = d.patient_id AND v.dose_date = d.dose_date
        AND v.part = d.part AND v.generation = d.generation"
    };
}

/// Every recorded dose with its event and, when voided, the correction that voided it.
pub(crate) const DOSE_SELECT: &str = concat!(
    dose_columns!(),
    " FROM dispensed_doses d JOIN dispensing_events e ON e.id = d.event_id",
    void_join!()
);

/// [`DOSE_SELECT`] from the events: the WHERE joins a dose to its event
/// (`d.event_id = e.id`), and SQLite takes the events first (its planner keeps
/// the order of a `CROSS JOIN`; PostgreSQL's chooses by its statistics).
const DOSE_SELECT_BY_EVENT: &str = concat!(
    dose_columns!(),
    " FROM dispensing_events e CROSS JOIN dispensed_doses d",
    void_join!()
);

pub(crate) fn dose_from_row(row: &AnyRow) -> Result<DispensedDose> {
    let substance = text(row, "substance")?;
    Ok(DispensedDose {
        event_id: parsed(row, "event_id")?,
        patient_id: parsed(row, "patient_id")?,
        key: DoseKey {
            date: parsed(row, "dose_date")?,
            part: u8::try_from(int(row, "part")?).map_err(corrupt)?,
        },
        mode: coded(row, "mode")?,
        substance: Substance::from_code(&substance)
            .ok_or_else(|| corrupt(format!("substance {substance}")))?,
        order_id: parsed(row, "order_id")?,
        amount: dose(row, "amount_ug")?,
        ordered: dose(row, "ordered_ug")?,
        generation: int(row, "generation")?,
        outcome: outcome_of(row)?,
        reason: sqlx::Row::try_get(row, "reason")?,
        place_id: parsed(row, "place_id")?,
        recorded_at: instant(row, "recorded_at")?,
        recorded_by: parsed(row, "recorded_by")?,
        voided_by: parsed_opt(row, "voided_by")?,
    })
}

/// The doses recorded for an event, voided ones included (what a retried request
/// gets back, and what a correction takes back).
pub async fn doses_of_event(conn: &mut impl Fetch, event: DispensingId) -> Result<Vec<DispensedDose>> {
    let rows = sqlx::query(&format!(
        "{DOSE_SELECT} WHERE d.event_id = $1 ORDER BY d.dose_date, d.part"
    ))
    .bind(event.to_string())
    .fetch_all_on(conn)
    .await?;
    rows.iter().map(dose_from_row).collect()
}

/// Recorded doses of some patients for dose dates in [from, to], as they stand:
/// doses voided by a correction are left out.
pub async fn doses_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<Vec<DispensedDose>> {
    let sql = format!(
        "{DOSE_SELECT} WHERE d.dose_date >= $1 AND d.dose_date <= $2 AND d.patient_id IN ({{ids}})
         AND v.correction_event_id IS NULL ORDER BY d.dose_date, d.part"
    );
    let rows = rows_for_patients(conn, &sql, &[date_text(from), date_text(to)], patients).await?;
    rows.iter().map(dose_from_row).collect()
}

/// Recorded doses of some patients recorded in [from, until) for dose dates up to
/// `to_date`, as they stand (voided doses left out): a FHIR search's date range,
/// filtered here rather than after loading every dose. The instants are
/// microseconds written into the statement (numbers, never text from a request).
pub async fn doses_recorded_in(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    from: Timestamp,
    until: Timestamp,
    to_date: Date,
) -> Result<Vec<DispensedDose>> {
    let sql = format!("{} ORDER BY d.dose_date, d.part", recorded_in_select(from, until));
    let rows = rows_for_patients(conn, &sql, &[date_text(to_date)], patients).await?;
    rows.iter().map(dose_from_row).collect()
}

/// Whether [`doses_recorded_in`] would read more than `cap` doses: counted by the
/// database, each statement stopping at `cap + 1`, so that nothing of a search
/// over a whole population is read into memory to find out (H103).
pub async fn doses_recorded_in_exceed(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    (from, until, to_date): (Timestamp, Timestamp, Date),
    cap: usize,
) -> Result<bool> {
    let select = recorded_in_select(from, until);
    crate::db::more_rows_than(conn, &select, &[date_text(to_date)], patients, cap).await
}

/// The doses of [`doses_recorded_in`]: of the listed patients, recorded in
/// [from, until), dose date up to `$1`, not voided. Driven from the events
/// (H103): each listed patient's events of the period are one range of the
/// (patient, instant) index (migration 0052), and their doses are found by event.
/// From the doses, a search of 10,000 patients narrowed to one day walked every
/// dose the patients ever had (7.8 s on SQLite to count them). A dose's patient is
/// its event's (`insert_doses` writes it from the event), so the events are
/// filtered by patient; the same test on the dose would let SQLite walk each
/// patient's doses by (patient, day) again. The void is tested on a column of
/// the join (`v.patient_id`, never null in a void) so that PostgreSQL plans an
/// anti-join: tested on `v.correction_event_id` it estimated one dose left, and
/// read every dose to join it to its event.
fn recorded_in_select(from: Timestamp, until: Timestamp) -> String {
    format!(
        "{DOSE_SELECT_BY_EVENT}
         WHERE e.patient_id IN ({{ids}}) AND e.recorded_at >= {} AND e.recorded_at < {}
         AND d.event_id = e.id AND d.dose_date <= $1 AND v.patient_id IS NULL",
        micros(from),
        micros(until)
    )
}

/// Every recorded dose of some patients for dose dates in [from, to], voided ones
/// included: the history, where a correction shows beside what it corrected.
pub async fn dose_history_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<Vec<DispensedDose>> {
    let sql = format!(
        "{DOSE_SELECT} WHERE d.dose_date >= $1 AND d.dose_date <= $2 AND d.patient_id IN ({{ids}})
         ORDER BY d.dose_date, d.part, d.generation"
    );
    let rows = rows_for_patients(conn, &sql, &[date_text(from), date_text(to)], patients).await?;
    rows.iter().map(dose_from_row).collect()
}

/// Which of some patients have ever had a dose recorded that stands (given, reduced
/// or corrected to an amount): the others' next dose is their first.
pub async fn ever_dosed(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<std::collections::HashSet<PatientId>> {
    let sql = "SELECT DISTINCT d.patient_id FROM dispensed_doses d
        LEFT JOIN dispensing_voids v ON v.patient_id = d.patient_id AND v.dose_date = d.dose_date
            AND v.part = d.part AND v.generation = d.generation
        WHERE d.amount_ug > 0 AND v.correction_event_id IS NULL AND d.patient_id IN ({ids})";
    let rows = rows_for_patients(conn, sql, &[], patients).await?;
    rows.iter().map(|row| parsed(row, "patient_id")).collect()
}

/// The doses of some patients on `day` that were withheld or reduced (any outcome
/// but given), voided ones left out: what the alerts show of the day, read
/// without the doses given (the outcome and the day are filtered in SQL).
pub async fn assessed_doses_on(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    day: Date,
) -> Result<Vec<DispensedDose>> {
    let sql = format!(
        "{DOSE_SELECT} WHERE d.patient_id IN ({{ids}}) AND v.correction_event_id IS NULL
         AND d.dose_date = $1 AND e.outcome <> $2 ORDER BY d.dose_date, d.part"
    );
    let leading = [date_text(day), OutcomeKind::Given.code().to_string()];
    rows_for_patients(conn, &sql, &leading, patients)
        .await?
        .iter()
        .map(dose_from_row)
        .collect()
}

/// Some patients' recorded doses as the window and the missed-dose rule read them
/// around a day: every dose near the day in full, and of the weeks before only what
/// the rules look at (depot injections in full, the other doses as the days dosed),
/// so a list of hundreds of patients does not copy months of rows.
#[derive(Debug, Clone, Default)]
pub struct RecentDoses {
    /// Doses from the near day to the last day in full, and depot injections of the
    /// whole range; voided doses left out.
    pub doses: Vec<DispensedDose>,
    /// Each patient's days in the whole range with a dose had (given, reduced or
    /// handed over; not withheld, not voided), ascending: from the kept dosing
    /// state ([`crate::day_state`]).
    pub dosed_days: std::collections::HashMap<PatientId, Vec<Date>>,
    /// The patients with a dose above zero standing, as [`ever_dosed`] finds them.
    pub ever_given: std::collections::HashSet<PatientId>,
}

/// The recorded doses of some patients for dose dates in [from, to], in full from
/// `near` on (see [`RecentDoses`]).
pub async fn recent_doses_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    from: Date,
    near: Date,
    to: Date,
) -> Result<RecentDoses> {
    let near = near.clamp(from, to);
    // The days near in full and the depot injections before them, in one
    // statement of two parts, each a range of the (patient, day) index (an OR of
    // the two ranges would read the whole lookback).
    let sql = format!(
        "SELECT * FROM ({DOSE_SELECT} WHERE d.patient_id IN ({{ids}}) AND v.correction_event_id IS NULL
         AND d.dose_date >= $1 AND d.dose_date <= $2
         UNION ALL
         {DOSE_SELECT} WHERE d.patient_id IN ({{ids}}) AND v.correction_event_id IS NULL
         AND d.dose_date >= $3 AND d.dose_date < $1 AND d.mode = $4) recent
         ORDER BY recent.dose_date, recent.part"
    );
    let leading = [
        date_text(near),
        date_text(to),
        date_text(from),
        IntakeMode::Injection.code().to_string(),
    ];
    let all = rows_for_patients(conn, &sql, &leading, patients)
        .await?
        .iter()
        .map(dose_from_row)
        .collect::<Result<Vec<_>>>()?;
    // The days dosed come from the kept state, one row per patient (H68).
    let (dosed_days, ever_given) = crate::day_state::dosed_days_of(conn, patients, from, to).await?;
    Ok(RecentDoses {
        doses: all,
        dosed_days,
        ever_given,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_period_reads_the_listed_patients_events_in_it_and_then_their_doses() {
        // H103: a search narrowed by a period reads each listed patient's events
        // of the period, a range of the (patient, instant) index, and their doses
        // by event; read from the doses, it walked every dose of every patient.
        // The plan is SQLite's (whose planner has no statistics, so the plan of an
        // empty database is the plan of a full one); PostgreSQL's, which depends
        // on its statistics, was read with EXPLAIN on 2 million doses (H103).
        let from = Timestamp::from_second(1_796_428_800).expect("from");
        let until = Timestamp::from_second(1_796_515_200).expect("until");
        let select = recorded_in_select(from, until).replace("{ids}", "SELECT value FROM json_each($2)");
        let explain = format!("EXPLAIN QUERY PLAN {select}");
        let details = crate::testing::sqlite_plan(
            sqlx::query(&explain)
                .bind("2026-12-05")
                .bind(serde_json::json!([PatientId::new().to_string()]).to_string()),
        )
        .await;
        let events = details.iter().position(|d| {
            d == "SEARCH e USING INDEX dispensing_events_patient_recorded (patient_id=? AND recorded_at>? AND recorded_at<?)"
        });
        let doses = details
            .iter()
            .position(|d| d == "SEARCH d USING INDEX dispensed_doses_event (event_id=?)");
        assert!(
            matches!((events, doses), (Some(e), Some(d)) if e < d),
            "{details:#?}"
        );
    }
}
