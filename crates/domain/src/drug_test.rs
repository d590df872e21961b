//! Drug tests (rusmiddeltester) as a laboratory reports them: a sample date, the
//! laboratory, whether the sample was supervised, and a positive or negative
//! result per substance. Parsed once; a held `DrugTest` is complete.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::ids::{DrugTestId, PatientId, UserId};
use crate::validation::FieldErrors;

/// One substance's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubstanceResult {
    /// The laboratory's code for the substance (e.g. a NLK or LOINC code).
    pub code: String,
    pub name: String,
    pub positive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugTest {
    pub id: DrugTestId,
    pub patient_id: PatientId,
    pub sample_date: Date,
    pub lab: String,
    pub supervised: bool,
    pub results: Vec<SubstanceResult>,
    /// 1 as first reported; one more for each correction, which keeps the id.
    pub version: i64,
    /// Why this version corrects the one before; empty on the first.
    pub reason: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// Why a correction of a result was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectionError {
    /// Made from an older version than the current: someone else corrected the
    /// result in between.
    Stale {
        expected: i64,
        current: i64,
    },
    Invalid(FieldErrors),
}

/// A laboratory's correction of a result: the next version of the same test, for
/// the same patient, with why. `expected` is the version the correction was made
/// from (an HTTP If-Match); a correction from an older version is refused. The
/// earlier versions stay as they were.
pub fn correct(
    current: &DrugTest,
    expected: Option<i64>,
    input: &DrugTestInput,
    reason: &str,
    today: Date,
    by: UserId,
    at: Timestamp,
) -> Result<DrugTest, CorrectionError> {
    if let Some(expected) = expected
        && expected != current.version
    {
        return Err(CorrectionError::Stale {
            expected,
            current: current.version,
        });
    }
    let reason = reason.trim();
    let parsed = input.parse(current.patient_id, today, by, at);
    if reason.is_empty() {
        let mut errors = parsed.err().unwrap_or_default();
        errors.push("note", "Skriv hvorfor prøvesvaret korrigeres.");
        return Err(CorrectionError::Invalid(errors));
    }
    let mut next = parsed.map_err(CorrectionError::Invalid)?;
    next.id = current.id;
    next.version = current.version + 1;
    next.reason = reason.to_string();
    Ok(next)
}

/// A result as received, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct DrugTestInput {
    pub sample_date: Option<Date>,
    pub lab: String,
    pub supervised: bool,
    pub results: Vec<(String, String, Option<bool>)>,
    /// What the laboratory sent to identify the test and the patient (kept
    /// beside the test as sent).
    pub received: Vec<crate::received::ReceivedIdentifier>,
}

impl DrugTestInput {
    /// Checks a received result against `today` (Europe/Oslo): a sample date not in
    /// the future, a laboratory, and at least one substance, each once, each
    /// positive or negative.
    pub fn parse(
        &self,
        patient_id: PatientId,
        today: Date,
        recorded_by: UserId,
        recorded_at: Timestamp,
    ) -> Result<DrugTest, FieldErrors> {
        let mut errors = FieldErrors::default();
        match self.sample_date {
            None => errors.push("effectiveDateTime", "Prøvedatoen mangler eller er ugyldig."),
            Some(d) if d > today => errors.push("effectiveDateTime", "Prøvedatoen kan ikke være fram i tid."),
            _ => {}
        }
        if self.lab.trim().is_empty() {
            errors.push("performer", "Laboratoriet som analyserte prøven mangler.");
        }
        if self.results.is_empty() {
            errors.push("component", "Prøvesvaret har ingen stoffer.");
        }
        let mut results: Vec<SubstanceResult> = Vec::new();
        for (code, name, positive) in &self.results {
            let code = code.trim();
            if code.is_empty() {
                errors.push("component", "Et stoff i prøvesvaret mangler kode.");
                continue;
            }
            let Some(positive) = positive else {
                errors.push(
                    "component",
                    format!("Stoffet {code} mangler positivt eller negativt svar."),
                );
                continue;
            };
            if results.iter().any(|r| r.code == code) {
                errors.push(
                    "component",
                    format!("Stoffet {code} står to ganger i prøvesvaret."),
                );
                continue;
            }
            results.push(SubstanceResult {
                code: code.to_string(),
                name: if name.trim().is_empty() {
                    code.to_string()
                } else {
                    name.trim().to_string()
                },
                positive: *positive,
            });
        }
        match (self.sample_date, errors.is_empty()) {
            (Some(sample_date), true) => Ok(DrugTest {
                id: DrugTestId::new(),
                patient_id,
                sample_date,
                lab: self.lab.trim().to_string(),
                supervised: self.supervised,
                results,
                version: 1,
                reason: String::new(),
                recorded_by,
                recorded_at,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn input() -> DrugTestInput {
        DrugTestInput {
            sample_date: Some(date(2026, 11, 20)),
            lab: "Fjordvik sykehus, laboratoriet".into(),
            supervised: true,
            results: vec![("AMPH".into(), "Amfetamin".into(), Some(false))],
            received: Vec::new(),
        }
    }

    fn parse(input: &DrugTestInput) -> Result<DrugTest, FieldErrors> {
        input.parse(
            PatientId::new(),
            date(2026, 11, 23),
            UserId::new(),
            Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_complete_result_parses() {
        let test = parse(&input()).expect("valid");
        assert_eq!(test.results.len(), 1);
        assert!(!test.results[0].positive);
    }

    #[test]
    fn a_sample_from_the_future_a_missing_lab_and_a_result_without_answer_are_refused() {
        let mut bad = input();
        bad.sample_date = Some(date(2026, 11, 24));
        bad.lab = " ".into();
        bad.results.push(("THC".into(), "Cannabis".into(), None));
        bad.results.push(("AMPH".into(), "Amfetamin".into(), Some(true)));
        let errors = parse(&bad).expect_err("invalid");
        assert_eq!(errors.0.len(), 4, "{errors:?}");
    }

    #[test]
    fn a_correction_keeps_the_id_and_patient_needs_a_reason_and_the_current_version() {
        let first = parse(&input()).expect("valid");
        let mut changed = input();
        changed.results[0].2 = Some(true);
        let today = date(2026, 11, 23);
        let by = UserId::new();
        let second = correct(
            &first,
            Some(1),
            &changed,
            "Feil i analysen",
            today,
            by,
            Timestamp::UNIX_EPOCH,
        )
        .expect("valid");
        assert_eq!(
            (second.id, second.patient_id, second.version),
            (first.id, first.patient_id, 2)
        );
        assert!(second.results[0].positive);
        assert_eq!(second.reason, "Feil i analysen");
        assert_eq!(
            correct(
                &second,
                Some(1),
                &changed,
                "Igjen",
                today,
                by,
                Timestamp::UNIX_EPOCH
            ),
            Err(CorrectionError::Stale {
                expected: 1,
                current: 2
            })
        );
        let Err(CorrectionError::Invalid(errors)) =
            correct(&second, None, &changed, " ", today, by, Timestamp::UNIX_EPOCH)
        else {
            panic!("a correction without a reason is refused");
        };
        assert!(errors.for_field("note").is_some());
    }

    #[test]
    fn a_result_without_substances_is_refused() {
        let mut bad = input();
        bad.results.clear();
        assert!(parse(&bad).is_err());
    }
}
