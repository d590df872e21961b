//! After a referral: the assessment decision (vurdering: a right to necessary
//! health care with a latest start date, or no right with a reason), an offer of a
//! low-threshold start while the patient waits (the 2022 guideline's quick start),
//! the planning checklist on the episode, and the unit's waiting-time indicators.
//! Every one is a record appended with who and when; a corrected assessment is a
//! new version with why.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::ids::{EpisodeId, PatientId, UserId};
use crate::time::days_between;
use crate::validation::{FieldErrors, parse_date, required_text};

crate::coded! {
    /// The assessment's decision.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Decision {
        Right = "right",
        NoRight = "no_right",
    }
}

impl Decision {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Right => "Rett til nødvendig helsehjelp",
            Self::NoRight => "Ikke rett til nødvendig helsehjelp",
        }
    }
}

const MAX_TEXT: usize = 4000;

/// An assessment as typed: the decision, the latest start date (with a right), the
/// reason (required without a right), and why an earlier version is corrected.
#[derive(Debug, Clone, Default)]
pub struct AssessmentInput {
    pub decision: String,
    pub latest_start: String,
    pub reason: String,
    pub correction_reason: String,
}

/// An assessment's content, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentDecision {
    pub decision: Decision,
    /// The legal deadline for start of treatment; only with a right.
    pub latest_start: Option<Date>,
    pub reason: String,
    pub correction_reason: Option<String>,
}

impl AssessmentDecision {
    /// Checks an assessment made on `today` of a referral received on
    /// `received_on`; `correcting` when an earlier version exists (a reason for the
    /// correction is then required).
    pub fn parse(
        input: &AssessmentInput,
        received_on: Date,
        today: Date,
        correcting: bool,
        errors: &mut FieldErrors,
    ) -> Option<Self> {
        let before = errors.0.len();
        let decision = Decision::from_code(input.decision.trim());
        if decision.is_none() {
            errors.push("decision", "Velg om pasienten har rett til nødvendig helsehjelp.");
        }
        let reason = input.reason.trim().to_string();
        if decision == Some(Decision::NoRight) && reason.is_empty() {
            errors.push("reason", "Skriv inn begrunnelsen for at pasienten ikke har rett.");
        }
        if reason.chars().count() > MAX_TEXT {
            errors.push("reason", format!("Teksten kan være høyst {MAX_TEXT} tegn."));
        }
        let latest_start = match decision {
            Some(Decision::Right) => match parse_date(&input.latest_start) {
                None => {
                    errors.push(
                        "latest_start",
                        "Skriv inn en gyldig dato for seneste oppstart (dd.mm.åååå).",
                    );
                    None
                }
                Some(day) if day < today || day < received_on => {
                    errors.push("latest_start", "Seneste oppstart kan ikke være før i dag.");
                    None
                }
                Some(day) if days_between(received_on, day) > 366 => {
                    errors.push(
                        "latest_start",
                        "Seneste oppstart kan ikke være mer enn ett år etter mottaksdato.",
                    );
                    None
                }
                Some(day) => Some(day),
            },
            _ => {
                if !input.latest_start.trim().is_empty() && decision == Some(Decision::NoRight) {
                    errors.push(
                        "latest_start",
                        "Seneste oppstart settes bare når pasienten har rett til helsehjelp.",
                    );
                }
                None
            }
        };
        let correction_reason = if correcting {
            let why = required_text(
                errors,
                "correction_reason",
                &input.correction_reason,
                "Skriv inn hvorfor vurderingen endres.",
            );
            if why.chars().count() > MAX_TEXT {
                errors.push(
                    "correction_reason",
                    format!("Teksten kan være høyst {MAX_TEXT} tegn."),
                );
            }
            Some(why)
        } else {
            None
        };
        let decision = decision?;
        (errors.0.len() == before).then_some(Self {
            decision,
            latest_start,
            reason,
            correction_reason,
        })
    }
}

/// One version of a referral's assessment; never changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub id: String,
    pub referral_id: String,
    pub patient_id: PatientId,
    /// 1 for the first assessment, then one more for each correction.
    pub version: i64,
    pub content: AssessmentDecision,
    /// The day the referral was first assessed (kept by corrections: the deadline
    /// is met or missed by the first decision).
    pub assessed_on: Date,
    pub assessed_by: UserId,
    pub assessed_at: Timestamp,
}

crate::coded! {
    /// The patient's answer to a quick-start offer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum OfferAnswer {
        Accepted = "accepted",
        Declined = "declined",
        Pending = "pending",
    }
}

impl OfferAnswer {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Accepted => "Takket ja",
            Self::Declined => "Takket nei",
            Self::Pending => "Ikke svart ennå",
        }
    }
}

/// A quick-start offer as typed.
#[derive(Debug, Clone, Default)]
pub struct QuickStartInput {
    pub offered: String,
    pub offered_on: String,
    pub answer: String,
}

/// An offer of a low-threshold start to a patient on the waiting list; a later
/// offer (or a new answer) is a new record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickStartOffer {
    pub id: String,
    pub referral_id: String,
    pub patient_id: PatientId,
    pub offered: String,
    pub offered_on: Date,
    pub answer: OfferAnswer,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// Checks an offer's fields: what was offered, when (received or later, not in the
/// future) and the answer.
pub fn parse_quick_start(
    input: &QuickStartInput,
    received_on: Date,
    today: Date,
    errors: &mut FieldErrors,
) -> Option<(String, Date, OfferAnswer)> {
    let before = errors.0.len();
    let offered = required_text(
        errors,
        "offered",
        &input.offered,
        "Skriv inn hva som ble tilbudt (f.eks. oppstart med buprenorfin hos fastlegen).",
    );
    if offered.chars().count() > MAX_TEXT {
        errors.push("offered", format!("Teksten kan være høyst {MAX_TEXT} tegn."));
    }
    let offered_on = parse_date(&input.offered_on);
    match offered_on {
        None => errors.push(
            "offered_on",
            "Skriv inn en gyldig dato for tilbudet (dd.mm.åååå).",
        ),
        Some(day) if day > today => errors.push("offered_on", "Datoen kan ikke være i framtiden."),
        Some(day) if day < received_on => {
            errors.push("offered_on", "Tilbudet kan ikke være gitt før henvisningen kom.")
        }
        Some(_) => {}
    }
    let answer = OfferAnswer::from_code(input.answer.trim());
    if answer.is_none() {
        errors.push("answer", "Velg pasientens svar på tilbudet.");
    }
    let (offered_on, answer) = (offered_on?, answer?);
    (errors.0.len() == before).then_some((offered, offered_on, answer))
}

crate::coded! {
    /// The planning phase's checklist (DOMAIN.md phase 2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ChecklistItem {
        ResponsibilityGroup = "responsibility_group",
        IndividualPlan = "individual_plan",
        Medicine = "medicine",
        DispensingPlace = "dispensing_place",
        StartSetting = "start_setting",
    }
}

impl ChecklistItem {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::ResponsibilityGroup => "Ansvarsgruppe",
            Self::IndividualPlan => "Tilbud om individuell plan",
            Self::Medicine => "Valg av legemiddel",
            Self::DispensingPlace => "Utleveringssted",
            Self::StartSetting => "Oppstart i institusjon eller hjemme",
        }
    }
}

/// One item checked by hand, with what was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistCheck {
    pub id: String,
    pub episode_id: EpisodeId,
    pub patient_id: PatientId,
    pub item: ChecklistItem,
    pub note: String,
    pub checked_by: UserId,
    pub checked_at: Timestamp,
}

/// Checks a checklist entry: a known item and what was decided.
pub fn parse_check(item: &str, note: &str, errors: &mut FieldErrors) -> Option<(ChecklistItem, String)> {
    let before = errors.0.len();
    let item = ChecklistItem::from_code(item.trim());
    if item.is_none() {
        errors.push("item", "Velg et punkt på sjekklisten.");
    }
    let note = required_text(
        errors,
        "note",
        note,
        "Skriv inn hva som er avklart (f.eks. legemiddel eller sted).",
    );
    if note.chars().count() > MAX_TEXT {
        errors.push("note", format!("Teksten kan være høyst {MAX_TEXT} tegn."));
    }
    let item = item?;
    (errors.0.len() == before).then_some((item, note))
}

/// One referral's course through the waiting time, for the indicators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralCourse {
    pub received_on: Date,
    pub assessment_deadline: Date,
    /// The day of the first assessment.
    pub assessed_on: Option<Date>,
    /// The latest start date of the assessment in force (with a right).
    pub latest_start: Option<Date>,
    /// The day of the first dose after the referral.
    pub started_on: Option<Date>,
}

/// One month's waiting-time indicators (the month the referrals were received).
#[derive(Debug, Clone, PartialEq)]
pub struct MonthIndicators {
    /// First day of the month.
    pub month: Date,
    pub received: usize,
    pub assessed: usize,
    /// Median days from receipt to the first assessment, of those assessed.
    pub median_days_to_assessment: Option<f64>,
    /// Share (0–1) of the assessed that were assessed by the deadline.
    pub assessed_within_deadline: Option<f64>,
    pub started: usize,
    /// Median days from receipt to the first dose, of those started.
    pub median_days_to_start: Option<f64>,
    /// Share (0–1) of the started with a latest start date that started by it.
    pub started_within_deadline: Option<f64>,
}

fn median(mut values: Vec<i64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
    })
}

fn share(hits: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| hits as f64 / of as f64)
}

/// The indicators per month of receipt, ascending, for the months that have
/// referrals received.
pub fn indicators(courses: &[ReferralCourse]) -> Vec<MonthIndicators> {
    let mut months: std::collections::BTreeMap<Date, Vec<&ReferralCourse>> = Default::default();
    for c in courses {
        months.entry(c.received_on.first_of_month()).or_default().push(c);
    }
    months
        .into_iter()
        .map(|(month, list)| {
            let assessed: Vec<(&ReferralCourse, Date)> =
                list.iter().filter_map(|c| Some((*c, c.assessed_on?))).collect();
            let started: Vec<(&ReferralCourse, Date)> =
                list.iter().filter_map(|c| Some((*c, c.started_on?))).collect();
            let with_latest: Vec<_> = started.iter().filter(|(c, _)| c.latest_start.is_some()).collect();
            MonthIndicators {
                month,
                received: list.len(),
                assessed: assessed.len(),
                median_days_to_assessment: median(
                    assessed
                        .iter()
                        .map(|(c, d)| days_between(c.received_on, *d))
                        .collect(),
                ),
                assessed_within_deadline: share(
                    assessed
                        .iter()
                        .filter(|(c, d)| *d <= c.assessment_deadline)
                        .count(),
                    assessed.len(),
                ),
                started: started.len(),
                median_days_to_start: median(
                    started
                        .iter()
                        .map(|(c, d)| days_between(c.received_on, *d))
                        .collect(),
                ),
                started_within_deadline: share(
                    with_latest
                        .iter()
                        .filter(|(c, d)| Some(*d) <= c.latest_start)
                        .count(),
                    with_latest.len(),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn a_right_needs_a_latest_start_and_no_right_a_reason() {
        let received = date(2026, 11, 9);
        let today = date(2026, 11, 23);
        let mut errors = FieldErrors::default();
        let input = AssessmentInput {
            decision: "right".into(),
            ..Default::default()
        };
        assert!(AssessmentDecision::parse(&input, received, today, false, &mut errors).is_none());
        assert!(errors.for_field("latest_start").is_some());
        let mut errors = FieldErrors::default();
        let input = AssessmentInput {
            decision: "no_right".into(),
            ..Default::default()
        };
        assert!(AssessmentDecision::parse(&input, received, today, false, &mut errors).is_none());
        assert!(errors.for_field("reason").is_some());
        let mut errors = FieldErrors::default();
        let input = AssessmentInput {
            decision: "right".into(),
            latest_start: "2027-01-15".into(),
            ..Default::default()
        };
        let ok = AssessmentDecision::parse(&input, received, today, false, &mut errors).expect("ok");
        assert_eq!(ok.latest_start, Some(date(2027, 1, 15)));
        // A correction needs its reason.
        let mut errors = FieldErrors::default();
        assert!(AssessmentDecision::parse(&input, received, today, true, &mut errors).is_none());
        assert!(errors.for_field("correction_reason").is_some());
        // A latest start in the past is refused.
        let mut errors = FieldErrors::default();
        let past = AssessmentInput {
            latest_start: "2026-11-20".into(),
            ..input
        };
        assert!(AssessmentDecision::parse(&past, received, today, false, &mut errors).is_none());
    }

    #[test]
    fn indicators_give_medians_and_shares_per_month_of_receipt() {
        let course = |received: Date, assessed: Option<Date>, latest: Option<Date>, started: Option<Date>| {
            ReferralCourse {
                received_on: received,
                assessment_deadline: crate::referral::assessment_deadline(received, 10),
                assessed_on: assessed,
                latest_start: latest,
                started_on: started,
            }
        };
        let rows = indicators(&[
            // In time (deadline 16 March), started by the latest start.
            course(
                date(2026, 3, 2),
                Some(date(2026, 3, 12)),
                Some(date(2026, 4, 1)),
                Some(date(2026, 3, 30)),
            ),
            // Late (deadline 17 March), started after the latest start.
            course(
                date(2026, 3, 3),
                Some(date(2026, 3, 23)),
                Some(date(2026, 4, 1)),
                Some(date(2026, 4, 3)),
            ),
            // Not yet assessed.
            course(date(2026, 3, 20), None, None, None),
            course(date(2026, 4, 1), Some(date(2026, 4, 2)), None, None),
        ]);
        assert_eq!(rows.len(), 2);
        let march = &rows[0];
        assert_eq!(march.month, date(2026, 3, 1));
        assert_eq!((march.received, march.assessed, march.started), (3, 2, 2));
        assert_eq!(march.median_days_to_assessment, Some(15.0));
        assert_eq!(march.assessed_within_deadline, Some(0.5));
        assert_eq!(march.median_days_to_start, Some(29.5));
        assert_eq!(march.started_within_deadline, Some(0.5));
        assert_eq!(rows[1].started_within_deadline, None);
        assert_eq!(rows[1].assessed_within_deadline, Some(1.0));
    }

    #[test]
    fn checklist_and_offer_input_is_checked() {
        let mut errors = FieldErrors::default();
        assert!(parse_check("medicine", " ", &mut errors).is_none());
        assert!(parse_check("nonsense", "x", &mut FieldErrors::default()).is_none());
        assert_eq!(
            parse_check("medicine", "Buprenorfin", &mut FieldErrors::default()),
            Some((ChecklistItem::Medicine, "Buprenorfin".into()))
        );
        let input = QuickStartInput {
            offered: "Buprenorfin hos fastlegen".into(),
            offered_on: "2026-11-01".into(),
            answer: "accepted".into(),
        };
        let mut errors = FieldErrors::default();
        assert!(parse_quick_start(&input, date(2026, 11, 9), date(2026, 11, 23), &mut errors).is_none());
        assert!(errors.for_field("offered_on").is_some());
    }
}
