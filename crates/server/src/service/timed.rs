//! The clock's work: what falls due by the calendar rather than by someone's action.
//! The scheduler ([`crate::scheduler`]) runs it on a clock, so that a quiet unit is
//! told on time and no page or API read writes. Each notice is keyed to its event
//! and sent once (`messages.event_key` is unique), however many servers run it.
//! Nothing here reads patient data for anyone to see: it decides who is told, and
//! the message is read under the policy.

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::access::{Actor, PatientRelations, SystemActor};
use samhand_domain::format::{count_nb, date_nb};
use samhand_domain::ids::{MessageId, OrganisationId, PatientId};
use samhand_domain::message::{Message, MessageKind, Party};
use samhand_store::{StoreError, messages as message_store, organisations, patients, sessions, stays};

use super::alerts::{AlertKind, alerts_today};
use super::{PatientData, Service, clinical_policy, load_patient_data, related_units};
use crate::AppState;
use crate::error::AppResult;

/// How many patients the missed-dose notices load at a time.
const CHUNK: usize = 500;

/// Sends a message keyed to an event, in a transaction of its own, unless one with
/// that key was sent already; whether it was sent now.
async fn send_once(state: &AppState, key: String, mut message: Message) -> AppResult<bool> {
    {
        let mut conn = state.store.read().await?;
        if message_store::event_sent(&mut conn, &key).await? {
            return Ok(false);
        }
    }
    message.event_key = Some(key);
    let mut tx = state.store.write().await?;
    match message_store::insert_notice(&mut tx, &message).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(true)
        }
        // Another server sent it at the same moment.
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// An automatic message from Samhand (nobody signs it), or none when there is
/// nobody to tell: the clock's notices, and those the operations send on events.
pub(super) fn automatic(
    state: &AppState,
    patient: PatientId,
    kind: MessageKind,
    subject: String,
    body: String,
    sender: Option<OrganisationId>,
    mut recipients: Vec<OrganisationId>,
) -> Option<Message> {
    recipients.sort();
    recipients.dedup();
    (!recipients.is_empty()).then(|| Message {
        id: MessageId::new(),
        patient_id: patient,
        kind,
        subject,
        body,
        important: kind.important_by_default(),
        sent_by: None,
        sender_organisation: sender,
        sent_at: state.clock.now(),
        recipients,
        event_key: None,
        party: Party::Services,
        in_reply_to: None,
    })
}

fn coordinator_units(data: &PatientData, now: jiff::Timestamp) -> Vec<OrganisationId> {
    samhand_domain::message::coordinator_units(&data.privacy.care_team, now)
}

/// Tells the LAR unit, the coordinators and the municipality a set time before a
/// planned discharge (`stays.planning_notice_days`, default 14), once per planned
/// date; returns how many notices were sent now.
pub async fn send_planning_notices(state: &AppState) -> AppResult<usize> {
    let today = state.clock.today();
    let days = clinical_policy(state).await?.stay_planning_notice_days;
    let horizon = today.checked_add(Span::new().days(days)).unwrap_or(today);
    let candidates = {
        let mut conn = state.store.read().await?;
        stays::planned_discharges_until(&mut conn, horizon).await?
    };
    if candidates.is_empty() {
        return Ok(0);
    }
    let data = load_patient_data(state, &candidates).await?;
    let now = state.clock.now();
    let mut sent = 0;
    for (patient, patient_data) in &data {
        for record in patient_data
            .privacy
            .stays
            .iter()
            .filter(|s| s.discharge().is_none())
        {
            let Some(end) = record.planned_end() else { continue };
            if end > horizon || end < today {
                continue;
            }
            let relations = patient_data.relations(*patient, now);
            let mut recipients = related_units(&relations);
            recipients.extend(coordinator_units(patient_data, now));
            let subject = format!(
                "Planlagt utskrivning {}: forbered bolig og første time",
                date_nb(end)
            );
            let body = format!(
                "Pasienten skal etter planen skrives ut fra {} {}. Sørg for bolig, første time etter \
                 utskrivning («time i hånden») og at utleveringen er klar. Tiltakspakken må være fullført \
                 eller fravalgt med begrunnelse før utskrivningen.",
                record.stay.institution,
                date_nb(end)
            );
            // On the institution's behalf.
            let sender = record.stay.institution_id;
            if let Some(message) = automatic(
                state,
                *patient,
                MessageKind::Discharge,
                subject,
                body,
                sender,
                recipients,
            ) && send_once(state, format!("stay:{}:planning:{end}", record.stay.id), message).await?
            {
                sent += 1;
            }
        }
    }
    Ok(sent)
}

/// Tells of every order blocked by missed doses today, once per block, to the LAR
/// unit, the coordinators' units and the dispensing place; returns how many were
/// sent now.
pub async fn send_missed_dose_notices(state: &AppState) -> AppResult<usize> {
    let today = state.clock.today();
    let mut ids: Vec<PatientId> = Vec::new();
    {
        let mut conn = state.store.read().await?;
        for unit in organisations::all(&mut conn)
            .await?
            .into_iter()
            .filter(|o| o.kind.is_lar_unit())
        {
            ids.extend(patients::ids_of_unit(&mut conn, unit.id).await?);
        }
    }
    ids.sort();
    ids.dedup();
    let mut sent = 0;
    for chunk in ids.chunks(CHUNK) {
        let (found, data) = alerts_today(state, chunk, today).await?;
        for (patient, kind) in found {
            let AlertKind::Blocked { days, since } = kind else {
                continue;
            };
            let Some(patient_data) = data.get(&patient) else {
                continue;
            };
            if notify_block(state, patient, since, days, patient_data).await? {
                sent += 1;
            }
        }
    }
    Ok(sent)
}

/// The block from missed doses, told once per block.
async fn notify_block(
    state: &AppState,
    patient: PatientId,
    since: Option<Date>,
    days: u32,
    data: &PatientData,
) -> AppResult<bool> {
    let now = state.clock.now();
    let relations: PatientRelations = data.relations(patient, now);
    let key = format!(
        "missed_block:{patient}:{}",
        since.map(|d| d.to_string()).unwrap_or_default()
    );
    let recipients: Vec<OrganisationId> = relations
        .responsible_units
        .iter()
        .chain(&relations.dispensing_places)
        .copied()
        .chain(coordinator_units(data, now))
        .collect();
    let since_text = since.map(date_nb).unwrap_or_default();
    let message = automatic(
        state,
        patient,
        MessageKind::MissedDoses,
        format!(
            "Ordinasjonen er sperret etter {} uten dose",
            count_nb(days, "dag", "dager")
        ),
        format!(
            "Pasienten har ikke fått dose siden {since_text}. Toleransen kan være redusert; \
             ordinasjonen er sperret til lege har revurdert dosen."
        ),
        None,
        recipients,
    );
    let Some(message) = message else {
        return Ok(false);
    };
    let message = Message {
        important: true,
        ..message
    };
    // The unit whose order is blocked: Samhand tells on its behalf, and by EDI a
    // GP office outside Samhand the patient consented to share dispensing with.
    match data.episode_on(state.clock.today()).map(|e| e.responsible_unit) {
        Some(unit) => send_once_with_edi(state, key, message, unit).await,
        None => send_once(state, key, message).await,
    }
}

/// Sends a notice keyed to its event, once, like [`send_once`], and in the same
/// transaction queues it by EDI where the patient consented ([`Service::queue_edi`]),
/// with Samhand itself, acting for `unit`, as the actor the audit log records for
/// the disclosure (H87).
async fn send_once_with_edi(
    state: &AppState,
    key: String,
    mut message: Message,
    unit: OrganisationId,
) -> AppResult<bool> {
    {
        let mut conn = state.store.read().await?;
        if message_store::event_sent(&mut conn, &key).await? {
            return Ok(false);
        }
    }
    message.event_key = Some(key);
    let service = Service::new(
        state,
        Actor::System(SystemActor {
            organisation_id: unit,
            job: "scheduler",
        }),
    );
    let mut write = service.repo.begin_system_write().await?;
    match message_store::insert_notice(&mut write, &message).await {
        Ok(()) => {}
        // Another server sent it at the same moment.
        Err(StoreError::Conflict(_)) => return Ok(false),
        Err(other) => return Err(other.into()),
    }
    service.queue_edi(&mut write, &message).await?;
    write.commit().await?;
    Ok(true)
}

/// How long after a «time i hånden» its outcome must be recorded before the owner's
/// unit is told.
const APPOINTMENT_GRACE_HOURS: i64 = 2;
/// How far back the scheduler looks for appointments without an outcome.
const APPOINTMENT_LOOKBACK_DAYS: i64 = 14;

/// Tells the owner's unit, once per appointment, of a «time i hånden» whose time
/// has passed without anyone recording whether the patient came: after a discharge
/// tolerance is low, and a no-show must be followed up the same day. Returns how
/// many were sent.
pub async fn send_unrecorded_appointment_notices(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let local_now = samhand_domain::time::oslo_datetime(now);
    let until = local_now
        .checked_sub(Span::new().hours(APPOINTMENT_GRACE_HOURS))
        .unwrap_or(local_now);
    let from = local_now
        .checked_sub(Span::new().days(APPOINTMENT_LOOKBACK_DAYS))
        .unwrap_or(local_now);
    let (appointments, owners) = {
        let mut conn = state.store.read().await?;
        let patients = stays::patients_with_appointments_between(&mut conn, from, until).await?;
        let appointments: Vec<_> = stays::appointments_of(&mut conn, &patients)
            .await?
            .into_iter()
            .filter(|a| a.attended.is_none() && a.at >= from && a.at <= until)
            .collect();
        let mut owners = std::collections::HashMap::new();
        for a in &appointments {
            if let Some(record) = samhand_store::users::by_id(&mut conn, a.owner).await? {
                owners.insert(a.owner, record.user.organisation_id);
            }
        }
        (appointments, owners)
    };
    let mut sent = 0;
    for a in appointments {
        let Some(unit) = owners.get(&a.owner).copied() else {
            continue;
        };
        let when = format!("{} kl. {}", date_nb(a.at.date()), a.at.time().strftime("%H.%M"));
        let message = automatic(
            state,
            a.patient_id,
            MessageKind::Discharge,
            format!("Time i hånden uten registrert oppmøte: {} {when}", a.with_whom),
            format!(
                "Timen hos {} {when} ({}) har ikke fått registrert om pasienten møtte. Registrer oppmøtet på                  oppholdet. Møtte pasienten ikke, skal pasienten oppsøkes samme dag: toleransen er lav etter utskrivning.",
                a.with_whom, a.place
            ),
            None,
            vec![unit],
        );
        if let Some(message) = message
            && send_once(
                state,
                format!("appointment:{}:unrecorded", a.id),
                Message {
                    important: true,
                    ..message
                },
            )
            .await?
        {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Ends sessions past their limits (idle or absolute) for both kinds of account,
/// and removes one-time codes and invitations that expired unused and failed
/// logins too old to lock anything; returns how many. None of them opens anything any more; this clears them away. (Emergency
/// accesses end by their time in the access policy, and stay for the leader's
/// review.)
pub async fn end_expired_sessions(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    let idle_since = now - jiff::SignedDuration::from_mins(state.config.session_idle_minutes);
    let mut tx = state.store.write().await?;
    let mut ended = 0;
    for kind in [sessions::AccountKind::Staff, sessions::AccountKind::Patient] {
        ended += sessions::delete_expired(&mut tx, kind, now, idle_since).await?;
    }
    ended += samhand_store::portal::delete_expired_codes(&mut tx, now).await?;
    ended += samhand_store::users::delete_expired_invitations(&mut tx, now).await?;
    ended +=
        sessions::prune_login_failures(&mut tx, samhand_domain::login::failures_count_since(now)).await?;
    tx.commit().await?;
    Ok(ended)
}
