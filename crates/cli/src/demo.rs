//! The demo world: a fictional health trust's LAR unit, municipal LAR centres,
//! pharmacies, a home service and an institution, staff with demo logins, and
//! synthetic patients with signed dose orders, dispensing arrangements, ten weeks of
//! dispensing history, stock ledgers and deviations. Written straight through
//! `samhand_store` in a few large transactions; the schedule and the missed-dose rule
//! from `samhand_domain` decide what was due and check the result. Creating the demo
//! is a system action, not a person reading a record, so it writes no audit entries.

use std::collections::{HashMap, HashSet};
use std::fmt;

use anyhow::{Context, anyhow, bail, ensure};
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Span, Timestamp};
use samhand_domain::arrangement::{
    Arrangement, ArrangementContent, PatientGroup, TimeWindow, WeekPlan, effective_arrangement,
};
use samhand_domain::dispensing::{Outcome, RecordedDose, plan_recording};
use samhand_domain::dose::Dose;
use samhand_domain::dose_order::{
    DailyDose, DoseOrder, DoseOrderContent, Signature, SignedDoseOrder, TitrationStep,
};
use samhand_domain::ids::{
    ArrangementId, CoverId, DeviationId, DispensingId, DoseOrderId, EpisodeId, OrganisationId,
    PatientGroupId, PatientId, UserId,
};
use samhand_domain::missed::MissedDosePolicy;
use samhand_domain::national_id::NationalId;
use samhand_domain::organisation::{Organisation, OrganisationKind, Role};
use samhand_domain::patient::{Episode, NewPatient, Phase};
use samhand_domain::schedule::{
    Attendance, Cover, CoverKind, DoseKey, IntakeMode, MAX_DAYS_AHEAD, PatientSchedule, validate_cover,
};
use samhand_domain::stock::{
    Product, Quantity, StockMovement, Take, balance, is_deviation, products_for_dose,
};
use samhand_domain::substance::{Form, Substance};
use samhand_domain::time::{Clock, days_inclusive, oslo_timestamp};
use samhand_store::dispensing::DispensingEvent;
use samhand_store::stock::{Deviation, FollowUp, NewStockLine, StockCount};
use samhand_store::users::NewUser;
use samhand_store::{Backend, Store, dispensing, orders, organisations, patients, stock, users};

use crate::names;
use crate::png;
use crate::rng::Rng;

/// How big a world to make. The default is a realistic municipality-sized service; a
/// benchmark can ask for more patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSize {
    pub patients: usize,
    /// Days of dispensing history up to yesterday. Ten weeks: the missed-dose rule
    /// looks 60 days back (service.rs), and a day in that window without a recorded
    /// dose counts as missed, so the history covers the window and the week of
    /// take-home doses handed over just before it.
    pub history_days: i64,
}

impl Default for DemoSize {
    fn default() -> Self {
        Self {
            patients: 300,
            history_days: 70,
        }
    }
}

impl DemoSize {
    pub fn with_patients(patients: usize) -> Self {
        Self {
            patients,
            ..Self::default()
        }
    }
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Summary {
    pub organisations: usize,
    pub users: usize,
    pub logins: Vec<(String, String, String)>,
    pub patients: usize,
    pub first_centre: String,
    pub patients_at_first_centre: usize,
    pub dose_orders: usize,
    pub arrangements: usize,
    pub overdue_reviews: usize,
    /// Days covered by an earlier hand-over or the holiday place because the place is
    /// closed.
    pub covers: usize,
    pub dispensing_events: usize,
    pub dispensed_doses: usize,
    pub stock_entries: usize,
    pub deviations: usize,
    pub history_from: Date,
    pub history_to: Date,
    pub blocked_patient: String,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = samhand_domain::format::date_nb;
        writeln!(
            f,
            "{} organisations, {} users, {} patients ({} at {})",
            self.organisations, self.users, self.patients, self.patients_at_first_centre, self.first_centre
        )?;
        writeln!(
            f,
            "{} signed dose order versions, {} arrangement versions ({} with the review overdue), {} closed days covered",
            self.dose_orders, self.arrangements, self.overdue_reviews, self.covers
        )?;
        writeln!(
            f,
            "{} dispensings covering {} doses, {}–{}",
            self.dispensing_events,
            self.dispensed_doses,
            date(self.history_from),
            date(self.history_to)
        )?;
        writeln!(
            f,
            "{} stock ledger entries, {} deviations",
            self.stock_entries, self.deviations
        )?;
        writeln!(
            f,
            "blocked after missed doses (må revurderes av lege): {}",
            self.blocked_patient
        )?;
        writeln!(f, "demo logins:")?;
        for (username, role, organisation) in &self.logins {
            writeln!(f, "  {username:<11} {role:<17} {organisation}")?;
        }
        Ok(())
    }
}

/// Refused: the database already holds organisations, so it is not a fresh database.
#[derive(Debug)]
pub struct NotEmpty;

impl fmt::Display for NotEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the database already has organisations; the demo world is only created in an empty database",
        )
    }
}

impl std::error::Error for NotEmpty {}

/// Creates the demo world when the database has no organisations yet; `None` when it
/// has (so that a second `serve --demo` neither fails nor duplicates).
pub async fn create_demo_world_if_empty(
    store: &Store,
    clock: &dyn Clock,
    password: &str,
    size: DemoSize,
) -> anyhow::Result<Option<Summary>> {
    match create_demo_world(store, clock, password, size).await {
        Ok(summary) => Ok(Some(summary)),
        Err(error) if error.is::<NotEmpty>() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Creates the demo world in an empty database; fails with [`NotEmpty`] otherwise.
pub async fn create_demo_world(
    store: &Store,
    clock: &dyn Clock,
    password: &str,
    size: DemoSize,
) -> anyhow::Result<Summary> {
    ensure!(
        size.history_days >= 14,
        "the demo needs at least 14 days of history"
    );
    ensure!(size.patients >= 3, "the demo needs at least 3 patients");
    let today = clock.today();
    let history_from = plus(today, -size.history_days);
    let yesterday = plus(today, -1);
    {
        let mut conn = store.read().await?;
        if !organisations::all(&mut conn).await?.is_empty() {
            return Err(NotEmpty.into());
        }
    }

    // Everything is computed in memory and checked against the missed-dose rule
    // before anything is written.
    let started = std::time::Instant::now();
    let world = World::new();
    let mut generator = Generator {
        rng: Rng::new(0x5A4D_4841_4E44),
        world: &world,
        today,
        yesterday,
        history_from,
        used_numbers: HashSet::new(),
    };
    let plans = generator.patients(size.patients)?;
    let blocked: Vec<&PatientPlan> = plans.iter().filter(|p| p.blocked).collect();
    ensure!(
        blocked.len() == 1,
        "the demo should have exactly one blocked patient, found {}",
        blocked.len()
    );
    let blocked_patient = format!(
        "{} {} at {}",
        blocked[0].patient.given_name, blocked[0].patient.family_name, world.places[0].org.name
    );
    let mut plans = plans;
    StockPlan::take_from_shelves(&world, &mut plans);
    let stock_plan = StockPlan::from_patients(&world, &plans, history_from, yesterday);
    let hashes = hash_passwords(password, world.users.iter().filter(|u| u.login).count()).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "demo: planned, passwords hashed");

    // Organisations, groups and staff: one transaction.
    {
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
        tx.commit().await.context("commit organisations and users")?;
    }

    let summary = Summary {
        organisations: world.all_organisations().count(),
        users: world.users.len(),
        logins: world
            .users
            .iter()
            .filter(|u| u.login)
            .map(|u| {
                (
                    u.username.clone(),
                    u.role.code().to_string(),
                    world.organisation_name(u.organisation).to_string(),
                )
            })
            .collect(),
        patients: plans.len(),
        first_centre: world.places[0].org.name.clone(),
        patients_at_first_centre: plans.iter().filter(|p| p.place == 0).count(),
        dose_orders: plans.iter().map(|p| p.orders.len()).sum(),
        arrangements: plans.iter().map(|p| p.arrangements.len()).sum(),
        overdue_reviews: plans
            .iter()
            .filter(|p| {
                effective_arrangement(&p.arrangements, today).is_some_and(|a| a.review_overdue(today))
            })
            .count(),
        covers: plans.iter().map(|p| p.covers.len()).sum(),
        dispensing_events: plans.iter().map(|p| p.events.len()).sum(),
        dispensed_doses: plans.iter().flat_map(|p| &p.events).map(|e| e.doses.len()).sum(),
        stock_entries: plans
            .iter()
            .flat_map(|p| &p.events)
            .map(|e| e.takes.len())
            .sum::<usize>()
            + stock_plan.entries.len(),
        deviations: stock_plan.deviations.len(),
        history_from,
        history_to: yesterday,
        blocked_patient,
    };

    let privacy_patients: Vec<PatientId> = plans
        .iter()
        .filter(|p| p.place == 0 && !p.blocked)
        .map(|p| p.id)
        .take(6)
        .collect();
    write_patients(store, plans).await?;
    write_privacy(store, &world, &privacy_patients, today).await?;
    write_collaboration(store, &world, &privacy_patients, today).await?;
    if let Some(admitted) = privacy_patients.last() {
        write_stay(store, &world, *admitted, today).await?;
    }
    tracing::debug!(elapsed = ?started.elapsed(), "demo: patients written");

    // Receipts, waste, counts and deviations, after the dispensings they balance.
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
    Ok(summary)
}

/// Care team seats, consents, health information and one emergency access for a few
/// patients at the first centre, so the demo shows the privacy spine at work.
async fn write_privacy(
    store: &Store,
    world: &World,
    patients: &[PatientId],
    today: Date,
) -> anyhow::Result<()> {
    use samhand_domain::access::DataCategory;
    use samhand_domain::health::{HealthConditionKind, HealthNote};
    use samhand_domain::ids::{CareTeamMemberId, ConsentId, EmergencyAccessId, HealthNoteId};
    use samhand_domain::privacy::{CareTeamMember, ConsentRecord, EmergencyAccess, TeamRole};
    let by_name = |name: &str| {
        world
            .users
            .iter()
            .find(|u| u.username == name)
            .ok_or_else(|| anyhow!("demo user {name}"))
    };
    let koordinator = by_name("koordinator")?;
    let fastlege = by_name("fastlege")?;
    let konsulent = by_name("konsulent")?;
    let lege = by_name("lege")?;
    let first_centre = world.places[0].org.id;
    let gp_office = world.others[0].id;
    let since = at(plus(today, -30), 10, 0);
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
    let mut tx = store.write().await?;
    for (i, patient) in patients.iter().enumerate() {
        // The GP sits in every team but the last patient's: that record the GP opens
        // by emergency access below.
        let seats = if i + 1 < patients.len() {
            vec![(koordinator, TeamRole::Coordinator), (fastlege, TeamRole::Member)]
        } else {
            vec![(koordinator, TeamRole::Coordinator)]
        };
        for (user, role) in seats {
            samhand_store::privacy::insert_member(
                &mut tx,
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
                &mut tx,
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
        if let Some((kind, text)) = notes.get(i) {
            samhand_store::health::insert(
                &mut tx,
                &HealthNote {
                    id: HealthNoteId::new(),
                    patient_id: *patient,
                    kind: *kind,
                    text: (*text).into(),
                    active: true,
                    replaces: None,
                    reason: String::new(),
                    recorded_by: lege.id,
                    recorded_at: since,
                },
            )
            .await?;
        }
    }
    // The GP opened one record in an emergency; the unit's leader has it to review.
    if let Some(patient) = patients.last() {
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
    // Yesterday afternoon the centre withheld a dose and told the LAR unit; nobody
    // there has read it yet, so the unit's leader sees it escalated.
    if let Some(patient) = patients.first() {
        use samhand_domain::ids::MessageId;
        use samhand_domain::message::{Message, MessageKind};
        samhand_store::messages::insert(
            &mut tx,
            &Message {
                id: MessageId::new(),
                patient_id: *patient,
                kind: MessageKind::WithheldDose,
                subject: format!("Dose holdt tilbake {}", samhand_domain::format::date_nb(plus(today, -1))),
                body: "Vurdering ved utlevering: virket sterkt påvirket, ustø og uklar. Bedt om å komme tilbake i morgen."
                    .into(),
                important: true,
                sent_by: Some(by_name("utdeler")?.id),
                sender_organisation: Some(first_centre),
                sent_at: at(plus(today, -1), 15, 10),
                recipients: vec![world.unit.id],
                event_key: None,
                party: samhand_domain::message::Party::Services,
                in_reply_to: None,
            },
        )
        .await?;
    }
    tx.commit().await.context("commit demo privacy records")?;
    Ok(())
}

/// The responsibility group's work for the first patients the coordinator
/// coordinates: a meeting held about five weeks ago with minutes and one open task,
/// an upcoming meeting, and an individual plan with a few goals.
async fn write_collaboration(
    store: &Store,
    world: &World,
    patients: &[PatientId],
    today: Date,
) -> anyhow::Result<()> {
    use samhand_domain::care::{
        Invitation, LifeDomain, Measure, Meeting, Minutes, PlanGoal, PlanStatus, PlanVersion, Task,
        next_meeting_date,
    };
    use samhand_domain::ids::{MeetingId, PlanVersionId, TaskId};
    use samhand_domain::policy::ClinicalPolicy;
    let by_name = |name: &str| {
        world
            .users
            .iter()
            .find(|u| u.username == name)
            .ok_or_else(|| anyhow!("demo user {name}"))
    };
    let koordinator = by_name("koordinator")?;
    let fastlege = by_name("fastlege")?;
    let konsulent = by_name("konsulent")?;
    let centre = world.places[0].org.id;
    let nav = world
        .others
        .iter()
        .find(|o| o.kind == OrganisationKind::NavOffice)
        .map_or(centre, |o| o.id);
    let interval = ClinicalPolicy::default().meeting_interval_days;
    let mut tx = store.write().await?;
    for patient in patients.iter().take(2) {
        let held_on = plus(today, -35);
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
            patient_id: *patient,
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
        samhand_store::collaboration::insert_meeting(&mut tx, &meeting).await?;
        samhand_store::collaboration::insert_minutes(
            &mut tx,
            &Minutes {
                meeting_id: held,
                patient_present: true,
                attendance: vec![(koordinator.id, true), (fastlege.id, false)],
                text: "Pasienten møtte og forteller om stabil hverdag. Ønsker egen bolig og noe å gjøre på dagtid."
                    .into(),
                decisions: vec!["Søke kommunal bolig".into(), "Starte individuell plan".into()],
                next_meeting_proposed: next_meeting_date(held_on, interval),
                recorded_by: koordinator.id,
                recorded_at: at(held_on, 14, 0),
            },
        )
        .await?;
        samhand_store::collaboration::insert_task(
            &mut tx,
            &Task {
                id: TaskId::new(),
                patient_id: *patient,
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
            &mut tx,
            &Meeting {
                id: upcoming,
                patient_id: *patient,
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
        let initiated = at(plus(today, -60), 11, 0);
        let first = PlanVersion {
            id: PlanVersionId::new(),
            patient_id: *patient,
            version: 1,
            status: PlanStatus::Active,
            declined_on: None,
            goals: Vec::new(),
            reason: "Individuell plan tilbudt og startet ved oppstart".into(),
            recorded_by: konsulent.id,
            recorded_at: initiated,
        };
        samhand_store::collaboration::insert_plan_version(&mut tx, &first).await?;
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
            &mut tx,
            &PlanVersion {
                id: PlanVersionId::new(),
                patient_id: *patient,
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
    }
    tx.commit()
        .await
        .context("commit demo responsibility-group records")?;
    Ok(())
}

async fn hash_passwords(password: &str, count: usize) -> anyhow::Result<Vec<String>> {
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
async fn write_patients(store: &Store, plans: Vec<PatientPlan>) -> anyhow::Result<()> {
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
        tasks.spawn(async move {
            for chunk in batch {
                let mut tx = store.write().await?;
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

async fn write_patient(conn: &mut samhand_store::Conn, plan: &PatientPlan) -> anyhow::Result<()> {
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
async fn write_stay(store: &Store, world: &World, patient: PatientId, today: Date) -> anyhow::Result<()> {
    use samhand_domain::stay::{BundleEntry, BundleEntryId, BundleItem, Stay, StayKind};
    let doctor = world
        .users
        .iter()
        .find(|u| u.username == "institusjon")
        .ok_or_else(|| anyhow!("demo user institusjon"))?;
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
    let mut tx = store.write().await?;
    samhand_store::stays::insert_stay(&mut tx, &stay).await?;
    samhand_store::stays::insert_bundle_entry(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

// ------------------------------------------------------------------ the world

struct DemoUser {
    id: UserId,
    username: String,
    display_name: String,
    role: Role,
    organisation: OrganisationId,
    /// One of the demo logins, with the demo password; other staff cannot log in.
    login: bool,
}

struct Place {
    org: Organisation,
    groups: Vec<PatientGroup>,
    /// Dispensing staff who record at this place.
    staff: Vec<UserId>,
    /// A second staff member, who witnesses the counts.
    witness: UserId,
    /// Share of the patients who collect here.
    share: f64,
    /// The patient's own time window when not in a group.
    own_window: (Time, Time),
    postcode: &'static str,
}

struct World {
    unit: Organisation,
    others: Vec<Organisation>,
    places: Vec<Place>,
    users: Vec<DemoUser>,
    prescribers: Vec<UserId>,
    consultants: Vec<UserId>,
}

const EVERY_DAY: [bool; 7] = [true; 7];
const MONDAY_TO_SATURDAY: [bool; 7] = [true, true, true, true, true, true, false];
const WEEKDAYS: [bool; 7] = [true, true, true, true, true, false, false];

fn organisation(
    name: &str,
    kind: OrganisationKind,
    municipality: &str,
    open_weekdays: [bool; 7],
    open_on_public_holidays: bool,
) -> Organisation {
    Organisation {
        id: OrganisationId::new(),
        name: name.to_string(),
        kind,
        municipality: municipality.to_string(),
        open_on_public_holidays,
        open_weekdays,
    }
}

fn time(hour: i8, minute: i8) -> Time {
    Time::constant(hour, minute, 0, 0)
}

impl World {
    fn new() -> Self {
        use OrganisationKind::*;
        let unit = organisation(
            "LAR-enheten, Helse Fjordvik HF",
            HealthTrustLarUnit,
            "Fjordvik",
            WEEKDAYS,
            false,
        );
        let others = vec![
            organisation("Fjordvik legesenter", GpOffice, "Fjordvik", WEEKDAYS, false),
            organisation("NAV Fjordvik", NavOffice, "Fjordvik", WEEKDAYS, false),
        ];
        // (name, kind, municipality, open days, open on holidays, share, postcode, username slug)
        #[allow(clippy::type_complexity)]
        let specs: [(&str, OrganisationKind, &str, [bool; 7], bool, f64, &str, &str); 12] = [
            (
                "Fjordvik LAR-senter",
                MunicipalLarCentre,
                "Fjordvik",
                EVERY_DAY,
                true,
                0.23,
                "5090",
                "",
            ),
            (
                "Strandvik LAR-senter",
                MunicipalLarCentre,
                "Strandvik",
                EVERY_DAY,
                false,
                0.09,
                "5300",
                "strandvik",
            ),
            (
                "Nordhavn LAR-senter",
                MunicipalLarCentre,
                "Nordhavn",
                EVERY_DAY,
                true,
                0.09,
                "5380",
                "nordhavn",
            ),
            (
                "Åsbygd LAR-senter",
                MunicipalLarCentre,
                "Åsbygd",
                EVERY_DAY,
                false,
                0.09,
                "5640",
                "asbygd",
            ),
            (
                "Bjørkely LAR-senter",
                MunicipalLarCentre,
                "Bjørkely",
                EVERY_DAY,
                true,
                0.09,
                "5700",
                "bjorkely",
            ),
            (
                "Holmevåg LAR-senter",
                MunicipalLarCentre,
                "Holmevåg",
                EVERY_DAY,
                false,
                0.09,
                "5430",
                "holmevag",
            ),
            (
                "Elvetun LAR-senter",
                MunicipalLarCentre,
                "Elvetun",
                EVERY_DAY,
                false,
                0.09,
                "5580",
                "elvetun",
            ),
            (
                "Fjordvik Torg apotek",
                Pharmacy,
                "Fjordvik",
                MONDAY_TO_SATURDAY,
                false,
                0.05,
                "5091",
                "apotek.torg",
            ),
            (
                "Strandvik apotek",
                Pharmacy,
                "Strandvik",
                MONDAY_TO_SATURDAY,
                false,
                0.05,
                "5301",
                "apotek.strandvik",
            ),
            (
                "Nordhavn apotek",
                Pharmacy,
                "Nordhavn",
                MONDAY_TO_SATURDAY,
                false,
                0.05,
                "5381",
                "apotek.nordhavn",
            ),
            (
                "Hjemmetjenesten Fjordvik øst",
                HomeService,
                "Fjordvik",
                EVERY_DAY,
                true,
                0.04,
                "5092",
                "hjemmetjenesten",
            ),
            (
                "Fjordheim behandlingssenter",
                Institution,
                "Fjordvik",
                EVERY_DAY,
                true,
                0.04,
                "5093",
                "fjordheim",
            ),
        ];
        let mut users = Vec::new();
        let mut user =
            |username: &str, display_name: &str, role: Role, organisation: OrganisationId, login: bool| {
                let id = UserId::new();
                users.push(DemoUser {
                    id,
                    username: username.to_string(),
                    display_name: display_name.to_string(),
                    role,
                    organisation,
                    login,
                });
                id
            };
        let lege = user("lege", "Ingrid Solheim", Role::Prescriber, unit.id, true);
        let konsulent = user("konsulent", "Håkon Vik", Role::LarConsultant, unit.id, true);
        let mut places = Vec::new();
        let staff_names = [
            "Silje Nordvik",
            "Kari Fossheim",
            "Ola Bratland",
            "Nina Rognaldsen",
            "Sindre Hatlevik",
            "Mette Brekkå",
            "Ahmed Rahimi",
            "Lise Tveit",
            "Jorunn Eikeland",
            "Petter Myklebust",
            "Hanne Skjold",
            "Aud Vatne",
        ];
        // The second nurse at each place (the first centre's is Tone Aasland).
        let witness_names = [
            "Tone Aasland",
            "Eirik Sandvik",
            "Marit Holmen",
            "Jon Are Lid",
            "Randi Økland",
            "Bjørn Tveiten",
            "Sara Mjelde",
            "Knut Haldorsen",
            "Ingvild Rasmussen",
            "Trine Hjelle",
            "Arne Dyrnes",
            "Gunn Solbakken",
        ];
        let mut coordinator_place = None;
        for (i, (name, kind, municipality, days, holidays, share, postcode, slug)) in
            specs.into_iter().enumerate()
        {
            let org = organisation(name, kind, municipality, days, holidays);
            let mut staff = Vec::new();
            let witness;
            if i == 0 {
                staff.push(user(
                    "utdeler",
                    staff_names[0],
                    Role::DispensingStaff,
                    org.id,
                    true,
                ));
                // A login, so that a count at the first centre can be witnessed.
                witness = user(
                    "sykepleier.fjordvik",
                    "Tone Aasland",
                    Role::DispensingStaff,
                    org.id,
                    true,
                );
                staff.push(witness);
                coordinator_place = Some(org.id);
            } else {
                staff.push(user(
                    &format!("utdeler.{slug}"),
                    staff_names[i],
                    Role::DispensingStaff,
                    org.id,
                    false,
                ));
                // Not among the recorders, so that the history stays as it was.
                witness = user(
                    &format!("sykepleier.{slug}"),
                    witness_names[i],
                    Role::DispensingStaff,
                    org.id,
                    false,
                );
            }
            let groups = if kind == MunicipalLarCentre {
                let mut windows = vec![
                    ("Rehabilitering", time(8, 0), time(9, 30)),
                    ("Stabilisering", time(10, 0), time(11, 30)),
                ];
                if i == 0 {
                    windows.push(("Ettermiddag", time(14, 0), time(15, 0)));
                }
                windows
                    .into_iter()
                    .map(|(group, start, end)| PatientGroup {
                        id: PatientGroupId::new(),
                        place_id: org.id,
                        name: group.to_string(),
                        window: TimeWindow::new(start, end).expect("start before end"),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let own_window = match kind {
                Pharmacy => (time(10, 0), time(15, 0)),
                HomeService => (time(8, 0), time(10, 0)),
                Institution => (time(8, 0), time(8, 30)),
                _ => (time(12, 0), time(12, 30)),
            };
            places.push(Place {
                org,
                groups,
                staff,
                witness,
                share,
                own_window,
                postcode,
            });
        }
        user(
            "koordinator",
            "Marte Lie Aasen",
            Role::Coordinator,
            coordinator_place.expect("the first centre"),
            true,
        );
        user("leder", "Tor Egil Brekke", Role::Leader, unit.id, true);
        // A doctor at the treatment centre, who admits and discharges.
        let institution = places
            .iter()
            .find(|p| p.org.kind == Institution)
            .map(|p| p.org.id)
            .expect("a treatment centre");
        user("institusjon", "Eva Lunde", Role::Prescriber, institution, true);
        user("fastlege", "Ingrid Solberg", Role::Prescriber, others[0].id, true);
        user("nav", "Eirik Haugland", Role::Coordinator, others[1].id, true);
        user("admin", "Systemadministrator", Role::Administrator, unit.id, true);
        let haug = user("lege.haug", "Anders Haug", Role::Prescriber, unit.id, false);
        let moe = user("lege.moe", "Kristin Moe", Role::Prescriber, unit.id, false);
        let dahl = user("konsulent.dahl", "Linn Dahl", Role::LarConsultant, unit.id, false);
        let eng = user("konsulent.eng", "Jonas Eng", Role::LarConsultant, unit.id, false);
        Self {
            unit,
            others,
            places,
            users,
            // The demo logins carry most of the caseload, so the demo shows a full list.
            prescribers: vec![lege, lege, lege, haug, moe],
            consultants: vec![konsulent, konsulent, konsulent, dahl, eng],
        }
    }

    fn all_organisations(&self) -> impl Iterator<Item = &Organisation> {
        std::iter::once(&self.unit)
            .chain(self.places.iter().map(|p| &p.org))
            .chain(self.others.iter())
    }

    fn organisation_name(&self, id: OrganisationId) -> &str {
        self.all_organisations()
            .find(|o| o.id == id)
            .map(|o| o.name.as_str())
            .unwrap_or("")
    }
}

// ------------------------------------------------------------------ patients

struct PlannedEvent {
    event: DispensingEvent,
    doses: Vec<RecordedDose>,
    substance: Substance,
    order_ids: Vec<DoseOrderId>,
    /// The products the dose was taken from ([`StockPlan::take_from_shelves`]).
    takes: Vec<Take>,
}

impl PlannedEvent {
    fn given(&self) -> Dose {
        self.doses.iter().map(|d| d.amount).sum()
    }
}

struct PatientPlan {
    id: PatientId,
    patient: NewPatient,
    photo: Vec<u8>,
    created_by: UserId,
    created_at: Timestamp,
    episode: Episode,
    orders: Vec<SignedDoseOrder>,
    arrangements: Vec<Arrangement>,
    /// Days the place is closed, covered by take-home doses handed over before (or,
    /// failing that, by the holiday place).
    covers: Vec<Cover>,
    events: Vec<PlannedEvent>,
    /// Index into the world's places.
    place: usize,
    /// Whether the missed-dose rule blocks the order today.
    blocked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Started in the last two months, dose being built up.
    Start,
    /// Started three to six months ago.
    Stabilisation,
    /// In treatment for one to eight years.
    Continuation,
}

/// What happens at the window for one patient, beyond the ordinary.
#[derive(Debug, Clone, Copy)]
struct Habits {
    /// Chance of not coming on an attendance day.
    miss_rate: f64,
    /// The one patient who stopped coming: no dose on the last six days.
    stopped_coming: bool,
    /// Did not come yesterday (an alert on today's list, not a block).
    missed_yesterday: bool,
}

struct Generator<'a> {
    rng: Rng,
    world: &'a World,
    today: Date,
    yesterday: Date,
    history_from: Date,
    used_numbers: HashSet<String>,
}

fn plus(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days))
        .expect("demo dates are within the supported range")
}

/// An Oslo wall-clock time on a date, as an instant.
fn at(date: Date, hour: i8, minute: i8) -> Timestamp {
    oslo_timestamp(date.at(hour, minute, 0, 0))
}

fn mg(amount: u64) -> Dose {
    Dose::from_mg(amount)
}

fn daily(parts_mg: &[u64]) -> DailyDose {
    DailyDose::new(parts_mg.iter().map(|m| mg(*m)).collect()).expect("demo doses are valid")
}

/// The week codes of the arrangement ladder (2010 guideline), most supervised first.
const DAILY: &str = "AAAAAAA";
/// Monday to Saturday at the place, Sunday's dose handed over on Saturday: for places
/// closed on Sundays.
const SIX_DAYS: &str = "AAAAAAT";
const THREE_A_WEEK: &str = "ATATATT";
const TWICE_A_WEEK: &str = "ATTATTT";
const ONCE_A_WEEK: &str = "ATTTTTT";

impl Generator<'_> {
    fn patients(&mut self, count: usize) -> anyhow::Result<Vec<PatientPlan>> {
        // Places by share, the first centre taking what rounding leaves over.
        let mut place_of = Vec::with_capacity(count);
        for (index, place) in self.world.places.iter().enumerate().skip(1) {
            let n = (place.share * count as f64).round() as usize;
            place_of.extend(std::iter::repeat_n(index, n));
        }
        place_of.truncate(count.saturating_sub(1));
        let first = count - place_of.len();
        let mut all = vec![0; first];
        all.extend(place_of);
        // Two patients at the first centre stayed away yesterday; one stopped coming.
        let mut plans = Vec::with_capacity(count);
        for (i, place) in all.into_iter().enumerate() {
            let habits = Habits {
                miss_rate: match self.rng.below(100) {
                    0..=79 => 0.0,
                    80..=94 => 0.02,
                    _ => 0.05,
                },
                stopped_coming: i == 0,
                missed_yesterday: i == 1 || i == 2,
            };
            let habits = if i < 3 {
                Habits {
                    miss_rate: 0.0,
                    ..habits
                }
            } else {
                habits
            };
            plans.push(self.patient(place, habits)?);
        }
        self.take_home_from_today(&mut plans);
        Ok(plans)
    }

    /// One patient at the first centre, who would come tomorrow, takes tomorrow's
    /// dose home today by a cover the doctor decided yesterday: whatever the weekday,
    /// the window has a take-home hand-over to show (and to hold with a withheld dose).
    fn take_home_from_today(&self, plans: &mut [PatientPlan]) {
        let (today, tomorrow) = (self.today, plus(self.today, 1));
        let first_place = &self.world.places[0].org;
        if !first_place.is_open_on(today) || validate_cover(tomorrow, CoverKind::TakeHomeFrom(today)).is_err()
        {
            return;
        }
        // The first patients carry the demo's other stories (blocked, missed days,
        // care teams, the admission): the cover goes to one after them.
        let chosen = plans.iter_mut().skip(8).find(|plan| {
            let schedule = PatientSchedule {
                episode: &plan.episode,
                orders: &plan.orders,
                arrangements: &plan.arrangements,
                covers: &plan.covers,
                stays: &[],
            };
            let here = |day| {
                Some(Attendance {
                    day,
                    place: first_place.id,
                })
            };
            plan.place == 0
                && !plan.blocked
                && plan.covers.iter().all(|c| c.date != tomorrow)
                && schedule.doses_on(today).iter().all(|d| !d.substance.is_depot())
                && !schedule.doses_on(today).is_empty()
                && !schedule.doses_on(tomorrow).is_empty()
                && schedule.attendance_for(today) == here(today)
                && schedule.attendance_for(tomorrow) == here(tomorrow)
        });
        if let Some(plan) = chosen {
            plan.covers.push(Cover {
                id: CoverId::new(),
                patient_id: plan.id,
                date: tomorrow,
                kind: CoverKind::TakeHomeFrom(today),
                decided_by: plan.episode.doctor,
                decided_at: at(self.yesterday, 11, 0),
            });
        }
    }

    fn national_id(&mut self, woman: bool) -> NationalId {
        loop {
            let age = self.rng.between(25, 65) as i16;
            let year = self.today.year() - age;
            let month = self.rng.between(1, 12) as i8;
            let first = jiff::civil::date(year, month, 1);
            let day = self.rng.between(1, i64::from(first.days_in_month())) as i8;
            let birth = jiff::civil::date(year, month, day);
            let mut individual = if year >= 2000 {
                500 + self.rng.below(500) as u16
            } else {
                self.rng.below(500) as u16
            };
            // The last individual digit is even for women, odd for men.
            if (individual % 2 == 0) != woman {
                individual ^= 1;
            }
            if let Some(id) = NationalId::synthetic(birth, individual)
                && self.used_numbers.insert(id.as_str().to_string())
            {
                return id;
            }
        }
    }

    fn patient(&mut self, place_index: usize, habits: Habits) -> anyhow::Result<PatientPlan> {
        let world = self.world;
        let place = &world.places[place_index];
        let is_centre = place.org.kind == OrganisationKind::MunicipalLarCentre;
        let id = PatientId::new();

        // Who.
        let woman = self.rng.chance(0.3);
        let given_name = if woman {
            *self.rng.pick(names::WOMEN)
        } else {
            *self.rng.pick(names::MEN)
        };
        let family_name = *self.rng.pick(names::FAMILY);
        let national_id = self.national_id(woman);
        let phone = format!(
            "{}{:02} {:02} {:03}",
            if self.rng.chance(0.5) { 4 } else { 9 },
            self.rng.below(100),
            self.rng.below(100),
            self.rng.below(1000)
        );
        let address = format!(
            "{} {}, {} {}",
            self.rng.pick(names::STREETS),
            self.rng.between(1, 80),
            place.postcode,
            place.org.municipality
        );
        let hue = self.rng.below(6) as usize;
        let backgrounds: [png::Rgb; 6] = [
            [214, 228, 240],
            [226, 236, 218],
            [240, 228, 214],
            [232, 222, 240],
            [218, 236, 234],
            [238, 232, 210],
        ];
        let figures: [png::Rgb; 6] = [
            [70, 90, 120],
            [88, 110, 78],
            [122, 92, 70],
            [96, 80, 122],
            [66, 110, 106],
            [118, 104, 60],
        ];
        let photo = png::avatar(
            48,
            60,
            backgrounds[hue],
            figures[(hue + self.rng.below(3) as usize) % 6],
        );

        // The episode.
        let stage = if habits.stopped_coming || habits.missed_yesterday {
            Stage::Continuation
        } else if place.org.kind == OrganisationKind::Institution && self.rng.chance(0.5) {
            Stage::Start
        } else {
            match self.rng.below(100) {
                0..=5 => Stage::Start,
                6..=15 => Stage::Stabilisation,
                _ => Stage::Continuation,
            }
        };
        let started_on = match stage {
            Stage::Start => plus(self.today, -self.rng.between(1, 60)),
            Stage::Stabilisation => plus(self.today, -self.rng.between(90, 180)),
            Stage::Continuation => plus(self.today, -self.rng.between(365, 8 * 365)),
        };
        let doctor = *self.rng.pick(&world.prescribers);
        let consultant = *self.rng.pick(&world.consultants);
        let episode = Episode {
            id: EpisodeId::new(),
            patient_id: id,
            responsible_unit: world.unit.id,
            doctor,
            consultant,
            started_on,
            phase: match stage {
                Stage::Start => Phase::Start,
                Stage::Stabilisation => Phase::Stabilisation,
                Stage::Continuation => Phase::Continuation,
            },
            ended: None,
            created_at: at(started_on, 9, 0),
        };

        let orders = self.orders(&episode, stage, is_centre && !habits.stopped_coming);
        let arrangements = self.arrangements(&episode, stage, place_index, &orders, habits);

        let mut plan = PatientPlan {
            id,
            patient: NewPatient {
                national_id,
                given_name: given_name.to_string(),
                family_name: family_name.to_string(),
                phone,
                address,
            },
            photo,
            created_by: consultant,
            created_at: at(plus(started_on, -21), 10, 15),
            episode,
            orders,
            arrangements,
            covers: Vec::new(),
            events: Vec::new(),
            place: place_index,
            blocked: false,
        };
        plan.covers = self.covers(&plan);
        plan.events = self.history(&plan, habits)?;
        plan.blocked = self.is_blocked(&plan);
        if plan.blocked != habits.stopped_coming {
            bail!(
                "demo patient {} {} is {} by the missed-dose rule, which the demo did not intend",
                plan.patient.given_name,
                plan.patient.family_name,
                if plan.blocked { "blocked" } else { "not blocked" }
            );
        }
        Ok(plan)
    }

    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        episode: &Episode,
        version: u32,
        substance: Substance,
        form: Form,
        dose: DailyDose,
        effective_from: Date,
        titration: Vec<(Date, u64)>,
        reason: &str,
        warnings_confirmed: Option<&str>,
    ) -> SignedDoseOrder {
        let signed_on = if version == 1 {
            plus(effective_from, -1)
        } else {
            plus(effective_from, -self.rng.between(1, 3))
        };
        let signed_at = at(signed_on, 13, self.rng.between(0, 59) as i8);
        let order = DoseOrder {
            id: DoseOrderId::new(),
            patient_id: episode.patient_id,
            episode_id: episode.id,
            content: DoseOrderContent {
                substance,
                form,
                dose,
                effective_from,
                titration: titration
                    .into_iter()
                    .map(|(from, amount)| TitrationStep {
                        from,
                        dose: daily(&[amount]),
                    })
                    .collect(),
                reason: reason.to_string(),
            },
            created_by: episode.doctor,
            created_at: signed_at - SignedDuration::from_mins(25),
            signature: Some(Signature {
                version,
                signed_by: episode.doctor,
                signed_at,
                warnings_confirmed: warnings_confirmed.map(str::to_string),
            }),
            discard: None,
        };
        SignedDoseOrder::from_stored(order).expect("the order carries a signature")
    }

    /// The signed versions of the patient's dose order, oldest first.
    fn orders(&mut self, episode: &Episode, stage: Stage, may_have_depot: bool) -> Vec<SignedDoseOrder> {
        let start = episode.started_on;
        let roll = self.rng.below(100);
        let mut versions = Vec::new();
        let methadone_start = |g: &mut Self, versions: &mut Vec<SignedDoseOrder>, target: u64| {
            // The 2010 start regime: 30 mg, then 10 mg more every 14 days.
            let steps: Vec<(Date, u64)> = (1..)
                .map(|k| (plus(start, 14 * k), 30 + 10 * k as u64))
                .take_while(|(_, dose)| *dose <= target.max(40))
                .collect();
            let order = g.order(
                episode,
                1,
                Substance::MethadoneOralSolution,
                Form::OralSolution,
                daily(&[30]),
                start,
                steps,
                "Oppstart i LAR med metadon etter vurdering av rusmiddelbruk og tidligere behandling. Opptrapping etter plan.",
                None,
            );
            versions.push(order);
        };
        let buprenorphine_start =
            |g: &mut Self, versions: &mut Vec<SignedDoseOrder>, substance: Substance| {
                let form = if substance == Substance::BuprenorphineNaloxone {
                    Form::SublingualFilm
                } else {
                    Form::SublingualTablet
                };
                let order = g.order(
                    episode,
                    1,
                    substance,
                    form,
                    daily(&[8]),
                    start,
                    vec![(plus(start, 1), 12), (plus(start, 3), 16)],
                    "Oppstart i LAR med buprenorfin. Opptrapping over de første dagene.",
                    None,
                );
                versions.push(order);
            };
        match stage {
            Stage::Start => {
                if roll < 45 {
                    let target = 60 + 10 * self.rng.below(3);
                    methadone_start(self, &mut versions, target);
                } else {
                    buprenorphine_start(self, &mut versions, Substance::BuprenorphineNaloxone);
                }
                return versions;
            }
            Stage::Stabilisation | Stage::Continuation => {}
        }
        let long = stage == Stage::Continuation;
        let settle = plus(start, if long { self.rng.between(60, 150) } else { 60 });
        if may_have_depot && roll < 8 {
            // Buprenorphine first, then depot injections given at the centre.
            buprenorphine_start(self, &mut versions, Substance::BuprenorphineNaloxone);
            let depot_from = if long {
                plus(self.today, -self.rng.between(90, 400)).max(plus(settle, 14))
            } else {
                settle
            };
            let weekly = roll < 5;
            let (substance, amount) = if weekly {
                (
                    Substance::DepotBuprenorphineWeekly,
                    8 * self.rng.between(2, 4) as u64,
                )
            } else {
                (
                    Substance::DepotBuprenorphineMonthly,
                    *self.rng.pick(&[96, 128, 160]),
                )
            };
            let order = self.order(
                episode,
                2,
                substance,
                Form::Injection,
                daily(&[amount]),
                depot_from,
                Vec::new(),
                "Overgang til depotinjeksjon etter pasientens ønske; settes av helsepersonell ved LAR-senteret.",
                None,
            );
            versions.push(order);
        } else if roll < 11 {
            // Slow-release morphine where methadone and buprenorphine did not suit.
            let order = self.order(
                episode,
                1,
                Substance::SlowReleaseMorphine,
                Form::ExtendedReleaseCapsule,
                daily(&[300]),
                start,
                Vec::new(),
                "Oppstart med depotmorfin etter bivirkninger av metadon i tidligere behandling.",
                None,
            );
            versions.push(order);
            let dose = 100 * self.rng.between(4, 8) as u64;
            let order = self.order(
                episode,
                2,
                Substance::SlowReleaseMorphine,
                Form::ExtendedReleaseCapsule,
                daily(&[dose]),
                settle,
                Vec::new(),
                "Dosejustering etter stabilisering.",
                Some("Gradvis opptrapping gjennomført; pasienten er tolerant for dosen."),
            );
            versions.push(order);
        } else if roll < 51 {
            let target = 5 * self.rng.between(12, 24) as u64;
            methadone_start(self, &mut versions, target);
            let split = self.rng.chance(0.08) && target >= 80;
            let dose = if split {
                let morning = (target * 3 / 5) / 5 * 5;
                daily(&[morning, target - morning])
            } else {
                daily(&[target])
            };
            let order = self.order(
                episode,
                2,
                Substance::MethadoneOralSolution,
                Form::OralSolution,
                dose,
                settle,
                Vec::new(),
                if split {
                    "Stabil dose, delt i morgen- og ettermiddagsdose pga. rask metabolisme."
                } else {
                    "Stabil dose etter opptrapping; god effekt uten sedasjon."
                },
                None,
            );
            versions.push(order);
            if long && self.rng.chance(0.35) {
                let changed = if self.rng.chance(0.5) {
                    target + 10
                } else {
                    target - 10
                };
                let from = plus(self.today, -self.rng.between(20, 300));
                let from = from.max(plus(settle, 30));
                let order = self.order(
                    episode,
                    3,
                    Substance::MethadoneOralSolution,
                    Form::OralSolution,
                    daily(&[changed]),
                    from,
                    Vec::new(),
                    if changed > target {
                        "Økt dose etter abstinensplager og sug."
                    } else {
                        "Redusert dose etter pasientens ønske om nedtrapping på sikt."
                    },
                    None,
                );
                versions.push(order);
            }
        } else {
            let substance = if roll < 85 {
                Substance::BuprenorphineNaloxone
            } else {
                Substance::BuprenorphineSublingual
            };
            buprenorphine_start(self, &mut versions, substance);
            let target = 2 * self.rng.between(4, 12) as u64;
            let form = versions[0].content().form;
            let order = self.order(
                episode,
                2,
                substance,
                form,
                daily(&[target]),
                settle,
                Vec::new(),
                "Dosejustering etter stabilisering.",
                None,
            );
            versions.push(order);
            if long && self.rng.chance(0.25) {
                let changed = if target >= 12 { target - 2 } else { target + 2 };
                let from = plus(self.today, -self.rng.between(20, 300)).max(plus(settle, 30));
                let order = self.order(
                    episode,
                    3,
                    substance,
                    form,
                    daily(&[changed]),
                    from,
                    Vec::new(),
                    "Justert dose etter samtale om søvn og sug.",
                    None,
                );
                versions.push(order);
            }
        }
        versions
    }

    /// The arrangement versions: daily supervised intake at first, then a step on the
    /// ladder for those who have been stable for a while.
    fn arrangements(
        &mut self,
        episode: &Episode,
        stage: Stage,
        place_index: usize,
        orders: &[SignedDoseOrder],
        habits: Habits,
    ) -> Vec<Arrangement> {
        let place = &self.world.places[place_index];
        let closed_sundays = !place.org.open_weekdays[6];
        let first_week = if closed_sundays { SIX_DAYS } else { DAILY };
        let group = if !place.groups.is_empty() && self.rng.chance(0.8) {
            Some(self.rng.pick(&place.groups).clone())
        } else {
            None
        };
        let own_window = if group.is_none() {
            let (start, end) = place.own_window;
            TimeWindow::new(start, end)
        } else {
            None
        };
        let start = episode.started_on;
        let mut versions: Vec<(String, Date, String)> = vec![(
            first_week.to_string(),
            start,
            "Daglig overvåket inntak i oppstarten.".to_string(),
        )];
        let depot_from = orders
            .iter()
            .find(|o| o.content().substance.is_depot())
            .map(|o| o.content().effective_from);
        if let Some(from) = depot_from {
            versions.push((
                ONCE_A_WEEK.to_string(),
                from,
                "Depotinjeksjon ved senteret; ingen ta-med-doser å utlevere.".to_string(),
            ));
        } else if stage == Stage::Continuation && !habits.stopped_coming && !habits.missed_yesterday {
            let ladder: &[(&str, u64)] = if place_index == 0 {
                &[
                    (DAILY, 50),
                    (THREE_A_WEEK, 20),
                    (TWICE_A_WEEK, 15),
                    (ONCE_A_WEEK, 15),
                ]
            } else if closed_sundays {
                &[
                    (SIX_DAYS, 30),
                    (THREE_A_WEEK, 25),
                    (TWICE_A_WEEK, 25),
                    (ONCE_A_WEEK, 20),
                ]
            } else if place.org.kind == OrganisationKind::MunicipalLarCentre {
                &[
                    (DAILY, 30),
                    (THREE_A_WEEK, 25),
                    (TWICE_A_WEEK, 25),
                    (ONCE_A_WEEK, 20),
                ]
            } else {
                &[(DAILY, 100)]
            };
            let mut roll = self.rng.below(100);
            let week = ladder
                .iter()
                .find(|(_, weight)| {
                    if roll < *weight {
                        true
                    } else {
                        roll -= weight;
                        false
                    }
                })
                .map(|(week, _)| *week)
                .unwrap_or(DAILY);
            if week != first_week {
                // Most moved up the ladder long ago; a few in the last weeks.
                let from = if self.rng.chance(0.1) {
                    plus(self.today, -self.rng.between(10, 40))
                } else {
                    plus(start, self.rng.between(90, 200)).min(plus(self.today, -45))
                };
                versions.push((
                    week.to_string(),
                    from,
                    "Stabil i behandlingen, rusfrie prøver og god oppfølging; flere ta-med-doser."
                        .to_string(),
                ));
                if week != DAILY && self.rng.chance(0.08) {
                    versions.push((
                        first_week.to_string(),
                        plus(self.today, -self.rng.between(3, 30)).max(plus(from, 7)),
                        "Tilbakefall; tilbake til daglig overvåket inntak inntil ny vurdering.".to_string(),
                    ));
                }
            }
        } else if stage == Stage::Stabilisation && self.rng.chance(0.4) {
            let week = if closed_sundays { SIX_DAYS } else { THREE_A_WEEK };
            if week != first_week {
                versions.push((
                    week.to_string(),
                    plus(start, 90),
                    "Tre måneder med daglig inntak uten bekymring; første trinn med ta-med-doser."
                        .to_string(),
                ));
            }
        }
        let count = versions.len();
        versions
            .into_iter()
            .enumerate()
            .map(|(i, (week, valid_from, reason))| {
                let last = i + 1 == count;
                let review_on = if !last {
                    plus(valid_from, 90)
                } else if self.rng.chance(0.1) {
                    // Overdue: the review date passed without a new decision.
                    plus(self.today, -self.rng.between(1, 30)).max(plus(valid_from, 1))
                } else {
                    plus(self.today, self.rng.between(7, 180))
                };
                let decided_on = plus(valid_from, -self.rng.between(1, 4));
                Arrangement {
                    id: ArrangementId::new(),
                    patient_id: episode.patient_id,
                    version: (i + 1) as u32,
                    content: ArrangementContent {
                        place_id: place.org.id,
                        week: WeekPlan::from_code(&week).expect("ladder week codes are valid"),
                        valid_from,
                        review_on,
                        group_id: group.as_ref().map(|g| g.id),
                        window: own_window,
                        reason,
                    },
                    decided_by: episode.doctor,
                    decided_at: at(decided_on, 14, self.rng.between(0, 59) as i8),
                }
            })
            .collect()
    }

    /// Covers for the days whose dose would be collected when the place is closed (a
    /// public holiday, or a pharmacy's Sunday): take-home doses handed over on the
    /// last open day before, within the week that take-home doses may span; else on
    /// the first open day after; else at the holiday place. Every past day is covered;
    /// for the coming two weeks most patients are, and the rest show as warnings on
    /// the list until the prescriber decides.
    fn covers(&mut self, plan: &PatientPlan) -> Vec<Cover> {
        let world = self.world;
        let place = &world.places[plan.place];
        let schedule = PatientSchedule {
            episode: &plan.episode,
            orders: &plan.orders,
            arrangements: &plan.arrangements,
            covers: &[],
            stays: &[],
        };
        let decided_ahead = self.rng.chance(0.7);
        let mut covers = Vec::new();
        for date in days_inclusive(self.history_from, plus(self.today, 14)) {
            if schedule.doses_on(date).is_empty() {
                continue;
            }
            let Some(attendance) = schedule.attendance_for(date) else {
                continue;
            };
            if place.org.is_open_on(attendance.day) || (date >= self.today && !decided_ahead) {
                continue;
            }
            let earliest = plus(date, -(MAX_DAYS_AHEAD - 1));
            let before = days_inclusive(earliest, plus(attendance.day, -1))
                .filter(|d| place.org.is_open_on(*d))
                .last();
            let after =
                days_inclusive(plus(attendance.day, 1), plus(date, -1)).find(|d| place.org.is_open_on(*d));
            let kind = match before.or(after) {
                Some(from) => CoverKind::TakeHomeFrom(from),
                None => CoverKind::AtPlace(world.places[0].org.id),
            };
            let kind = if validate_cover(date, kind).is_ok() {
                kind
            } else {
                CoverKind::AtPlace(world.places[0].org.id)
            };
            let decided_on = match kind {
                CoverKind::TakeHomeFrom(from) => from,
                CoverKind::AtPlace(_) => date,
            }
            .min(self.today);
            covers.push(Cover {
                id: CoverId::new(),
                patient_id: plan.id,
                date,
                kind,
                decided_by: plan.episode.doctor,
                decided_at: at(plus(decided_on, -self.rng.between(3, 10)), 11, 0),
            });
        }
        covers
    }

    /// The dispensings from the start of the history to yesterday: what the schedule
    /// says was due at the place each day, mostly given, now and then withheld,
    /// reduced or not collected. A run of days without dose is kept to three, so that
    /// only the patient who stopped coming is blocked.
    fn history(&mut self, plan: &PatientPlan, habits: Habits) -> anyhow::Result<Vec<PlannedEvent>> {
        let world = self.world;
        let schedule = PatientSchedule {
            episode: &plan.episode,
            orders: &plan.orders,
            arrangements: &plan.arrangements,
            covers: &plan.covers,
            stays: &[],
        };
        // The patient's own place, and the holiday place if a cover sends them there.
        let mut place_indexes = vec![plan.place];
        if plan.place != 0
            && plan
                .covers
                .iter()
                .any(|c| matches!(c.kind, CoverKind::AtPlace(_)))
        {
            place_indexes.push(0);
        }
        let stopped_from = plus(self.yesterday, -5);
        let mut already: HashSet<DoseKey> = HashSet::new();
        let mut run_without = 0usize;
        let mut events = Vec::new();
        for (day, place_index) in days_inclusive(self.history_from, self.yesterday)
            .flat_map(|day| place_indexes.iter().map(move |p| (day, *p)))
        {
            let place = &world.places[place_index];
            let Some(arrangement) = effective_arrangement(&plan.arrangements, day) else {
                continue;
            };
            if !place.org.is_open_on(day) {
                continue;
            }
            // Demo patients take a depot injection on its scheduled day (its window
            // lets it be given a little early or late), and nothing twice.
            let due: Vec<_> = schedule
                .due_at(place.org.id, day)
                .into_iter()
                .filter(|d| !already.contains(&d.scheduled.key))
                .filter(|d| d.mode != IntakeMode::Injection || d.scheduled.key.date == day)
                .collect();
            if due.is_empty() {
                continue;
            }
            let window = if place_index == plan.place {
                arrangement.content.window.or_else(|| {
                    place
                        .groups
                        .iter()
                        .find(|g| Some(g.id) == arrangement.content.group_id)
                        .map(|g| g.window)
                })
            } else {
                None
            }
            .unwrap_or(TimeWindow {
                start: place.own_window.0,
                end: place.own_window.1,
            });
            let dates: HashSet<Date> = due.iter().map(|d| d.scheduled.key.date).collect();
            let single_supervised = due.len() == 1 && due[0].mode == IntakeMode::Supervised;
            let may_go_without = run_without + dates.len() <= 3;
            if habits.stopped_coming && day >= stopped_from {
                continue;
            }
            let stayed_away = (habits.missed_yesterday && day == self.yesterday)
                || (may_go_without && self.rng.chance(habits.miss_rate));
            if stayed_away {
                run_without += dates.len();
                continue;
            }
            let outcome = if habits.stopped_coming {
                Outcome::Given
            } else if single_supervised && may_go_without && self.rng.chance(0.004) {
                Outcome::Withheld {
                    reason: self.rng.pick(&[
                        "Tydelig ruset ved forsvarlighetsvurderingen (sluddrete tale, ustø). Dosen holdt tilbake; lege varslet.",
                        "Pasienten virket sterkt påvirket av benzodiazepiner. Dosen holdt tilbake etter samtale; lege varslet samme dag.",
                    ])
                    .to_string(),
                }
            } else if single_supervised && self.rng.chance(0.004) {
                let ordered = due[0].scheduled.dose.micrograms();
                let half = (ordered / 2 / 1000).max(1) * 1000;
                Outcome::Reduced {
                    given: Dose::from_micrograms(half),
                    reason: "Påvirket ved oppmøte, men ikke tydelig ruset. Halv dose etter samtale med lege på telefon.".to_string(),
                }
            } else {
                Outcome::Given
            };
            if outcome.is_dosed() {
                run_without = 0;
            } else {
                run_without += dates.len();
            }
            let recorded = plan_recording(&due, &[], &already, &outcome, true, false)
                .map_err(|refusal| anyhow!("demo dispensing refused: {refusal}"))?;
            already.extend(recorded.iter().map(|r| r.key));
            let order_ids = recorded
                .iter()
                .map(|r| {
                    due.iter()
                        .find(|d| d.scheduled.key == r.key)
                        .map(|d| d.scheduled.order_id)
                        .expect("recorded from what was due")
                })
                .collect();
            let minutes = window.end.duration_since(window.start).as_mins();
            let arrived = window
                .start
                .checked_add(SignedDuration::from_mins(self.rng.between(0, minutes)))
                .expect("within the day");
            let recorded_at = oslo_timestamp(day.to_datetime(arrived));
            let staff = *self.rng.pick(&place.staff);
            let id = DispensingId::new();
            events.push(PlannedEvent {
                event: DispensingEvent {
                    id,
                    idempotency_key: format!("demo-{id}"),
                    patient_id: plan.id,
                    place_id: place.org.id,
                    day,
                    outcome: outcome.kind(),
                    reason: outcome.reason().map(str::to_string),
                    identity_confirmed_by: staff,
                    recorded_by: staff,
                    recorded_at,
                },
                substance: due[0].scheduled.substance,
                doses: recorded,
                order_ids,
                takes: Vec::new(),
            });
        }
        Ok(events)
    }

    /// The missed-dose rule applied to the history, as today's list will apply it.
    fn is_blocked(&self, plan: &PatientPlan) -> bool {
        let schedule = PatientSchedule {
            episode: &plan.episode,
            orders: &plan.orders,
            arrangements: &plan.arrangements,
            covers: &plan.covers,
            stays: &[],
        };
        let dosed: HashSet<Date> = plan
            .events
            .iter()
            .filter(|e| e.event.outcome.is_dosed())
            .flat_map(|e| e.doses.iter().map(|d| d.key.date))
            .collect();
        // From a week into the history: the days before may have had take-home doses
        // handed over before the history starts.
        let from = plus(self.history_from, 7);
        schedule
            .missed_state_from(
                from,
                self.today,
                &|d| dosed.contains(&d),
                &MissedDosePolicy::default(),
            )
            .is_blocked()
    }
}

// ------------------------------------------------------------------ stock

struct PlannedEntry {
    place: OrganisationId,
    product: &'static Product,
    movement: StockMovement,
    quantity: Quantity,
    note: String,
    /// The count a counted line belongs to.
    count: Option<String>,
    by: UserId,
    at: Timestamp,
}

struct StockPlan {
    entries: Vec<PlannedEntry>,
    counts: Vec<StockCount>,
    deviations: Vec<Deviation>,
    follow_ups: Vec<FollowUp>,
}

/// What a demo place keeps of a substance: pharmacies dispense methadone from the
/// 5 mg/ml solution, the others from 1 mg/ml; tablets in two or three strengths;
/// depot syringes and capsules in every strength. Balances are nominal: the choice
/// only needs to know what is there.
fn demo_shelf(kind: OrganisationKind, substance: Substance) -> Vec<(&'static Product, Quantity)> {
    let codes: &[&str] = match (kind, substance) {
        (OrganisationKind::Pharmacy, Substance::MethadoneOralSolution) => &["methadone_solution_5mg_ml"],
        (_, Substance::MethadoneOralSolution) => &["methadone_solution_1mg_ml"],
        (OrganisationKind::MunicipalLarCentre, Substance::BuprenorphineNaloxone) => &[
            "buprenorphine_naloxone_tablet_2mg",
            "buprenorphine_naloxone_tablet_8mg",
            "buprenorphine_naloxone_tablet_16mg",
        ],
        (_, Substance::BuprenorphineNaloxone) => &[
            "buprenorphine_naloxone_tablet_2mg",
            "buprenorphine_naloxone_tablet_8mg",
        ],
        (_, Substance::BuprenorphineSublingual) => &["buprenorphine_tablet_2mg", "buprenorphine_tablet_8mg"],
        _ => &[],
    };
    let products: Vec<&'static Product> = if codes.is_empty() {
        Product::of(substance).collect()
    } else {
        codes.iter().filter_map(|c| Product::from_code(c)).collect()
    };
    products
        .into_iter()
        .map(|p| (p, Quantity::whole(1_000_000)))
        .collect()
}

/// How a delivery is rounded up: whole litre bottles of solution, packs of 28
/// tablets, 30 capsules, syringes in fives.
fn pack(product: &Product) -> i64 {
    match product.unit {
        samhand_domain::stock::Unit::Millilitre => 1_000_000,
        samhand_domain::stock::Unit::Tablet => 28_000,
        samhand_domain::stock::Unit::Capsule => 30_000,
        samhand_domain::stock::Unit::Syringe => 5_000,
    }
}

impl StockPlan {
    /// Which products each recorded dose was taken from, as the server's
    /// `take_for_dispensing` decides it from what the place keeps.
    fn take_from_shelves(world: &World, plans: &mut [PatientPlan]) {
        let kinds: HashMap<OrganisationId, OrganisationKind> =
            world.places.iter().map(|p| (p.org.id, p.org.kind)).collect();
        for plan in plans {
            for e in &mut plan.events {
                let shelf = demo_shelf(kinds[&e.event.place_id], e.substance);
                e.takes = products_for_dose(e.substance, e.given(), &shelf);
            }
        }
    }

    /// Deliveries every fortnight sized to what was dispensed (the first centre's
    /// first methadone delivery is a round 12 000 ml on top), one spill, a count of
    /// every product at every place yesterday evening signed by two (one short,
    /// which is the open deviation), and a near miss followed up and closed.
    fn from_patients(world: &World, plans: &[PatientPlan], from: Date, yesterday: Date) -> Self {
        let place_index: HashMap<OrganisationId, usize> = world
            .places
            .iter()
            .enumerate()
            .map(|(i, p)| (p.org.id, i))
            .collect();
        let mut dispensed: HashMap<(usize, &'static str), Vec<(Date, Quantity)>> = HashMap::new();
        for plan in plans {
            for e in &plan.events {
                for take in &e.takes {
                    dispensed
                        .entry((place_index[&e.event.place_id], take.product.code))
                        .or_default()
                        .push((e.event.day, take.quantity));
                }
            }
        }
        let mut keys: Vec<(usize, &'static str)> = dispensed.keys().copied().collect();
        keys.sort_by_key(|(place, code)| (*place, Product::ALL.iter().position(|p| p.code == *code)));
        let mut entries = Vec::new();
        let mut counts = Vec::new();
        let mut deviations = Vec::new();
        let threshold = samhand_domain::policy::ClinicalPolicy::default().stock_count_deviation_threshold;
        for (place_index, code) in keys {
            let place = &world.places[place_index];
            let product = Product::from_code(code).expect("a catalogue product");
            let by = place.staff[0];
            let movements = &dispensed[&(place_index, code)];
            let mut ledger: Vec<(StockMovement, Quantity)> = Vec::new();
            let mut period_start = from;
            let mut first = true;
            while period_start <= yesterday {
                let period_end = plus(period_start, 14);
                let need: i64 = movements
                    .iter()
                    .filter(|(d, _)| *d >= period_start && *d < period_end)
                    .map(|(_, q)| q.milli())
                    .sum();
                // The first delivery also builds a buffer of a week's use.
                let wanted = need * if first { 16 } else { 11 } / 10;
                let mut milli = (wanted + pack(product) - 1) / pack(product) * pack(product);
                if first && place_index == 0 && code == "methadone_solution_1mg_ml" {
                    milli += 12_000_000;
                }
                if milli > 0 {
                    let delivery = PlannedEntry {
                        place: place.org.id,
                        product,
                        movement: StockMovement::Received,
                        quantity: Quantity::from_milli(milli),
                        note: "Levert fra sykehusapoteket.".into(),
                        count: None,
                        by,
                        at: at(period_start, 7, 30),
                    };
                    ledger.push((delivery.movement, delivery.quantity));
                    entries.push(delivery);
                }
                first = false;
                period_start = period_end;
            }
            ledger.extend(movements.iter().map(|(_, q)| (StockMovement::Dispensed, *q)));
            if place_index == 0 && code == "methadone_solution_1mg_ml" {
                let spill = PlannedEntry {
                    place: place.org.id,
                    product,
                    movement: StockMovement::Wasted,
                    quantity: Quantity::whole(5),
                    note: "Sølt under utmåling; kassert i påsyn av kollega.".into(),
                    count: None,
                    by,
                    at: at(plus(yesterday, -9), 9, 12),
                };
                ledger.push((spill.movement, spill.quantity));
                entries.push(spill);
            }
            let expected = balance(&ledger);
            let short = place_index == 1 && product.substance == Substance::MethadoneOralSolution;
            let counted = Quantity::from_milli((expected.milli() - if short { 30_000 } else { 0 }).max(0));
            let counted_at = at(yesterday, 20, 0);
            let count = StockCount {
                id: uuid::Uuid::now_v7().to_string(),
                place_id: place.org.id,
                product,
                counted,
                expected,
                note: "Ukentlig telling ved stengetid.".into(),
                counted_by: by,
                witnessed_by: place.witness,
                counted_at,
            };
            entries.push(PlannedEntry {
                place: place.org.id,
                product,
                movement: StockMovement::Counted,
                quantity: counted,
                note: count.note.clone(),
                count: Some(count.id.clone()),
                by,
                at: counted_at,
            });
            let difference = counted - expected;
            if is_deviation(product, difference, threshold) {
                let name = |id: UserId| {
                    world
                        .users
                        .iter()
                        .find(|u| u.id == id)
                        .map_or("", |u| u.display_name.as_str())
                };
                deviations.push(Deviation {
                    id: DeviationId::new().to_string(),
                    place_id: place.org.id,
                    kind: samhand_domain::stock::DeviationKind::StockCountMismatch,
                    substance: Some(product.substance),
                    product: Some(product),
                    count_id: Some(count.id.clone()),
                    difference_ug: Some(product.micrograms(difference)),
                    description: format!(
                        "Telling av {}: talt {}, regnskapet sa {}. Differanse {}. Talt av {}, kontrollert av {}.",
                        product.name_nb,
                        product.quantity_with_mg_nb(counted),
                        product.quantity_with_mg_nb(expected),
                        product.quantity_with_mg_nb(difference),
                        name(by),
                        name(place.witness)
                    ),
                    reported_by: by,
                    reported_at: counted_at,
                });
            }
            counts.push(count);
        }
        let first = &world.places[0];
        let near_miss = Deviation {
            id: DeviationId::new().to_string(),
            place_id: first.org.id,
            kind: samhand_domain::stock::DeviationKind::NearMiss,
            substance: None,
            product: None,
            count_id: None,
            difference_ug: None,
            description: "Nestenhendelse: to pasienter med samme etternavn sto i kø samtidig, og feil dose ble \
                          tatt fram. Identiteten ble kontrollert mot bildet før utlevering, og riktig dose ble \
                          gitt."
                .into(),
            reported_by: first.staff[0],
            reported_at: at(plus(yesterday, -11), 10, 40),
        };
        let leader = world
            .users
            .iter()
            .find(|u| u.username == "leder")
            .map(|u| u.id)
            .expect("the demo has a leader");
        let follow_ups = vec![
            FollowUp {
                id: uuid::Uuid::now_v7().to_string(),
                deviation_id: near_miss.id.clone(),
                note: "Gjennomgått på personalmøtet samme uke.".into(),
                closes: false,
                written_by: first.staff[0],
                written_at: at(plus(yesterday, -10), 14, 0),
            },
            FollowUp {
                id: uuid::Uuid::now_v7().to_string(),
                deviation_id: near_miss.id.clone(),
                note: "Rutinen for opprop med fullt navn og fødselsdato er innskjerpet og lagt i \
                       internkontrollsystemet. Lukket."
                    .into(),
                closes: true,
                written_by: leader,
                written_at: at(plus(yesterday, -8), 11, 15),
            },
        ];
        deviations.push(near_miss);
        Self {
            entries,
            counts,
            deviations,
            follow_ups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samhand_domain::policy::ClinicalPolicy;
    use samhand_domain::time::FixedClock;
    use samhand_server::service::{PatientData, missed_state, with_schedule};

    async fn demo_on(day: Date, size: DemoSize) -> (tempfile::TempDir, Store, FixedClock, Summary) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::connect(&Store::sqlite_url(dir.path()), 4)
            .await
            .expect("open SQLite");
        let clock = FixedClock::at_oslo(day, Time::constant(12, 0, 0, 0));
        let summary = create_demo_world(&store, &clock, "demo-password-for-tests", size)
            .await
            .expect("demo world");
        (dir, store, clock, summary)
    }

    /// Every patient's data as the service loads it, and their recorded doses.
    async fn stored_patients(
        store: &Store,
        today: Date,
    ) -> Vec<(PatientId, PatientData, Vec<dispensing::DispensedDose>)> {
        let mut conn = store.read().await.expect("connection");
        let mut ids = Vec::new();
        for org in organisations::all(&mut conn).await.expect("organisations") {
            for id in orders::patients_at_place(&mut conn, org.id, plus(today, -400))
                .await
                .expect("patients")
            {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let episodes = patients::episodes_of(&mut conn, &ids).await.expect("episodes");
        let signed = orders::signed_orders_of(&mut conn, &ids).await.expect("orders");
        let arrangements = orders::arrangements_of(&mut conn, &ids)
            .await
            .expect("arrangements");
        let covers = orders::covers_of(&mut conn, &ids).await.expect("covers");
        let doses = dispensing::doses_of(&mut conn, &ids, plus(today, -80), plus(today, 7))
            .await
            .expect("doses");
        ids.iter()
            .map(|id| {
                let data = PatientData {
                    episodes: episodes.iter().filter(|e| e.patient_id == *id).cloned().collect(),
                    orders: signed
                        .iter()
                        .filter(|o| o.order().patient_id == *id)
                        .cloned()
                        .collect(),
                    arrangements: arrangements
                        .iter()
                        .filter(|a| a.patient_id == *id)
                        .cloned()
                        .collect(),
                    covers: covers.iter().filter(|c| c.patient_id == *id).cloned().collect(),
                    privacy: Default::default(),
                };
                let recorded = doses.iter().filter(|d| d.patient_id == *id).cloned().collect();
                (*id, data, recorded)
            })
            .collect()
    }

    #[tokio::test]
    async fn the_demo_world_blocks_exactly_one_patient_and_is_created_only_once() {
        let today = jiff::civil::date(2026, 11, 23);
        let (_dir, store, clock, summary) = demo_on(today, DemoSize::default()).await;
        assert_eq!(summary.patients, 300);
        assert!((60..=80).contains(&summary.patients_at_first_centre));
        assert_eq!(summary.logins.len(), 10);

        let stored = stored_patients(&store, today).await;
        assert_eq!(stored.len(), 300);
        let blocked: Vec<PatientId> = stored
            .iter()
            .filter(|(_, data, recorded)| {
                missed_state(data, recorded, today, &ClinicalPolicy::default()).is_blocked()
            })
            .map(|(id, _, _)| *id)
            .collect();
        assert_eq!(blocked.len(), 1, "exactly one patient must be reassessed");

        // Stock in real units: every count signed by two, one deviation open, and
        // the first centre's first methadone delivery above 12 000 mg.
        let mut conn = store.read().await.expect("connection");
        let mut open = 0;
        let mut largest_delivery = 0;
        for org in organisations::all(&mut conn).await.expect("organisations") {
            for count in stock::counts(&mut conn, org.id).await.expect("counts") {
                assert_ne!(count.counted_by, count.witnessed_by, "a count is signed by two");
            }
            let closed: Vec<String> = stock::follow_ups(&mut conn, org.id)
                .await
                .expect("follow-ups")
                .into_iter()
                .filter(|f| f.closes)
                .map(|f| f.deviation_id)
                .collect();
            open += stock::deviations(&mut conn, org.id)
                .await
                .expect("deviations")
                .iter()
                .filter(|d| !closed.contains(&d.id))
                .count();
            for line in stock::ledger(&mut conn, org.id).await.expect("ledger") {
                if line.movement == StockMovement::Received {
                    largest_delivery = largest_delivery.max(line.amount_ug);
                }
            }
        }
        drop(conn);
        assert_eq!(open, 1, "one open deviation");
        assert!(largest_delivery > 12_000_000, "{largest_delivery} µg");

        let again =
            create_demo_world_if_empty(&store, &clock, "demo-password-for-tests", DemoSize::default())
                .await
                .expect("second run");
        assert!(again.is_none(), "a second run changes nothing");
        assert_eq!(stored_patients(&store, today).await.len(), 300);
    }

    #[tokio::test]
    async fn the_demo_history_covers_every_day_a_place_was_closed_around_the_holidays() {
        // After Christmas, Easter Monday itself, after Easter, and after 17 May.
        for today in [
            jiff::civil::date(2026, 12, 28),
            jiff::civil::date(2027, 3, 29),
            jiff::civil::date(2027, 4, 6),
            jiff::civil::date(2027, 5, 18),
        ] {
            let (_dir, store, _clock, summary) = demo_on(today, DemoSize::with_patients(120)).await;
            let mut conn = store.read().await.expect("connection");
            let places: HashMap<OrganisationId, Organisation> = organisations::all(&mut conn)
                .await
                .expect("organisations")
                .into_iter()
                .map(|o| (o.id, o))
                .collect();
            drop(conn);
            let is_open = |p: OrganisationId, d: Date| places.get(&p).is_some_and(|o| o.is_open_on(d));
            assert!(summary.covers > 0, "{today}: some places were closed");
            let stored = stored_patients(&store, today).await;
            let mut blocked = 0;
            for (id, data, recorded) in &stored {
                let uncovered = with_schedule(data, plus(today, -1), |s| {
                    s.uncovered_days(summary.history_from, plus(today, -1), &is_open)
                })
                .unwrap_or_default();
                assert!(
                    uncovered
                        .iter()
                        .all(|u| u.dose_date < plus(summary.history_from, 7)),
                    "{today}: patient {id} has uncovered past days {uncovered:?}"
                );
                if missed_state(data, recorded, today, &ClinicalPolicy::default()).is_blocked() {
                    blocked += 1;
                }
            }
            assert_eq!(blocked, 1, "{today}: exactly one blocked patient");
        }
    }
}
