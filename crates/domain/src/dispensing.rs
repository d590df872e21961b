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
