//! The demo's referrals waiting for assessment: three people referred to the LAR
//! unit, received 2, 7 and 25 days ago, so the waiting list (`/venteliste`) shows
//! one past its working-day deadline.

use anyhow::Context;
use jiff::civil::Date;
use samhand_domain::ids::{EpisodeId, PatientId};
use samhand_domain::national_id::NationalId;
use samhand_domain::patient::{Episode, NewPatient, Phase};
use samhand_domain::referral::{Referral, ReferralDetails};
use samhand_store::{PatientWrite, Store, patients, referrals};

use super::world::World;
use super::{at, plus};

const REFERRED: [(&str, &str, i64, &str, &str); 3] = [
    (
        "Ingrid",
        "Venteberg",
        2,
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
];

pub(super) async fn write_referrals(store: &Store, world: &World, today: Date) -> anyhow::Result<()> {
    let lege = world.user_named("lege")?;
    let konsulent = world.user_named("konsulent")?;
    for (n, (given, family, days_ago, referrer, service)) in REFERRED.iter().enumerate() {
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
                referrer_name: (*referrer).into(),
                referrer_service: (*service).into(),
                reason: "Opioidavhengighet; ønsker legemiddelassistert behandling".into(),
                referrer_assessment:
                    "Langvarig heroinbruk, flere overdoser siste år; anbefaler rask oppstart".into(),
                received_on,
            },
            referred_by_user: None,
            registered_by: konsulent.id,
            registered_at,
        };
        let mut tx = PatientWrite::synthetic_history(
            store,
            &world.actor(konsulent),
            &[patient_id],
            registered_at,
            "demo: referral registered",
        )
        .await?;
        patients::insert(&mut tx, patient_id, &person, konsulent.id, registered_at).await?;
        patients::insert_episode(&mut tx, &episode, konsulent.id).await?;
        referrals::insert(&mut tx, &referral).await?;
        tx.commit().await.context("commit demo referral")?;
    }
    Ok(())
}
