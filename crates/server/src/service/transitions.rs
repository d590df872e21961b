//! Transitions (DOMAIN.md, "Transitions and overdose prevention"): stays at an
//! institution, a hospital or a prison that pause dispensing at home, the bundle "I
//! trygge hender 24/7" bound to each stay, planned and unplanned discharge, the
//! follow-up appointment («time i hånden») whose no-show gives its owner an outreach
//! task, planning notices to the municipality, coordinator and LAR unit, and the
//! prescribing hand-over the receiving prescriber acknowledges.

use std::collections::HashMap;

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::access::{self, DataCategory, PatientRelations};
use samhand_domain::care::Task;
use samhand_domain::format::date_nb;
use samhand_domain::ids::{OrganisationId, PatientId, StayId, TaskId, UserId};
use samhand_domain::message::{Message, MessageKind};
use samhand_domain::organisation::{Organisation, StaffUser};
use samhand_domain::patient::{NewPatient, Patient, PatientInput};
use samhand_domain::stay::{
    self, Appointment, AppointmentId, AppointmentInput, BundleEntry, BundleEntryId, BundleEntryInput,
    BundleItem, DischargeInput, Handover, HandoverId, ItemState, Stay, StayEvent, StayEventId, StayEventKind,
    StayInput, StayRecord,
};
use samhand_domain::validation::{FieldErrors, parse_date};
use samhand_store::fhir::OwnerTable;
use samhand_store::{
    collaboration as task_store, messages as message_store, overdose as overdose_store, patients,
    stays as store,
};

use super::{PatientData, Service, conflict_from, missed_state, related_units};
use crate::error::{AppError, AppResult};
use crate::repo::WriteGrant;

mod discharge;
mod handover;

const DETAIL_STAYS: &str = "stays and the discharge bundle";

/// One stay as its page shows it.
#[derive(Debug, Clone)]
pub struct StayView {
    pub record: StayRecord,
    pub checklist: Vec<(BundleItem, ItemState)>,
    pub open: Vec<BundleItem>,
    /// The overdose-risk warning from days without opioids, as of the discharge (or
    /// today, while the stay lasts).
    pub warning: Option<String>,
    pub appointments: Vec<Appointment>,
    pub handovers: Vec<Handover>,
}

/// A patient's stays, newest first, with what the forms need.
#[derive(Debug, Clone)]
pub struct StaysView {
    pub patient: Patient,
    pub stays: Vec<StayView>,
    /// Why the dose order is blocked now, when it is (reduced tolerance or missed
    /// days): the discharge screen says it.
    pub blocked: Option<String>,
    pub in_lar: bool,
    pub names: HashMap<UserId, String>,
    pub organisations: crate::directory::Organisations,
    /// Institutions a stay may be at.
    pub institutions: Vec<Organisation>,
    /// Who may own a follow-up appointment or a task.
    pub owners: Vec<StaffUser>,
    /// Services prescribing may be handed over to.
    pub handover_targets: Vec<Organisation>,
    pub today: Date,
}

impl StaysView {
    pub fn stay(&self, id: StayId) -> Option<&StayView> {
        self.stays.iter().find(|s| s.record.stay.id == id)
    }
}

/// An admission as typed in the UI or the API.
#[derive(Debug, Clone, Default)]
pub struct AdmitInput {
    pub kind: String,
    /// An institution Samhand knows; empty for one it does not (then `institution`).
    pub institution_id: String,
    pub institution: String,
    pub starts_on: String,
    pub planned_end_on: String,
    pub substitution_continued: bool,
    pub opioid_use: bool,
}

/// A person not (yet) in LAR registered at the institution, with the admission.
#[derive(Debug, Clone, Default)]
pub struct RegisterInput {
    pub patient: PatientInput,
    pub admission: AdmitInput,
}

/// What a system reports of a stay: its planned end as it now stands, or the
/// discharge.
#[derive(Debug, Clone)]
pub enum StayChange {
    PlannedEnd(Date),
    Discharge(DischargeInput),
}

/// A stay as another system reports it now, against the version it last saw
/// (admission 1, each event one more).
#[derive(Debug, Clone)]
pub struct SystemStayUpdate {
    pub expected: Option<i64>,
    pub starts_on: Option<Date>,
    pub kind: String,
    pub change: StayChange,
    pub reason: String,
}

/// A prescribing hand-over as typed.
#[derive(Debug, Clone, Default)]
pub struct HandoverInput {
    pub to_organisation: String,
    pub order_summary: String,
    pub taper_plan: String,
}

impl Service<'_> {
    /// The patient a stay belongs to.
    pub async fn stay_patient(&self, stay_id: StayId) -> AppResult<PatientId> {
        let mut conn = self.state.store.read().await?;
        samhand_store::fhir::patient_of(&mut conn, OwnerTable::Stay, &stay_id.to_string())
            .await?
            .ok_or_else(|| AppError::NotFound("oppholdet".into()))
    }

    pub(super) async fn stay_and_data(
        &self,
        stay_id: StayId,
    ) -> AppResult<(PatientId, PatientData, StayRecord)> {
        let patient = self.stay_patient(stay_id).await?;
        let data = self.patient_data(patient).await?;
        let record = data
            .privacy
            .stays
            .iter()
            .find(|s| s.stay.id == stay_id)
            .cloned()
            .ok_or_else(|| AppError::NotFound("oppholdet".into()))?;
        Ok((patient, data, record))
    }

    /// The patient's stays with their bundles (a plan-and-goals read).
    pub async fn stays(&self, patient_id: PatientId) -> AppResult<StaysView> {
        let patient = self.patient(patient_id).await?;
        self.repo
            .authorize_read(patient_id, DataCategory::PlanAndGoals, DETAIL_STAYS)
            .await?;
        let data = self.patient_data(patient_id).await?;
        self.stays_view(patient, &data).await
    }

    /// The stays view from data already loaded and a read already decided: the
    /// page's, and what a discharge or a hand-over checks against.
    pub(super) async fn stays_view(&self, patient: Patient, data: &PatientData) -> AppResult<StaysView> {
        let patient_id = patient.id;
        let today = self.today();
        let (loaded, recorded) = {
            let mut conn = self.state.store.read().await?;
            let from = today
                .checked_sub(Span::new().days(super::MISSED_LOOKBACK_DAYS))
                .unwrap_or(today);
            (
                StayEvidence {
                    entries: store::bundle_entries_of(&mut conn, &[patient_id]).await?,
                    kits: overdose_store::naloxone_of(&mut conn, &[patient_id]).await?,
                    plans: overdose_store::crisis_plans_of(&mut conn, &[patient_id]).await?,
                    appointments: store::appointments_of(&mut conn, &[patient_id]).await?,
                },
                samhand_store::dispensing::doses_of(&mut conn, &[patient_id], from, today).await?,
            )
        };
        let mut stays: Vec<StayView> = data
            .privacy
            .stays
            .iter()
            .map(|record| stay_view(record, &loaded, data, today))
            .collect();
        stays.reverse();
        let policy = self.policy().await?;
        let missed = missed_state(data, &recorded, today, &policy);
        let blocked = block_text(data, &missed);
        let organisations = self.organisations().await?;
        let mut institutions: Vec<Organisation> = organisations
            .values()
            .filter(|o| o.kind.is_institution())
            .cloned()
            .collect();
        institutions.sort_by(|a, b| a.name.cmp(&b.name));
        let handover_targets = handover_targets(data, patient_id, self.now(), &organisations);
        let owners = self.follow_up_owners(data).await?;
        let names = self
            .names(people_of(&stays).chain(owners.iter().map(|o| o.id)))
            .await?;
        Ok(StaysView {
            patient,
            stays,
            blocked,
            in_lar: data.episodes.iter().any(|e| e.is_active_on(today)),
            names,
            organisations,
            institutions,
            owners,
            handover_targets,
            today,
        })
    }

    /// Staff who may own a follow-up: the task owners of the patient, and the
    /// actor themself (an institution's staff follow up their own discharges).
    pub(super) async fn follow_up_owners(&self, data: &PatientData) -> AppResult<Vec<StaffUser>> {
        let mut owners = self.task_owners(data).await?;
        if let Some(staff) = self.actor().staff()
            && !owners.iter().any(|o| o.id == staff.id)
        {
            owners.push(staff.clone());
        }
        Ok(owners)
    }

    // ------------------------------------------------------------------ admission

    /// Admits a patient to a stay, from the UI or the API: the LAR unit (or anyone
    /// who may write the patient's identity) records it, or an institution records
    /// an admission to itself, which makes it a relation. One stay at a time.
    pub async fn admit(&self, patient_id: PatientId, input: &AdmitInput) -> AppResult<Stay> {
        let stay_input = self.stay_input(input)?;
        self.admit_stay(patient_id, &stay_input).await
    }

    fn stay_input(&self, input: &AdmitInput) -> AppResult<StayInput> {
        let own_institution = self
            .actor()
            .staff()
            .filter(|s| s.organisation_kind.is_institution())
            .map(|s| s.organisation_id);
        let institution_id = match own_institution {
            Some(own) => Some(own),
            None if input.institution_id.trim().is_empty() => None,
            None => Some(input.institution_id.trim().parse().map_err(|_| {
                AppError::Invalid(FieldErrors::single(
                    "institution_id",
                    "Velg institusjonen fra lista.",
                ))
            })?),
        };
        Ok(StayInput {
            kind: input.kind.clone(),
            institution: input.institution.clone(),
            institution_id,
            starts_on: parse_date(&input.starts_on),
            planned_end_on: if input.planned_end_on.trim().is_empty() {
                None
            } else {
                Some(parse_date(&input.planned_end_on).ok_or_else(|| {
                    AppError::Invalid(FieldErrors::single(
                        "planned_end_on",
                        "Skriv planlagt utskrivningsdato (åååå-mm-dd), eller la feltet stå tomt.",
                    ))
                })?)
            },
            opioid_use: input.opioid_use,
            substitution_continued: input.substitution_continued,
            received: Vec::new(),
        })
    }

    /// The admission itself, shared by the UI, the API and FHIR Encounter.
    pub async fn admit_stay(&self, patient_id: PatientId, input: &StayInput) -> AppResult<Stay> {
        let patient = self.patient(patient_id).await?;
        let data = self.patient_data(patient_id).await?;
        let relations = data.relations(patient_id, self.now());
        let grant = self
            .repo
            .authorize_admission(patient_id, &relations, input.institution_id)
            .await?;
        let organisations = self.organisations().await?;
        let mut input = input.clone();
        if let Some(id) = input.institution_id {
            match organisations.get(&id) {
                Some(o) => input.institution = o.name.clone(),
                None => {
                    return Err(AppError::Invalid(FieldErrors::single(
                        "institution_id",
                        "Institusjonen finnes ikke i Samhand.",
                    )));
                }
            }
        }
        let today = self.today();
        let in_lar = data.episodes.iter().any(|e| e.is_active_on(today));
        // Everyone in LAR uses opioids: the bundle applies to them always.
        input.opioid_use = input.opioid_use || in_lar;
        let stay = input
            .parse(patient_id, self.actor().id(), self.now())
            .map_err(AppError::Invalid)?;
        if let Some(ongoing) = data.privacy.stays.iter().find(|s| s.discharge().is_none()) {
            self.repo
                .record_refused_write(&grant, "an ongoing stay exists")
                .await?;
            return Err(AppError::Conflict(format!(
                "{} {} er allerede innlagt ved {} fra {}. Registrer utskrivningen før et nytt opphold.",
                patient.given_name,
                patient.family_name,
                ongoing.stay.institution,
                date_nb(ongoing.stay.starts_on)
            )));
        }
        let mut recipients = related_units(&relations);
        recipients.extend(Self::coordinator_units(&data, self.now()));
        let planned = stay
            .planned_end_on
            .map(|end| {
                format!(
                    " Planlagt utskrivning {}: kommunen, koordinator og LAR-enheten bør nå planlegge bolig og første \
                     time etter utskrivning.",
                    date_nb(end)
                )
            })
            .unwrap_or_default();
        let pause = if in_lar {
            " Utlevering på utleveringsstedet stanser under oppholdet og starter igjen på datoen som avtales ved \
             utskrivning."
        } else {
            ""
        };
        let body = format!(
            "{} {} er innlagt ({}) ved {} fra {}.{pause}{planned}",
            patient.given_name,
            patient.family_name,
            stay.kind.label_nb().to_lowercase(),
            stay.institution,
            date_nb(stay.starts_on),
        );
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_stay(&mut tx, &stay).await?;
        let record_id = stay.id.to_string();
        samhand_store::received::insert(
            &mut tx,
            patient_id,
            &record_id,
            &input.received,
            stay.recorded_by,
            stay.recorded_at,
        )
        .await?;
        let message = self.automatic_message(
            patient_id,
            MessageKind::Admission,
            format!("Innleggelse: {}", stay.institution),
            body,
            recipients,
        );
        self.send_keyed(&mut tx, format!("stay:{}:admitted", stay.id), message)
            .await?;
        tx.commit().await?;
        Ok(stay)
    }

    /// A person not (yet) in LAR, registered at the institution with the admission:
    /// the bundle applies to them too when opioid use is registered.
    pub async fn register_and_admit(&self, input: &RegisterInput) -> AppResult<PatientId> {
        let staff = self.staff()?.clone();
        if !access::may_admit(&staff).is_allowed() {
            return Err(AppError::Forbidden(
                "Bare ansatte ved en institusjon kan registrere en ny person ved innleggelse.".into(),
            ));
        }
        let mut errors = FieldErrors::default();
        let person = NewPatient::parse(&input.patient, self.today(), &mut errors);
        let stay_input = self.stay_input(&input.admission)?;
        let patient_id = PatientId::new();
        let stay = stay_input.parse(patient_id, staff.id, self.now());
        if let Err(stay_errors) = &stay {
            errors.0.extend(stay_errors.0.iter().cloned());
        }
        if let Some(person) = &person {
            let mut conn = self.state.store.read().await?;
            if patients::by_national_id(&mut conn, &person.national_id)
                .await?
                .is_some()
            {
                errors.push(
                    "national_id",
                    "Personen er allerede registrert i Samhand. Søk opp personen og registrer innleggelsen der.",
                );
            }
        }
        let (Some(person), Ok(mut stay), true) = (person, stay, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        if let Some(org) = self.organisations().await?.get(&staff.organisation_id) {
            stay.institution = org.name.clone();
        }
        let [registered, admitted] = ["person registered at admission", "admission recorded"].map(|detail| {
            self.repo.creation_grant(
                patient_id,
                DataCategory::Identity,
                access::AllowedBy::Admission,
                detail,
            )
        });
        let mut tx = self.repo.begin_write(&registered).await?;
        self.repo.record_write_also(&mut tx, &admitted)?;
        patients::insert(&mut tx, patient_id, &person, staff.id, self.now())
            .await
            .map_err(|e| conflict_from(e, "Personen er allerede registrert i Samhand."))?;
        store::insert_stay(&mut tx, &stay).await?;
        tx.commit().await?;
        Ok(patient_id)
    }

    // ------------------------------------------------------------------ during

    pub(super) async fn stay_write(
        &self,
        stay_id: StayId,
        detail: &str,
    ) -> AppResult<(PatientId, PatientData, StayRecord, WriteGrant)> {
        let (patient, data, record) = self.stay_and_data(stay_id).await?;
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(patient, &relations, DataCategory::PlanAndGoals, detail)
            .await?;
        Ok((patient, data, record, grant))
    }

    fn event(&self, stay: StayId, kind: StayEventKind, reason: &str) -> StayEvent {
        StayEvent {
            id: StayEventId::new(),
            stay_id: stay,
            kind,
            reason: reason.trim().to_string(),
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
        }
    }

    /// A new planned discharge date, with the reason; the units are told again.
    pub async fn extend_stay(&self, stay_id: StayId, planned_end_on: &str, reason: &str) -> AppResult<()> {
        let (patient, data, record, grant) = self.stay_write(stay_id, "stay extended").await?;
        let mut errors = FieldErrors::default();
        let end = parse_date(planned_end_on);
        match end {
            None => errors.push(
                "planned_end_on",
                "Skriv ny planlagt utskrivningsdato (åååå-mm-dd).",
            ),
            Some(end) if end < record.stay.starts_on => {
                errors.push("planned_end_on", "Utskrivningen kan ikke være før innleggelsen.")
            }
            Some(end) if end < self.today() => {
                errors.push("planned_end_on", "Datoen kan ikke være tilbake i tid.")
            }
            _ => {}
        }
        if reason.trim().chars().count() < 5 {
            errors.push("reason", "Skriv hvorfor oppholdet forlenges (minst 5 tegn).");
        }
        if record.discharge().is_some() {
            errors.push("planned_end_on", "Oppholdet er allerede avsluttet.");
        }
        if errors.is_empty() && end.is_some() && end == record.planned_end() {
            self.repo
                .record_refused_write(&grant, "extension repeated")
                .await?;
            return Err(AppError::Conflict(
                "Planlagt utskrivning er allerede denne datoen.".into(),
            ));
        }
        let (Some(end), true) = (end, errors.is_empty()) else {
            self.repo
                .record_refused_write(&grant, "invalid extension")
                .await?;
            return Err(AppError::Invalid(errors));
        };
        let event = self.event(stay_id, StayEventKind::Extended { planned_end_on: end }, reason);
        let relations = data.relations(patient, self.now());
        let mut recipients = related_units(&relations);
        recipients.extend(Self::coordinator_units(&data, self.now()));
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_event(&mut tx, &event).await?;
        let subject = format!("Oppholdet er forlenget til {}", date_nb(end));
        let body = format!(
            "Oppholdet ved {} er forlenget. Ny planlagt utskrivning: {}. Begrunnelse: {}. Planlegg bolig og \
             første time etter utskrivning ut fra den nye datoen.",
            record.stay.institution,
            date_nb(end),
            reason.trim()
        );
        let message = self.automatic_message(patient, MessageKind::Admission, subject, body, recipients);
        self.send_keyed(&mut tx, format!("stay:{stay_id}:extended:{end}"), message)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// From a date, the institution gives (or no longer gives) the usual dose.
    pub async fn set_substitution(
        &self,
        stay_id: StayId,
        from: &str,
        continued: bool,
        reason: &str,
    ) -> AppResult<()> {
        let (_, _, record, grant) = self.stay_write(stay_id, "substitution during stay").await?;
        let Some(from) = parse_date(from).filter(|d| *d >= record.stay.starts_on && *d <= self.today())
        else {
            self.repo.record_refused_write(&grant, "invalid date").await?;
            return Err(AppError::Invalid(FieldErrors::single(
                "from",
                "Skriv en dato i oppholdet, ikke fram i tid (åååå-mm-dd).",
            )));
        };
        let event = self.event(stay_id, StayEventKind::Substitution { from, continued }, reason);
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks a bundle item done by hand, or waives it with a reason.
    pub async fn mark_bundle_item(&self, stay_id: StayId, input: &BundleEntryInput) -> AppResult<()> {
        let (_, _, record, grant) = self.stay_write(stay_id, "discharge bundle item").await?;
        let (item, waived, on, note) = self
            .repo
            .checked(&grant, "invalid bundle entry", input.parse(&record, self.today()))
            .await?;
        let entry = BundleEntry {
            id: BundleEntryId::new(),
            stay_id,
            item,
            waived,
            on,
            note,
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_bundle_entry(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What a stay's checklist is ticked from, loaded once for all the patient's stays.
struct StayEvidence {
    entries: Vec<BundleEntry>,
    kits: Vec<samhand_domain::overdose::NaloxoneKit>,
    plans: Vec<samhand_domain::overdose::CrisisPlanVersion>,
    appointments: Vec<Appointment>,
}

/// One stay with its checklist, appointments, hand-overs and tolerance warning.
fn stay_view(record: &StayRecord, loaded: &StayEvidence, data: &PatientData, today: Date) -> StayView {
    let StayEvidence {
        entries,
        kits,
        plans,
        appointments,
    } = loaded;
    let own_appointments: Vec<Appointment> = appointments
        .iter()
        .filter(|a| a.stay_id == Some(record.stay.id))
        .cloned()
        .collect();
    let evidence = stay::evidence_for(record, kits, plans, &own_appointments);
    let own: Vec<BundleEntry> = entries
        .iter()
        .filter(|e| e.stay_id == record.stay.id)
        .cloned()
        .collect();
    let checklist = stay::checklist(&own, &evidence);
    let open = stay::open_items(&checklist);
    let until = record.discharge().map_or(today, |d| d.on);
    StayView {
        warning: stay::reduced_tolerance_warning(record, until),
        checklist,
        open,
        appointments: own_appointments,
        handovers: data
            .privacy
            .handovers
            .iter()
            .filter(|h| h.stay_id == Some(record.stay.id))
            .cloned()
            .collect(),
        record: record.clone(),
    }
}

/// Why the order is blocked, when it is: after a stay (reduced tolerance) or after
/// days without a dose.
fn block_text(data: &PatientData, missed: &samhand_domain::missed::MissedDoseState) -> Option<String> {
    missed.blocked_since.map(|since| {
        if samhand_domain::stay::block_follows_stay(&data.privacy.stays, missed) {
            format!(
                "Dosen er sperret fra {} på grunn av redusert toleranse: {} uten vanlig substitusjonsdose \
                 (opphold). Lege må revurdere dosen før neste utlevering.",
                date_nb(since),
                samhand_domain::format::count_nb(missed.consecutive_days, "dag", "dager")
            )
        } else {
            format!(
                "Dosen er sperret fra {} etter {} uten dose. Lege må revurdere dosen.",
                date_nb(since),
                samhand_domain::format::count_nb(missed.consecutive_days, "dag", "dager")
            )
        }
    })
}

/// The services prescribing may be handed over to: the patient's LAR units and
/// GP offices in the care team.
fn handover_targets(
    data: &PatientData,
    patient: PatientId,
    now: jiff::Timestamp,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Vec<Organisation> {
    let relations = data.relations(patient, now);
    let mut targets: Vec<Organisation> = relations
        .responsible_units
        .iter()
        .chain(relations.care_team.iter().map(|(_, org)| org))
        .filter_map(|id| organisations.get(id))
        .filter(|o| {
            o.kind.is_lar_unit() || o.kind == samhand_domain::organisation::OrganisationKind::GpOffice
        })
        .cloned()
        .collect();
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    targets.dedup_by_key(|o| o.id);
    targets
}

/// Everyone named on the stays: who recorded, waived, follows up, acknowledged.
fn people_of(stays: &[StayView]) -> impl Iterator<Item = UserId> + '_ {
    stays.iter().flat_map(|s| {
        s.record
            .events
            .iter()
            .map(|e| e.recorded_by)
            .chain(std::iter::once(s.record.stay.recorded_by))
            .chain(s.checklist.iter().filter_map(|(_, st)| match st {
                ItemState::Waived { by, .. } => Some(*by),
                _ => None,
            }))
            .chain(s.appointments.iter().map(|a| a.owner))
            .chain(s.handovers.iter().filter_map(|h| h.acknowledged.map(|(u, _)| u)))
            .collect::<Vec<_>>()
    })
}
