//! The demo's EDI: the first privacy patient has consented to share medication with
//! a GP office outside Samhand (Torget legekontor), and a signed dose change was sent
//! to it as a Dialogmelding, so the outbox holds a message once `serve --demo` has
//! run its EDI job.

use anyhow::{Context, anyhow};
use jiff::civil::Date;
use samhand_domain::access::DataCategory;
use samhand_domain::edi::{self, Dialog, DialogKind, EdiParty, EdiPatient};
use samhand_domain::ids::{ConsentId, MessageId, OrganisationId, PatientId};
use samhand_domain::organisation::{HerId, OrganisationKind};
use samhand_domain::privacy::ConsentRecord;
use samhand_store::edi::{Outgoing, SentRecord};
use samhand_store::{PatientWrite, Store, organisations, patients};

use super::world::World;
use super::{at, plus};

async fn her_id(tx: &mut PatientWrite, org: OrganisationId) -> anyhow::Result<HerId> {
    organisations::registration(tx, org)
        .await?
        .and_then(|r| r.her_id)
        .ok_or_else(|| anyhow!("a demo organisation without a HER-id"))
}

pub(super) async fn write_edi(
    store: &Store,
    world: &World,
    patient: PatientId,
    today: Date,
) -> anyhow::Result<()> {
    let lege = world.user_named("lege")?;
    let office = world
        .others
        .iter()
        .find(|o| o.kind == OrganisationKind::GpOffice && o.name == "Torget legekontor")
        .ok_or_else(|| anyhow!("the demo's GP office outside Samhand"))?;
    let mut tx = PatientWrite::synthetic_history(
        store,
        &world.actor(lege),
        &[patient],
        at(plus(today, -3), 11, 0),
        "demo: consent to a GP office outside Samhand, and a dose change sent to it by EDI",
    )
    .await?;
    let since = at(plus(today, -20), 10, 0);
    samhand_store::privacy::insert_consent(
        &mut tx,
        &ConsentRecord {
            id: ConsentId::new(),
            patient_id: patient,
            organisation_id: office.id,
            category: DataCategory::Medication,
            given: true,
            recorded_at: since,
            recorded_by: lege.id,
            by_patient: false,
            note: "Fastlegen er ikke i Samhand; samtykke til at doseendringer sendes dit".into(),
        },
    )
    .await?;
    let person = patients::get(&mut tx, patient)
        .await?
        .ok_or_else(|| anyhow!("the demo patient"))?;
    let sent_at = at(plus(today, -3), 11, 0);
    let msg_id = uuid::Uuid::now_v7();
    let dialog = Dialog {
        kind: DialogKind::Notat,
        msg_id,
        generated: sent_at,
        sender: EdiParty {
            name: world.unit.name.clone(),
            her_id: her_id(&mut tx, world.unit.id).await?,
        },
        receiver: EdiParty {
            name: office.name.clone(),
            her_id: her_id(&mut tx, office.id).await?,
        },
        patient: EdiPatient {
            family_name: person.family_name.clone(),
            given_name: person.given_name.clone(),
            national_id: person.national_id.clone(),
        },
        conversation: None,
        topic: "Doseendring".into(),
        text: "Ny dose er signert: metadon mikstur 75 mg daglig fra i morgen. Begrunnelse: abstinens om kvelden."
            .into(),
    };
    let receiver_her = dialog.receiver.her_id.as_str().to_string();
    let out = Outgoing {
        patient_id: patient,
        message_id: MessageId::new(),
        organisation_id: office.id,
        sent: SentRecord {
            msg_id: msg_id.to_string(),
            msg_type: DialogKind::Notat.code().to_string(),
            sender_id: world.unit.id,
            receiver_her_id: receiver_her,
            receiver_name: office.name.clone(),
            file_name: format!("dialog-{msg_id}"),
            sent_at,
        },
        xml: edi::hodemelding(&dialog),
    };
    samhand_store::edi::queue_outgoing(&mut tx, &out).await?;
    tx.commit().await.context("commit demo EDI")?;
    Ok(())
}
