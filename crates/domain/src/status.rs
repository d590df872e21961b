//! Status assessments (statusvurdering, DOMAIN.md «The yearly status report»): the
//! patient's situation, substance use in the last four weeks and health, recorded at
//! the start, at least yearly and at the end of treatment. Every save is a new
//! version with who and when; a version by the patient (the self-reported parts,
//! from the portal) says so. The status in force is, field by field, the answer of
//! the latest version that gave one, with the version it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use crate::ids::{PatientId, UserId, id_type};
use crate::validation::{FieldErrors, parse_date};

id_type!(StatusAssessmentId);

/// The longest note a version takes.
const MAX_NOTE: usize = 2000;

crate::coded! {
    /// Why an assessment was made.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Occasion {
        Start = "start",
        Yearly = "yearly",
        End = "end",
        /// Between times, or the patient's own report from the portal.
        Other = "other",
    }
}

impl Occasion {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Start => "Ved oppstart",
            Self::Yearly => "Årlig",
            Self::End => "Ved avslutning",
            Self::Other => "Annen anledning",
        }
    }
}

/// The three parts of the national status survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusPart {
    /// Part A: housing, income, work, rehabilitation, goal, satisfaction.
    Situation,
    /// Part B: use of each substance in the last four weeks, and injection.
    SubstanceUse,
    /// Part C's health questions: mental health, hepatitis C, HIV.
    Health,
}

impl StatusPart {
    pub const ALL: [StatusPart; 3] = [Self::Situation, Self::SubstanceUse, Self::Health];

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Situation => "Del A – livssituasjon",
            Self::SubstanceUse => "Del B – rusmiddelbruk siste 4 uker",
            Self::Health => "Del C – psykisk helse, hepatitt C og hiv",
        }
    }
}

crate::coded! {
    /// One question of a status assessment. The code is the column name in the
    /// database and in the report's CSV.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum StatusField {
        Housing = "housing",
        MainIncome = "main_income",
        Occupation = "occupation",
        Rehabilitation = "rehabilitation",
        TreatmentGoal = "treatment_goal",
        Satisfaction = "satisfaction",
        UseOpioids = "use_opioids",
        UseCannabis = "use_cannabis",
        UseBenzodiazepines = "use_benzodiazepines",
        UseStimulants = "use_stimulants",
        UseAlcohol = "use_alcohol",
        Injection = "injection",
        Anxiety = "anxiety",
        Depression = "depression",
        Psychosis = "psychosis",
        MentalHealthTreatment = "mental_health_treatment",
        HepatitisC = "hepatitis_c",
        HepatitisCTreatment = "hepatitis_c_treatment",
        Hiv = "hiv",
        HivTreatment = "hiv_treatment",
    }
}

const YES_NO: &[(&str, &str)] = &[("yes", "Ja"), ("no", "Nei")];
const USE: &[(&str, &str)] = &[
    ("none", "Ikke brukt"),
    ("some", "Noen ganger (sjeldnere enn ukentlig)"),
    ("weekly", "Ukentlig"),
    ("daily", "Daglig eller nesten daglig"),
];
const HOUSING: &[(&str, &str)] = &[
    ("own", "Egen bolig (eid eller leid)"),
    ("municipal", "Kommunal bolig"),
    ("supported", "Bolig med bemanning eller oppfølging"),
    ("temporary", "Midlertidig botilbud"),
    ("institution", "Institusjon eller fengsel"),
    ("homeless", "Uten bolig"),
];
const INCOME: &[(&str, &str)] = &[
    ("work", "Arbeidsinntekt"),
    ("work_assessment", "Arbeidsavklaringspenger"),
    ("disability", "Uføretrygd"),
    ("social_assistance", "Økonomisk sosialhjelp"),
    ("other", "Annet"),
];
const OCCUPATION: &[(&str, &str)] = &[
    ("work", "I arbeid"),
    ("education", "Under utdanning"),
    ("work_measure", "Arbeidsrettet tiltak"),
    ("none", "Verken arbeid, utdanning eller tiltak"),
];
const GOAL: &[(&str, &str)] = &[
    ("abstinence", "Rusfrihet"),
    ("harm_reduction", "Skadereduksjon"),
    ("unclear", "Uavklart"),
];
const SATISFACTION: &[(&str, &str)] = &[
    ("very_satisfied", "Svært fornøyd"),
    ("satisfied", "Fornøyd"),
    ("neutral", "Verken fornøyd eller misfornøyd"),
    ("dissatisfied", "Misfornøyd"),
    ("very_dissatisfied", "Svært misfornøyd"),
];
const HEPATITIS_C: &[(&str, &str)] = &[
    ("not_tested", "Ikke testet siste år"),
    ("negative", "Negativ"),
    ("chronic", "Kronisk infisert"),
    ("cured", "Behandlet og frisk"),
];
const HIV: &[(&str, &str)] = &[
    ("not_tested", "Ikke testet siste år"),
    ("negative", "Negativ"),
    ("positive", "Positiv"),
];

impl StatusField {
    pub fn part(self) -> StatusPart {
        use StatusField::*;
        match self {
            Housing | MainIncome | Occupation | Rehabilitation | TreatmentGoal | Satisfaction => {
                StatusPart::Situation
            }
            UseOpioids | UseCannabis | UseBenzodiazepines | UseStimulants | UseAlcohol | Injection => {
                StatusPart::SubstanceUse
            }
            _ => StatusPart::Health,
        }
    }

    pub fn label_nb(self) -> &'static str {
        use StatusField::*;
        match self {
            Housing => "Bolig",
            MainIncome => "Hovedinntekt",
            Occupation => "Arbeid eller utdanning",
            Rehabilitation => "Deltar i rehabiliteringstiltak",
            TreatmentGoal => "Mål for behandlingen",
            Satisfaction => "Fornøyd med behandlingen",
            UseOpioids => "Heroin eller andre opioider",
            UseCannabis => "Cannabis",
            UseBenzodiazepines => "Benzodiazepiner",
            UseStimulants => "Sentralstimulerende (amfetamin, kokain)",
            UseAlcohol => "Alkohol",
            Injection => "Injisert siste 4 uker",
            Anxiety => "Angstsymptomer",
            Depression => "Depressive symptomer",
            Psychosis => "Psykosesymptomer",
            MentalHealthTreatment => "Behandling for psykiske plager",
            HepatitisC => "Hepatitt C",
            HepatitisCTreatment => "Behandling for hepatitt C siste år",
            Hiv => "Hiv",
            HivTreatment => "Behandling for hiv",
        }
    }

    /// The answers the question takes: (code, Norwegian label), in the order shown.
    pub fn options(self) -> &'static [(&'static str, &'static str)] {
        use StatusField::*;
        match self {
            Housing => HOUSING,
            MainIncome => INCOME,
            Occupation => OCCUPATION,
            TreatmentGoal => GOAL,
            Satisfaction => SATISFACTION,
            UseOpioids | UseCannabis | UseBenzodiazepines | UseStimulants | UseAlcohol => USE,
            HepatitisC => HEPATITIS_C,
            Hiv => HIV,
            Rehabilitation
            | Injection
            | Anxiety
            | Depression
            | Psychosis
            | MentalHealthTreatment
            | HepatitisCTreatment
            | HivTreatment => YES_NO,
        }
    }

    /// Whether the patient may give this answer themself, from the portal: their
    /// situation, goal, satisfaction, substance use and symptoms. Treatments and
    /// test status are the clinic's.
    pub fn self_reported(self) -> bool {
        use StatusField::*;
        !matches!(
            self,
            MentalHealthTreatment | HepatitisC | HepatitisCTreatment | Hiv | HivTreatment | Rehabilitation
        )
    }

    /// The label of one of its answers.
    pub fn answer_label(self, code: &str) -> Option<&'static str> {
        self.options().iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
    }

    /// The answer's own code, as `'static`, when the question takes it.
    fn answer(self, code: &str) -> Option<&'static str> {
        self.options().iter().find(|(c, _)| *c == code).map(|(c, _)| *c)
    }
}

/// The answers of one version: each a code its question takes. Valid by
/// construction ([`StatusInput::parse`], [`StatusAnswers::from_stored`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusAnswers(BTreeMap<StatusField, &'static str>);

impl StatusAnswers {
    /// Answers read back from the store: `None` when one is not an answer its
    /// question takes.
    pub fn from_stored(stored: impl IntoIterator<Item = (StatusField, String)>) -> Option<Self> {
        let mut answers = BTreeMap::new();
        for (field, code) in stored {
            answers.insert(field, field.answer(&code)?);
        }
        Some(Self(answers))
    }

    pub fn get(&self, field: StatusField) -> Option<&'static str> {
        self.0.get(&field).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (StatusField, &'static str)> + '_ {
        self.0.iter().map(|(f, c)| (*f, *c))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One saved version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusAssessment {
    pub id: StatusAssessmentId,
    pub patient_id: PatientId,
    /// 1 for the first; one more for each save.
    pub version: i64,
    pub occasion: Occasion,
    /// The day the answers describe.
    pub assessed_on: Date,
    pub answers: StatusAnswers,
    pub note: String,
    /// Given by the patient themself, from the portal.
    pub by_patient: bool,
    /// A staff user, or the patient's own account.
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// An assessment as typed: answers as (question code, answer code); an empty
/// answer is no answer.
#[derive(Debug, Clone, Default)]
pub struct StatusInput {
    pub occasion: String,
    /// dd.mm.yyyy or yyyy-mm-dd; today when empty.
    pub assessed_on: String,
    pub answers: Vec<(String, String)>,
    pub note: String,
}

/// What a valid input holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusContent {
    pub version: i64,
    pub occasion: Occasion,
    pub assessed_on: Date,
    pub answers: StatusAnswers,
    pub note: String,
}

impl StatusInput {
    /// Checks an assessment: a known occasion (the patient's own report is always
    /// «other»), a day not in the future, at least one answer, each one its
    /// question takes, and from the patient only the self-reported questions. The
    /// version follows `current`, the latest saved.
    pub fn parse(
        &self,
        today: Date,
        by_patient: bool,
        current: Option<i64>,
    ) -> Result<StatusContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let occasion = if by_patient {
            Some(Occasion::Other)
        } else {
            Occasion::from_code(self.occasion.trim())
        };
        if occasion.is_none() {
            errors.push("occasion", "Velg anledningen for vurderingen.");
        }
        let assessed_on = match self.assessed_on.trim() {
            "" => Some(today),
            raw => parse_date(raw),
        };
        match assessed_on {
            None => errors.push("assessed_on", "Skriv datoen som dd.mm.åååå."),
            Some(d) if d > today => errors.push("assessed_on", "Datoen kan ikke være fram i tid."),
            Some(_) => {}
        }
        let answers = parse_answers(&self.answers, by_patient, &mut errors);
        let note = self.note.trim().to_string();
        if note.chars().count() > MAX_NOTE {
            errors.push("note", format!("Merknaden kan være høyst {MAX_NOTE} tegn."));
        }
        match (occasion, assessed_on) {
            (Some(occasion), Some(assessed_on)) if errors.is_empty() => Ok(StatusContent {
                version: current.map_or(1, |v| v + 1),
                occasion,
                assessed_on,
                answers,
                note,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_answers(given: &[(String, String)], by_patient: bool, errors: &mut FieldErrors) -> StatusAnswers {
    let mut answers = BTreeMap::new();
    for (field, code) in given {
        let code = code.trim();
        if code.is_empty() {
            continue;
        }
        let Some(field) = StatusField::from_code(field.trim()) else {
            errors.push("answers", format!("Spørsmålet «{}» finnes ikke.", field.trim()));
            continue;
        };
        if by_patient && !field.self_reported() {
            errors.push(
                field.code(),
                format!("«{}» fylles ut av behandleren.", field.label_nb()),
            );
            continue;
        }
        match field.answer(code) {
            Some(answer) => {
                answers.insert(field, answer);
            }
            None => errors.push(
                field.code(),
                format!("Velg et av svarene for «{}».", field.label_nb()),
            ),
        }
    }
    if answers.is_empty() && errors.is_empty() {
        errors.push("answers", "Svar på minst ett spørsmål.");
    }
    StatusAnswers(answers)
}

/// The latest saved version number, if any.
pub fn latest_version(assessments: &[StatusAssessment]) -> Option<i64> {
    assessments.iter().map(|a| a.version).max()
}

/// The status in force on `as_of` (every version when `None`): for each question,
/// the answer of the latest version that gave one (by the day it describes, then
/// the version), with that version.
pub fn current_answers(
    assessments: &[StatusAssessment],
    as_of: Option<Date>,
) -> BTreeMap<StatusField, (&'static str, &StatusAssessment)> {
    let mut ordered: Vec<&StatusAssessment> = assessments
        .iter()
        .filter(|a| as_of.is_none_or(|d| a.assessed_on <= d))
        .collect();
    ordered.sort_by_key(|a| (a.assessed_on, a.version));
    let mut current = BTreeMap::new();
    for assessment in ordered {
        for (field, code) in assessment.answers.iter() {
            current.insert(field, (code, assessment));
        }
    }
    current
}

/// When the next assessment is due: at the start of treatment when there is none
/// since it began, else a year after the latest.
pub fn next_due_on(assessments: &[StatusAssessment], started_on: Date) -> Date {
    assessments
        .iter()
        .filter(|a| a.assessed_on >= started_on)
        .map(|a| a.assessed_on)
        .max()
        .map_or(started_on, |last| {
            last.checked_add(jiff::Span::new().years(1)).unwrap_or(last)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn input(answers: &[(&str, &str)]) -> StatusInput {
        StatusInput {
            occasion: "yearly".into(),
            assessed_on: "01.03.2026".into(),
            answers: answers
                .iter()
                .map(|(f, c)| (f.to_string(), c.to_string()))
                .collect(),
            note: String::new(),
        }
    }

    fn saved(version: i64, on: Date, by_patient: bool, answers: &[(&str, &str)]) -> StatusAssessment {
        let content = input(answers)
            .parse(date(2026, 12, 31), by_patient, Some(version - 1))
            .expect("valid");
        StatusAssessment {
            id: StatusAssessmentId::new(),
            patient_id: PatientId::new(),
            version: content.version,
            occasion: content.occasion,
            assessed_on: on,
            answers: content.answers,
            note: String::new(),
            by_patient,
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn every_question_has_answers_and_a_label_and_every_part_has_questions() {
        for field in StatusField::ALL {
            assert!(!field.options().is_empty(), "{field:?}");
            assert!(!field.label_nb().is_empty());
        }
        for part in StatusPart::ALL {
            assert!(StatusField::ALL.iter().any(|f| f.part() == part), "{part:?}");
        }
    }

    #[test]
    fn an_assessment_takes_known_answers_and_refuses_the_rest_with_norwegian_messages() {
        let ok = input(&[("housing", "own"), ("use_opioids", "none"), ("hiv", "")])
            .parse(date(2026, 3, 1), false, Some(2))
            .expect("valid");
        assert_eq!(ok.version, 3);
        assert_eq!(ok.answers.get(StatusField::Housing), Some("own"));
        assert_eq!(ok.answers.get(StatusField::Hiv), None, "an empty answer is none");

        let errors = input(&[("housing", "castle"), ("nonsense", "yes")])
            .parse(date(2026, 3, 1), false, None)
            .expect_err("refused");
        assert!(errors.for_field("housing").is_some());
        assert!(errors.for_field("answers").is_some());

        let errors = input(&[])
            .parse(date(2026, 3, 1), false, None)
            .expect_err("empty");
        assert_eq!(errors.for_field("answers"), Some("Svar på minst ett spørsmål."));

        let mut future = input(&[("housing", "own")]);
        future.assessed_on = "02.03.2026".into();
        let errors = future.parse(date(2026, 3, 1), false, None).expect_err("future");
        assert!(errors.for_field("assessed_on").is_some());
    }

    #[test]
    fn the_patient_answers_only_the_self_reported_questions_and_always_as_other() {
        let own = input(&[("use_cannabis", "weekly"), ("satisfaction", "satisfied")])
            .parse(date(2026, 3, 1), true, None)
            .expect("valid");
        assert_eq!(own.occasion, Occasion::Other);
        let errors = input(&[("hepatitis_c", "chronic")])
            .parse(date(2026, 3, 1), true, None)
            .expect_err("clinical");
        assert!(errors.for_field("hepatitis_c").is_some());
    }

    #[test]
    fn the_status_in_force_takes_each_answer_from_the_latest_version_that_gave_it() {
        let first = saved(
            1,
            date(2026, 1, 10),
            false,
            &[("housing", "homeless"), ("hiv", "negative")],
        );
        let second = saved(2, date(2026, 6, 1), true, &[("housing", "municipal")]);
        let later = saved(3, date(2027, 2, 1), false, &[("housing", "own")]);
        let all = [first.clone(), second.clone(), later];
        let at_year_end = current_answers(&all, Some(date(2026, 12, 31)));
        let (housing, from) = at_year_end[&StatusField::Housing];
        assert_eq!((housing, from.version, from.by_patient), ("municipal", 2, true));
        let (hiv, from) = at_year_end[&StatusField::Hiv];
        assert_eq!((hiv, from.version), ("negative", 1));
        assert_eq!(current_answers(&all, None)[&StatusField::Housing].0, "own");
        assert!(current_answers(&all, Some(date(2025, 12, 31))).is_empty());
    }

    #[test]
    fn an_assessment_is_due_at_start_and_a_year_after_the_latest() {
        let started = date(2026, 1, 5);
        assert_eq!(next_due_on(&[], started), started);
        let one = saved(1, date(2026, 2, 1), false, &[("housing", "own")]);
        assert_eq!(next_due_on(&[one], started), date(2027, 2, 1));
    }
}
