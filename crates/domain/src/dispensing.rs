//! Recording a dispensing at the window: identity confirmed, the pre-dose assessment's
//! outcome, and which scheduled doses it covers. Each scheduled dose is dispensed at
//! most once; the store enforces the same with a unique constraint.

use std::collections::HashSet;

use crate::dose::Dose;
use crate::schedule::{DoseKey, DueDose, IntakeMode};

/// What the pre-dose assessment (forsvarlighetsvurdering) decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The doses were given (supervised) or handed over (take-home) as ordered.
    Given,
    /// One supervised dose was given at a lower amount.
    Reduced { given: Dose, reason: String },
    /// The doses were not given.
    Withheld { reason: String },
}

impl Outcome {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Reduced { .. } => "reduced",
            Self::Withheld { .. } => "withheld",
        }
    }

    /// Whether the patient had the medicine for the days recorded.
    pub fn is_dosed(&self) -> bool {
        !matches!(self, Self::Withheld { .. })
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Given => None,
            Self::Reduced { reason, .. } | Self::Withheld { reason } => Some(reason),
        }
    }
}

/// One scheduled dose as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDose {
    pub key: DoseKey,
    pub mode: IntakeMode,
    /// What was given or handed over; zero when withheld.
    pub amount: Dose,
    pub ordered: Dose,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispenseRefusal {
    #[error("identity was not confirmed")]
    IdentityNotConfirmed,
    #[error("the order is blocked until a prescriber reassesses")]
    Blocked,
    #[error("nothing is due for the patient here today")]
    NothingDue,
    #[error("a dose asked for is not due here today")]
    NotDue(DoseKey),
    #[error("the dose was already dispensed")]
    AlreadyDispensed(DoseKey),
    #[error("a reason is needed")]
    ReasonMissing,
    #[error("a reduced dose must be less than the ordered dose")]
    ReductionNotLess,
    #[error("a reduction applies to exactly one supervised dose")]
    ReductionNeedsOneSupervisedDose,
}

impl DispenseRefusal {
    /// The refusal as dispensing staff read it.
    pub fn message_nb(&self) -> String {
        match self {
            Self::IdentityNotConfirmed => "Bekreft pasientens identitet før utlevering.".into(),
            Self::Blocked => "Ordinasjonen er sperret: må revurderes av lege før dose kan gis.".into(),
            Self::NothingDue => "Pasienten har ingen dose til utlevering her i dag.".into(),
            Self::NotDue(key) => format!(
                "Dosen for {} (del {}) skal ikke utleveres her i dag.",
                crate::format::date_nb(key.date),
                key.part
            ),
            Self::AlreadyDispensed(key) => format!(
                "Dosen for {} (del {}) er allerede registrert. Ingen ny utlevering ble gjort.",
                crate::format::date_nb(key.date),
                key.part
            ),
            Self::ReasonMissing => "Skriv begrunnelsen fra forsvarlighetsvurderingen.".into(),
            Self::ReductionNotLess => "Redusert dose må være mindre enn ordinert dose.".into(),
            Self::ReductionNeedsOneSupervisedDose => {
                "Reduksjon gjelder én dose som tas under tilsyn i dag.".into()
            }
        }
    }
}

/// A dose recorded earlier, as far as what is still due depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastDose {
    pub key: DoseKey,
    /// What was given or handed over (zero when withheld).
    pub amount: Dose,
    /// The Oslo day it was recorded.
    pub recorded_on: jiff::civil::Date,
    pub injection: bool,
}

/// What is still due of `due` (the schedule's doses at a place on `today`), given what
/// was recorded before. Two protections beyond "each scheduled dose once":
/// - A day's remaining parts are not due when, with what was already given that day,
///   they would exceed the day's ordered total. This happens when a new version with
///   other parts takes effect on a day part of whose dose was given under the old one
///   (90 mg given, then 60 + 30 from today: the 30 is not given).
/// - A depot injection is not due within `interval − window` days of the last one
///   given, so a late injection followed by an early one cannot come too close.
///
/// Recorded doses stay in the result, so lists can show them as done.
pub fn still_due(due: Vec<DueDose>, past: &[PastDose], today: jiff::civil::Date) -> Vec<DueDose> {
    let recorded: HashSet<DoseKey> = past.iter().map(|p| p.key).collect();
    let last_injection = past
        .iter()
        .filter(|p| p.injection && !p.amount.is_zero())
        .map(|p| p.recorded_on)
        .max();
    let mut keep = Vec::with_capacity(due.len());
    for dose in &due {
        let key = dose.scheduled.key;
        if recorded.contains(&key) {
            keep.push(dose.clone());
            continue;
        }
        if dose.mode == IntakeMode::Injection {
            let substance = dose.scheduled.substance;
            let too_soon = match (
                substance.interval(),
                substance.injection_window_days(),
                last_injection,
            ) {
                (crate::substance::DosingInterval::EveryDays(n), Some(window), Some(last)) => {
                    crate::time::days_between(last, today) < i64::from(n) - window
                }
                _ => false,
            };
            if too_soon {
                continue;
            }
        }
        let given_that_day: Dose = past
            .iter()
            .filter(|p| p.key.date == key.date)
            .map(|p| p.amount)
            .sum();
        if !given_that_day.is_zero() {
            let ordered_total: Dose = due
                .iter()
                .filter(|d| d.scheduled.key.date == key.date)
                .map(|d| d.scheduled.dose)
                .sum();
            let pending: Dose = due
                .iter()
                .filter(|d| d.scheduled.key.date == key.date && !recorded.contains(&d.scheduled.key))
                .map(|d| d.scheduled.dose)
                .sum();
            if given_that_day + pending > ordered_total {
                continue;
            }
        }
        keep.push(dose.clone());
    }
    keep
}

/// Decides what one recording writes. `due` is what the schedule says is due at this
/// place today; `requested` narrows it to some of those doses (all when empty);
/// `already` holds the keys recorded before. The result covers each key once.
pub fn plan_recording(
    due: &[DueDose],
    requested: &[DoseKey],
    already: &HashSet<DoseKey>,
    outcome: &Outcome,
    identity_confirmed: bool,
    blocked: bool,
) -> Result<Vec<RecordedDose>, DispenseRefusal> {
    if !identity_confirmed {
        return Err(DispenseRefusal::IdentityNotConfirmed);
    }
    if blocked && outcome.is_dosed() {
        return Err(DispenseRefusal::Blocked);
    }
    if outcome.reason().is_some_and(|r| r.trim().is_empty()) {
        return Err(DispenseRefusal::ReasonMissing);
    }
    let mut chosen: Vec<&DueDose> = Vec::new();
    if requested.is_empty() {
        chosen.extend(due.iter().filter(|d| !already.contains(&d.scheduled.key)));
        // Withholding without a selection is about the dose to be taken now: the
        // take-home doses stay due, so a patient who comes back fit can collect them.
        if matches!(outcome, Outcome::Withheld { .. })
            && chosen.iter().any(|d| d.mode != IntakeMode::TakeHome)
        {
            chosen.retain(|d| d.mode != IntakeMode::TakeHome);
        }
        if chosen.is_empty() {
            return Err(match due.first() {
                Some(first) => DispenseRefusal::AlreadyDispensed(first.scheduled.key),
                None => DispenseRefusal::NothingDue,
            });
        }
    } else {
        let mut seen = HashSet::new();
        for key in requested {
            if !seen.insert(*key) {
                continue;
            }
            let due_dose = due
                .iter()
                .find(|d| d.scheduled.key == *key)
                .ok_or(DispenseRefusal::NotDue(*key))?;
            if already.contains(key) {
                return Err(DispenseRefusal::AlreadyDispensed(*key));
            }
            chosen.push(due_dose);
        }
    }
    match outcome {
        Outcome::Given => Ok(chosen
            .into_iter()
            .map(|d| RecordedDose {
                key: d.scheduled.key,
                mode: d.mode,
                amount: d.scheduled.dose,
                ordered: d.scheduled.dose,
            })
            .collect()),
        Outcome::Withheld { .. } => Ok(chosen
            .into_iter()
            .map(|d| RecordedDose {
                key: d.scheduled.key,
                mode: d.mode,
                amount: Dose::default(),
                ordered: d.scheduled.dose,
            })
            .collect()),
        Outcome::Reduced { given, .. } => {
            // A reduction is for the dose taken now; take-home doses of a patient
            // judged unfit are withheld instead, so only one supervised dose is allowed.
            let [only] = chosen.as_slice() else {
                return Err(DispenseRefusal::ReductionNeedsOneSupervisedDose);
            };
            if only.mode != IntakeMode::Supervised {
                return Err(DispenseRefusal::ReductionNeedsOneSupervisedDose);
            }
            if *given >= only.scheduled.dose || given.is_zero() {
                return Err(DispenseRefusal::ReductionNotLess);
            }
            Ok(vec![RecordedDose {
                key: only.scheduled.key,
                mode: only.mode,
                amount: *given,
                ordered: only.scheduled.dose,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::tests::world;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn friday_due() -> Vec<DueDose> {
        let w = world("ATATATT", &["60"]);
        w.schedule().due_at(w.place, date(2026, 11, 27))
    }

    #[test]
    fn recording_refuses_without_identity_when_blocked_and_without_reason() {
        let due = friday_due();
        let none = HashSet::new();
        let cases: &[(Outcome, bool, bool, DispenseRefusal)] = &[
            (
                Outcome::Given,
                false,
                false,
                DispenseRefusal::IdentityNotConfirmed,
            ),
            (Outcome::Given, true, true, DispenseRefusal::Blocked),
            (
                Outcome::Withheld { reason: " ".into() },
                true,
                false,
                DispenseRefusal::ReasonMissing,
            ),
            (
                Outcome::Reduced {
                    given: Dose::from_mg(40),
                    reason: "Påvirket".into(),
                },
                true,
                false,
                DispenseRefusal::ReductionNeedsOneSupervisedDose,
            ),
        ];
        for (outcome, identity, blocked, expected) in cases {
            assert_eq!(
                plan_recording(&due, &[], &none, outcome, *identity, *blocked),
                Err(expected.clone()),
                "{outcome:?}"
            );
        }
        // Withholding is still recorded for a blocked order.
        assert!(
            plan_recording(
                &due,
                &[],
                &none,
                &Outcome::Withheld {
                    reason: "Sperret".into()
                },
                true,
                true
            )
            .is_ok()
        );
    }

    #[test]
    fn one_tap_records_the_supervised_dose_and_the_weekend_hand_over() {
        let due = friday_due();
        let recorded =
            plan_recording(&due, &[], &HashSet::new(), &Outcome::Given, true, false).expect("records");
        assert_eq!(recorded.len(), 3);
        assert!(recorded.iter().all(|r| r.amount == Dose::from_mg(60)));
        let again = plan_recording(
            &due,
            &[],
            &recorded.iter().map(|r| r.key).collect(),
            &Outcome::Given,
            true,
            false,
        );
        assert_eq!(
            again,
            Err(DispenseRefusal::AlreadyDispensed(due[0].scheduled.key))
        );
    }

    #[test]
    fn a_reduction_must_be_less_than_ordered_and_apply_to_one_supervised_dose() {
        let due = friday_due();
        let today = [due[0].scheduled.key];
        let reduce = |mg| Outcome::Reduced {
            given: Dose::from_mg(mg),
            reason: "Sedert".into(),
        };
        let none = HashSet::new();
        assert_eq!(
            plan_recording(&due, &today, &none, &reduce(60), true, false),
            Err(DispenseRefusal::ReductionNotLess)
        );
        let recorded = plan_recording(&due, &today, &none, &reduce(30), true, false).expect("records");
        assert_eq!(recorded[0].amount, Dose::from_mg(30));
        assert_eq!(
            plan_recording(&due, &[due[1].scheduled.key], &none, &reduce(30), true, false),
            Err(DispenseRefusal::ReductionNeedsOneSupervisedDose)
        );
    }

    #[test]
    fn a_dose_that_is_not_due_here_today_is_refused() {
        let due = friday_due();
        let monday = DoseKey {
            date: date(2026, 11, 30),
            part: 1,
        };
        assert_eq!(
            plan_recording(&due, &[monday], &HashSet::new(), &Outcome::Given, true, false),
            Err(DispenseRefusal::NotDue(monday))
        );
    }

    #[test]
    fn a_new_split_from_today_does_not_add_to_a_dose_already_given_today() {
        let w = world("AAAAAAA", &["60", "30"]);
        let monday = date(2026, 11, 23);
        let due = w.schedule().due_at(w.place, monday);
        let given = |part: u8, mg: u64| PastDose {
            key: DoseKey { date: monday, part },
            amount: Dose::from_mg(mg),
            recorded_on: monday,
            injection: false,
        };
        // 90 mg given as one dose under the old order: part 2 of the new split is not due.
        let left = still_due(due.clone(), &[given(1, 90)], monday);
        assert_eq!(
            left.iter().map(|d| d.scheduled.key.part).collect::<Vec<_>>(),
            vec![1]
        );
        // Part 1 of the same split given: part 2 is still due.
        let left = still_due(due.clone(), &[given(1, 60)], monday);
        assert_eq!(left.len(), 2);
        // A reduced part 1 leaves part 2 due.
        let left = still_due(due, &[given(1, 40)], monday);
        assert_eq!(left.len(), 2);
    }

    #[test]
    fn a_depot_injection_is_not_due_too_soon_after_the_last_one() {
        let mut w = world("AAAAAAA", &["60"]);
        let content = crate::dose_order::DoseOrderContent::parse(&crate::dose_order::tests::input(
            "depot_buprenorphine_weekly",
            &["16"],
            "2026-11-02",
        ))
        .expect("valid");
        w.orders = crate::dose_order::tests::signed_history(&[content]);
        // The injection of the 9th given late on the 11th; the 16th's may come early
        // from the 14th by its window, but not sooner than five days after the last.
        let past = [PastDose {
            key: DoseKey {
                date: date(2026, 11, 9),
                part: 1,
            },
            amount: Dose::from_mg(16),
            recorded_on: date(2026, 11, 11),
            injection: true,
        }];
        let due_on = |d| still_due(w.schedule().due_at(w.place, d), &past, d);
        assert!(
            due_on(date(2026, 11, 14))
                .iter()
                .all(|d| d.scheduled.key.date != date(2026, 11, 16))
        );
        assert!(
            due_on(date(2026, 11, 16))
                .iter()
                .any(|d| d.scheduled.key.date == date(2026, 11, 16))
        );
    }

    proptest! {
        /// However recordings are attempted (any subsets, any order, repeats), applying
        /// each accepted plan to the book never records a scheduled dose twice, and
        /// every due dose ends up recorded at most once.
        #[test]
        fn never_two_dispensings_of_one_scheduled_dose(
            attempts in proptest::collection::vec((proptest::collection::vec(0usize..4, 0..4), any::<bool>()), 1..30)
        ) {
            let due = friday_due();
            let mut book: HashSet<DoseKey> = HashSet::new();
            let mut recorded_total = 0usize;
            for (indices, withhold) in attempts {
                let requested: Vec<DoseKey> = indices.iter().filter_map(|i| due.get(*i)).map(|d| d.scheduled.key).collect();
                let outcome = if withhold { Outcome::Withheld { reason: "Påvirket".into() } } else { Outcome::Given };
                if let Ok(recorded) = plan_recording(&due, &requested, &book, &outcome, true, false) {
                    for r in recorded {
                        prop_assert!(book.insert(r.key), "recorded twice: {:?}", r.key);
                        recorded_total += 1;
                    }
                }
            }
            prop_assert!(recorded_total <= due.len());
        }
    }
}
