//! Two stays that ended in the last weeks, for the unit indicators' discharges and
//! bundles (H86): one planned discharge with the overdose-prevention bundle
//! completed (the conversations ticked, naloxone with training, a crisis plan and
//! «time i hånden» recorded and attended), and one where the patient left early with only the
//! admission conversation held. The institution gave the usual dose throughout.

use anyhow::anyhow;
use jiff::civil::Date;
use samhand_domain::ids::PatientId;
use samhand_domain::overdose::{
    CrisisContact, CrisisPlanVersion, CrisisPlanVersionId, NaloxoneKit, NaloxoneKitId,
};
use samhand_domain::stay::{
    Appointment, AppointmentId, BundleEntry, BundleEntryId, BundleItem, Discharge, Stay, StayEvent,
    StayEventId, StayEventKind, StayKind,
};
use samhand_store::{PatientWrite, Store};

use super::world::World;
use super::{at, plus};

/// Writes the two ended stays: the first patient's from 40 to 36 days ago with the
/// bundle completed, the second's from 20 to 18 days ago, left early.
pub(super) async fn write_discharged_stays(
    store: &Store,
    world: &World,
    patients: &[PatientId],
    today: Date,
) -> anyhow::Result<()> {
    let doctor = world.user_named("institusjon")?;
    let centre = world
        .places
        .iter()
        .find(|p| p.org.id == doctor.organisation)
        .ok_or_else(|| anyhow!("the treatment centre"))?;
    for (n, patient) in patients.iter().take(2).enumerate() {
        let completed = n == 0;
        let (from, out) = if completed { (-40, -36) } else { (-20, -18) };
        let (starts_on, discharged_on) = (plus(today, from), plus(today, out));
        let stay = Stay {
            id: samhand_domain::ids::StayId::new(),
            patient_id: *patient,
            kind: StayKind::Institution,
            institution: centre.org.name.clone(),
            institution_id: Some(centre.org.id),
            starts_on,
            planned_end_on: Some(plus(today, out + i64::from(!completed) * 5)),
            opioid_use: true,
            substitution_continued: true,
            recorded_by: doctor.id,
            recorded_at: at(starts_on, 8, 0),
        };
        let mut tx = PatientWrite::synthetic_history(
            store,
            &world.actor(doctor),
            &[*patient],
            stay.recorded_at,
            "demo: an ended stay written",
        )
        .await?;
        samhand_store::stays::insert_stay(&mut tx, &stay).await?;
        let mut ticked = vec![(BundleItem::AdmissionConversation, starts_on)];
        if completed {
            ticked.push((BundleItem::DischargeConversation, discharged_on));
            let day_before = plus(discharged_on, -1);
            samhand_store::overdose::insert_naloxone(
                &mut tx,
                &NaloxoneKit {
                    id: NaloxoneKitId::new(),
                    patient_id: *patient,
                    handed_out_on: day_before,
                    place_id: centre.org.id,
                    kits: 1,
                    training_given: true,
                    note: "Opplært i kameratredning".into(),
                    handed_out_by: doctor.id,
                    recorded_at: at(day_before, 11, 0),
                },
            )
            .await?;
            samhand_store::overdose::insert_crisis_plan(
                &mut tx,
                &CrisisPlanVersion {
                    id: CrisisPlanVersionId::new(),
                    patient_id: *patient,
                    version: 1,
                    warning_signs: "Sover dårlig, trekker seg unna".into(),
                    what_helps: "Ringe søster, gå til LAR-senteret".into(),
                    contacts: vec![CrisisContact {
                        name: "Søster".into(),
                        phone: "40000001".into(),
                    }],
                    recorded_by: doctor.id,
                    by_patient: false,
                    recorded_at: at(day_before, 12, 0),
                },
            )
            .await?;
            let appointment = Appointment {
                id: AppointmentId::new(),
                patient_id: *patient,
                stay_id: Some(stay.id),
                with_whom: "LAR-konsulent".into(),
                at: plus(discharged_on, 2).at(10, 0, 0, 0),
                place: "LAR-enheten".into(),
                owner: doctor.id,
                recorded_by: doctor.id,
                recorded_at: at(day_before, 13, 0),
                attended: None,
            };
            samhand_store::stays::insert_appointment(&mut tx, &appointment).await?;
            let met = plus(discharged_on, 2);
            samhand_store::stays::insert_outcome(&mut tx, appointment.id, true, doctor.id, at(met, 11, 0))
                .await?;
        }
        for (item, on) in ticked {
            let entry = BundleEntry {
                id: BundleEntryId::new(),
                stay_id: stay.id,
                item,
                waived: false,
                on,
                note: item.label_nb().into(),
                recorded_by: doctor.id,
                recorded_at: at(on, 9, 0),
            };
            samhand_store::stays::insert_bundle_entry(&mut tx, &entry).await?;
        }
        let event = StayEvent {
            id: StayEventId::new(),
            stay_id: stay.id,
            kind: StayEventKind::Discharged(Discharge {
                on: discharged_on,
                planned: completed,
                resume_on: plus(discharged_on, 1),
            }),
            reason: if completed {
                String::new()
            } else {
                "Forlot institusjonen før planlagt".into()
            },
            recorded_by: doctor.id,
            recorded_at: at(discharged_on, 10, 0),
        };
        samhand_store::stays::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
    }
    Ok(())
}
