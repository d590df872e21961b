//! Writing the demo world to the store: organisations, groups and staff; the
//! patients with their orders, arrangements, covers and dispensings; the privacy
//! records (care teams, consents, health notes, an emergency access) and a message;
//! the responsibility group's meetings and plans; a stay; and the stock ledgers.

use anyhow::{Context, anyhow};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use samhand_domain::access::{Actor, DataCategory};
use samhand_domain::care::{
    Invitation, LifeDomain, Measure, Meeting, Minutes, PlanGoal, PlanStatus, PlanVersion, Task,
    next_meeting_date,
};
use samhand_domain::health::{HealthConditionKind, HealthNote};
use samhand_domain::ids::{
    CareTeamMemberId, ConsentId, EmergencyAccessId, HealthNoteId, MeetingId, MessageId, PatientId,
    PlanVersionId, TaskId, UserId,
};
use samhand_domain::message::{Message, MessageKind, Party};
use samhand_domain::organisation::{HerId, OrgNumber, OrganisationKind, Registration};
use samhand_domain::policy::ClinicalPolicy;
use samhand_domain::privacy::{CareTeamMember, ConsentRecord, EmergencyAccess, TeamRole};
use samhand_domain::stay::{BundleEntry, BundleEntryId, BundleItem, Stay, StayKind};
use samhand_domain::stock::StockMovement;
use samhand_store::stock::NewStockLine;
use samhand_store::users::NewUser;
use samhand_store::{
    Backend, PatientWrite, Store, dispensing, orders, organisations, patients, stock, users,
};

use super::generator::PatientPlan;
use super::stock::StockPlan;
use super::world::World;
use super::{NotEmpty, at, plus};

/// The unit's total capacity over its dispensing places, shared by their share of
/// the patients (synthetic).
const DEMO_CAPACITY: u32 = 400;

/// Organisations, groups and staff, in one transaction; the demo logins get the
/// password `hashes` in order.
pub(super) async fn write_organisations_and_users(
    store: &Store,
    world: &World,
    hashes: &[String],
    history_from: Date,
) -> anyhow::Result<()> {
    let mut tx = store.write().await.context("begin the demo transaction")?;
    if !organisations::all(&mut tx).await?.is_empty() {
        return Err(NotEmpty.into());
    }
    let created = plus(history_from, -400);
    let created_at = at(created, 8, 0);
    for org in world.all_organisations() {
        organisations::insert(&mut tx, org, created_at)
            .await
            .with_context(|| format!("insert organisation {}", org.name))?;
    }
    for place in &world.places {
        for group in &place.groups {
            organisations::insert_group(&mut tx, group).await?;
        }
    }
    let mut hashes = hashes.iter();
    for user in &world.users {
        let hash = if user.login { hashes.next() } else { None };
        users::insert(
            &mut tx,
            &NewUser {
                id: user.id,
                username: &user.username,
                display_name: &user.display_name,
                role: user.role,
                organisation_id: user.organisation,
                password_hash: hash.map(String::as_str),
            },
            created_at,
        )
        .await
        .with_context(|| format!("insert user {}", user.username))?;
    }
    write_register_numbers(&mut tx, world, created_at).await?;
    tx.commit().await.context("commit organisations and users")?;
    Ok(())
}

/// Synthetic register numbers: organisation numbers beginning with 1 (Enhetsregisteret
/// issues none: real ones begin with 8 or 9) with a valid check digit, HER-ids
/// and HPR numbers of nine digits (longer than any in use), and the places'
/// addresses with their postal codes.
async fn write_register_numbers(
    tx: &mut samhand_store::WriteTx,
    world: &World,
    at: Timestamp,
) -> anyhow::Result<()> {
    let mut serial = 1_000_000u32;
    for (n, org) in world.all_organisations().enumerate() {
        let org_number = loop {
            serial += 1;
            if let Ok(number) = OrgNumber::parse(&synthetic_org_number(serial)) {
                break number;
            }
        };
        let address = world
            .places
            .iter()
            .find(|p| p.org.id == org.id)
            .map(|p| format!("Torget {}, {} {}", n + 1, p.postcode, org.municipality))
            .unwrap_or_default();
        let place = world.places.iter().find(|p| p.org.id == org.id);
        let registration = Registration {
            org_number: Some(org_number),
            her_id: HerId::parse(&format!("{}", 900_000_000 + n)).ok(),
            address,
            // The dispensing places are the LAR unit's: its indicators show them.
            responsible_unit: place.map(|_| world.unit.id),
            ..Registration::default()
        };
        organisations::set_registration(tx, org.id, &registration, at)
            .await
            .with_context(|| format!("register numbers of {}", org.name))?;
        if let Some(place) = place {
            // A synthetic capacity in proportion to the place's share of patients.
            let settings = organisations::PlaceSettings {
                capacity: Some(((place.share * f64::from(DEMO_CAPACITY)).ceil() as i64).max(5)),
                ..organisations::PlaceSettings::default()
            };
            organisations::set_place(
                tx,
                org.id,
                org.open_weekdays,
                org.open_on_public_holidays,
                &settings,
            )
            .await
            .with_context(|| format!("capacity of {}", org.name))?;
        }
    }
    for (n, user) in world.users.iter().enumerate() {
        if user.role != samhand_domain::organisation::Role::Administrator {
            let hpr = format!("{}", 800_000_000 + n);
            users::set_hpr_number(tx, user.id, Some(&hpr), at)
                .await
                .with_context(|| format!("HPR number of {}", user.username))?;
        }
    }
    Ok(())
}

/// "1" and seven digits of `serial`, with the modulus-11 check digit (which may
/// be 10: the parse then refuses it and the next serial is taken).
fn synthetic_org_number(serial: u32) -> String {
    let body = format!("1{:07}", serial % 10_000_000);
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = body
        .chars()
        .filter_map(|c| c.to_digit(10))
        .zip(WEIGHTS)
        .map(|(d, w)| d * w)
        .sum();
    let check = (11 - sum % 11) % 11;
    format!("{body}{check}")
}

/// Care team seats, consents, health information and one emergency access for a few
/// patients at the first centre, so the demo shows the privacy spine at work.
pub(super) async fn write_privacy(
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
        at(plus(today, -30), 10, 0),
        "demo: care teams, consents and health notes written",
    )
    .await?;
    write_care_teams(&mut tx, world, patients, today).await?;
    // The GP opened one record in an emergency; the unit's leader has it to review.
    if let Some(patient) = patients.last() {
        let fastlege = world.user_named("fastlege")?;
        let opened = at(plus(today, -2), 22, 15);
        samhand_store::privacy::insert_emergency(
            &mut tx,
            &EmergencyAccess {
                id: EmergencyAccessId::new(),
                patient_id: *patient,
                user_id: fastlege.id,
                organisation_id: fastlege.organisation,
                reason: "Legevakt: pasienten kom inn døsig, måtte vite dagens dose".into(),
                started_at: opened,
                expires_at: opened + SignedDuration::from_hours(4),
                review: None,
            },
        )
        .await?;
    }
    if let Some(patient) = patients.first() {
        write_withheld_dose_message(&mut tx, world, *patient, today).await?;
    }
    tx.commit().await.context("commit demo privacy records")?;
    Ok(())
}

/// Each patient's care team (the coordinator, and the GP in all teams but the
/// last), their consents, and a health note for the first few.
async fn write_care_teams(
    conn: &mut PatientWrite,
    world: &World,
    patients: &[PatientId],
    today: Date,
) -> anyhow::Result<()> {
    let koordinator = world.user_named("koordinator")?;
    let fastlege = world.user_named("fastlege")?;
    let konsulent = world.user_named("konsulent")?;
    let lege = world.user_named("lege")?;
    let first_centre = world.places[0].org.id;
    let gp_office = world.others[0].id;
    let since = at(plus(today, -30), 10, 0);
    for (i, patient) in patients.iter().enumerate() {
        // The GP sits in every team but the last patient's: that record the GP opens
        // by emergency access.
        let seats = if i + 1 < patients.len() {
            vec![(koordinator, TeamRole::Coordinator), (fastlege, TeamRole::Member)]
        } else {
            vec![(koordinator, TeamRole::Coordinator)]
        };
        for (user, role) in seats {
            samhand_store::privacy::insert_member(
                conn,
                &CareTeamMember {
                    id: CareTeamMemberId::new(),
                    patient_id: *patient,
                    user_id: user.id,
                    organisation_id: user.organisation,
                    role,
                    added_at: since,
                    added_by: konsulent.id,
                    ended: None,
                },
            )
            .await?;
        }
        let consents = [
            (first_centre, DataCategory::HealthInformation),
            (first_centre, DataCategory::PlanAndGoals),
            (gp_office, DataCategory::Medication),
            (gp_office, DataCategory::Dispensing),
            (gp_office, DataCategory::HealthInformation),
        ];
        // One patient has not shared health information with the centre.
        for (organisation, category) in consents
            .into_iter()
            .filter(|(o, c)| i != 1 || (*o, *c) != (first_centre, DataCategory::HealthInformation))
        {
            samhand_store::privacy::insert_consent(
                conn,
                &ConsentRecord {
                    id: ConsentId::new(),
                    patient_id: *patient,
                    organisation_id: organisation,
                    category,
                    given: true,
                    recorded_at: since,
                    recorded_by: konsulent.id,
                    by_patient: false,
                    note: "Samtykke gitt i samtale ved oppstart".into(),
                },
            )
            .await?;
        }
        write_health_note(conn, *patient, i, lege.id, since).await?;
    }
    Ok(())
}

/// The `index`th of a few health notes the dispensing staff need to know about, if
/// there is one.
async fn write_health_note(
    conn: &mut PatientWrite,
    patient: PatientId,
    index: usize,
    recorded_by: UserId,
    recorded_at: Timestamp,
) -> anyhow::Result<()> {
    let notes = [
        (
            HealthConditionKind::Epilepsy,
            "Epilepsi. Anfall ved abstinens; ved anfall over 5 minutter ring 113.",
        ),
        (
            HealthConditionKind::Diabetes,
            "Diabetes type 1. Spør om måltid før dose; druesukker i skapet.",
        ),
        (HealthConditionKind::Allergy, "Allergi mot penicillin."),
        (
            HealthConditionKind::Pregnancy,
            "Gravid, termin i april. Jordmor følger opp.",
        ),
    ];
    if let Some((kind, text)) = notes.get(index) {
        samhand_store::health::insert(
            conn,
            &HealthNote {
                id: HealthNoteId::new(),
                patient_id: patient,
                kind: *kind,
                text: (*text).into(),
                active: true,
                replaces: None,
                reason: String::new(),
                recorded_by,
                recorded_at,
            },
        )
        .await?;
    }
    Ok(())
}

/// Yesterday afternoon the centre withheld a dose and told the LAR unit; nobody
/// there has read it yet, so the unit's leader sees it escalated.
async fn write_withheld_dose_message(
    conn: &mut PatientWrite,
    world: &World,
    patient: PatientId,
    today: Date,
) -> anyhow::Result<()> {
    samhand_store::messages::insert(
        conn,
        &Message {
            id: MessageId::new(),
            patient_id: patient,
            kind: MessageKind::WithheldDose,
            subject: format!("Dose holdt tilbake {}", samhand_domain::format::date_nb(plus(today, -1))),
            body: "Vurdering ved utlevering: virket sterkt påvirket, ustø og uklar. Bedt om å komme tilbake i morgen."
                .into(),
            important: true,
            sent_by: Some(world.user_named("utdeler")?.id),
            sender_organisation: Some(world.places[0].org.id),
            sent_at: at(plus(today, -1), 15, 10),
            recipients: vec![world.unit.id],
            event_key: None,
            party: Party::Services,
            in_reply_to: None,
        },
    )
    .await?;
    Ok(())
}

/// The responsibility group's work for the first patients the coordinator
/// coordinates: a meeting held about five weeks ago with minutes and one open task,
/// an upcoming meeting, and an individual plan with a few goals.
pub(super) async fn write_collaboration(
    store: &Store,
    world: &World,
    patients: &[PatientId],
    today: Date,
) -> anyhow::Result<()> {
    let coordinated: Vec<PatientId> = patients.iter().take(2).copied().collect();
    let mut tx = PatientWrite::synthetic_history(
        store,
        &world.actor(world.user_named("koordinator")?),
        &coordinated,
        at(plus(today, -60), 11, 0),
        "demo: responsibility group's meetings, tasks and plan written",
    )
    .await?;
    for patient in &coordinated {
        let held_on = plus(today, -35);
        write_meetings(&mut tx, world, *patient, held_on, today).await?;
        write_individual_plan(&mut tx, world, *patient, held_on, today).await?;
    }
    tx.commit()
        .await
        .context("commit demo responsibility-group records")?;
    Ok(())
}

/// The meeting held on `held_on`, with minutes and the task it gave the
/// coordinator, and the next meeting, a week from today.
async fn write_meetings(
    conn: &mut PatientWrite,
    world: &World,
    patient: PatientId,
    held_on: Date,
    today: Date,
) -> anyhow::Result<()> {
    let koordinator = world.user_named("koordinator")?;
    let fastlege = world.user_named("fastlege")?;
    let interval = ClinicalPolicy::default().meeting_interval_days;
    let invite = |id: MeetingId, at: Timestamp| {
        vec![
            Invitation {
                meeting_id: id,
                user_id: koordinator.id,
                organisation_id: koordinator.organisation,
                invited_at: at,
            },
            Invitation {
                meeting_id: id,
                user_id: fastlege.id,
                organisation_id: fastlege.organisation,
                invited_at: at,
            },
        ]
    };
    let held = MeetingId::new();
    let scheduled_at = at(plus(held_on, -14), 9, 0);
    let meeting = Meeting {
        id: held,
        patient_id: patient,
        at: held_on.at(10, 0, 0, 0),
        place: "LAR-senteret, møterom 1".into(),
        agenda: vec![
            "Status i behandlingen".into(),
            "Bolig".into(),
            "Individuell plan".into(),
        ],
        scheduled_by: koordinator.id,
        scheduled_at,
        invitations: invite(held, scheduled_at),
        minutes: None,
    };
    samhand_store::collaboration::insert_meeting(conn, &meeting).await?;
    samhand_store::collaboration::insert_minutes(
        conn,
        &Minutes {
            meeting_id: held,
            patient_present: true,
            attendance: vec![(koordinator.id, true), (fastlege.id, false)],
            text:
                "Pasienten møtte og forteller om stabil hverdag. Ønsker egen bolig og noe å gjøre på dagtid."
                    .into(),
            decisions: vec!["Søke kommunal bolig".into(), "Starte individuell plan".into()],
            next_meeting_proposed: next_meeting_date(held_on, interval),
            recorded_by: koordinator.id,
            recorded_at: at(held_on, 14, 0),
        },
    )
    .await?;
    samhand_store::collaboration::insert_task(
        conn,
        &Task {
            id: TaskId::new(),
            patient_id: patient,
            meeting_id: Some(held),
            description: "Sende søknad om kommunal bolig".into(),
            owner: koordinator.id,
            due_on: plus(today, 7),
            created_by: koordinator.id,
            created_at: at(held_on, 14, 0),
            changes: Vec::new(),
        },
    )
    .await?;
    let upcoming = MeetingId::new();
    let scheduled_at = at(plus(today, -3), 9, 0);
    samhand_store::collaboration::insert_meeting(
        conn,
        &Meeting {
            id: upcoming,
            patient_id: patient,
            at: plus(today, 7).at(10, 0, 0, 0),
            place: "LAR-senteret, møterom 1".into(),
            agenda: vec!["Oppfølging av boligsøknad".into(), "Evaluering av planen".into()],
            scheduled_by: koordinator.id,
            scheduled_at,
            invitations: invite(upcoming, scheduled_at),
            minutes: None,
        },
    )
    .await?;
    Ok(())
}

/// The individual plan: started at the first conversation, with goals from the
/// meeting held on `held_on`.
async fn write_individual_plan(
    conn: &mut PatientWrite,
    world: &World,
    patient: PatientId,
    held_on: Date,
    today: Date,
) -> anyhow::Result<()> {
    let koordinator = world.user_named("koordinator")?;
    let konsulent = world.user_named("konsulent")?;
    let centre = world.places[0].org.id;
    let nav = world
        .others
        .iter()
        .find(|o| o.kind == OrganisationKind::NavOffice)
        .map_or(centre, |o| o.id);
    let initiated = at(plus(today, -60), 11, 0);
    let first = PlanVersion {
        id: PlanVersionId::new(),
        patient_id: patient,
        version: 1,
        status: PlanStatus::Active,
        declined_on: None,
        goals: Vec::new(),
        reason: "Individuell plan tilbudt og startet ved oppstart".into(),
        recorded_by: konsulent.id,
        recorded_at: initiated,
    };
    samhand_store::collaboration::insert_plan_version(conn, &first).await?;
    let goals = vec![
        PlanGoal {
            domain: LifeDomain::SubstanceUse,
            goal: "Holde meg unna piller og klare meg på medisinen".into(),
            measures: vec![Measure {
                description: "Samtaler med LAR-konsulent hver fjortende dag".into(),
                responsible: world.unit.id,
            }],
            evaluate_on: Some(plus(today, 30)),
        },
        PlanGoal {
            domain: LifeDomain::Housing,
            goal: "Jeg vil ha min egen leilighet før sommeren".into(),
            measures: vec![Measure {
                description: "Søke kommunal bolig".into(),
                responsible: centre,
            }],
            evaluate_on: Some(plus(today, -2)),
        },
        PlanGoal {
            domain: LifeDomain::WorkActivity,
            goal: "Ha noe å gå til på dagtid".into(),
            measures: vec![Measure {
                description: "Arbeidstrening".into(),
                responsible: nav,
            }],
            evaluate_on: Some(plus(today, 60)),
        },
    ];
    samhand_store::collaboration::insert_plan_version(
        conn,
        &PlanVersion {
            id: PlanVersionId::new(),
            patient_id: patient,
            version: 2,
            status: PlanStatus::Active,
            declined_on: None,
            goals,
            reason: "Mål fra ansvarsgruppemøtet".into(),
            recorded_by: koordinator.id,
            recorded_at: at(held_on, 14, 30),
        },
    )
    .await?;
    Ok(())
}

pub(super) async fn hash_passwords(password: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        (0..count)
            .map(|_| {
                samhand_server::auth::hash_password(&password).map_err(|e| anyhow!("hash password: {e}"))
            })
            .collect()
    })
    .await
    .context("password hashing task")?
}

/// Writes the patients in transactions of a few dozen, several at once on
/// PostgreSQL (where each statement is a network round trip) and one after another
/// on SQLite (which has one writer).
pub(super) async fn write_patients(
    store: &Store,
    actor: &Actor,
    plans: Vec<PatientPlan>,
) -> anyhow::Result<()> {
    const PER_TRANSACTION: usize = 50;
    let workers = match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => 6,
    };
    let mut batches: Vec<Vec<Vec<PatientPlan>>> = (0..workers).map(|_| Vec::new()).collect();
    let mut plans = plans.into_iter().peekable();
    let mut next = 0;
    while plans.peek().is_some() {
        let chunk: Vec<PatientPlan> = plans.by_ref().take(PER_TRANSACTION).collect();
        batches[next % workers].push(chunk);
        next += 1;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches {
        let store = store.clone();
        let actor = actor.clone();
        tasks.spawn(async move {
            for chunk in batch {
                let ids: Vec<PatientId> = chunk.iter().map(|plan| plan.id).collect();
                let written_at = chunk.first().map_or_else(Timestamp::now, |plan| plan.created_at);
                let mut tx = PatientWrite::synthetic_history(
                    &store,
                    &actor,
                    &ids,
                    written_at,
                    "demo: history written",
                )
                .await?;
                for plan in &chunk {
                    write_patient(&mut tx, plan).await.with_context(|| {
                        format!("write demo patient {}", plan.patient.national_id.as_str())
                    })?;
                }
                tx.commit().await.context("commit demo patients")?;
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("demo writer task")??;
    }
    Ok(())
}

async fn write_patient(conn: &mut PatientWrite, plan: &PatientPlan) -> anyhow::Result<()> {
    patients::insert(conn, plan.id, &plan.patient, plan.created_by, plan.created_at).await?;
    patients::insert_photo(
        conn,
        plan.id,
        "image/png",
        &plan.photo,
        plan.created_by,
        plan.created_at,
    )
    .await?;
    patients::insert_episode(conn, &plan.episode, plan.created_by).await?;
    for order in &plan.orders {
        orders::insert_draft(conn, order.order()).await?;
        orders::insert_signature(conn, order).await?;
    }
    for arrangement in &plan.arrangements {
        orders::insert_arrangement(conn, arrangement).await?;
    }
    for cover in &plan.covers {
        orders::insert_cover(conn, cover).await?;
    }
    for planned in &plan.events {
        dispensing::insert(
            conn,
            &planned.event,
            &planned.doses,
            planned.substance,
            &planned.order_ids,
        )
        .await?;
        for take in &planned.takes {
            stock::insert_line(
                conn,
                &NewStockLine {
                    dispensing: Some(planned.event.id),
                    ..NewStockLine::new(
                        planned.event.place_id,
                        take.product,
                        StockMovement::Dispensed,
                        take.quantity,
                        "",
                        planned.event.recorded_by,
                        planned.event.recorded_at,
                    )
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// One patient admitted today to the treatment centre for ten days, with the usual
/// dose given there and the admission conversation held: the centre's list shows
/// them paused, and the discharge checklist has items open.
pub(super) async fn write_stay(
    store: &Store,
    world: &World,
    patient: PatientId,
    today: Date,
) -> anyhow::Result<()> {
    let doctor = world.user_named("institusjon")?;
    let centre = world
        .places
        .iter()
        .find(|p| p.org.id == doctor.organisation)
        .ok_or_else(|| anyhow!("the treatment centre"))?;
    let stay = Stay {
        id: samhand_domain::ids::StayId::new(),
        patient_id: patient,
        kind: StayKind::Institution,
        institution: centre.org.name.clone(),
        institution_id: Some(centre.org.id),
        starts_on: today,
        planned_end_on: Some(plus(today, 10)),
        opioid_use: true,
        substitution_continued: true,
        recorded_by: doctor.id,
        recorded_at: at(today, 8, 0),
    };
    let entry = BundleEntry {
        id: BundleEntryId::new(),
        stay_id: stay.id,
        item: BundleItem::AdmissionConversation,
        waived: false,
        on: today,
        note: "Kartlagt rusbruk og informert om overdoserisiko".into(),
        recorded_by: doctor.id,
        recorded_at: at(today, 8, 30),
    };
    let mut tx = PatientWrite::synthetic_history(
        store,
        &world.actor(doctor),
        &[patient],
        stay.recorded_at,
        "demo: admission written",
    )
    .await?;
    samhand_store::stays::insert_stay(&mut tx, &stay).await?;
    samhand_store::stays::insert_bundle_entry(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Receipts, waste, counts and deviations, after the dispensings they balance.
pub(super) async fn write_stock(store: &Store, stock_plan: &StockPlan) -> anyhow::Result<()> {
    let mut tx = store.write().await?;
    for count in &stock_plan.counts {
        stock::insert_count(&mut tx, count)
            .await
            .context("insert stock count")?;
    }
    for entry in &stock_plan.entries {
        stock::insert_line(
            &mut tx,
            &NewStockLine {
                count: entry.count.as_deref(),
                ..NewStockLine::new(
                    entry.place,
                    entry.product,
                    entry.movement,
                    entry.quantity,
                    &entry.note,
                    entry.by,
                    entry.at,
                )
            },
        )
        .await
        .context("insert stock line")?;
    }
    for deviation in &stock_plan.deviations {
        stock::insert_deviation(&mut tx, deviation).await?;
    }
    for follow_up in &stock_plan.follow_ups {
        stock::insert_follow_up(&mut tx, follow_up).await?;
    }
    tx.commit().await.context("commit stock ledgers")?;
    Ok(())
}
