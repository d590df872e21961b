//! The demo's referrals: three people waiting for assessment, received 2, 7 and
//! 25 days ago (one past its working-day deadline, one offered a quick start),
//! and two assessed with a right but not started: one with the latest start ahead
//! (offered a quick start, declined), one past it. The waiting list
//! (`/venteliste`) shows both kinds of breach. The newest was sent from Samhand by
//! the demo GP (`fastlege`, who sees its status on `/henvisninger`); one names
//! Torget legekontor, the GP office outside Samhand, as the registered referrer.

use anyhow::Context;
use jiff::civil::Date;
use samhand_domain::ids::{EpisodeId, PatientId};
use samhand_domain::national_id::NationalId;
use samhand_domain::patient::{Episode, NewPatient, Phase};
use samhand_domain::referral::{Referral, ReferralDetails};
use samhand_domain::referral_assessment::{
    Assessment, AssessmentDecision, Decision, OfferAnswer, QuickStartOffer,
};
use samhand_store::{PatientWrite, Store, patients, referral_assessments, referrals};

use super::world::World;
use super::{at, plus};

/// Who, received how many days ago, by whom.
const REFERRED: [(&str, &str, i64, &str, &str); 5] = [
    (
        "Ingrid",
        "Venteberg",
        2,
        // Replaced by the demo GP in Samhand, who sent it (see `sent_by_gp`).
        "Fastlege Hilde Fiktiv",
        "Storgata legekontor",
    ),
    (
        "Jonas",
        "Køhaug",
        7,
        "Psykolog Per Prøve",
        "Kommunal rus- og psykisk helsetjeneste",
    ),
    (
        "Leif",
        "Fristad",
        25,
        "Overlege Eva Eksempel",
        "Akuttmottaket, sykehuset",
    ),
    (
        "Kari",
        "Rettesen",
        20,
        "Fastlege Hilde Fiktiv",
        "Torget legekontor",
    ),
    ("Mads", "Ventli", 40, "Sosionom Siv Sample", "NAV Sentrum"),
];

/// After a referral (by its index in [`REFERRED`]): assessed how many days after
/// receipt with a right, the latest start how many days from today; and a
/// quick-start offer with its answer.
type Course = (Option<(i64, i64)>, Option<(&'static str, OfferAnswer)>);

fn course(n: usize) -> Course {
    match n {
        1 => (
            None,
            Some((
                "Lavterskel oppstart med buprenorfin hos fastlegen",
                OfferAnswer::Accepted,
            )),
        ),
        3 => (
            Some((8, 10)),
            Some((
                "Rask oppstart med buprenorfin ved LAR-poliklinikken",
                OfferAnswer::Declined,
            )),
        ),
        4 => (Some((9, -2)), None),
        _ => (None, None),
    }
}

/// The assessment and the offer of the demo's referral `n`, in its write.
async fn write_course(
    tx: &mut PatientWrite,
    n: usize,
    referral: &Referral,
    by: samhand_domain::ids::UserId,
    today: Date,
) -> anyhow::Result<()> {
    let (assessed, offer) = course(n);
    let received_on = referral.details.received_on;
    if let Some((after, latest)) = assessed {
        let assessed_on = plus(received_on, after);
        referral_assessments::insert_assessment(
            tx,
            &Assessment {
                id: uuid::Uuid::now_v7().to_string(),
                referral_id: referral.id.clone(),
                patient_id: referral.patient_id,
                version: 1,
                content: AssessmentDecision {
                    decision: Decision::Right,
                    latest_start: Some(plus(today, latest)),
                    reason: "Opioidavhengighet; oppfyller kriteriene for LAR".into(),
                    correction_reason: None,
                },
                assessed_on,
                assessed_by: by,
                assessed_at: at(assessed_on, 11, 0),
            },
        )
        .await?;
    }
    if let Some((offered, answer)) = offer {
        let offered_on = plus(received_on, 1);
        referral_assessments::insert_offer(
            tx,
            &QuickStartOffer {
                id: uuid::Uuid::now_v7().to_string(),
                referral_id: referral.id.clone(),
                patient_id: referral.patient_id,
                offered: offered.into(),
                offered_on,
                answer,
                recorded_by: by,
                recorded_at: at(offered_on, 12, 0),
            },
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn write_referrals(store: &Store, world: &World, today: Date) -> anyhow::Result<()> {
    let lege = world.user_named("lege")?;
    let konsulent = world.user_named("konsulent")?;
    let fastlege = world.user_named("fastlege")?;
    let torget = world
        .all_organisations()
        .find(|o| o.name == "Torget legekontor")
        .map(|o| o.id);
    for (n, (given, family, days_ago, referrer, service)) in REFERRED.iter().enumerate() {
        // The first was sent from Samhand by the demo GP: received that day, from
        // the GP and the GP's office.
        let sent_by_gp = n == 0;
        let (registrar, referrer, service) = if sent_by_gp {
            (
                fastlege,
                fastlege.display_name.as_str(),
                world.organisation_name(fastlege.organisation),
            )
        } else {
            (konsulent, *referrer, *service)
        };
        let received_on = plus(today, -days_ago);
        let birth = jiff::civil::date(1991 + n as i16, 3, 11);
        let Some(national_id) = (0..500u16).find_map(|i| NationalId::synthetic(birth, (401 + i) % 500))
        else {
            continue;
        };
        {
            let mut conn = store.read().await?;
            if patients::by_national_id(&mut conn, &national_id).await?.is_some() {
                continue;
            }
        }
        let patient_id = PatientId::new();
        let registered_at = at(received_on, 10, 0);
        let person = NewPatient {
            national_id,
            given_name: (*given).into(),
            family_name: (*family).into(),
            phone: String::new(),
            address: String::new(),
        };
        let episode = Episode {
            id: EpisodeId::new(),
            patient_id,
            responsible_unit: konsulent.organisation,
            doctor: lege.id,
            consultant: konsulent.id,
            started_on: received_on,
            phase: Phase::Referral,
            ended: None,
            created_at: registered_at,
        };
        let referral = Referral {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id,
            episode_id: episode.id,
            details: ReferralDetails {
                referrer_name: referrer.into(),
                referrer_service: service.into(),
                reason: "Opioidavhengighet; ønsker legemiddelassistert behandling".into(),
                referrer_assessment:
                    "Langvarig heroinbruk, flere overdoser siste år; anbefaler rask oppstart".into(),
                received_on,
            },
            referred_by_user: sent_by_gp.then_some(fastlege.id),
            referrer_organisation: if sent_by_gp {
                Some(fastlege.organisation)
            } else {
                torget.filter(|_| service == "Torget legekontor")
            },
            registered_by: registrar.id,
            registered_at,
        };
        let mut tx = PatientWrite::synthetic_history(
            store,
            &world.actor(registrar),
            &[patient_id],
            registered_at,
            "demo: referral registered",
        )
        .await?;
        patients::insert(&mut tx, patient_id, &person, registrar.id, registered_at).await?;
        patients::insert_episode(&mut tx, &episode, registrar.id).await?;
        referrals::insert(&mut tx, &referral).await?;
        write_course(&mut tx, n, &referral, lege.id, today).await?;
        tx.commit().await.context("commit demo referral")?;
    }
    Ok(())
}
