//! The demo's status assessments: for the first patients, one at the start of
//! treatment and a yearly one (some answers changed), so the status page and the
//! yearly status report show answers and their sources. (The demo patients have no
//! portal accounts yet: a patient's own version comes once a code is given and the
//! patient answers «Slik har jeg det».)

use anyhow::{Context, anyhow};
use jiff::civil::Date;
use samhand_domain::ids::{PatientId, UserId};
use samhand_domain::status::{Occasion, StatusAnswers, StatusAssessment, StatusAssessmentId, StatusField};
use samhand_store::{PatientWrite, Store};

use super::world::World;
use super::{at, plus};

/// The answers of the start (`first`) or the yearly version, varied by the
/// patient's number so that the unit's totals are not all alike.
fn demo_answers(n: usize, first: bool) -> anyhow::Result<StatusAnswers> {
    use StatusField::*;
    let pick = |options: &[&'static str], k: usize| options[(n + k) % options.len()];
    let housing = if first {
        pick(&["temporary", "homeless", "municipal"], 0)
    } else {
        pick(&["own", "municipal", "supported", "own"], 0)
    };
    let use_level = if first {
        "weekly"
    } else {
        pick(&["none", "none", "some"], 1)
    };
    let answers = [
        (Housing, housing),
        (
            MainIncome,
            pick(&["work_assessment", "disability", "social_assistance", "work"], 2),
        ),
        (
            Occupation,
            if first {
                "none"
            } else {
                pick(&["none", "work_measure", "work"], 3)
            },
        ),
        (Rehabilitation, if first { "no" } else { "yes" }),
        (
            TreatmentGoal,
            pick(&["harm_reduction", "abstinence", "unclear"], 4),
        ),
        (Satisfaction, pick(&["satisfied", "very_satisfied", "neutral"], 5)),
        (UseOpioids, use_level),
        (UseCannabis, pick(&["none", "some", "weekly"], 6)),
        (UseBenzodiazepines, use_level),
        (UseStimulants, pick(&["none", "some"], 7)),
        (UseAlcohol, pick(&["some", "none", "weekly"], 8)),
        (Injection, if first { "yes" } else { "no" }),
        (Anxiety, pick(&["yes", "no"], 9)),
        (Depression, pick(&["no", "yes"], 10)),
        (Psychosis, "no"),
        (MentalHealthTreatment, pick(&["no", "yes"], 11)),
        (
            HepatitisC,
            pick(&["negative", "cured", "chronic", "not_tested"], 12),
        ),
        (HepatitisCTreatment, "no"),
        (Hiv, pick(&["negative", "not_tested"], 13)),
        (HivTreatment, "no"),
    ];
    StatusAnswers::from_stored(answers.into_iter().map(|(f, c)| (f, c.to_string())))
        .ok_or_else(|| anyhow!("a demo status answer its question does not take"))
}

fn version(
    patient: PatientId,
    version: i64,
    occasion: Occasion,
    assessed_on: Date,
    answers: StatusAnswers,
    by: UserId,
) -> StatusAssessment {
    StatusAssessment {
        id: StatusAssessmentId::new(),
        patient_id: patient,
        version,
        occasion,
        assessed_on,
        answers,
        note: String::new(),
        by_patient: false,
        recorded_by: by,
        recorded_at: at(assessed_on, 13, 0),
    }
}

/// Writes the assessments of `patients` (each with the day treatment started).
pub(super) async fn write_status_assessments(
    store: &Store,
    world: &World,
    patients: &[(PatientId, Date)],
    today: Date,
) -> anyhow::Result<()> {
    let konsulent = world.user_named("konsulent")?;
    let ids: Vec<PatientId> = patients.iter().map(|(id, _)| *id).collect();
    let mut tx = PatientWrite::synthetic_history(
        store,
        &world.actor(konsulent),
        &ids,
        at(plus(today, -400), 13, 0),
        "demo: status assessments written",
    )
    .await?;
    for (n, (patient, started_on)) in patients.iter().enumerate() {
        let started = (*started_on).max(plus(today, -700));
        let yearly = plus(today, -(10 + (n as i64 % 40))).max(plus(started, 30));
        let mut versions = vec![version(
            *patient,
            1,
            Occasion::Start,
            started,
            demo_answers(n, true)?,
            konsulent.id,
        )];
        if yearly < today {
            versions.push(version(
                *patient,
                2,
                Occasion::Yearly,
                yearly,
                demo_answers(n, false)?,
                konsulent.id,
            ));
        }
        for assessment in &versions {
            samhand_store::status::insert_assessment(&mut tx, assessment).await?;
        }
    }
    tx.commit().await.context("commit demo status assessments")?;
    Ok(())
}
