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
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// A result as received, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct DrugTestInput {
    pub sample_date: Option<Date>,
    pub lab: String,
    pub supervised: bool,
    pub results: Vec<(String, String, Option<bool>)>,
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
    fn a_result_without_substances_is_refused() {
        let mut bad = input();
        bad.results.clear();
        assert!(parse(&bad).is_err());
    }
}
