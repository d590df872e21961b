//! The indicators that follow each patient's own rules (H85, H86; the domain's
//! `indicators::followup`): doses due and missed, discharges with the bundle
//! completed, and the drug-test samples the regimes expect. Each input is read for
//! all the unit's patients of the period in one batched read per kind (the
//! schedule data as the window loads it, the days dosed from the kept state of
//! issue 16, withheld days, stays, regimes, and the bundle's evidence only for the
//! patients discharged), and every patient's figures are computed from memory:
//! no query per patient or per day.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use samhand_domain::arrangement::effective_arrangement;
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::dose_order::SignedDoseOrder;
use samhand_domain::ids::{EpisodeId, OrganisationId, PatientId};
use samhand_domain::indicators::followup::{bundle_completed, expected_samples, missed_days, tally};
use samhand_domain::indicators::{CountKind, MonthCount, YearMonth};
use samhand_domain::schedule::PatientSchedule;
use samhand_domain::stay::{self, StayRecord};
use samhand_domain::time::previous_day;
use sqlx::AnyConnection;

use crate::codec::{date_text, parsed};
use crate::db::{Result, classify};

/// Missed doses per place, discharges and completed bundles per place, and the
/// samples expected for the unit, per Oslo month from `from` to `to` (days and
/// windows up to yesterday: today is not judged until it is over).
pub async fn followup_counts(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    from: Date,
    to: Date,
    today: Date,
) -> Result<Vec<MonthCount>> {
    let patients = unit_patients(conn, unit, from, to).await?;
    if patients.is_empty() || from > to {
        return Ok(Vec::new());
    }
    let data = Loaded::read(conn, unit, &patients).await?;
    let mut out = missed(conn, unit, &data, from, to.min(previous_day(today))).await?;
    out.extend(discharges(conn, &data, from, to).await?);
    out.extend(expected(conn, &patients, from, to, today).await?);
    Ok(out)
}

/// The patients with an episode of the unit running some day from `from` to `to`.
async fn unit_patients(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    from: Date,
    to: Date,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT e.patient_id FROM episodes e LEFT JOIN episode_ends x ON x.episode_id = e.id
         WHERE e.responsible_unit = $1 AND e.started_on <= $3 AND (x.ended_on IS NULL OR x.ended_on > $2)
         ORDER BY e.patient_id",
    )
    .bind(unit.to_string())
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    rows.iter().map(|row| parsed(row, "patient_id")).collect()
}

/// What every patient's schedule is computed from, as the window loads it.
struct Loaded {
    patients: Vec<PatientId>,
    episodes: HashMap<PatientId, Vec<samhand_domain::patient::Episode>>,
    orders: HashMap<EpisodeId, Vec<SignedDoseOrder>>,
    arrangements: HashMap<PatientId, Vec<samhand_domain::arrangement::Arrangement>>,
    covers: HashMap<PatientId, Vec<samhand_domain::schedule::Cover>>,
    stays: HashMap<PatientId, Vec<StayRecord>>,
}

impl Loaded {
    async fn read(conn: &mut AnyConnection, unit: OrganisationId, patients: &[PatientId]) -> Result<Self> {
        let mut episodes: HashMap<_, Vec<_>> = HashMap::new();
        for episode in crate::patients::episodes_of(conn, patients).await? {
            // Only the unit's own episodes: another unit's doses are not this unit's.
            if episode.responsible_unit == unit {
                episodes.entry(episode.patient_id).or_default().push(episode);
            }
        }
        let mut orders: HashMap<_, Vec<_>> = HashMap::new();
        for order in crate::orders::signed_orders_of(conn, patients).await? {
            orders.entry(order.order().episode_id).or_default().push(order);
        }
        let mut arrangements: HashMap<_, Vec<_>> = HashMap::new();
        for arrangement in crate::orders::arrangements_of(conn, patients).await? {
            arrangements
                .entry(arrangement.patient_id)
                .or_default()
                .push(arrangement);
        }
        let mut covers: HashMap<_, Vec<_>> = HashMap::new();
        for cover in crate::orders::covers_of(conn, patients).await? {
            covers.entry(cover.patient_id).or_default().push(cover);
        }
        let mut stays: HashMap<_, Vec<_>> = HashMap::new();
        for record in crate::stays::stays_of(conn, patients).await? {
            stays.entry(record.stay.patient_id).or_default().push(record);
        }
        Ok(Self {
            patients: patients.to_vec(),
            episodes,
            orders,
            arrangements,
            covers,
            stays,
        })
    }
}

/// Doses due and missed from `from` to `last` (H85): the domain's verdict of each
/// day under each of the unit's episodes, a day counted once at the place it was due.
async fn missed(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    data: &Loaded,
    from: Date,
    last: Date,
) -> Result<Vec<MonthCount>> {
    if last < from {
        return Ok(Vec::new());
    }
    let (dosed, _) = crate::day_state::dosed_days_of(conn, &data.patients, from, last).await?;
    let withheld = withheld_days(conn, unit, from, last).await?;
    let none = Vec::new();
    let mut events = Vec::new();
    for patient in &data.patients {
        let dosed = dosed.get(patient).unwrap_or(&none);
        let withheld = withheld.get(patient).unwrap_or(&none);
        let mut days: BTreeMap<Date, Option<OrganisationId>> = BTreeMap::new();
        for episode in data.episodes.get(patient).into_iter().flatten() {
            let schedule = PatientSchedule {
                episode,
                orders: data.orders.get(&episode.id).map_or(&[], Vec::as_slice),
                arrangements: data.arrangements.get(patient).map_or(&[], Vec::as_slice),
                covers: data.covers.get(patient).map_or(&[], Vec::as_slice),
                stays: data.stays.get(patient).map_or(&[], Vec::as_slice),
            };
            let start = from.max(episode.started_on);
            let end = episode
                .ended
                .as_ref()
                .map_or(last, |e| last.min(previous_day(e.on)));
            for (day, place) in missed_days(
                &schedule,
                start,
                end,
                &|d| dosed.binary_search(&d).is_ok(),
                &|d| withheld.binary_search(&d).is_ok(),
            ) {
                days.entry(day).or_insert(place);
            }
        }
        events.extend(days.into_iter().map(|(day, place)| (YearMonth::of(day), place)));
    }
    Ok(tally(CountKind::MissedDoses, events))
}

/// The days of each of the unit's patients with a withheld dose that no correction
/// replaced, ascending: counted as withheld, never also as missed.
async fn withheld_days(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    from: Date,
    to: Date,
) -> Result<HashMap<PatientId, Vec<Date>>> {
    let rows = sqlx::query(
        "SELECT DISTINCT e.patient_id, e.day FROM dispensing_events e
         WHERE e.outcome = $2 AND e.day >= $3 AND e.day <= $4
           AND e.patient_id IN (SELECT patient_id FROM episodes WHERE responsible_unit = $1)
           AND NOT EXISTS (SELECT 1 FROM dispensing_corrections c WHERE c.corrects_event_id = e.id)",
    )
    .bind(unit.to_string())
    .bind(OutcomeKind::Withheld.code())
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    let mut days: HashMap<PatientId, Vec<Date>> = HashMap::new();
    for row in &rows {
        days.entry(parsed(row, "patient_id")?)
            .or_default()
            .push(parsed(row, "day")?);
    }
    for list in days.values_mut() {
        list.sort();
    }
    Ok(days)
}

/// Discharges from stays the bundle applies to, from `from` to `to`, at the place
/// in force on the discharge day, and those with the bundle completed: the
/// stay's checklist as its page shows it, from the evidence of the discharged
/// patients only.
async fn discharges(
    conn: &mut AnyConnection,
    data: &Loaded,
    from: Date,
    to: Date,
) -> Result<Vec<MonthCount>> {
    let mut discharged: Vec<(&StayRecord, YearMonth, Option<OrganisationId>)> = Vec::new();
    for (patient, records) in &data.stays {
        for record in records {
            let Some(discharge) = record.discharge() else {
                continue;
            };
            if discharge.on < from || discharge.on > to || !record.bundle_applies() {
                continue;
            }
            let place = data
                .arrangements
                .get(patient)
                .and_then(|a| effective_arrangement(a, discharge.on))
                .map(|a| a.content.place_id);
            discharged.push((record, YearMonth::of(discharge.on), place));
        }
    }
    if discharged.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<PatientId> = discharged.iter().map(|(r, _, _)| r.stay.patient_id).collect();
    ids.sort();
    ids.dedup();
    let entries = crate::stays::bundle_entries_of(conn, &ids).await?;
    let kits = crate::overdose::naloxone_of(conn, &ids).await?;
    let plans = crate::overdose::crisis_plans_of(conn, &ids).await?;
    let appointments = crate::stays::appointments_of(conn, &ids).await?;
    let completed = discharged.iter().filter(|(record, _, _)| {
        let own: Vec<_> = entries
            .iter()
            .filter(|e| e.stay_id == record.stay.id)
            .cloned()
            .collect();
        let evidence = stay::evidence_for(record, &kits, &plans, &appointments);
        bundle_completed(record, &stay::checklist(&own, &evidence))
    });
    let mut out = tally(
        CountKind::DischargeBundles,
        completed.map(|(_, month, place)| (*month, *place)),
    );
    out.extend(tally(
        CountKind::Discharges,
        discharged.iter().map(|(_, month, place)| (*month, *place)),
    ));
    Ok(out)
}

/// The samples the regimes in force expect, the unit's figure (H86).
async fn expected(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    from: Date,
    to: Date,
    today: Date,
) -> Result<Vec<MonthCount>> {
    let mut versions: HashMap<PatientId, Vec<_>> = HashMap::new();
    for regime in crate::drug_test_regimes::of_patients(conn, patients).await? {
        versions.entry(regime.patient_id).or_default().push(regime);
    }
    let (first, last) = (YearMonth::of(from), YearMonth::of(to));
    let mut by_month: BTreeMap<YearMonth, u64> = BTreeMap::new();
    for list in versions.values() {
        for (month, count) in expected_samples(list, first, last, today) {
            *by_month.entry(month).or_default() += count;
        }
    }
    Ok(by_month
        .into_iter()
        .map(|(month, count)| MonthCount {
            month,
            place: None,
            kind: CountKind::DrugTestSamplesExpected,
            count,
        })
        .collect())
}
