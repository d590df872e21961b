//! A recording made at a place's edge, taken into the central record when the
//! edge pushes it. A dose physically given cannot be refused afterwards: it is
//! stored exactly once (the edge's event id and idempotency key are kept, a retry
//! is a replay) with the time it was given, and whatever the central record says
//! against it meanwhile is a conflict: a dose dispensed elsewhere, another signed
//! order, a block, an end of treatment, an admission. A conflict is stored with
//! the recording, raises a deviation at the place, and tells the prescriber and
//! the places at once (H92, H93).

use samhand_domain::message::MessageKind;
use samhand_domain::stock::DeviationKind;
use samhand_store::edge::{self as edge_store, ReceivedRecording};
use serde::{Deserialize, Serialize};

use super::*;

/// One recording as the edge pushes it: the rows it wrote, field by field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PushedRecording {
    pub event_id: String,
    pub idempotency_key: String,
    pub patient_id: String,
    pub day: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub identity_confirmed_by: String,
    pub recorded_by: String,
    /// When it was given, in microseconds since the epoch.
    pub recorded_at: i64,
    pub doses: Vec<PushedDose>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PushedDose {
    pub date: String,
    pub part: u8,
    pub mode: String,
    pub substance: String,
    pub order_id: String,
    pub amount_ug: i64,
    pub ordered_ug: i64,
}

impl PushedRecording {
    /// The recording as the edge's store holds it.
    pub fn of(event: &DispensingEvent, doses: &[DispensedDose]) -> Self {
        Self {
            event_id: event.id.to_string(),
            idempotency_key: event.idempotency_key.clone(),
            patient_id: event.patient_id.to_string(),
            day: event.day.to_string(),
            outcome: event.outcome.code().to_string(),
            reason: event.reason.clone(),
            identity_confirmed_by: event.identity_confirmed_by.to_string(),
            recorded_by: event.recorded_by.to_string(),
            recorded_at: event.recorded_at.as_microsecond(),
            doses: doses
                .iter()
                .filter(|d| d.event_id == event.id)
                .map(|d| PushedDose {
                    date: d.key.date.to_string(),
                    part: d.key.part,
                    mode: d.mode.code().to_string(),
                    substance: d.substance.code().to_string(),
                    order_id: d.order_id.to_string(),
                    amount_ug: samhand_store::codec::dose_ug(d.amount),
                    ordered_ug: samhand_store::codec::dose_ug(d.ordered),
                })
                .collect(),
        }
    }
}

/// What the central record says against a recording made offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The same dose was recorded at central meanwhile (at a guest place, say).
    DispensedElsewhere,
    /// The order in force for the dose is not the one the edge dispensed from.
    OrderChanged,
    /// The missed-dose block was in force at central.
    Blocked,
    /// The treatment had ended.
    Ended,
    /// The patient was admitted to an institution.
    Admitted,
    /// The dose was not due at this place by the central record (moved to
    /// another place, say).
    NotDueHere,
}

impl Conflict {
    pub fn code(self) -> &'static str {
        match self {
            Self::DispensedElsewhere => "dispensed_elsewhere",
            Self::OrderChanged => "order_changed",
            Self::Blocked => "blocked",
            Self::Ended => "ended",
            Self::Admitted => "admitted",
            Self::NotDueHere => "not_due_here",
        }
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::DispensedElsewhere => "dosen var allerede registrert utlevert et annet sted",
            Self::OrderChanged => "en ny dosering var signert",
            Self::Blocked => "dosen var sperret etter uteblitte doser",
            Self::Ended => "behandlingen var avsluttet",
            Self::Admitted => "pasienten var innlagt på institusjon",
            Self::NotDueHere => "dosen skulle etter journalen ikke utleveres her",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::DispensedElsewhere,
            Self::OrderChanged,
            Self::Blocked,
            Self::Ended,
            Self::Admitted,
            Self::NotDueHere,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// What the central server answers for one pushed recording.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Intake {
    pub event_id: String,
    /// Already stored before (a retry).
    pub replayed: bool,
    pub conflicts: Vec<String>,
}

/// A pushed recording, read into the store's types.
struct Parsed {
    event: DispensingEvent,
    doses: Vec<(RecordedDose, Substance, DoseOrderId)>,
}

fn parse(pushed: &PushedRecording, place: OrganisationId) -> AppResult<Parsed> {
    let bad = |what: &str| {
        field(
            "recording",
            format!("Ugyldig registrering fra utleveringsstedet: {what}."),
        )
    };
    let event = DispensingEvent {
        id: pushed.event_id.parse().map_err(|_| bad("id"))?,
        idempotency_key: idempotency_key(&pushed.idempotency_key)?.to_string(),
        patient_id: pushed.patient_id.parse().map_err(|_| bad("pasient"))?,
        place_id: place,
        day: pushed.day.parse().map_err(|_| bad("dag"))?,
        outcome: OutcomeKind::from_code(&pushed.outcome).ok_or_else(|| bad("utfall"))?,
        reason: pushed.reason.clone(),
        identity_confirmed_by: pushed
            .identity_confirmed_by
            .parse()
            .map_err(|_| bad("identitetskontroll"))?,
        recorded_by: pushed.recorded_by.parse().map_err(|_| bad("registrert av"))?,
        recorded_at: Timestamp::from_microsecond(pushed.recorded_at).map_err(|_| bad("tidspunkt"))?,
    };
    let doses = pushed
        .doses
        .iter()
        .map(|d| {
            let key = DoseKey {
                date: d.date.parse().map_err(|_| bad("dosedato"))?,
                part: d.part,
            };
            let recorded = RecordedDose {
                key,
                mode: IntakeMode::from_code(&d.mode).ok_or_else(|| bad("inntak"))?,
                amount: Dose::from_micrograms(u64::try_from(d.amount_ug).map_err(|_| bad("mengde"))?),
                ordered: Dose::from_micrograms(
                    u64::try_from(d.ordered_ug).map_err(|_| bad("forordnet mengde"))?,
                ),
            };
            let substance = Substance::from_code(&d.substance).ok_or_else(|| bad("virkestoff"))?;
            let order: DoseOrderId = d.order_id.parse().map_err(|_| bad("forordning"))?;
            Ok((recorded, substance, order))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Parsed { event, doses })
}

impl Service<'_> {
    /// Takes a recording pushed by the edge of the actor's place into the central
    /// record (the actor is the staff member who recorded it at the edge).
    pub async fn take_edge_recording(&self, pushed: &PushedRecording, instance: &str) -> AppResult<Intake> {
        let place = self.own_place().await?;
        {
            let mut conn = self.state.store.read().await?;
            if let Some(kept) = edge_store::received(&mut conn, &pushed.event_id).await? {
                return Ok(Intake {
                    event_id: kept.event_id,
                    replayed: true,
                    conflicts: kept.conflicts,
                });
            }
        }
        let parsed = parse(pushed, place.id)?;
        let patient = parsed.event.patient_id;
        // The patient and the schedule data in one read; not found when no such patient.
        let data = self
            .patient_record(patient, samhand_store::one_patient::Also::default())
            .await?
            .data;
        let (conflicts, taken) = self.conflicts_of(&parsed, &data, place.id).await?;
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::Dispensing,
                "dispensing recorded at the place's edge",
            )
            .await;
        // A dose given is a fact: a relation lost meanwhile (the patient moved) does
        // not refuse it, it is one more conflict the place and prescriber see.
        let grant = match grant {
            Ok(grant) => grant,
            Err(_) => self.repo.edge_recording_grant(
                patient,
                "dispensing recorded at the place's edge, after the relation ended",
            ),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        let kept: Vec<_> = parsed
            .doses
            .iter()
            .filter(|(d, _, _)| !taken.contains(&d.key))
            .collect();
        let doses: Vec<RecordedDose> = kept.iter().map(|(d, _, _)| d.clone()).collect();
        let order_ids: Vec<DoseOrderId> = kept.iter().map(|(_, _, o)| *o).collect();
        let substance = parsed
            .doses
            .first()
            .map_or(Substance::MethadoneOralSolution, |(_, s, _)| *s);
        let plan = PlannedDispensing {
            doses,
            substance,
            order_ids,
            overriding_hold: false,
        };
        match self.write_dispensing(&mut tx, &parsed.event, &plan).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                // The same event (a retry racing itself) or a dose taken meanwhile:
                // try again from the start, where the replay or the conflict shows.
                drop(tx);
                self.state.store.settle().await;
                return Box::pin(self.take_edge_recording(pushed, instance)).await;
            }
            Err(other) => return Err(other.into()),
        }
        // A withheld or reduced dose is told to the prescriber as at central,
        // with the day it was assessed at the window.
        let told = match parsed.event.outcome {
            OutcomeKind::Withheld => Some((
                "Dose holdt tilbake",
                parsed.event.reason.clone().unwrap_or_default(),
            )),
            OutcomeKind::Reduced => Some(("Dose redusert", parsed.event.reason.clone().unwrap_or_default())),
            OutcomeKind::Given | OutcomeKind::Corrected => None,
        };
        self.tell_of_recording(&mut tx, &data, patient, &place, parsed.event.day, told)
            .await?;
        let codes: Vec<String> = conflicts.iter().map(|c| c.code().to_string()).collect();
        let deviation = if conflicts.is_empty() {
            None
        } else {
            Some(
                self.raise_edge_conflict(&mut tx, &parsed, &data, &place, &conflicts)
                    .await?,
            )
        };
        edge_store::insert_received(
            &mut tx,
            patient,
            &ReceivedRecording {
                event_id: pushed.event_id.clone(),
                place_id: place.id,
                instance_id: instance.to_string(),
                given_at: parsed.event.recorded_at,
                received_at: self.now(),
                conflicts: codes.clone(),
                payload: serde_json::to_string(pushed).map_err(|e| AppError::Internal(e.to_string()))?,
            },
            deviation.as_ref(),
        )
        .await?;
        tx.commit().await?;
        Ok(Intake {
            event_id: pushed.event_id.clone(),
            replayed: false,
            conflicts: codes,
        })
    }

    /// The conflicts of a recording with the central record, and the doses of it
    /// whose place in the record another recording took.
    async fn conflicts_of(
        &self,
        parsed: &Parsed,
        data: &PatientData,
        place: OrganisationId,
    ) -> AppResult<(Vec<Conflict>, HashSet<DoseKey>)> {
        let day = parsed.event.day;
        let patient = parsed.event.patient_id;
        let recent = {
            let mut conn = self.state.store.read().await?;
            let (from, to) = recorded_range(day, day);
            dispensing_store::recent_doses_of(&mut conn, &[patient], from, near_days(day, day), to).await?
        };
        let taken: HashSet<DoseKey> = recent
            .doses
            .iter()
            .filter(|d| d.event_id != parsed.event.id)
            .map(|d| d.key)
            .filter(|k| parsed.doses.iter().any(|(d, _, _)| d.key == *k))
            .collect();
        let mut conflicts = Vec::new();
        if !taken.is_empty() {
            conflicts.push(Conflict::DispensedElsewhere);
        }
        let due = with_schedule(data, day, |s| s.due_at(place, day)).unwrap_or_default();
        let untaken = parsed.doses.iter().filter(|(d, _, _)| !taken.contains(&d.key));
        let mut order_differs = false;
        let mut not_due = false;
        for (d, _, order) in untaken {
            match due.iter().find(|due| due.scheduled.key == d.key) {
                Some(due) => {
                    order_differs |= due.scheduled.order_id != *order || due.scheduled.dose != d.ordered
                }
                None => not_due = true,
            }
        }
        if data.episode_on(day).is_none_or(|e| !e.is_active_on(day)) {
            conflicts.push(Conflict::Ended);
        } else if samhand_domain::stay::pausing_stay(&data.privacy.stays, day).is_some() {
            conflicts.push(Conflict::Admitted);
        } else {
            if order_differs {
                conflicts.push(Conflict::OrderChanged);
            }
            if not_due {
                conflicts.push(Conflict::NotDueHere);
            }
        }
        let policy = self.policy().await?;
        let dosed_days: Vec<Date> = recent
            .dosed_days
            .get(&patient)
            .map(|days| days.iter().copied().filter(|d| *d < day).collect())
            .unwrap_or_default();
        if parsed.event.outcome.is_dosed() && missed_state_on(data, &dosed_days, day, &policy).is_blocked() {
            conflicts.push(Conflict::Blocked);
        }
        Ok((conflicts, taken))
    }

    /// A message to the prescriber, the coordinator, this place and the place that
    /// recorded the same dose, in the recording's own transaction; and the
    /// deviation at the place, for the caller to keep with the recording.
    async fn raise_edge_conflict(
        &self,
        tx: &mut samhand_store::PatientWrite,
        parsed: &Parsed,
        data: &PatientData,
        place: &Organisation,
        conflicts: &[Conflict],
    ) -> AppResult<samhand_store::stock::Deviation> {
        let patient = parsed.event.patient_id;
        let given = samhand_domain::time::oslo_datetime(parsed.event.recorded_at);
        let what: Vec<&str> = conflicts.iter().map(|c| c.label_nb()).collect();
        let double = conflicts.contains(&Conflict::DispensedElsewhere);
        let subject = if double {
            "Mulig dobbel dose".to_string()
        } else {
            "Utlevering uten forbindelse i strid med journalen".to_string()
        };
        let body = format!(
            "{} ved {} {} kl. {} ble registrert mens stedet var uten forbindelse. Da den kom inn, viste journalen at {}. Følg opp pasienten og avviket.",
            parsed.event.outcome.label_nb(
                parsed
                    .doses
                    .first()
                    .map_or(IntakeMode::Supervised, |(d, _, _)| d.mode)
            ),
            place.name,
            samhand_domain::format::date_nb(parsed.event.day),
            samhand_domain::format::time_nb(given.time()),
            what.join(", og at ")
        );
        let deviation = samhand_store::stock::Deviation {
            id: uuid::Uuid::now_v7().to_string(),
            place_id: place.id,
            kind: DeviationKind::EdgeConflict,
            substance: parsed.doses.first().map(|(_, s, _)| *s),
            product: None,
            count_id: None,
            difference_ug: None,
            description: format!("{subject}: {body}"),
            reported_by: parsed.event.recorded_by,
            reported_at: self.now(),
        };
        let mut to = self.prescriber_and_coordinator(data, patient);
        to.push(place.id);
        to.extend(self.places_that_recorded(parsed).await?);
        to.sort_by_key(ToString::to_string);
        to.dedup();
        self.send_automatic(tx, patient, MessageKind::PossibleDoubleDose, subject, body, to)
            .await?;
        Ok(deviation)
    }

    /// The other places where doses of this recording were recorded.
    async fn places_that_recorded(&self, parsed: &Parsed) -> AppResult<Vec<OrganisationId>> {
        let day = parsed.event.day;
        let mut conn = self.state.store.read().await?;
        let doses = dispensing_store::doses_of(
            &mut conn,
            &[parsed.event.patient_id],
            day,
            day.max(
                parsed
                    .doses
                    .iter()
                    .map(|(d, _, _)| d.key.date)
                    .max()
                    .unwrap_or(day),
            ),
        )
        .await?;
        Ok(doses
            .iter()
            .filter(|d| d.event_id != parsed.event.id && d.voided_by.is_none())
            .filter(|d| parsed.doses.iter().any(|(p, _, _)| p.key == d.key))
            .map(|d| d.place_id)
            .collect())
    }
}
