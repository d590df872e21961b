//! Overdose prevention (DOMAIN.md, "Transitions and overdose prevention" and "Ending
//! treatment"): the crisis plan (kriseplan) written with the patient, in versions;
//! naloxone kits handed out; overdose events; the high-risk window after treatment
//! ends; and the follow-up that ending LAR raises.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use uuid::Uuid;

use crate::category::DataCategory;
use crate::ids::{OrganisationId, PatientId, UserId, id_type};
use crate::organisation::OrganisationKind;
use crate::patient::EndReason;
use crate::validation::{FieldErrors, parse_date};

id_type!(CrisisPlanVersionId, NaloxoneKitId, OverdoseEventId);

/// The longest free text a field takes.
const MAX_TEXT: usize = 2000;
/// The longest name or place description.
const MAX_LINE: usize = 200;
/// How many people a crisis plan may list.
const MAX_CONTACTS: usize = 10;
/// How many kits one hand-out may record.
const MAX_KITS: i64 = 10;

fn too_long(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.push(field, format!("Teksten kan være høyst {max} tegn."));
    }
}

/// A phone number as typed: digits, spaces and a leading +, at least 8 digits.
fn valid_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == ' ' || (c == '+' && i == 0));
    allowed && digits >= 8
}

// ------------------------------------------------------------------ crisis plan

/// Someone the patient wants called in a crisis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisContact {
    pub name: String,
    pub phone: String,
}

/// One version of the crisis plan. Every save is a new version; none is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisPlanVersion {
    pub id: CrisisPlanVersionId,
    pub patient_id: PatientId,
    pub version: i64,
    pub warning_signs: String,
    pub what_helps: String,
    pub contacts: Vec<CrisisContact>,
    /// A staff member, or the patient's own account.
    pub recorded_by: UserId,
    /// Whether the patient saved it themself.
    pub by_patient: bool,
    pub recorded_at: Timestamp,
}

/// The latest version of a crisis plan.
pub fn current_crisis_plan(versions: &[CrisisPlanVersion]) -> Option<&CrisisPlanVersion> {
    versions.iter().max_by_key(|v| v.version)
}

/// A crisis plan as typed. Contacts are (name, phone); blank rows are left out.
#[derive(Debug, Clone, Default)]
pub struct CrisisPlanInput {
    pub warning_signs: String,
    pub what_helps: String,
    pub contacts: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisPlanContent {
    pub version: i64,
    pub warning_signs: String,
    pub what_helps: String,
    pub contacts: Vec<CrisisContact>,
}

impl CrisisPlanInput {
    /// A plan needs warning signs, what helps, and at least one person to call with
    /// a phone number. The version follows the current one.
    pub fn parse(&self, current: Option<&CrisisPlanVersion>) -> Result<CrisisPlanContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let warning_signs = self.warning_signs.trim().to_string();
        if warning_signs.is_empty() {
            errors.push(
                "warning_signs",
                "Skriv hvilke varseltegn pasienten kjenner igjen.",
            );
        }
        too_long(&mut errors, "warning_signs", &warning_signs, MAX_TEXT);
        let what_helps = self.what_helps.trim().to_string();
        if what_helps.is_empty() {
            errors.push("what_helps", "Skriv hva som hjelper pasienten i en krise.");
        }
        too_long(&mut errors, "what_helps", &what_helps, MAX_TEXT);
        let mut contacts = Vec::new();
        for (name, phone) in &self.contacts {
            let (name, phone) = (name.trim(), phone.trim());
            if name.is_empty() && phone.is_empty() {
                continue;
            }
            if name.is_empty() {
                errors.push("contact_name", "Skriv navnet på den som skal ringes.");
            } else if name.chars().count() > MAX_LINE {
                errors.push("contact_name", format!("Navnet kan være høyst {MAX_LINE} tegn."));
            }
            if !valid_phone(phone) {
                errors.push(
                    "contact_phone",
                    format!("Telefonnummeret til «{name}» må ha minst 8 sifre (bare sifre, mellomrom og +)."),
                );
            }
            contacts.push(CrisisContact {
                name: name.to_string(),
                phone: phone.to_string(),
            });
        }
        if contacts.is_empty() {
            errors.push(
                "contacts",
                "Skriv minst én person pasienten vil at skal ringes, med telefonnummer.",
            );
        } else if contacts.len() > MAX_CONTACTS {
            errors.push(
                "contacts",
                format!("Planen kan ha høyst {MAX_CONTACTS} personer."),
            );
        }
        errors.into_result(CrisisPlanContent {
            version: current.map_or(1, |c| c.version + 1),
            warning_signs,
            what_helps,
            contacts,
        })
    }
}

// --------------------------------------------------------------------- naloxone

/// Naloxone nasal spray handed out to a patient at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaloxoneKit {
    pub id: NaloxoneKitId,
    pub patient_id: PatientId,
    pub handed_out_on: Date,
    /// Where it was handed out: the organisation of who handed it out.
    pub place_id: OrganisationId,
    pub kits: i64,
    /// Whether training in giving it (kameratredning) was given.
    pub training_given: bool,
    pub note: String,
    pub handed_out_by: UserId,
    pub recorded_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct NaloxoneInput {
    pub handed_out_on: String,
    /// Empty: one kit.
    pub kits: String,
    pub training_given: Option<bool>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaloxoneContent {
    pub handed_out_on: Date,
    pub kits: i64,
    pub training_given: bool,
    pub note: String,
}

impl NaloxoneInput {
    /// A hand-out has a date not in the future, 1–10 kits, and says whether
    /// training was given.
    pub fn parse(&self, today: Date) -> Result<NaloxoneContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let handed_out_on = parse_date(&self.handed_out_on);
        match handed_out_on {
            None => errors.push("handed_out_on", "Skriv datoen som dd.mm.åååå."),
            Some(d) if d > today => errors.push("handed_out_on", "Datoen kan ikke være fram i tid."),
            Some(_) => {}
        }
        let kits = match self.kits.trim() {
            "" => Some(1),
            raw => raw.parse::<i64>().ok().filter(|n| (1..=MAX_KITS).contains(n)),
        };
        if kits.is_none() {
            errors.push(
                "kits",
                format!("Antall sett må være et helt tall fra 1 til {MAX_KITS}."),
            );
        }
        if self.training_given.is_none() {
            errors.push(
                "training_given",
                "Oppgi om pasienten fikk opplæring i kameratredning.",
            );
        }
        let note = self.note.trim().to_string();
        too_long(&mut errors, "note", &note, MAX_TEXT);
        match (handed_out_on, kits, self.training_given) {
            (Some(handed_out_on), Some(kits), Some(training_given)) if errors.is_empty() => {
                Ok(NaloxoneContent {
                    handed_out_on,
                    kits,
                    training_given,
                    note,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The category a hand-out (or an overdose report) is recorded under for staff of
/// an organisation of this kind: a dispensing place records what it hands out as
/// dispensing; the LAR unit, which dispenses nothing, as part of the plan against
/// overdose. The access policy then decides as for any other write.
pub fn naloxone_write_category(kind: OrganisationKind) -> DataCategory {
    if kind.can_dispense() {
        DataCategory::Dispensing
    } else {
        DataCategory::PlanAndGoals
    }
}

/// One line of the naloxone report: kits handed out at a place in a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaloxoneReportLine {
    pub place_id: OrganisationId,
    /// The first day of the month.
    pub month: Date,
    pub kits: i64,
    /// Hand-outs (not kits) with training given.
    pub with_training: usize,
    pub patients: usize,
}

/// Kits per place and month between two dates (both included), by place then month.
pub fn naloxone_report(kits: &[NaloxoneKit], from: Date, to: Date) -> Vec<NaloxoneReportLine> {
    let mut lines: std::collections::BTreeMap<(OrganisationId, Date), (i64, usize, Vec<PatientId>)> =
        std::collections::BTreeMap::new();
    for kit in kits
        .iter()
        .filter(|k| k.handed_out_on >= from && k.handed_out_on <= to)
    {
        let month = kit.handed_out_on.first_of_month();
        let line = lines.entry((kit.place_id, month)).or_default();
        line.0 += kit.kits;
        line.1 += usize::from(kit.training_given);
        if !line.2.contains(&kit.patient_id) {
            line.2.push(kit.patient_id);
        }
    }
    lines
        .into_iter()
        .map(
            |((place_id, month), (kits, with_training, patients))| NaloxoneReportLine {
                place_id,
                month,
                kits,
                with_training,
                patients: patients.len(),
            },
        )
        .collect()
}

// --------------------------------------------------------------- overdose events

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum OverdoseOutcome {
        NonFatal = "non_fatal",
        Fatal = "fatal",
    }
}

impl OverdoseOutcome {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::NonFatal => "Ikke dødelig",
            Self::Fatal => "Dødelig",
        }
    }
}

/// An overdose, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdoseEvent {
    pub id: OverdoseEventId,
    pub patient_id: PatientId,
    pub occurred_on: Date,
    pub outcome: OverdoseOutcome,
    /// Where it happened, in words (home, street, the centre).
    pub place_description: String,
    pub substances: String,
    pub naloxone_used: bool,
    /// Who told of it (ambulance, a friend, the patient).
    pub reported_by: String,
    pub recorded_by: UserId,
    pub recorded_organisation: OrganisationId,
    pub recorded_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct OverdoseInput {
    pub occurred_on: String,
    pub outcome: String,
    pub place_description: String,
    pub substances: String,
    pub naloxone_used: Option<bool>,
    pub reported_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdoseContent {
    pub occurred_on: Date,
    pub outcome: OverdoseOutcome,
    pub place_description: String,
    pub substances: String,
    pub naloxone_used: bool,
    pub reported_by: String,
}

impl OverdoseInput {
    /// An overdose needs a date not in the future, whether it was fatal, where it
    /// happened, the substances (or «ukjent»), whether naloxone was used, and who
    /// reported it.
    pub fn parse(&self, today: Date) -> Result<OverdoseContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let occurred_on = parse_date(&self.occurred_on);
        match occurred_on {
            None => errors.push("occurred_on", "Skriv datoen som dd.mm.åååå."),
            Some(d) if d > today => errors.push("occurred_on", "Datoen kan ikke være fram i tid."),
            Some(_) => {}
        }
        let outcome = OverdoseOutcome::from_code(self.outcome.trim());
        if outcome.is_none() {
            errors.push("outcome", "Velg om overdosen var dødelig eller ikke.");
        }
        let place_description = self.place_description.trim().to_string();
        if place_description.is_empty() {
            errors.push("place_description", "Skriv hvor overdosen skjedde.");
        }
        too_long(&mut errors, "place_description", &place_description, MAX_LINE);
        let substances = self.substances.trim().to_string();
        if substances.is_empty() {
            errors.push(
                "substances",
                "Skriv hvilke rusmidler som var involvert, eller «ukjent».",
            );
        }
        too_long(&mut errors, "substances", &substances, MAX_LINE);
        if self.naloxone_used.is_none() {
            errors.push("naloxone_used", "Oppgi om det ble gitt nalokson.");
        }
        let reported_by = self.reported_by.trim().to_string();
        if reported_by.is_empty() {
            errors.push("reported_by", "Skriv hvem som meldte fra om overdosen.");
        }
        too_long(&mut errors, "reported_by", &reported_by, MAX_LINE);
        match (occurred_on, outcome, self.naloxone_used) {
            (Some(occurred_on), Some(outcome), Some(naloxone_used)) if errors.is_empty() => {
                Ok(OverdoseContent {
                    occurred_on,
                    outcome,
                    place_description,
                    substances,
                    naloxone_used,
                    reported_by,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The category an overdose report is written under for staff of an organisation
/// of this kind: health information at the LAR unit; at a dispensing place, which
/// may not write health information, it is recorded as what the place saw.
pub fn overdose_write_category(kind: OrganisationKind) -> DataCategory {
    if kind.can_dispense() {
        DataCategory::Dispensing
    } else {
        DataCategory::HealthInformation
    }
}

/// Overdoses on or after `since`.
pub fn overdoses_since(events: &[OverdoseEvent], since: Date) -> usize {
    events.iter().filter(|e| e.occurred_on >= since).count()
}

// ------------------------------------------------------------ high-risk window

/// The risk of overdose after treatment ended (or a discharge or release):
/// highest in the first week, elevated up to six months, then as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverdoseRisk {
    /// The first seven days.
    Highest,
    /// Up to six months.
    Elevated,
    None,
}

/// The last day of the high-risk week and of the elevated six months.
pub fn risk_window(ended_on: Date) -> (Date, Date) {
    let week = ended_on.checked_add(Span::new().days(6)).unwrap_or(ended_on);
    let months = ended_on
        .checked_add(Span::new().months(6))
        .and_then(|d| d.checked_sub(Span::new().days(1)))
        .unwrap_or(ended_on);
    (week, months)
}

/// The risk on `on`, for treatment that ended on `ended_on`. Before the end there
/// is no window.
pub fn overdose_risk(ended_on: Date, on: Date) -> OverdoseRisk {
    let (week, months) = risk_window(ended_on);
    if on < ended_on {
        OverdoseRisk::None
    } else if on <= week {
        OverdoseRisk::Highest
    } else if on <= months {
        OverdoseRisk::Elevated
    } else {
        OverdoseRisk::None
    }
}

impl OverdoseRisk {
    /// What the overview says, with the window's end.
    pub fn label_nb(self, ended_on: Date) -> Option<String> {
        let (week, months) = risk_window(ended_on);
        match self {
            Self::Highest => Some(format!(
                "Høy risiko for overdose: første uke etter avslutning (til og med {}).",
                crate::format::date_nb(week)
            )),
            Self::Elevated => Some(format!(
                "Økt risiko for overdose: de første seks månedene etter avslutning (til og med {}).",
                crate::format::date_nb(months)
            )),
            Self::None => None,
        }
    }
}

// ------------------------------------------------------- follow-up after the end

/// Whether ending treatment for this reason raises the overdose follow-up. A
/// transfer continues LAR at another unit; after a death there is no one to follow.
pub fn end_raises_follow_up(reason: EndReason) -> bool {
    !matches!(reason, EndReason::TransferredToOtherUnit | EndReason::Death)
}

/// What follow-up ending LAR asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpItem {
    /// Close follow-up during the first four weeks.
    CloseFollowUp,
    CrisisPlan,
    Naloxone,
}

impl FollowUpItem {
    pub fn task_nb(self) -> &'static str {
        match self {
            Self::CloseFollowUp => {
                "Tett oppfølging de første fire ukene etter avsluttet LAR: avtal time og kontakt pasienten (høy overdoserisiko)."
            }
            Self::CrisisPlan => "Lag eller oppdater kriseplan sammen med pasienten.",
            Self::Naloxone => "Del ut nalokson nesespray og gi opplæring i kameratredning.",
        }
    }
}

/// How far back a crisis plan or a naloxone hand-out still counts.
pub const RECENT_MONTHS: i64 = 6;

/// Whether a date is within the last six months of `today`.
pub fn is_recent(date: Date, today: Date) -> bool {
    let since = today
        .checked_sub(Span::new().months(RECENT_MONTHS))
        .unwrap_or(today);
    date >= since
}

/// The follow-up tasks when LAR ends on `ended_on`, decided `today`, with their due
/// dates: close follow-up a week after the end (or after today, for an end already
/// past), and a crisis plan and naloxone by the end day (or tomorrow) unless the
/// patient has a recent one.
pub fn follow_up_after_end(
    ended_on: Date,
    today: Date,
    recent_crisis_plan: bool,
    recent_naloxone: bool,
) -> Vec<(FollowUpItem, Date)> {
    let base = ended_on.max(today);
    let in_a_week = base.checked_add(Span::new().days(7)).unwrap_or(base);
    let tomorrow = today.checked_add(Span::new().days(1)).unwrap_or(today);
    let soon = ended_on.max(tomorrow);
    let mut items = vec![(FollowUpItem::CloseFollowUp, in_a_week)];
    if !recent_crisis_plan {
        items.push((FollowUpItem::CrisisPlan, soon));
    }
    if !recent_naloxone {
        items.push((FollowUpItem::Naloxone, soon));
    }
    items
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn the_risk_is_highest_the_first_week_elevated_for_six_months_and_none_after() {
        let ended = date(2026, 11, 23);
        let cases = [
            (date(2026, 11, 22), OverdoseRisk::None, "the day before the end"),
            (date(2026, 11, 23), OverdoseRisk::Highest, "the end day"),
            (date(2026, 11, 29), OverdoseRisk::Highest, "the seventh day"),
            (date(2026, 11, 30), OverdoseRisk::Elevated, "the eighth day"),
            (date(2027, 3, 1), OverdoseRisk::Elevated, "three months on"),
            (
                date(2027, 5, 22),
                OverdoseRisk::Elevated,
                "the last day of six months",
            ),
            (date(2027, 5, 23), OverdoseRisk::None, "six months on"),
            (date(2028, 1, 1), OverdoseRisk::None, "a year on"),
        ];
        for (on, expected, case) in cases {
            assert_eq!(overdose_risk(ended, on), expected, "{case}");
        }
        assert!(
            OverdoseRisk::Highest
                .label_nb(ended)
                .expect("label")
                .contains("første uke")
        );
        assert!(
            OverdoseRisk::Elevated
                .label_nb(ended)
                .expect("label")
                .contains("22.05.2027")
        );
        assert_eq!(OverdoseRisk::None.label_nb(ended), None);
    }

    #[test]
    fn the_window_over_a_month_end_counts_calendar_months() {
        let (week, months) = risk_window(date(2026, 8, 31));
        assert_eq!(week, date(2026, 9, 6));
        assert_eq!(months, date(2027, 2, 27));
    }

    fn plan(warning: &str, helps: &str, contacts: &[(&str, &str)]) -> CrisisPlanInput {
        CrisisPlanInput {
            warning_signs: warning.into(),
            what_helps: helps.into(),
            contacts: contacts
                .iter()
                .map(|(n, p)| (n.to_string(), p.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_crisis_plan_needs_warning_signs_what_helps_and_someone_to_call() {
        let cases: Vec<(CrisisPlanInput, &[&str])> = vec![
            (plan("", "", &[]), &["warning_signs", "what_helps", "contacts"]),
            (plan("Sover dårlig", "Ringe søster", &[("", "")]), &["contacts"]),
            (
                plan("Sover dårlig", "Ringe søster", &[("Søster", "12")]),
                &["contact_phone"],
            ),
            (
                plan("Sover dårlig", "Ringe søster", &[("", "40000000")]),
                &["contact_name"],
            ),
            (
                plan("Sover dårlig", "Ringe søster", &[("Søster", "4000 0000x")]),
                &["contact_phone"],
            ),
            (
                plan(&"x".repeat(2001), "Ringe søster", &[("Søster", "40000000")]),
                &["warning_signs"],
            ),
        ];
        for (input, fields) in cases {
            let errors = input.parse(None).expect_err("refused");
            let named: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
            assert_eq!(named, fields.to_vec(), "{input:?}");
        }
    }

    #[test]
    fn each_save_of_the_crisis_plan_is_the_next_version_and_blank_contact_rows_are_left_out() {
        let input = plan(
            " Isolerer meg ",
            "Gå tur",
            &[
                ("Søster Sara", "+47 400 00 000"),
                ("", ""),
                ("Fastlegen", "22 00 00 00"),
            ],
        );
        let first = input.parse(None).expect("valid");
        assert_eq!(first.version, 1);
        assert_eq!(first.warning_signs, "Isolerer meg");
        assert_eq!(first.contacts.len(), 2);
        let stored = CrisisPlanVersion {
            id: CrisisPlanVersionId::new(),
            patient_id: PatientId::new(),
            version: 1,
            warning_signs: first.warning_signs.clone(),
            what_helps: first.what_helps.clone(),
            contacts: first.contacts.clone(),
            recorded_by: UserId::new(),
            by_patient: true,
            recorded_at: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(input.parse(Some(&stored)).expect("valid").version, 2);
    }

    #[test]
    fn a_naloxone_hand_out_needs_a_past_date_a_sensible_number_of_kits_and_the_training_answer() {
        let today = date(2026, 11, 23);
        let input = |on: &str, kits: &str, training: Option<bool>| NaloxoneInput {
            handed_out_on: on.into(),
            kits: kits.into(),
            training_given: training,
            note: String::new(),
        };
        let cases: Vec<(NaloxoneInput, &[&str])> = vec![
            (input("", "", None), &["handed_out_on", "training_given"]),
            (input("24.11.2026", "1", Some(true)), &["handed_out_on"]),
            (input("2026-11-23", "0", Some(true)), &["kits"]),
            (input("2026-11-23", "11", Some(true)), &["kits"]),
            (input("2026-11-23", "to", Some(false)), &["kits"]),
        ];
        for (given, fields) in cases {
            let errors = given.parse(today).expect_err("refused");
            let named: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
            assert_eq!(named, fields.to_vec(), "{given:?}");
        }
        let ok = input("23.11.2026", "", Some(true)).parse(today).expect("valid");
        assert_eq!(ok.kits, 1);
        assert!(ok.training_given);
    }

    #[test]
    fn an_overdose_needs_date_outcome_place_substances_naloxone_and_reporter() {
        let today = date(2026, 11, 23);
        let errors = OverdoseInput::default().parse(today).expect_err("refused");
        let named: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(
            named,
            vec![
                "occurred_on",
                "outcome",
                "place_description",
                "substances",
                "naloxone_used",
                "reported_by"
            ]
        );
        let valid = OverdoseInput {
            occurred_on: "2026-11-22".into(),
            outcome: "fatal".into(),
            place_description: "Hjemme".into(),
            substances: "Heroin, benzodiazepiner".into(),
            naloxone_used: Some(true),
            reported_by: "Ambulansen".into(),
        };
        assert_eq!(valid.parse(today).expect("valid").outcome, OverdoseOutcome::Fatal);
        let future = OverdoseInput {
            occurred_on: "2026-11-24".into(),
            ..valid.clone()
        };
        let errors = future.parse(today).expect_err("refused");
        assert_eq!(
            errors.for_field("occurred_on"),
            Some("Datoen kan ikke være fram i tid.")
        );
        let unknown = OverdoseInput {
            outcome: "kanskje".into(),
            ..valid
        };
        assert!(
            unknown
                .parse(today)
                .expect_err("refused")
                .for_field("outcome")
                .is_some()
        );
    }

    #[test]
    fn ending_lar_asks_for_follow_up_and_a_crisis_plan_and_naloxone_unless_recent() {
        let today = date(2026, 11, 23);
        let cases = [
            (
                today,
                false,
                false,
                vec![
                    (FollowUpItem::CloseFollowUp, date(2026, 11, 30)),
                    (FollowUpItem::CrisisPlan, date(2026, 11, 24)),
                    (FollowUpItem::Naloxone, date(2026, 11, 24)),
                ],
            ),
            (
                today,
                true,
                false,
                vec![
                    (FollowUpItem::CloseFollowUp, date(2026, 11, 30)),
                    (FollowUpItem::Naloxone, date(2026, 11, 24)),
                ],
            ),
            (
                today,
                true,
                true,
                vec![(FollowUpItem::CloseFollowUp, date(2026, 11, 30))],
            ),
            // A planned end two weeks ahead: the plan and the kit by the end day.
            (
                date(2026, 12, 7),
                false,
                false,
                vec![
                    (FollowUpItem::CloseFollowUp, date(2026, 12, 14)),
                    (FollowUpItem::CrisisPlan, date(2026, 12, 7)),
                    (FollowUpItem::Naloxone, date(2026, 12, 7)),
                ],
            ),
        ];
        for (ended, plan, naloxone, expected) in cases {
            assert_eq!(
                follow_up_after_end(ended, today, plan, naloxone),
                expected,
                "{ended} {plan} {naloxone}"
            );
        }
        assert!(is_recent(date(2026, 5, 23), today));
        assert!(!is_recent(date(2026, 5, 22), today));
        assert!(end_raises_follow_up(EndReason::VoluntaryDischarge));
        assert!(end_raises_follow_up(EndReason::CompletedTaper));
        assert!(!end_raises_follow_up(EndReason::Death));
        assert!(!end_raises_follow_up(EndReason::TransferredToOtherUnit));
    }

    #[test]
    fn the_naloxone_report_counts_kits_per_place_and_month_within_the_dates() {
        let (a, b) = (OrganisationId::new(), OrganisationId::new());
        let (p, q) = (PatientId::new(), PatientId::new());
        let kit = |place, patient, on: Date, kits, training| NaloxoneKit {
            id: NaloxoneKitId::new(),
            patient_id: patient,
            handed_out_on: on,
            place_id: place,
            kits,
            training_given: training,
            note: String::new(),
            handed_out_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        };
        let kits = vec![
            kit(a, p, date(2026, 11, 2), 1, true),
            kit(a, q, date(2026, 11, 20), 2, false),
            kit(a, p, date(2026, 12, 1), 1, true),
            kit(b, p, date(2026, 11, 5), 1, true),
            kit(a, p, date(2026, 10, 31), 5, true),
        ];
        let report = naloxone_report(&kits, date(2026, 11, 1), date(2026, 12, 31));
        let find = |place, month| {
            report
                .iter()
                .find(|l| l.place_id == place && l.month == month)
                .cloned()
        };
        let nov_a = find(a, date(2026, 11, 1)).expect("a in November");
        assert_eq!((nov_a.kits, nov_a.with_training, nov_a.patients), (3, 1, 2));
        assert_eq!(find(a, date(2026, 12, 1)).expect("a in December").kits, 1);
        assert_eq!(find(b, date(2026, 11, 1)).expect("b").kits, 1);
        assert!(find(a, date(2026, 10, 1)).is_none(), "before the period");
        assert_eq!(report.len(), 3);
    }

    #[test]
    fn a_dispensing_place_records_as_dispensing_and_the_lar_unit_under_its_own_categories() {
        assert_eq!(
            naloxone_write_category(OrganisationKind::MunicipalLarCentre),
            DataCategory::Dispensing
        );
        assert_eq!(
            naloxone_write_category(OrganisationKind::HealthTrustLarUnit),
            DataCategory::PlanAndGoals
        );
        assert_eq!(
            overdose_write_category(OrganisationKind::Pharmacy),
            DataCategory::Dispensing
        );
        assert_eq!(
            overdose_write_category(OrganisationKind::HealthTrustLarUnit),
            DataCategory::HealthInformation
        );
    }
}
