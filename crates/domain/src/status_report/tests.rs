//! The yearly report's rules on a constructed history.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::date;

use super::*;
use crate::arrangement::{ArrangementContent, WeekPlan};
use crate::dose_order::DoseOrderContent;
use crate::dose_order::tests::{input, signed_history};
use crate::ids::{ArrangementId, EpisodeId, UserId};
use crate::national_id::NationalId;
use crate::overdose::OverdoseEventId;
use crate::patient::{EpisodeEnd, Phase};
use crate::status::{Occasion, StatusAnswers, StatusAssessmentId};

fn patient() -> Patient {
    Patient {
        id: PatientId::new(),
        national_id: NationalId::synthetic(date(1980, 5, 17), 123).expect("synthetic"),
        given_name: "Ola".into(),
        family_name: "Nordmann".into(),
        phone: String::new(),
        address: String::new(),
        has_photo: false,
    }
}

fn episode(
    patient: PatientId,
    unit: OrganisationId,
    started: Date,
    ended: Option<(Date, EndReason)>,
) -> Episode {
    Episode {
        id: EpisodeId::new(),
        patient_id: patient,
        responsible_unit: unit,
        doctor: UserId::new(),
        consultant: UserId::new(),
        started_on: started,
        phase: Phase::Stabilisation,
        ended: ended.map(|(on, reason)| EpisodeEnd {
            on,
            reason,
            note: String::new(),
            decided_by: UserId::new(),
        }),
        created_at: Timestamp::UNIX_EPOCH,
    }
}

struct World {
    patient: Patient,
    unit: OrganisationId,
    episodes: Vec<Episode>,
    orders: Vec<crate::dose_order::SignedDoseOrder>,
    arrangements: Vec<Arrangement>,
    kinds: HashMap<OrganisationId, OrganisationKind>,
    tests: Vec<Date>,
    regimes: Vec<crate::drug_test_regime::Regime>,
    overdoses: Vec<OverdoseEvent>,
    assessments: Vec<StatusAssessment>,
}

impl World {
    fn new() -> Self {
        let patient = patient();
        let unit = OrganisationId::new();
        let place = OrganisationId::new();
        let orders = signed_history(&[
            DoseOrderContent::parse(&input("methadone_oral_solution", &["60"], "2025-03-01")).expect("valid"),
            DoseOrderContent::parse(&input("buprenorphine_naloxone", &["16"], "2026-08-01")).expect("valid"),
        ]);
        let arrangements = vec![Arrangement {
            id: ArrangementId::new(),
            patient_id: patient.id,
            version: 1,
            content: ArrangementContent {
                place_id: place,
                week: WeekPlan::from_code("ATATATT").expect("week"),
                valid_from: date(2025, 3, 1),
                review_on: date(2027, 1, 1),
                group_id: None,
                window: None,
                reason: String::new(),
            },
            decided_by: UserId::new(),
            decided_at: Timestamp::UNIX_EPOCH,
        }];
        Self {
            episodes: vec![
                episode(
                    patient.id,
                    unit,
                    date(2019, 1, 1),
                    Some((date(2020, 1, 1), EndReason::VoluntaryDischarge)),
                ),
                episode(patient.id, unit, date(2026, 3, 1), None),
            ],
            patient,
            unit,
            orders,
            arrangements,
            kinds: HashMap::from([(place, OrganisationKind::Pharmacy)]),
            tests: vec![date(2026, 3, 10), date(2026, 6, 10), date(2025, 6, 1)],
            regimes: Vec::new(),
            overdoses: vec![OverdoseEvent {
                id: OverdoseEventId::new(),
                patient_id: PatientId::new(),
                occurred_on: date(2026, 5, 2),
                outcome: OverdoseOutcome::NonFatal,
                place_description: String::new(),
                substances: String::new(),
                naloxone_used: true,
                reported_by: String::new(),
                recorded_by: UserId::new(),
                recorded_organisation: OrganisationId::new(),
                recorded_at: Timestamp::UNIX_EPOCH,
            }],
            assessments: vec![StatusAssessment {
                id: StatusAssessmentId::new(),
                patient_id: PatientId::new(),
                version: 1,
                occasion: Occasion::Start,
                assessed_on: date(2026, 3, 1),
                answers: StatusAnswers::from_stored([(StatusField::Housing, "municipal".to_string())])
                    .expect("valid"),
                note: String::new(),
                by_patient: false,
                recorded_by: UserId::new(),
                recorded_at: Timestamp::UNIX_EPOCH,
            }],
        }
    }

    fn row(&self, year: i16) -> Option<ReportRow> {
        report_row(
            ReportYear::new(year).expect("year"),
            self.unit,
            date(2027, 1, 15),
            PatientHistory {
                patient: &self.patient,
                episodes: &self.episodes,
                orders: &self.orders,
                arrangements: &self.arrangements,
                place_kinds: &self.kinds,
                drug_test_days: &self.tests,
                regimes: &self.regimes,
                overdoses: &self.overdoses,
                stays: &[],
                plans: &[],
                assessments: &self.assessments,
            },
        )
    }
}

fn record(field: RecordField) -> Column {
    Column::Record(field)
}

#[test]
fn a_re_intake_is_pre_filled_from_the_record_with_each_fields_source() {
    let world = World::new();
    let row = world.row(2026).expect("in treatment in 2026");
    assert_eq!(row.values.len(), Column::all().len());
    let value = |c| row.value(c).expect("every column").clone();
    assert_eq!(value(record(RecordField::BirthYear)).code, "1980");
    assert_eq!(value(record(RecordField::Age)).code, "46");
    assert_eq!(value(record(RecordField::Intake)).code, "re_intake");
    assert_eq!(
        value(record(RecordField::Intake)).source,
        Source::Record(RecordSource::Episode)
    );
    let substance = value(record(RecordField::Substance));
    assert_eq!(
        (substance.code.as_str(), substance.source),
        ("buprenorphine_naloxone", Source::Record(RecordSource::DoseOrder))
    );
    assert_eq!(value(record(RecordField::DoseMg)).code, "16");
    assert_eq!(value(record(RecordField::Depot)).code, "no");
    assert_eq!(value(record(RecordField::DispensingPlace)).code, "pharmacy");
    assert_eq!(value(record(RecordField::SupervisedPerWeek)).code, "3");
    assert_eq!(value(record(RecordField::TakeHomePerWeek)).code, "4");
    assert_eq!(value(record(RecordField::Overdoses)).code, "1");
    assert_eq!(value(record(RecordField::IndividualPlan)).code, "no");
    // Two results in the 306 days from 1 March to 31 December.
    assert_eq!(value(record(RecordField::DrugTestsPerWeek)).code, "0");
    assert_eq!(
        value(record(RecordField::DrugTestsPerWeek)).source,
        Source::Record(RecordSource::LabResults)
    );
    let housing = value(Column::Status(StatusField::Housing));
    assert_eq!(housing.code, "municipal");
    assert_eq!(housing.source.code(), "assessment:1:2026-03-01:staff");
    let hiv = value(Column::Status(StatusField::Hiv));
    assert_eq!(hiv.source, Source::Missing);
    assert_eq!(row.missing(), StatusField::ALL.len() - 1);
}

#[test]
fn only_years_the_patient_was_in_treatment_at_the_unit_have_a_row_and_an_end_reads_on_its_last_day() {
    let mut world = World::new();
    assert!(world.row(2023).is_none(), "between the episodes");
    assert!(world.row(2027).is_some(), "still in treatment");
    world.episodes[1].ended = Some(EpisodeEnd {
        on: date(2026, 8, 1),
        reason: EndReason::Death,
        note: String::new(),
        decided_by: UserId::new(),
    });
    let row = world.row(2026).expect("ended in the year");
    assert_eq!(row.code(record(RecordField::EndedOn)), "2026-08-01");
    assert_eq!(row.code(record(RecordField::Death)), "yes");
    assert_eq!(row.code(record(RecordField::DeathCause)), "other");
    assert_eq!(
        row.code(record(RecordField::Substance)),
        "methadone_oral_solution",
        "the dose on the last day of treatment, before the change"
    );
    assert!(world.row(2027).is_none());
}

#[test]
fn the_totals_count_and_share_as_the_national_report() {
    let world = World::new();
    let mut other = World::new();
    other.episodes.remove(0);
    other.patient.national_id = NationalId::synthetic(date(1990, 1, 1), 124).expect("synthetic");
    let rows = vec![world.row(2026).expect("row"), other.row(2026).expect("row")];
    assert_eq!(rows[1].code(record(RecordField::Intake)), "new");
    let totals = unit_totals(&rows);
    let line = |label: &str| totals.iter().find(|l| l.label_nb == label).expect(label).clone();
    assert_eq!(line("Pasienter i behandling i løpet av året").count, 2);
    assert_eq!(line("Nye inntak").count, 1);
    assert_eq!(line("Gjeninntak").percent(), Some(50.0));
    assert_eq!(line("Gjennomsnittsalder").value, Some(41.0));
    assert_eq!(line("Kommunal bolig").percent(), Some(100.0));
    assert_eq!(line("Pasienter med minst én overdose").count, 2);
    assert_eq!(line("Buprenorfin (alle former)").count, 2);
}

#[test]
fn drug_tests_per_week_come_from_the_regime_in_force_at_the_reference_day() {
    use crate::drug_test_regime::{Frequency, Regime, RegimeReason, TestedSubstance};
    let mut world = World::new();
    let regime = |version: i64, from: Date, frequency: Frequency, ended: bool| Regime {
        id: format!("r{version}"),
        patient_id: world.patient.id,
        version,
        valid_from: from,
        reason: RegimeReason::MoreTakeHome,
        note: String::new(),
        substances: vec![TestedSubstance::Opioids],
        frequency,
        supervised: true,
        where_given: "Apoteket".into(),
        review_on: date(2027, 6, 1),
        ended,
        recorded_by: UserId::new(),
        recorded_at: Timestamp::UNIX_EPOCH,
    };
    world.regimes = vec![
        regime(1, date(2026, 4, 1), Frequency::Weekly, false),
        regime(2, date(2026, 9, 1), Frequency::TwiceAWeek, false),
    ];
    let row = world.row(2026).expect("in treatment");
    let per_week = row.value(record(RecordField::DrugTestsPerWeek)).expect("value");
    assert_eq!(per_week.code, "2");
    assert_eq!(per_week.source, Source::Record(RecordSource::DrugTestRegime));
    // Ended before the year's end: back to the results received.
    world
        .regimes
        .push(regime(3, date(2026, 11, 1), Frequency::Weekly, true));
    let row = world.row(2026).expect("in treatment");
    let per_week = row.value(record(RecordField::DrugTestsPerWeek)).expect("value");
    assert_eq!(per_week.source, Source::Record(RecordSource::LabResults));
}
