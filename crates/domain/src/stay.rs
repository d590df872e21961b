//! Stays (opphold): a patient admitted to an institution, a hospital or a prison,
//! from a start date, with a planned end when one is known, extended and finally
//! discharged (planned or unplanned) by later events. While a stay lasts, dispensing
//! at the home place pauses; it resumes on the day agreed at discharge. The days of
//! a stay without the usual substitution dose count towards reduced tolerance
//! exactly as missed days do (DOMAIN.md, "Transitions and overdose prevention").

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use crate::ids::{OrganisationId, PatientId, StayId, UserId, id_type};

id_type!(StayEventId, BundleEntryId, AppointmentId, HandoverId);
use crate::validation::FieldErrors;

crate::coded! {
    /// Where the patient stays.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum StayKind {
        Hospital = "hospital",
        Institution = "institution",
        Prison = "prison",
    }
}

impl StayKind {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Hospital => "Sykehusinnleggelse",
            Self::Institution => "Institusjonsopphold",
            Self::Prison => "Fengselsopphold",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub id: StayId,
    pub patient_id: PatientId,
    pub kind: StayKind,
    /// The institution's name as reported.
    pub institution: String,
    /// The institution, when it is an organisation Samhand knows.
    pub institution_id: Option<OrganisationId>,
    pub starts_on: Date,
    /// The planned discharge as known at admission; extensions come as events.
    pub planned_end_on: Option<Date>,
    /// Opioid use is registered for the person (always so for a LAR patient): the
    /// overdose-prevention bundle applies to the stay.
    pub opioid_use: bool,
    /// Whether the institution gives the usual substitution dose from admission
    /// (a later event may change it, e.g. when a detox begins).
    pub substitution_continued: bool,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// A stay as reported, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct StayInput {
    pub kind: String,
    pub institution: String,
    pub institution_id: Option<OrganisationId>,
    pub starts_on: Option<Date>,
    pub planned_end_on: Option<Date>,
    pub opioid_use: bool,
    pub substitution_continued: bool,
    /// What another system sent to identify the stay, itself and the patient
    /// (kept beside the stay, never changed).
    pub received: Vec<crate::received::ReceivedIdentifier>,
}

impl StayInput {
    pub fn parse(
        &self,
        patient_id: PatientId,
        recorded_by: UserId,
        recorded_at: Timestamp,
    ) -> Result<Stay, FieldErrors> {
        let mut errors = FieldErrors::default();
        let kind = StayKind::from_code(self.kind.trim());
        if kind.is_none() {
            errors.push("type", "Velg type opphold: hospital, institution eller prison.");
        }
        if self.institution.trim().is_empty() {
            errors.push("serviceProvider", "Institusjonen mangler.");
        }
        match (self.starts_on, self.planned_end_on) {
            (None, _) => errors.push("period.start", "Startdatoen mangler eller er ugyldig."),
            (Some(start), Some(end)) if end < start => {
                errors.push("period.end", "Planlagt slutt kan ikke være før start.")
            }
            _ => {}
        }
        match (kind, self.starts_on, errors.is_empty()) {
            (Some(kind), Some(starts_on), true) => Ok(Stay {
                id: StayId::new(),
                patient_id,
                kind,
                institution: self.institution.trim().to_string(),
                institution_id: self.institution_id,
                starts_on,
                planned_end_on: self.planned_end_on,
                opioid_use: self.opioid_use,
                substitution_continued: self.substitution_continued,
                recorded_by,
                recorded_at,
            }),
            _ => Err(errors),
        }
    }
}

// ------------------------------------------------------------------ events

/// What happened to a stay after admission. Events are appended, never changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StayEventKind {
    /// The planned discharge moved (an extension, or a first date set later).
    Extended {
        planned_end_on: Date,
    },
    /// From `from`, the institution does (or no longer does) give the usual
    /// substitution dose.
    Substitution {
        from: Date,
        continued: bool,
    },
    Discharged(Discharge),
}

impl StayEventKind {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Extended { .. } => "extended",
            Self::Substitution { .. } => "substitution",
            Self::Discharged(_) => "discharged",
        }
    }
}

/// The end of a stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discharge {
    pub on: Date,
    /// Planned (the bundle was completed or waived) or unplanned (the patient left).
    pub planned: bool,
    /// The day dispensing at home resumes: the discharge day, or the day after when
    /// the institution gave the discharge day's dose.
    pub resume_on: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayEvent {
    pub id: StayEventId,
    pub stay_id: StayId,
    pub kind: StayEventKind,
    /// Why (an extension's reason, what happened at an unplanned discharge).
    pub reason: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// A stay with everything that happened to it, in the order it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayRecord {
    pub stay: Stay,
    pub events: Vec<StayEvent>,
    /// The identifiers another system sent with the stay.
    pub received: Vec<crate::received::ReceivedIdentifier>,
}

impl StayRecord {
    pub fn new(stay: Stay) -> Self {
        Self {
            stay,
            events: Vec::new(),
            received: Vec::new(),
        }
    }

    /// The planned discharge as it stands: the latest extension, or the admission's.
    pub fn planned_end(&self) -> Option<Date> {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                StayEventKind::Extended { planned_end_on } => Some(planned_end_on),
                _ => None,
            })
            .or(self.stay.planned_end_on)
    }

    pub fn discharge(&self) -> Option<&Discharge> {
        match &self.discharge_event()?.kind {
            StayEventKind::Discharged(d) => Some(d),
            _ => None,
        }
    }

    /// The discharge event, with who recorded it and why.
    pub fn discharge_event(&self) -> Option<&StayEvent> {
        self.events
            .iter()
            .find(|e| matches!(e.kind, StayEventKind::Discharged(_)))
    }

    /// Whether the patient is at the institution on a date: from admission until
    /// the discharge is recorded (a planned end alone does not end a stay: until the
    /// discharge is known, nobody may assume the patient is home).
    pub fn is_ongoing_on(&self, date: Date) -> bool {
        self.stay.starts_on <= date && self.discharge().is_none_or(|d| date < d.on)
    }

    /// Whether the day's medication is the institution's: from admission to the day
    /// before home dispensing resumes. Dispensing at home pauses on these days.
    pub fn pauses_home_on(&self, date: Date) -> bool {
        self.stay.starts_on <= date && self.discharge().is_none_or(|d| date < d.resume_on)
    }

    /// Whether the institution gives the usual substitution dose on a date.
    pub fn substitution_on(&self, date: Date) -> bool {
        self.events
            .iter()
            .filter_map(|e| match e.kind {
                StayEventKind::Substitution { from, continued } if from <= date => Some((from, continued)),
                _ => None,
            })
            .max_by_key(|(from, _)| *from)
            .map_or(self.stay.substitution_continued, |(_, continued)| continued)
    }

    /// The days of the stay, before `until`, on which the patient had no opioids
    /// from the institution: the days the reduced-tolerance rules count.
    pub fn days_without_substitution(&self, until: Date) -> u32 {
        let end = self.discharge().map_or(until, |d| d.on.min(until));
        if end <= self.stay.starts_on {
            return 0;
        }
        crate::time::days_inclusive(self.stay.starts_on, crate::time::previous_day(end))
            .filter(|d| !self.substitution_on(*d))
            .count() as u32
    }

    /// Whether the bundle applies: opioid use is registered.
    pub fn bundle_applies(&self) -> bool {
        self.stay.opioid_use
    }

    /// Whether the stay's planned discharge is past without a discharge recorded.
    pub fn discharge_overdue(&self, today: Date) -> bool {
        self.discharge().is_none() && self.planned_end().is_some_and(|end| end < today)
    }
}

/// The stay (if any) whose institution has the medication on a date.
pub fn pausing_stay(stays: &[StayRecord], date: Date) -> Option<&StayRecord> {
    stays.iter().find(|s| s.pauses_home_on(date))
}

/// The thresholds of the reduced-tolerance rules (DOMAIN.md): more than the
/// missed-dose tolerance without the usual dose blocks the order (the missed-dose
/// rule itself counts the days); a stay of `warning_days` or more without opioids
/// gives the overdose-risk warning at discharge.
pub const WARNING_DAYS_WITHOUT_OPIOIDS: u32 = 3;

/// The overdose-risk warning at discharge, when the stay warrants one.
pub fn reduced_tolerance_warning(stay: &StayRecord, on: Date) -> Option<String> {
    let days = stay.days_without_substitution(on);
    (stay.bundle_applies() && days >= WARNING_DAYS_WITHOUT_OPIOIDS).then(|| {
        format!(
            "Redusert toleranse: {} uten opioider under oppholdet. Høy risiko for overdose etter \
             utskrivning, særlig den første uken. Gi nalokson og informer pasienten om at en vanlig dose kan \
             være dødelig nå.",
            crate::format::count_nb(days, "dag", "dager")
        )
    })
}

// ------------------------------------------------------------------ discharge

/// A discharge as typed.
#[derive(Debug, Clone, Default)]
pub struct DischargeInput {
    pub on: String,
    pub planned: bool,
    /// Empty: the discharge day.
    pub resume_on: String,
    pub reason: String,
}

impl DischargeInput {
    /// Checks a discharge of `stay`, decided `today`. A planned discharge needs
    /// every bundle item done or waived (`open` lists those still open); an
    /// unplanned one needs a word on what happened. Home dispensing resumes on the
    /// discharge day or the day after, never later: a gap would leave days
    /// dispensed by nobody.
    pub fn parse(
        &self,
        stay: &StayRecord,
        open: &[BundleItem],
        today: Date,
    ) -> Result<Discharge, FieldErrors> {
        let mut errors = FieldErrors::default();
        if stay.discharge().is_some() {
            errors.push("on", "Oppholdet er allerede avsluttet.");
            return Err(errors);
        }
        let on = crate::validation::parse_date(&self.on);
        match on {
            None => errors.push("on", "Skriv utskrivningsdatoen (åååå-mm-dd)."),
            Some(on) if on < stay.stay.starts_on => {
                errors.push("on", "Utskrivningen kan ikke være før innleggelsen.")
            }
            Some(on) if on > today => errors.push(
                "on",
                "Utskrivningen registreres når den skjer, ikke på forhånd. Bruk planlagt utskrivningsdato.",
            ),
            _ => {}
        }
        let resume_on = if self.resume_on.trim().is_empty() {
            on
        } else {
            let parsed = crate::validation::parse_date(&self.resume_on);
            match (parsed, on) {
                (None, _) => {
                    errors.push(
                        "resume_on",
                        "Skriv datoen utleveringen hjemme starter igjen (åååå-mm-dd).",
                    );
                    None
                }
                (Some(resume), Some(on)) if resume < on || resume > crate::time::next_day(on) => {
                    errors.push(
                        "resume_on",
                        "Utleveringen hjemme må starte igjen på utskrivningsdagen eller dagen etter, ellers står \
                         pasienten uten dose.",
                    );
                    None
                }
                (Some(resume), _) => Some(resume),
            }
        };
        if self.planned && !open.is_empty() && stay.bundle_applies() {
            let names: Vec<&str> = open.iter().map(|i| i.label_nb()).collect();
            errors.push(
                "bundle",
                format!(
                    "Planlagt utskrivning kan ikke fullføres før tiltakspakken er gjort eller fravalgt med \
                     begrunnelse. Åpne punkter: {}.",
                    names.join(", ")
                ),
            );
        }
        if !self.planned && self.reason.trim().chars().count() < 5 {
            errors.push("reason", "Skriv kort hva som skjedde (minst 5 tegn).");
        }
        match (on, resume_on, errors.is_empty()) {
            (Some(on), Some(resume_on), true) => Ok(Discharge {
                on,
                planned: self.planned,
                resume_on,
            }),
            _ => Err(errors),
        }
    }
}

// ------------------------------------------------------------------ the bundle

crate::coded! {
    /// The items of the bundle "I trygge hender 24/7", in the order they happen.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum BundleItem {
        /// Admission conversation: substance use mapped, overdose risk explained.
        AdmissionConversation = "admission_conversation",
        NaloxoneTraining = "naloxone_training",
        NaloxoneKit = "naloxone_kit",
        /// Crisis plan made with the patient.
        CrisisPlan = "crisis_plan",
        DischargeConversation = "discharge_conversation",
        /// «Time i hånden»: the follow-up appointment outside.
        FollowUpAppointment = "follow_up_appointment",
    }
}

impl BundleItem {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::AdmissionConversation => "Innkomstsamtale med informasjon om overdoserisiko",
            Self::NaloxoneTraining => "Opplæring i nalokson",
            Self::NaloxoneKit => "Nalokson nesespray utlevert",
            Self::CrisisPlan => "Kriseplan laget sammen med pasienten",
            Self::DischargeConversation => "Utskrivningssamtale",
            Self::FollowUpAppointment => "Time i hånden (avtale etter utskrivning)",
        }
    }

    /// What the task says when the item is left open at an unplanned discharge.
    pub fn task_nb(self) -> String {
        format!("Etter brudd i opphold: {}", self.label_nb().to_lowercase())
    }

    /// Items the record itself can show done: a kit or training recorded in the
    /// naloxone hand-outs, a crisis plan saved, an appointment registered.
    pub fn is_derived(self) -> bool {
        matches!(
            self,
            Self::NaloxoneTraining | Self::NaloxoneKit | Self::CrisisPlan | Self::FollowUpAppointment
        )
    }
}

/// A bundle item marked done or waived, by hand. Appended; the latest per item
/// counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    pub id: BundleEntryId,
    pub stay_id: StayId,
    pub item: BundleItem,
    /// Done (`false`) or waived (`true`).
    pub waived: bool,
    pub on: Date,
    /// A note when done; the reason when waived.
    pub note: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// Where an item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    Open,
    /// Done on a date; `source` says how the system knows (a note, or the record).
    Done {
        on: Date,
        source: String,
    },
    Waived {
        reason: String,
        by: UserId,
    },
}

impl ItemState {
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }
}

/// What the record shows about the derived items during a stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleEvidence {
    /// Naloxone hand-outs from the stay's start: (date, training given).
    pub naloxone: Vec<(Date, bool)>,
    /// Crisis plan versions saved from the stay's start.
    pub crisis_plans: Vec<Date>,
    /// Follow-up appointments registered for the stay: their dates.
    pub appointments: Vec<Date>,
}

/// What the record shows about one stay's derived items: naloxone hand-outs and
/// crisis plans saved from the stay's start, and the appointments registered for
/// the stay. The stay's page and the unit indicators both tick the checklist from it.
pub fn evidence_for(
    record: &StayRecord,
    kits: &[crate::overdose::NaloxoneKit],
    plans: &[crate::overdose::CrisisPlanVersion],
    appointments: &[Appointment],
) -> BundleEvidence {
    let since = record.stay.starts_on;
    BundleEvidence {
        naloxone: kits
            .iter()
            .filter(|k| k.patient_id == record.stay.patient_id && k.handed_out_on >= since)
            .map(|k| (k.handed_out_on, k.training_given))
            .collect(),
        crisis_plans: plans
            .iter()
            .filter(|p| p.patient_id == record.stay.patient_id)
            .map(|p| crate::time::oslo_date(p.recorded_at))
            .filter(|d| *d >= since)
            .collect(),
        appointments: appointments
            .iter()
            .filter(|a| a.stay_id == Some(record.stay.id))
            .map(|a| a.at.date())
            .collect(),
    }
}

/// Each item of the bundle and where it stands.
pub fn checklist(entries: &[BundleEntry], evidence: &BundleEvidence) -> Vec<(BundleItem, ItemState)> {
    BundleItem::ALL
        .into_iter()
        .map(|item| {
            let derived = match item {
                BundleItem::NaloxoneKit => evidence.naloxone.iter().map(|(d, _)| *d).max(),
                BundleItem::NaloxoneTraining => evidence
                    .naloxone
                    .iter()
                    .filter(|(_, t)| *t)
                    .map(|(d, _)| *d)
                    .max(),
                BundleItem::CrisisPlan => evidence.crisis_plans.iter().copied().max(),
                BundleItem::FollowUpAppointment => evidence.appointments.iter().copied().max(),
                _ => None,
            };
            let state = match (
                derived,
                entries
                    .iter()
                    .filter(|e| e.item == item)
                    .max_by_key(|e| e.recorded_at),
            ) {
                (Some(on), _) => ItemState::Done {
                    on,
                    source: "registrert i journalen".into(),
                },
                (None, Some(e)) if e.waived => ItemState::Waived {
                    reason: e.note.clone(),
                    by: e.recorded_by,
                },
                (None, Some(e)) => ItemState::Done {
                    on: e.on,
                    source: e.note.clone(),
                },
                (None, None) => ItemState::Open,
            };
            (item, state)
        })
        .collect()
}

/// The items still open.
pub fn open_items(list: &[(BundleItem, ItemState)]) -> Vec<BundleItem> {
    list.iter()
        .filter(|(_, s)| s.is_open())
        .map(|(i, _)| *i)
        .collect()
}

/// An item marked by hand, as typed.
#[derive(Debug, Clone, Default)]
pub struct BundleEntryInput {
    pub item: String,
    pub waived: bool,
    pub on: String,
    pub note: String,
}

impl BundleEntryInput {
    pub fn parse(
        &self,
        stay: &StayRecord,
        today: Date,
    ) -> Result<(BundleItem, bool, Date, String), FieldErrors> {
        let mut errors = FieldErrors::default();
        let item = BundleItem::from_code(self.item.trim());
        match item {
            None => errors.push("item", "Velg et punkt i tiltakspakken."),
            Some(item) if item.is_derived() && !self.waived => errors.push(
                "item",
                "Dette punktet blir krysset av når det registreres (nalokson, kriseplan eller time i hånden).",
            ),
            _ => {}
        }
        if !stay.bundle_applies() {
            errors.push(
                "item",
                "Tiltakspakken gjelder ikke dette oppholdet (ingen registrert opioidbruk).",
            );
        }
        let on = if self.on.trim().is_empty() {
            Some(today)
        } else {
            crate::validation::parse_date(&self.on)
        };
        match on {
            None => errors.push("on", "Skriv datoen (åååå-mm-dd)."),
            Some(on) if on > today => errors.push("on", "Datoen kan ikke være fram i tid."),
            _ => {}
        }
        let note = self.note.trim().to_string();
        if self.waived && note.chars().count() < 10 {
            errors.push("note", "Skriv hvorfor punktet fravelges (minst 10 tegn).");
        }
        if note.chars().count() > 2000 {
            errors.push("note", "Teksten er for lang (høyst 2000 tegn).");
        }
        match (item, on, errors.is_empty()) {
            (Some(item), Some(on), true) => Ok((item, self.waived, on, note)),
            _ => Err(errors),
        }
    }
}

// ------------------------------------------------------------------ follow-up

/// «Time i hånden»: the appointment outside after discharge, with an owner who
/// reaches out when the patient does not come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    pub stay_id: Option<StayId>,
    /// With whom (a person or a service), as typed.
    pub with_whom: String,
    pub at: jiff::civil::DateTime,
    pub place: String,
    /// Who follows up a no-show.
    pub owner: UserId,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
    /// The latest outcome recorded: attended (`true`) or not.
    pub attended: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct AppointmentInput {
    pub with_whom: String,
    pub date: String,
    pub time: String,
    pub place: String,
    pub owner: String,
}

pub struct AppointmentContent {
    pub with_whom: String,
    pub at: jiff::civil::DateTime,
    pub place: String,
    pub owner: UserId,
}

impl AppointmentInput {
    /// `owners` are the users who may own the follow-up.
    pub fn parse(&self, owners: &[UserId], today: Date) -> Result<AppointmentContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let with_whom = crate::validation::required_text(
            &mut errors,
            "with_whom",
            &self.with_whom,
            "Skriv hvem timen er hos (fastlege, poliklinikk, kommunal konsulent).",
        );
        let place =
            crate::validation::required_text(&mut errors, "place", &self.place, "Skriv hvor timen er.");
        let date = crate::validation::parse_date(&self.date);
        match date {
            None => errors.push("date", "Skriv datoen for timen (åååå-mm-dd)."),
            Some(d) if d < today => errors.push("date", "Timen kan ikke være tilbake i tid."),
            _ => {}
        }
        let time = crate::validation::parse_time(&self.time);
        if time.is_none() {
            errors.push("time", "Skriv klokkeslettet (tt:mm).");
        }
        let owner = self
            .owner
            .trim()
            .parse::<UserId>()
            .ok()
            .filter(|o| owners.contains(o));
        if owner.is_none() {
            errors.push("owner", "Velg hvem som følger opp hvis pasienten ikke kommer.");
        }
        match (date, time, owner, errors.is_empty()) {
            (Some(date), Some(time), Some(owner), true) => Ok(AppointmentContent {
                with_whom,
                at: date.to_datetime(time),
                place,
                owner,
            }),
            _ => Err(errors),
        }
    }
}

// ------------------------------------------------------------------ hand-over

/// Prescribing responsibility moving from one service to another (institution →
/// GP or LAR unit): the order as it stands, any taper plan, and the receiving
/// prescriber, who acknowledges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub id: HandoverId,
    pub patient_id: PatientId,
    pub stay_id: Option<StayId>,
    pub from_organisation: OrganisationId,
    pub to_organisation: OrganisationId,
    /// The order as it stands, in words (substance and dose).
    pub order_summary: String,
    pub taper_plan: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
    /// The receiving prescriber and when they took it over.
    pub acknowledged: Option<(UserId, Timestamp)>,
}

/// Whether a run of days without dose began in, or runs into, a stay: the block
/// is then reduced tolerance after the stay.
pub fn block_follows_stay(stays: &[StayRecord], missed: &crate::missed::MissedDoseState) -> bool {
    missed.since.is_some_and(|run| {
        stays
            .iter()
            .any(|s| s.pauses_home_on(run) || s.stay.starts_on >= run)
    })
}

/// The note today's list shows for a patient whose dispensing pauses for a stay.
pub fn pause_note(stay: &StayRecord) -> String {
    let mut note = format!(
        "{} ved {} fra {}: utlevering her er stanset",
        stay.stay.kind.label_nb(),
        stay.stay.institution,
        crate::format::date_nb(stay.stay.starts_on)
    );
    match (stay.discharge(), stay.planned_end()) {
        (Some(d), _) => note.push_str(&format!(
            ", starter igjen {}",
            crate::format::date_nb(d.resume_on)
        )),
        (None, Some(end)) => note.push_str(&format!(
            " til utskrivning er registrert (planlagt {})",
            crate::format::date_nb(end)
        )),
        (None, None) => note.push_str(" til utskrivning er registrert"),
    }
    note.push('.');
    note
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn input() -> StayInput {
        StayInput {
            kind: "hospital".into(),
            institution: "Fjordvik sykehus".into(),
            institution_id: None,
            starts_on: Some(date(2026, 11, 23)),
            planned_end_on: Some(date(2026, 11, 30)),
            opioid_use: true,
            substitution_continued: false,
            received: Vec::new(),
        }
    }

    fn record(starts: Date, substitution: bool) -> StayRecord {
        let mut i = input();
        i.starts_on = Some(starts);
        i.substitution_continued = substitution;
        StayRecord::new(
            i.parse(PatientId::new(), UserId::new(), Timestamp::UNIX_EPOCH)
                .expect("valid"),
        )
    }

    fn event(stay: &StayRecord, kind: StayEventKind, micros: i64) -> StayEvent {
        StayEvent {
            id: StayEventId::new(),
            stay_id: stay.stay.id,
            kind,
            reason: String::new(),
            recorded_by: UserId::new(),
            recorded_at: Timestamp::from_microsecond(micros).unwrap(),
        }
    }

    fn discharged(mut stay: StayRecord, on: Date, resume_on: Date) -> StayRecord {
        let e = event(
            &stay,
            StayEventKind::Discharged(Discharge {
                on,
                planned: true,
                resume_on,
            }),
            10,
        );
        stay.events.push(e);
        stay
    }

    #[test]
    fn a_stay_lasts_until_the_discharge_is_recorded_not_until_its_planned_end() {
        let stay = record(date(2026, 11, 23), false);
        assert!(!stay.is_ongoing_on(date(2026, 11, 22)));
        assert!(stay.is_ongoing_on(date(2026, 11, 30)));
        // Past the planned end with no discharge recorded: still at the institution,
        // and flagged.
        assert!(stay.is_ongoing_on(date(2026, 12, 3)));
        assert!(stay.discharge_overdue(date(2026, 12, 1)));
        let stay = discharged(stay, date(2026, 12, 2), date(2026, 12, 3));
        assert!(stay.is_ongoing_on(date(2026, 12, 1)));
        assert!(!stay.is_ongoing_on(date(2026, 12, 2)));
        // The discharge day's dose is the institution's when home resumes the day after.
        assert!(stay.pauses_home_on(date(2026, 12, 2)));
        assert!(!stay.pauses_home_on(date(2026, 12, 3)));
        assert!(!stay.discharge_overdue(date(2026, 12, 5)));
    }

    #[test]
    fn an_extension_moves_the_planned_end() {
        let mut stay = record(date(2026, 11, 23), false);
        let e = event(
            &stay,
            StayEventKind::Extended {
                planned_end_on: date(2026, 12, 14),
            },
            5,
        );
        stay.events.push(e);
        assert_eq!(stay.planned_end(), Some(date(2026, 12, 14)));
    }

    #[test]
    fn days_without_the_substitution_dose_count_until_the_discharge() {
        let stay = discharged(
            record(date(2026, 11, 2), false),
            date(2026, 11, 7),
            date(2026, 11, 7),
        );
        assert_eq!(stay.days_without_substitution(date(2026, 11, 30)), 5);
        assert!(reduced_tolerance_warning(&stay, date(2026, 11, 7)).is_some());
        let short = discharged(
            record(date(2026, 11, 2), false),
            date(2026, 11, 4),
            date(2026, 11, 4),
        );
        assert_eq!(short.days_without_substitution(date(2026, 11, 30)), 2);
        assert!(reduced_tolerance_warning(&short, date(2026, 11, 4)).is_none());
        let three = discharged(
            record(date(2026, 11, 2), false),
            date(2026, 11, 5),
            date(2026, 11, 5),
        );
        assert!(reduced_tolerance_warning(&three, date(2026, 11, 5)).is_some());
        // The institution continued the dose: no days without it, no warning.
        let kept = discharged(
            record(date(2026, 11, 2), true),
            date(2026, 11, 12),
            date(2026, 11, 12),
        );
        assert_eq!(kept.days_without_substitution(date(2026, 11, 30)), 0);
        assert!(reduced_tolerance_warning(&kept, date(2026, 11, 12)).is_none());
    }

    #[test]
    fn a_detox_that_starts_during_the_stay_counts_from_its_first_day() {
        let mut stay = record(date(2026, 11, 2), true);
        let e = event(
            &stay,
            StayEventKind::Substitution {
                from: date(2026, 11, 5),
                continued: false,
            },
            5,
        );
        stay.events.push(e);
        assert!(stay.substitution_on(date(2026, 11, 4)));
        assert!(!stay.substitution_on(date(2026, 11, 5)));
        assert_eq!(stay.days_without_substitution(date(2026, 11, 8)), 3);
    }

    #[test]
    fn a_planned_discharge_is_refused_while_an_item_is_open_and_an_unplanned_one_needs_words() {
        let stay = record(date(2026, 11, 2), false);
        let today = date(2026, 11, 10);
        let planned = DischargeInput {
            on: "2026-11-10".into(),
            planned: true,
            resume_on: String::new(),
            reason: String::new(),
        };
        let errors = planned
            .parse(&stay, &[BundleItem::CrisisPlan], today)
            .expect_err("open item");
        assert!(errors.for_field("bundle").unwrap().contains("Kriseplan"));
        let done = planned.parse(&stay, &[], today).expect("nothing open");
        assert_eq!(done.resume_on, date(2026, 11, 10));
        let unplanned = DischargeInput {
            planned: false,
            ..planned.clone()
        };
        assert!(unplanned.parse(&stay, &[BundleItem::CrisisPlan], today).is_err());
        let unplanned = DischargeInput {
            reason: "Gikk fra avdelingen om natten".into(),
            ..unplanned
        };
        assert!(unplanned.parse(&stay, &[BundleItem::CrisisPlan], today).is_ok());
    }

    #[test]
    fn home_dispensing_resumes_on_the_discharge_day_or_the_next_never_later() {
        let stay = record(date(2026, 11, 2), false);
        let today = date(2026, 11, 10);
        let at = |resume: &str| DischargeInput {
            on: "2026-11-09".into(),
            planned: true,
            resume_on: resume.into(),
            reason: String::new(),
        };
        assert_eq!(
            at("2026-11-10").parse(&stay, &[], today).unwrap().resume_on,
            date(2026, 11, 10)
        );
        assert!(at("2026-11-11").parse(&stay, &[], today).is_err());
        assert!(at("2026-11-08").parse(&stay, &[], today).is_err());
        // Not in the future, and not twice.
        let future = DischargeInput {
            on: "2026-11-11".into(),
            ..at("")
        };
        assert!(future.parse(&stay, &[], today).is_err());
        let done = discharged(stay, date(2026, 11, 9), date(2026, 11, 9));
        assert!(at("").parse(&done, &[], today).is_err());
    }

    #[test]
    fn the_checklist_reads_derived_items_from_the_record_and_the_rest_from_entries() {
        let stay = record(date(2026, 11, 2), false);
        let evidence = BundleEvidence {
            naloxone: vec![(date(2026, 11, 4), false)],
            crisis_plans: vec![date(2026, 11, 5)],
            appointments: Vec::new(),
        };
        let entry = |item, waived, note: &str| BundleEntry {
            id: BundleEntryId::new(),
            stay_id: stay.stay.id,
            item,
            waived,
            on: date(2026, 11, 3),
            note: note.into(),
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        };
        let entries = vec![
            entry(BundleItem::AdmissionConversation, false, ""),
            entry(
                BundleItem::NaloxoneTraining,
                true,
                "Pasienten har hatt opplæring i høst",
            ),
        ];
        let list = checklist(&entries, &evidence);
        assert_eq!(
            open_items(&list),
            vec![BundleItem::DischargeConversation, BundleItem::FollowUpAppointment]
        );
        // An entry cannot mark a derived item done by hand; it can waive it.
        let by_hand = BundleEntryInput {
            item: "crisis_plan".into(),
            waived: false,
            on: String::new(),
            note: String::new(),
        };
        assert!(by_hand.parse(&stay, date(2026, 11, 6)).is_err());
        let waive_short = BundleEntryInput {
            waived: true,
            note: "nei".into(),
            ..by_hand
        };
        assert!(waive_short.parse(&stay, date(2026, 11, 6)).is_err());
    }

    #[test]
    fn an_unknown_kind_a_missing_institution_and_an_end_before_the_start_are_refused() {
        let mut bad = input();
        bad.kind = "hotel".into();
        bad.institution = String::new();
        bad.planned_end_on = Some(date(2026, 11, 1));
        let errors = bad
            .parse(PatientId::new(), UserId::new(), Timestamp::UNIX_EPOCH)
            .expect_err("invalid");
        assert_eq!(errors.0.len(), 3, "{errors:?}");
    }

    #[test]
    fn a_block_follows_a_stay_when_the_run_without_dose_began_in_or_after_it() {
        let stay = record(date(2026, 11, 23), false);
        let run_from = |since| crate::missed::MissedDoseState {
            consecutive_days: 5,
            since: Some(since),
            blocked_since: Some(date(2026, 11, 28)),
            alert: true,
        };
        assert!(block_follows_stay(
            std::slice::from_ref(&stay),
            &run_from(date(2026, 11, 24))
        ));
        assert!(block_follows_stay(
            std::slice::from_ref(&stay),
            &run_from(date(2026, 11, 20))
        ));
        assert!(!block_follows_stay(&[], &run_from(date(2026, 11, 24))));
        assert!(!block_follows_stay(
            std::slice::from_ref(&stay),
            &crate::missed::MissedDoseState::default()
        ));
    }

    #[test]
    fn the_pause_note_says_where_since_when_and_when_dispensing_resumes() {
        let stay = record(date(2026, 11, 23), false);
        let note = pause_note(&stay);
        assert!(
            note.starts_with("Sykehusinnleggelse ved Fjordvik sykehus fra 23.11.2026"),
            "{note}"
        );
        assert!(
            note.contains("til utskrivning er registrert (planlagt 30.11.2026)"),
            "{note}"
        );
        let home = discharged(stay, date(2026, 11, 29), date(2026, 11, 30));
        assert!(
            pause_note(&home).ends_with("starter igjen 30.11.2026."),
            "{}",
            pause_note(&home)
        );
    }
}
