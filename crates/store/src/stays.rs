//! Stays and what hangs on them: the events after admission (extension, a change
//! of the substitution dose, the discharge), the bundle's items marked by hand, the
//! follow-up appointment with its outcomes, and prescribing hand-overs with the
//! receiving prescriber's acknowledgement. Append-only: one discharge per stay is
//! enforced by a unique index, one acknowledgement per hand-over by its key.

use std::collections::HashMap;

use jiff::civil::DateTime;
use samhand_domain::ids::{PatientId, StayId};
use samhand_domain::stay::{
    Appointment, AppointmentId, BundleEntry, BundleItem, Discharge, Handover, HandoverId, Stay, StayEvent,
    StayEventKind, StayKind, StayRecord,
};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;
use crate::codec::{corrupt, date_text, instant, int, micros, parsed, parsed_opt, text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};
use crate::patient_write::{Owner, PatientWrite};

/// The unique index that allows one discharge per stay.
pub const ONE_DISCHARGE: &str = "stay_events_one_discharge";

fn classify_event(error: StoreError) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(db)) = &error
        && db.is_unique_violation()
        && (db.constraint() == Some(ONE_DISCHARGE) || db.message().ends_with("stay_events.stay_id"))
    {
        return StoreError::Conflict(ONE_DISCHARGE);
    }
    error
}

fn int_opt(row: &AnyRow, column: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

pub async fn insert_stay(write: &mut PatientWrite, stay: &Stay) -> Result<()> {
    let conn = write.of(stay.patient_id)?;
    sqlx::query(
        "INSERT INTO stays (id, patient_id, kind, institution, institution_id, starts_on, planned_end_on,
                            opioid_use, substitution_continued, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(stay.id.to_string())
    .bind(stay.patient_id.to_string())
    .bind(stay.kind.code())
    .bind(&stay.institution)
    .bind(stay.institution_id.map(|id| id.to_string()))
    .bind(date_text(stay.starts_on))
    .bind(stay.planned_end_on.map(date_text))
    .bind(i64::from(stay.opioid_use))
    .bind(i64::from(stay.substitution_continued))
    .bind(stay.recorded_by.to_string())
    .bind(micros(stay.recorded_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// Appends an event; a second discharge of a stay is a `Conflict`.
pub async fn insert_event(write: &mut PatientWrite, event: &StayEvent) -> Result<()> {
    let conn = write.of_owner(Owner::Stay, &event.stay_id.to_string()).await?;
    let (on_date, planned_end_on, continued, planned, resume_on) = match &event.kind {
        StayEventKind::Extended { planned_end_on } => {
            (None, Some(date_text(*planned_end_on)), None, None, None)
        }
        StayEventKind::Substitution { from, continued } => (
            Some(date_text(*from)),
            None,
            Some(i64::from(*continued)),
            None,
            None,
        ),
        StayEventKind::Discharged(d) => (
            Some(date_text(d.on)),
            None,
            None,
            Some(i64::from(d.planned)),
            Some(date_text(d.resume_on)),
        ),
    };
    sqlx::query(
        "INSERT INTO stay_events (id, stay_id, kind, on_date, planned_end_on, continued, planned, resume_on, reason, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(event.id.to_string())
    .bind(event.stay_id.to_string())
    .bind(event.kind.code())
    .bind(on_date)
    .bind(planned_end_on)
    .bind(continued)
    .bind(planned)
    .bind(resume_on)
    .bind(&event.reason)
    .bind(event.recorded_by.to_string())
    .bind(micros(event.recorded_at))
    .execute_on(conn)
    .await
    .map_err(classify_event)?;
    Ok(())
}

/// The stays of some patients with their events, oldest start first.
pub async fn stays_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<StayRecord>> {
    let rows = rows_for_patients(
        conn,
        "SELECT id, patient_id, kind, institution, institution_id, starts_on, planned_end_on, opioid_use,
                substitution_continued, recorded_by, recorded_at
         FROM stays WHERE patient_id IN ({ids}) ORDER BY starts_on, recorded_at, id",
        &[],
        patients,
    )
    .await?;
    let mut stays = Vec::new();
    for row in &rows {
        let kind = text(row, "kind")?;
        stays.push(StayRecord::new(Stay {
            id: parsed(row, "id")?,
            patient_id: parsed(row, "patient_id")?,
            kind: StayKind::from_code(&kind).ok_or_else(|| corrupt(format!("stay kind {kind}")))?,
            institution: text(row, "institution")?,
            institution_id: parsed_opt(row, "institution_id")?,
            starts_on: parsed(row, "starts_on")?,
            planned_end_on: parsed_opt(row, "planned_end_on")?,
            opioid_use: int(row, "opioid_use")? != 0,
            substitution_continued: int(row, "substitution_continued")? != 0,
            recorded_by: parsed(row, "recorded_by")?,
            recorded_at: instant(row, "recorded_at")?,
        }));
    }
    if stays.is_empty() {
        return Ok(stays);
    }
    let index: HashMap<StayId, usize> = stays.iter().enumerate().map(|(i, s)| (s.stay.id, i)).collect();
    let rows = rows_for_patients(
        conn,
        "SELECT e.id, e.stay_id, e.kind, e.on_date, e.planned_end_on, e.continued, e.planned, e.resume_on,
                e.reason, e.recorded_by, e.recorded_at
         FROM stay_events e JOIN stays s ON s.id = e.stay_id
         WHERE s.patient_id IN ({ids}) ORDER BY e.recorded_at, e.id",
        &[],
        patients,
    )
    .await?;
    for row in &rows {
        let stay_id: StayId = parsed(row, "stay_id")?;
        let code = text(row, "kind")?;
        let kind = match code.as_str() {
            "extended" => StayEventKind::Extended {
                planned_end_on: parsed(row, "planned_end_on")?,
            },
            "substitution" => StayEventKind::Substitution {
                from: parsed(row, "on_date")?,
                continued: int_opt(row, "continued")?.unwrap_or(0) != 0,
            },
            "discharged" => StayEventKind::Discharged(Discharge {
                on: parsed(row, "on_date")?,
                planned: int_opt(row, "planned")?.unwrap_or(0) != 0,
                resume_on: parsed(row, "resume_on")?,
            }),
            other => return Err(corrupt(format!("stay event kind {other}"))),
        };
        let event = StayEvent {
            id: parsed(row, "id")?,
            stay_id,
            kind,
            reason: text(row, "reason")?,
            recorded_by: parsed(row, "recorded_by")?,
            recorded_at: instant(row, "recorded_at")?,
        };
        if let Some(i) = index.get(&stay_id) {
            stays[*i].events.push(event);
        }
    }
    let ids: Vec<String> = stays.iter().map(|s| s.stay.id.to_string()).collect();
    let mut received = crate::received::of_records(conn, &ids).await?;
    for record in &mut stays {
        record.received = received.remove(&record.stay.id.to_string()).unwrap_or_default();
    }
    Ok(stays)
}

/// Every stay not yet discharged whose planned end is on or before `until`, with its
/// patient: for the planning notices.
pub async fn planned_discharges_until(
    conn: &mut AnyConnection,
    until: jiff::civil::Date,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT s.patient_id FROM stays s
         WHERE NOT EXISTS (SELECT 1 FROM stay_events d WHERE d.stay_id = s.id AND d.kind = 'discharged')
           AND (s.planned_end_on <= $1
                OR EXISTS (SELECT 1 FROM stay_events x WHERE x.stay_id = s.id AND x.kind = 'extended' AND x.planned_end_on <= $1))",
    )
    .bind(date_text(until))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}

/// Patients with a stay not yet discharged at an institution.
pub async fn patients_at_institution(
    conn: &mut AnyConnection,
    institution: samhand_domain::ids::OrganisationId,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT s.patient_id FROM stays s
         WHERE s.institution_id = $1
           AND NOT EXISTS (SELECT 1 FROM stay_events d WHERE d.stay_id = s.id AND d.kind = 'discharged')",
    )
    .bind(institution.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}

// ------------------------------------------------------------------ the bundle

pub async fn insert_bundle_entry(write: &mut PatientWrite, entry: &BundleEntry) -> Result<()> {
    let conn = write.of_owner(Owner::Stay, &entry.stay_id.to_string()).await?;
    sqlx::query(
        "INSERT INTO bundle_entries (id, stay_id, item, waived, done_on, note, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.id.to_string())
    .bind(entry.stay_id.to_string())
    .bind(entry.item.code())
    .bind(i64::from(entry.waived))
    .bind(date_text(entry.on))
    .bind(&entry.note)
    .bind(entry.recorded_by.to_string())
    .bind(micros(entry.recorded_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The bundle entries of a patient's stays, oldest first.
pub async fn bundle_entries_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<BundleEntry>> {
    let rows = rows_for_patients(
        conn,
        "SELECT b.id, b.stay_id, b.item, b.waived, b.done_on, b.note, b.recorded_by, b.recorded_at
         FROM bundle_entries b JOIN stays s ON s.id = b.stay_id
         WHERE s.patient_id IN ({ids}) ORDER BY b.recorded_at, b.id",
        &[],
        patients,
    )
    .await?;
    rows.iter()
        .map(|row| {
            let item = text(row, "item")?;
            Ok(BundleEntry {
                id: parsed(row, "id")?,
                stay_id: parsed(row, "stay_id")?,
                item: BundleItem::from_code(&item).ok_or_else(|| corrupt(format!("bundle item {item}")))?,
                waived: int(row, "waived")? != 0,
                on: parsed(row, "done_on")?,
                note: text(row, "note")?,
                recorded_by: parsed(row, "recorded_by")?,
                recorded_at: instant(row, "recorded_at")?,
            })
        })
        .collect()
}

// ------------------------------------------------------------------ appointments

pub async fn insert_appointment(write: &mut PatientWrite, appointment: &Appointment) -> Result<()> {
    let conn = write.of(appointment.patient_id)?;
    sqlx::query(
        "INSERT INTO follow_up_appointments (id, patient_id, stay_id, with_whom, at_local, place, owner_id, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(appointment.id.to_string())
    .bind(appointment.patient_id.to_string())
    .bind(appointment.stay_id.map(|s| s.to_string()))
    .bind(&appointment.with_whom)
    .bind(appointment.at.strftime("%Y-%m-%dT%H:%M").to_string())
    .bind(&appointment.place)
    .bind(appointment.owner.to_string())
    .bind(appointment.recorded_by.to_string())
    .bind(micros(appointment.recorded_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

pub async fn insert_outcome(
    write: &mut PatientWrite,
    appointment: AppointmentId,
    attended: bool,
    by: samhand_domain::ids::UserId,
    at: jiff::Timestamp,
) -> Result<()> {
    let conn = write
        .of_owner(Owner::Appointment, &appointment.to_string())
        .await?;
    sqlx::query(
        "INSERT INTO appointment_outcomes (id, appointment_id, attended, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(appointment.to_string())
    .bind(i64::from(attended))
    .bind(by.to_string())
    .bind(micros(at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// The follow-up appointments of some patients with their latest outcome, by time.
pub async fn appointments_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<Appointment>> {
    let rows = rows_for_patients(
        conn,
        "SELECT id, patient_id, stay_id, with_whom, at_local, place, owner_id, recorded_by, recorded_at
         FROM follow_up_appointments WHERE patient_id IN ({ids}) ORDER BY at_local, id",
        &[],
        patients,
    )
    .await?;
    let mut appointments = Vec::new();
    for row in &rows {
        let at: String = text(row, "at_local")?;
        appointments.push(Appointment {
            id: parsed(row, "id")?,
            patient_id: parsed(row, "patient_id")?,
            stay_id: parsed_opt(row, "stay_id")?,
            with_whom: text(row, "with_whom")?,
            at: at
                .parse::<DateTime>()
                .map_err(|_| corrupt(format!("appointment time {at}")))?,
            place: text(row, "place")?,
            owner: parsed(row, "owner_id")?,
            recorded_by: parsed(row, "recorded_by")?,
            recorded_at: instant(row, "recorded_at")?,
            attended: None,
        });
    }
    if appointments.is_empty() {
        return Ok(appointments);
    }
    let index: HashMap<AppointmentId, usize> =
        appointments.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    let rows = rows_for_patients(
        conn,
        "SELECT o.appointment_id, o.attended FROM appointment_outcomes o
         JOIN follow_up_appointments a ON a.id = o.appointment_id
         WHERE a.patient_id IN ({ids}) ORDER BY o.recorded_at, o.id",
        &[],
        patients,
    )
    .await?;
    for row in &rows {
        let id: AppointmentId = parsed(row, "appointment_id")?;
        if let Some(i) = index.get(&id) {
            appointments[*i].attended = Some(int(row, "attended")? != 0);
        }
    }
    Ok(appointments)
}

// ------------------------------------------------------------------ hand-overs

pub async fn insert_handover(write: &mut PatientWrite, handover: &Handover) -> Result<()> {
    let conn = write.of(handover.patient_id)?;
    sqlx::query(
        "INSERT INTO prescribing_handovers (id, patient_id, stay_id, from_organisation, to_organisation, order_summary, taper_plan, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(handover.id.to_string())
    .bind(handover.patient_id.to_string())
    .bind(handover.stay_id.map(|s| s.to_string()))
    .bind(handover.from_organisation.to_string())
    .bind(handover.to_organisation.to_string())
    .bind(&handover.order_summary)
    .bind(&handover.taper_plan)
    .bind(handover.recorded_by.to_string())
    .bind(micros(handover.recorded_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// Records the acknowledgement; a second one is a `Conflict`.
pub async fn acknowledge_handover(
    write: &mut PatientWrite,
    id: HandoverId,
    by: samhand_domain::ids::UserId,
    at: jiff::Timestamp,
) -> Result<()> {
    let conn = write.of_owner(Owner::Handover, &id.to_string()).await?;
    sqlx::query("INSERT INTO handover_acknowledgements (handover_id, acknowledged_by, acknowledged_at) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(by.to_string())
        .bind(micros(at))
        .execute_on(conn)
        .await
        .map_err(|error| match &error {
            StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                StoreError::Conflict("handover_acknowledged")
            }
            _ => error,
        })?;
    Ok(())
}

/// The hand-overs of some patients with their acknowledgements, oldest first.
pub async fn handovers_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<Handover>> {
    let rows = rows_for_patients(
        conn,
        "SELECT h.id, h.patient_id, h.stay_id, h.from_organisation, h.to_organisation, h.order_summary, h.taper_plan,
                h.recorded_by, h.recorded_at, a.acknowledged_by, a.acknowledged_at
         FROM prescribing_handovers h LEFT JOIN handover_acknowledgements a ON a.handover_id = h.id
         WHERE h.patient_id IN ({ids}) ORDER BY h.recorded_at, h.id",
        &[],
        patients,
    )
    .await?;
    rows.iter()
        .map(|row| {
            let by: Option<samhand_domain::ids::UserId> = parsed_opt(row, "acknowledged_by")?;
            let at = crate::codec::instant_opt(row, "acknowledged_at")?;
            Ok(Handover {
                id: parsed(row, "id")?,
                patient_id: parsed(row, "patient_id")?,
                stay_id: parsed_opt(row, "stay_id")?,
                from_organisation: parsed(row, "from_organisation")?,
                to_organisation: parsed(row, "to_organisation")?,
                order_summary: text(row, "order_summary")?,
                taper_plan: text(row, "taper_plan")?,
                recorded_by: parsed(row, "recorded_by")?,
                recorded_at: instant(row, "recorded_at")?,
                acknowledged: by.zip(at),
            })
        })
        .collect()
}

/// The patients with a follow-up appointment between two local times
/// (yyyy-mm-ddThh:mm, Europe/Oslo): for the scheduler's look at appointments whose
/// outcome was never recorded.
pub async fn patients_with_appointments_between(
    conn: &mut AnyConnection,
    from: DateTime,
    until: DateTime,
) -> Result<Vec<PatientId>> {
    let local = |t: DateTime| t.strftime("%Y-%m-%dT%H:%M").to_string();
    let rows = sqlx::query(
        "SELECT DISTINCT patient_id FROM follow_up_appointments WHERE at_local >= $1 AND at_local <= $2 ORDER BY patient_id",
    )
    .bind(local(from))
    .bind(local(until))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}
