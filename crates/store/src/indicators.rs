//! Reads for the unit indicators (`samhand_domain::indicators`): one row per episode
//! of the unit, and counts aggregated in SQL per place and Oslo month. Dates stored
//! as Oslo civil days ('yyyy-mm-dd') are grouped by their first seven characters,
//! the same on SQLite and PostgreSQL; the few instants (deviations) are read as rows
//! within the window and put in their Oslo month by the domain (H73). Nothing reads
//! a dose per patient: 10,000 patients give a few hundred rows. The figures that
//! follow each patient's own rules (missed doses, bundles, expected samples) are
//! in [`followup`]: batched reads for the whole unit, computed in memory.

use std::collections::HashMap;

use jiff::civil::Date;
use samhand_domain::care::PlanStatus;
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::indicators::{CountKind, EpisodeFacts, MonthCount, Place, YearMonth};
use samhand_domain::patient::EndReason;
use samhand_domain::schedule::IntakeMode;
use samhand_domain::time::start_of_oslo_day;
use sqlx::AnyConnection;
use sqlx::Row;

use crate::codec::{corrupt, date_text, instant, int, micros, parsed, parsed_opt, text};
use crate::db::{Result, classify};

mod followup;
pub use followup::followup_counts;

/// The unit's dispensing places (organisations whose responsible unit it is), with
/// their administrator-set capacity.
pub async fn places(conn: &mut AnyConnection, unit: OrganisationId) -> Result<Vec<Place>> {
    let rows = sqlx::query(
        "SELECT id, name, capacity FROM organisations WHERE responsible_unit_id = $1 ORDER BY name, id",
    )
    .bind(unit.to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    rows.iter()
        .map(|row| {
            let capacity: Option<i64> = row.try_get("capacity").map_err(classify)?;
            Ok(Place {
                id: parsed(row, "id")?,
                name: text(row, "name")?,
                capacity: capacity.and_then(|c| u32::try_from(c).ok()),
            })
        })
        .collect()
}

/// The unit's episodes running on or after `since`, with their places, first held
/// responsibility-group meeting (one with minutes) and first active plan.
pub async fn episodes(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    since: Date,
) -> Result<Vec<EpisodeFacts>> {
    let rows = sqlx::query(
        "SELECT e.patient_id, e.started_on, x.ended_on,
                (SELECT MIN(m.meeting_date) FROM care_meetings m JOIN care_meeting_minutes mm ON mm.meeting_id = m.id
                  WHERE m.patient_id = e.patient_id AND m.meeting_date >= e.started_on) AS first_meeting,
                (SELECT MIN(p.recorded_at) FROM plan_versions p
                  WHERE p.patient_id = e.patient_id AND p.status = $3) AS plan_at
         FROM episodes e LEFT JOIN episode_ends x ON x.episode_id = e.id
         WHERE e.responsible_unit = $1 AND (x.ended_on IS NULL OR x.ended_on >= $2)
         ORDER BY e.patient_id, e.started_on",
    )
    .bind(unit.to_string())
    .bind(date_text(since))
    .bind(PlanStatus::Active.code())
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    let places = arrangement_places(conn, unit, since).await?;
    rows.iter()
        .map(|row| {
            let patient: PatientId = parsed(row, "patient_id")?;
            let plan_at: Option<i64> = row.try_get("plan_at").map_err(classify)?;
            let plan_started_on = plan_at
                .map(|at| {
                    jiff::Timestamp::from_microsecond(at).map_err(|_| corrupt("plan_versions.recorded_at"))
                })
                .transpose()?
                .map(samhand_domain::time::oslo_date);
            Ok(EpisodeFacts {
                patient,
                started_on: parsed(row, "started_on")?,
                ended_on: parsed_opt(row, "ended_on")?,
                places: places.get(&patient).cloned().unwrap_or_default(),
                first_meeting_on: parsed_opt(row, "first_meeting")?,
                plan_started_on,
            })
        })
        .collect()
}

async fn arrangement_places(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    since: Date,
) -> Result<HashMap<PatientId, Vec<(Date, OrganisationId)>>> {
    let rows = sqlx::query(
        "SELECT DISTINCT a.patient_id, a.valid_from, a.place_id, a.version
         FROM arrangements a JOIN episodes e ON e.patient_id = a.patient_id
         LEFT JOIN episode_ends x ON x.episode_id = e.id
         WHERE e.responsible_unit = $1 AND (x.ended_on IS NULL OR x.ended_on >= $2)
         ORDER BY a.patient_id, a.version",
    )
    .bind(unit.to_string())
    .bind(date_text(since))
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    let mut places: HashMap<PatientId, Vec<(Date, OrganisationId)>> = HashMap::new();
    for row in &rows {
        let from: Date = parsed(row, "valid_from")?;
        let place: OrganisationId = parsed(row, "place_id")?;
        let list = places.entry(parsed(row, "patient_id")?).or_default();
        // A later version from the same day replaces the earlier.
        list.retain(|(day, _)| *day != from);
        list.push((from, place));
    }
    Ok(places)
}

/// Counts per place (or the unit) and Oslo month from `from` to `to` inclusive.
pub async fn counts(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    from: Date,
    to: Date,
) -> Result<Vec<MonthCount>> {
    let (from_text, to_text) = (date_text(from), date_text(to));
    let mut out = Vec::new();
    // Doses handed out, not taken back by a correction.
    let doses = sqlx::query(
        "SELECT e.place_id AS place, SUBSTR(d.dose_date, 1, 7) AS month, d.mode AS kind, COUNT(*) AS n
         FROM dispensed_doses d JOIN dispensing_events e ON e.id = d.event_id
         JOIN organisations o ON o.id = e.place_id
         WHERE o.responsible_unit_id = $1 AND d.dose_date >= $2 AND d.dose_date <= $3
           AND NOT EXISTS (SELECT 1 FROM dispensing_voids v WHERE v.patient_id = d.patient_id
                 AND v.dose_date = d.dose_date AND v.part = d.part AND v.generation = d.generation)
         GROUP BY e.place_id, SUBSTR(d.dose_date, 1, 7), d.mode",
    );
    for row in doses
        .bind(unit.to_string())
        .bind(&from_text)
        .bind(&to_text)
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?
    {
        let kind = if IntakeMode::from_code(&text(&row, "kind")?) == Some(IntakeMode::TakeHome) {
            CountKind::TakeHomeDoses
        } else {
            CountKind::SupervisedDoses
        };
        out.push(count_row(&row, Some(kind))?);
    }
    // Withheld doses: recordings with outcome withheld that no correction replaced.
    let withheld = sqlx::query(
        "SELECT e.place_id AS place, SUBSTR(e.day, 1, 7) AS month, COUNT(*) AS n
         FROM dispensing_events e JOIN organisations o ON o.id = e.place_id
         WHERE o.responsible_unit_id = $1 AND e.day >= $2 AND e.day <= $3 AND e.outcome = $4
           AND NOT EXISTS (SELECT 1 FROM dispensing_corrections c WHERE c.corrects_event_id = e.id)
         GROUP BY e.place_id, SUBSTR(e.day, 1, 7)",
    );
    for row in withheld
        .bind(unit.to_string())
        .bind(&from_text)
        .bind(&to_text)
        .bind(OutcomeKind::Withheld.code())
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?
    {
        out.push(MonthCount {
            kind: CountKind::WithheldDoses,
            ..count_row(&row, None)?
        });
    }
    // Overdoses and deaths of the unit's patients: the unit's figures only.
    let unit_rows = sqlx::query(
        "SELECT SUBSTR(o.occurred_on, 1, 7) AS month, COUNT(*) AS n FROM overdose_events o
         WHERE o.patient_id IN (SELECT patient_id FROM episodes WHERE responsible_unit = $1)
           AND o.occurred_on >= $2 AND o.occurred_on <= $3
         GROUP BY SUBSTR(o.occurred_on, 1, 7)",
    );
    for row in unit_rows
        .bind(unit.to_string())
        .bind(&from_text)
        .bind(&to_text)
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?
    {
        out.push(MonthCount {
            place: None,
            kind: CountKind::Overdoses,
            ..count_row(&row, None)?
        });
    }
    let deaths = sqlx::query(
        "SELECT SUBSTR(x.ended_on, 1, 7) AS month, COUNT(*) AS n FROM episode_ends x
         JOIN episodes e ON e.id = x.episode_id
         WHERE e.responsible_unit = $1 AND x.ended_on >= $2 AND x.ended_on <= $3 AND x.reason = $4
         GROUP BY SUBSTR(x.ended_on, 1, 7)",
    );
    for row in deaths
        .bind(unit.to_string())
        .bind(&from_text)
        .bind(&to_text)
        .bind(EndReason::Death.code())
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?
    {
        out.push(MonthCount {
            place: None,
            kind: CountKind::Deaths,
            ..count_row(&row, None)?
        });
    }
    // Drug-test samples delivered by the unit's patients: the unit's figure only.
    let samples = sqlx::query(
        "SELECT SUBSTR(t.sample_date, 1, 7) AS month, COUNT(*) AS n FROM drug_tests t
         WHERE t.patient_id IN (SELECT patient_id FROM episodes WHERE responsible_unit = $1)
           AND t.sample_date >= $2 AND t.sample_date <= $3
           AND t.version = (SELECT MAX(l.version) FROM drug_tests l WHERE l.series_id = t.series_id)
         GROUP BY SUBSTR(t.sample_date, 1, 7)",
    );
    for row in samples
        .bind(unit.to_string())
        .bind(&from_text)
        .bind(&to_text)
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?
    {
        out.push(MonthCount {
            place: None,
            kind: CountKind::DrugTestSamples,
            ..count_row(&row, None)?
        });
    }
    out.extend(deviations(conn, unit, from, to).await?);
    out.extend(blocks(conn, unit, from, to).await?);
    Ok(out)
}

/// Blocks after missed doses, from the record they leave: the one notice Samhand
/// sends per block (`messages.event_key` «missed_block:<patient>:<since>», unique),
/// put in the Oslo month it was sent. The unit's figure only: the notice goes to
/// every service of the patient, not to one place.
async fn blocks(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    from: Date,
    to: Date,
) -> Result<Vec<MonthCount>> {
    let start = start_of_oslo_day(from);
    let end = start_of_oslo_day(samhand_domain::time::next_day(to));
    let rows = sqlx::query(
        "SELECT m.sent_at FROM messages m
         WHERE m.event_key LIKE 'missed_block:%' AND m.sent_at >= $2 AND m.sent_at < $3
           AND m.patient_id IN (SELECT patient_id FROM episodes WHERE responsible_unit = $1)",
    )
    .bind(unit.to_string())
    .bind(micros(start))
    .bind(micros(end))
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    let mut by: HashMap<YearMonth, u64> = HashMap::new();
    for row in &rows {
        *by.entry(YearMonth::of_instant(instant(row, "sent_at")?))
            .or_default() += 1;
    }
    Ok(by
        .into_iter()
        .map(|(month, count)| MonthCount {
            month,
            place: None,
            kind: CountKind::Blocks,
            count,
        })
        .collect())
}

/// Deviations are stamped with an instant: read within the window, one row each
/// (a place has a handful a month), and put in their Oslo month.
async fn deviations(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    from: Date,
    to: Date,
) -> Result<Vec<MonthCount>> {
    let start = start_of_oslo_day(from);
    let end = start_of_oslo_day(samhand_domain::time::next_day(to));
    let rows = sqlx::query(
        "SELECT d.place_id, d.reported_at FROM deviations d JOIN organisations o ON o.id = d.place_id
         WHERE o.responsible_unit_id = $1 AND d.reported_at >= $2 AND d.reported_at < $3",
    )
    .bind(unit.to_string())
    .bind(micros(start))
    .bind(micros(end))
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    let mut by: HashMap<(YearMonth, OrganisationId), u64> = HashMap::new();
    for row in &rows {
        let month = YearMonth::of_instant(instant(row, "reported_at")?);
        *by.entry((month, parsed(row, "place_id")?)).or_default() += 1;
    }
    Ok(by
        .into_iter()
        .map(|((month, place), count)| MonthCount {
            month,
            place: Some(place),
            kind: CountKind::Deviations,
            count,
        })
        .collect())
}

fn count_row(row: &sqlx::any::AnyRow, kind: Option<CountKind>) -> Result<MonthCount> {
    let month = YearMonth::parse(&text(row, "month")?).ok_or_else(|| corrupt("indicator month"))?;
    let place = match row.try_get::<Option<String>, _>("place") {
        Ok(Some(id)) => Some(id.parse().map_err(|_| corrupt("indicator place"))?),
        _ => None,
    };
    let count = u64::try_from(int(row, "n")?).map_err(|_| corrupt("indicator count"))?;
    Ok(MonthCount {
        month,
        place,
        kind: kind.unwrap_or(CountKind::SupervisedDoses),
        count,
    })
}
