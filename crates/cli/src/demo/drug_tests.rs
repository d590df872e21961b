//! The demo's drug-test regimes and laboratory results: for a few patients at the
//! first centre, a weekly regime decided five weeks ago with samples delivered most
//! weeks, one patient with samples not delivered, and one regime past its review,
//! so that the overview, the regime page and the unit's list (/revurderinger) show
//! expected against delivered.

use anyhow::Context;
use jiff::civil::Date;
use samhand_domain::drug_test::{DrugTest, SubstanceResult};
use samhand_domain::drug_test_regime::{Frequency, Regime, RegimeReason, TestedSubstance};
use samhand_domain::ids::{DrugTestId, PatientId};
use samhand_store::{PatientWrite, Store};

use super::world::World;
use super::{at, plus};

/// Writes a regime for each of `patients` and the samples delivered under it.
pub(super) async fn write_drug_tests(
    store: &Store,
    world: &World,
    patients: &[PatientId],
    today: Date,
) -> anyhow::Result<()> {
    let lege = world.user_named("lege")?;
    let mut tx = PatientWrite::synthetic_history(
        store,
        &world.actor(lege),
        patients,
        at(plus(today, -36), 10, 0),
        "demo: drug-test regimes and results written",
    )
    .await?;
    let from = plus(today, -35);
    for (n, patient) in patients.iter().enumerate() {
        let regime = Regime {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: *patient,
            version: 1,
            valid_from: from,
            reason: [RegimeReason::MoreTakeHome, RegimeReason::RelapseWorry][n % 2],
            note: String::new(),
            substances: vec![TestedSubstance::Opioids, TestedSubstance::Benzodiazepines],
            frequency: Frequency::Weekly,
            supervised: n % 2 == 0,
            where_given: "LAR-senteret".into(),
            // The last patient's regime is past its review.
            review_on: if n + 1 == patients.len() {
                plus(today, -3)
            } else {
                plus(today, 60)
            },
            ended: false,
            recorded_by: lege.id,
            recorded_at: at(from, 10, 0),
        };
        samhand_store::drug_test_regimes::insert(&mut tx, &regime).await?;
        for week in 0..5i64 {
            // The second patient gave no sample in the last two full weeks.
            if n == 1 && week >= 3 {
                continue;
            }
            let sampled = plus(from, week * 7 + 2);
            let test = DrugTest {
                id: DrugTestId::new(),
                patient_id: *patient,
                sample_date: sampled,
                lab: "Fjordvik sykehus, laboratoriet".into(),
                supervised: regime.supervised,
                results: vec![
                    SubstanceResult {
                        code: "OPI".into(),
                        name: "Opioider".into(),
                        positive: false,
                    },
                    SubstanceResult {
                        code: "BZD".into(),
                        name: "Benzodiazepiner".into(),
                        positive: n == 2 && week == 1,
                    },
                ],
                version: 1,
                reason: String::new(),
                recorded_by: lege.id,
                recorded_at: at(plus(sampled, 1), 9, 0),
            };
            samhand_store::fhir::insert_drug_test(&mut tx, &test).await?;
        }
    }
    tx.commit().await.context("commit demo drug tests")?;
    Ok(())
}
