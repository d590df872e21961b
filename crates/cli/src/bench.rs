//! `samhand bench`: builds a country-sized world (10,000 patients, 40 places, a year
//! of dispensing history) in a fresh database and measures, through HTTP, recording
//! dispensings (throughput, p50/p99 latency, durable commits), today's list at a
//! 400-patient place, and the patient overview; and in the same run the raw durable
//! insert rate of the same database, so the dispensing rate can be reported as a
//! ratio of it. Figures go to BENCHMARKS.md by hand, with the machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use jiff::Span;
use jiff::civil::{Date, Time};
use samhand_domain::access::Actor;
use samhand_domain::arrangement::{Arrangement, ArrangementContent, TimeWindow, WeekPlan};
use samhand_domain::dose::Dose;
use samhand_domain::dose_order::{DailyDose, DoseOrder, DoseOrderContent, Signature};
use samhand_domain::ids::{ArrangementId, DoseOrderId, EpisodeId, OrganisationId, PatientId, UserId};
use samhand_domain::national_id::NationalId;
use samhand_domain::organisation::{Organisation, OrganisationKind, Role, StaffUser};
use samhand_domain::patient::{Episode, NewPatient, Phase};
use samhand_domain::substance::{Form, Substance};
use samhand_domain::time::{Clock, SystemClock, oslo_timestamp};
use samhand_server::{AppState, Config};
use samhand_store::users::NewUser;
use samhand_store::{Store, orders, organisations, patients, users};

use crate::rng::Rng;

/// The size of the world and of the measurements.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// Patients in the world.
    #[arg(long, default_value_t = 10_000)]
    pub patients: usize,
    /// Dispensing places.
    #[arg(long, default_value_t = 40)]
    pub places: usize,
    /// Patients at the first (largest) place, whose list is measured.
    #[arg(long, default_value_t = 400)]
    pub big_place_patients: usize,
    /// Days of dispensing history up to yesterday.
    #[arg(long, default_value_t = 365)]
    pub history_days: i64,
    /// Dispensings to record through HTTP (at most one per patient: today's dose).
    #[arg(long, default_value_t = 4_000)]
    pub dispensings: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Rows for the raw durable-insert measurement.
    #[arg(long, default_value_t = 4_000)]
    pub raw_inserts: usize,
    /// Keep the database here instead of a temporary directory (SQLite).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[index]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub async fn run(options: BenchOptions) -> anyhow::Result<()> {
    ensure!(
        options.places >= 2 && options.patients > options.big_place_patients,
        "the world is too small"
    );
    let dir = tempfile::tempdir()?;
    let data_dir = options
        .data_dir
        .clone()
        .unwrap_or_else(|| dir.path().to_path_buf());
    std::fs::create_dir_all(&data_dir)?;
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => samhand_store::testing::fresh_database_url(&data_dir).await,
        _ => Store::sqlite_url(&data_dir),
    };
    let store = Store::connect(&url, 32).await.context("connect")?;
    let backend = format!("{:?}", store.backend());
    println!("# samhand bench on {backend}");
    println!("{}", machine());

    let clock = SystemClock;
    let today = clock.today();
    let started = Instant::now();
    let world = build_world(&store, &options, today).await?;
    println!(
        "world: {} patients, {} places, {} days of history, built in {:.1} s",
        options.patients,
        options.places,
        options.history_days,
        started.elapsed().as_secs_f64()
    );

    let raw = raw_insert_rate(&store, options.raw_inserts, options.concurrency).await?;
    println!(
        "raw durable inserts: {raw:.0} rows/s (one row per committed transaction, {} in flight)",
        options.concurrency
    );

    // No scheduler in the measured server: its jobs would run beside the measurements.
    let config = Config::from_lookup(|key| match key {
        "SAMHAND_COOKIE_SECURE" => Some("false".to_string()),
        "SAMHAND_SCHEDULER_SECONDS" => Some("0".to_string()),
        _ => None,
    })?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(samhand_server::serve(listener, state.clone()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency * 2)
        .build()?;

    // Tokens: one per place's dispensing staff, and the prescriber's.
    let mut place_tokens = Vec::new();
    for username in &world.staff_usernames {
        let (token, _) = samhand_server::auth::issue_api_token(&state, username)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        place_tokens.push(token);
    }
    let (doctor_token, _) = samhand_server::auth::issue_api_token(&state, "bench.lege")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Recording dispensings: today's dose of distinct patients, spread over places.
    let jobs: Vec<(usize, PatientId)> = world
        .patients
        .iter()
        .filter(|(place, _)| *place != 0)
        .take(options.dispensings)
        .copied()
        .collect();
    let (elapsed, latencies) =
        record_dispensings(&client, &base, &place_tokens, &jobs, options.concurrency).await?;
    let rate = jobs.len() as f64 / elapsed.as_secs_f64();
    println!(
        "dispensing via HTTP: {} recordings in {:.2} s = {rate:.0}/s; p50 {}, p99 {}; ratio to raw durable inserts {:.2}",
        jobs.len(),
        elapsed.as_secs_f64(),
        ms(latencies.percentile(50.0)),
        ms(latencies.percentile(99.0)),
        rate / raw
    );

    measure_list(&client, &base, &place_tokens[0]).await?;
    measure_overview(&client, &base, &doctor_token, &world, options.history_days).await?;
    Ok(())
}

/// Records today's dose of each `(place, patient)` through HTTP, `concurrency` at
/// a time; the total time and each recording's latency.
async fn record_dispensings(
    client: &reqwest::Client,
    base: &str,
    place_tokens: &[String],
    jobs: &[(usize, PatientId)],
    concurrency: usize,
) -> anyhow::Result<(std::time::Duration, Latencies)> {
    let (job_client, job_base, job_tokens) =
        (client.clone(), base.to_string(), Arc::new(place_tokens.to_vec()));
    let (elapsed, latencies) = run_concurrently(concurrency, jobs.to_vec(), move |(place, patient)| {
        let (client, base, place_tokens) = (job_client.clone(), job_base.clone(), job_tokens.clone());
        let url = format!("{base}/api/v1/dispensings");
        let token = place_tokens[place].clone();
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", format!("bench-{patient}"))
                .json(&serde_json::json!({"patient_id": patient.to_string(), "identity_confirmed": true}))
                .send()
                .await?;
            ensure!(
                response.status() == reqwest::StatusCode::CREATED,
                "dispense: {}",
                response.text().await?
            );
            Ok(())
        }
    })
    .await?;
    Ok((elapsed, latencies))
}

/// Today's list at the big place, twenty times (every view writes one audit entry
/// per patient).
async fn measure_list(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<()> {
    let list_url = format!("{base}/api/v1/dispensing/today");
    let mut list_latencies = Vec::new();
    let mut rows = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let response = client.get(&list_url).bearer_auth(token).send().await?;
        ensure!(response.status().is_success(), "list: {}", response.status());
        let body: serde_json::Value = response.json().await?;
        list_latencies.push(t.elapsed());
        rows = body["rows"].as_array().map(Vec::len).unwrap_or(0);
    }
    let list = Latencies(list_latencies);
    println!(
        "today's list at the big place ({rows} patients): p50 {}, p99 {}",
        ms(list.percentile(50.0)),
        ms(list.percentile(99.0))
    );

    Ok(())
}

/// The patient overview as the prescriber reads it, for 200 random patients.
async fn measure_overview(
    client: &reqwest::Client,
    base: &str,
    doctor_token: &str,
    world: &BenchWorld,
    history_days: i64,
) -> anyhow::Result<()> {
    let mut rng = Rng::new(7);
    let mut overview_latencies = Vec::new();
    for _ in 0..200 {
        let (_, patient) = world.patients[rng.below(world.patients.len() as u64) as usize];
        let t = Instant::now();
        let response = client
            .get(format!("{base}/api/v1/patients/{patient}"))
            .bearer_auth(doctor_token)
            .send()
            .await?;
        ensure!(response.status().is_success(), "overview: {}", response.status());
        let _: serde_json::Value = response.json().await?;
        overview_latencies.push(t.elapsed());
    }
    let overview = Latencies(overview_latencies);
    println!(
        "patient overview ({} days of history): p50 {}, p99 {}",
        history_days,
        ms(overview.percentile(50.0)),
        ms(overview.percentile(99.0))
    );
    Ok(())
}

/// Runs `job` for every item with at most `concurrency` in flight; the total time
/// and each job's latency.
async fn run_concurrently<T, F, Fut>(
    concurrency: usize,
    items: Vec<T>,
    job: F,
) -> anyhow::Result<(Duration, Latencies)>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let queue = Arc::new(tokio::sync::Mutex::new(items));
    let job = Arc::new(job);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        let job = job.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(item) = queue.lock().await.pop() else {
                    break;
                };
                let t = Instant::now();
                job(item).await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(result) = workers.join_next().await {
        all.extend(result??);
    }
    Ok((started.elapsed(), Latencies(all)))
}

/// Rows per second, each its own committed transaction, on the same database and
/// connection settings (synchronous=FULL on SQLite) as everything else.
async fn raw_insert_rate(store: &Store, rows: usize, concurrency: usize) -> anyhow::Result<f64> {
    {
        let mut tx = store.write().await?;
        samhand_store::bench::create_raw_table(&mut tx).await?;
        tx.commit().await?;
    }
    let store = store.clone();
    let (elapsed, _) = run_concurrently(concurrency, (0..rows).collect(), move |i| {
        let store = store.clone();
        async move {
            let mut tx = store.write().await?;
            samhand_store::bench::insert_raw(&mut tx, &format!("row-{i}"), "x").await?;
            tx.commit().await?;
            Ok(())
        }
    })
    .await?;
    Ok(rows as f64 / elapsed.as_secs_f64())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("machine: {cpu}, {cores} cores, {memory}")
}

struct BenchWorld {
    /// (place index, patient)
    patients: Vec<(usize, PatientId)>,
    staff_usernames: Vec<String>,
}

fn plus(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days)).expect("date in range")
}

/// Writes the world with multi-row inserts: every patient on a daily supervised
/// arrangement with one signed order, and a year of daily dispensings.
async fn build_world(store: &Store, options: &BenchOptions, today: Date) -> anyhow::Result<BenchWorld> {
    let history_from = plus(today, -options.history_days);
    let created = oslo_timestamp(history_from.to_datetime(Time::constant(7, 0, 0, 0)));
    let staff = write_organisations_and_staff(store, options, created).await?;
    let mut rng = Rng::new(0xBE4C);
    let mut patients = Vec::with_capacity(options.patients);
    let rest = options.patients - options.big_place_patients;
    for i in 0..options.patients {
        let place = if i < options.big_place_patients {
            0
        } else {
            1 + (i - options.big_place_patients) * (options.places - 1) / rest.max(1)
        };
        patients.push((place.min(options.places - 1), PatientId::new()));
    }
    let world = PatientWorld {
        unit: staff.unit,
        places: &staff.places,
        staff_ids: &staff.staff_ids,
        doctor: staff.doctor,
        consultant: staff.consultant,
        history_from,
        today,
        created,
        window: TimeWindow::new(Time::constant(8, 0, 0, 0), Time::constant(11, 30, 0, 0)),
    };
    let mut used = std::collections::HashSet::new();
    let actor = Actor::Staff(StaffUser {
        id: staff.doctor,
        username: "bench".into(),
        display_name: "Benk".into(),
        role: Role::Prescriber,
        organisation_id: staff.unit,
        organisation_kind: OrganisationKind::HealthTrustLarUnit,
    });
    for chunk in patients.chunks(500) {
        let ids: Vec<PatientId> = chunk.iter().map(|(_, id)| *id).collect();
        let mut tx = samhand_store::PatientWrite::synthetic_history(
            store,
            &actor,
            &ids,
            created,
            "bench history written",
        )
        .await?;
        let mut doses = Vec::new();
        for (place, patient_id) in chunk {
            doses.push(write_patient(&mut tx, &world, *place, *patient_id, &mut rng, &mut used).await?);
        }
        samhand_store::bench::insert_history(&mut tx, &doses, history_from, plus(today, -1)).await?;
        tx.commit().await?;
    }
    Ok(BenchWorld {
        patients,
        staff_usernames: staff.staff_usernames,
    })
}

/// The bench's LAR unit, its places and its staff, as written.
struct BenchStaff {
    unit: OrganisationId,
    places: Vec<Organisation>,
    doctor: UserId,
    consultant: UserId,
    staff_usernames: Vec<String>,
    staff_ids: Vec<UserId>,
}

/// Writes the LAR unit, the places and a dispensing staff member at each.
async fn write_organisations_and_staff(
    store: &Store,
    options: &BenchOptions,
    created: jiff::Timestamp,
) -> anyhow::Result<BenchStaff> {
    let unit = Organisation {
        id: OrganisationId::new(),
        name: "LAR-enheten (benk)".into(),
        kind: OrganisationKind::HealthTrustLarUnit,
        municipality: "Benk".into(),
        open_on_public_holidays: true,
        open_weekdays: [true; 7],
        closed_days: Vec::new(),
    };
    let places: Vec<Organisation> = (0..options.places)
        .map(|i| Organisation {
            id: OrganisationId::new(),
            name: format!("LAR-senter {i:02}"),
            kind: OrganisationKind::MunicipalLarCentre,
            municipality: format!("Kommune {i:02}"),
            open_on_public_holidays: true,
            open_weekdays: [true; 7],
            closed_days: Vec::new(),
        })
        .collect();
    let hash = samhand_server::auth::hash_password("benk-passord-123").map_err(|e| anyhow::anyhow!("{e}"))?;
    let doctor = UserId::new();
    let consultant = UserId::new();
    let mut staff_usernames = Vec::new();
    let mut staff_ids = Vec::new();
    {
        let mut tx = store.write().await?;
        organisations::insert(&mut tx, &unit, created).await?;
        for place in &places {
            organisations::insert(&mut tx, place, created).await?;
        }
        let add = |id, username: String, role, org| (id, username, role, org);
        let mut people = vec![
            add(doctor, "bench.lege".to_string(), Role::Prescriber, unit.id),
            add(
                consultant,
                "bench.konsulent".to_string(),
                Role::LarConsultant,
                unit.id,
            ),
        ];
        for (i, place) in places.iter().enumerate() {
            let username = format!("bench.utdeler.{i:02}");
            staff_usernames.push(username.clone());
            let id = UserId::new();
            staff_ids.push(id);
            people.push(add(id, username, Role::DispensingStaff, place.id));
        }
        for (id, username, role, org) in &people {
            users::insert(
                &mut tx,
                &NewUser {
                    id: *id,
                    username,
                    display_name: username,
                    role: *role,
                    organisation_id: *org,
                    password_hash: Some(&hash),
                },
                created,
            )
            .await?;
        }
        tx.commit().await?;
    }

    Ok(BenchStaff {
        unit: unit.id,
        places,
        doctor,
        consultant,
        staff_usernames,
        staff_ids,
    })
}

/// What every bench patient shares.
struct PatientWorld<'a> {
    unit: OrganisationId,
    places: &'a [Organisation],
    staff_ids: &'a [UserId],
    doctor: UserId,
    consultant: UserId,
    history_from: Date,
    today: Date,
    created: jiff::Timestamp,
    window: Option<TimeWindow>,
}

/// A synthetic patient with a national identity number not used before.
fn synthetic_patient(rng: &mut Rng, used: &mut std::collections::HashSet<String>) -> NewPatient {
    let national_id = loop {
        let birth = jiff::civil::date(
            1960 + rng.below(40) as i16,
            1 + rng.below(12) as i8,
            1 + rng.below(28) as i8,
        );
        if let Some(id) = NationalId::synthetic(birth, rng.below(500) as u16)
            && used.insert(id.as_str().to_string())
        {
            break id;
        }
    };
    NewPatient {
        national_id,
        given_name: format!("Benk{}", rng.below(100_000)),
        family_name: "Pasient".into(),
        phone: "40000000".into(),
        address: "Benkveien 1".into(),
    }
}

/// Methadone or buprenorphine-naloxone, at a daily dose in its usual range.
fn random_regimen(rng: &mut Rng) -> (Substance, Form, Dose) {
    if rng.chance(0.4) {
        (
            Substance::MethadoneOralSolution,
            Form::OralSolution,
            Dose::from_mg(60 + 10 * rng.below(6)),
        )
    } else {
        (
            Substance::BuprenorphineNaloxone,
            Form::SublingualTablet,
            Dose::from_mg(8 + 4 * rng.below(4)),
        )
    }
}

/// One daily dose from the episode's start, signed by the doctor as written.
fn signed_daily_order(
    w: &PatientWorld<'_>,
    episode: &Episode,
    substance: Substance,
    form: Form,
    dose: Dose,
) -> DoseOrder {
    DoseOrder {
        id: DoseOrderId::new(),
        patient_id: episode.patient_id,
        episode_id: episode.id,
        content: DoseOrderContent {
            substance,
            form,
            dose: DailyDose::new(vec![dose]).expect("dose"),
            effective_from: episode.started_on,
            titration: Vec::new(),
            reason: "Benk".into(),
        },
        created_by: w.doctor,
        created_at: w.created,
        signature: Some(Signature {
            version: 1,
            signed_by: w.doctor,
            signed_at: w.created,
            warnings_confirmed: None,
        }),
        discard: None,
    }
}

/// Writes one patient: identity, episode, a signed order and a daily arrangement at
/// `place`; the history of daily doses to write with the others.
async fn write_patient(
    tx: &mut samhand_store::PatientWrite,
    w: &PatientWorld<'_>,
    place: usize,
    patient_id: PatientId,
    rng: &mut Rng,
    used: &mut std::collections::HashSet<String>,
) -> anyhow::Result<samhand_store::bench::DailyHistory> {
    let new = synthetic_patient(rng, used);
    patients::insert(tx, patient_id, &new, w.doctor, w.created).await?;
    let episode = Episode {
        id: EpisodeId::new(),
        patient_id,
        responsible_unit: w.unit,
        doctor: w.doctor,
        consultant: w.consultant,
        started_on: w.history_from,
        phase: Phase::Continuation,
        ended: None,
        created_at: w.created,
    };
    patients::insert_episode(tx, &episode, w.doctor).await?;
    let (substance, form, dose) = random_regimen(rng);
    let order = signed_daily_order(w, &episode, substance, form, dose);
    orders::insert_draft(tx, &order).await?;
    let signed = samhand_domain::dose_order::SignedDoseOrder::from_stored(order.clone()).expect("signed");
    orders::insert_signature(tx, &signed).await?;
    orders::insert_arrangement(
        tx,
        &Arrangement {
            id: ArrangementId::new(),
            patient_id,
            version: 1,
            content: ArrangementContent {
                place_id: w.places[place].id,
                week: WeekPlan::daily_supervised(),
                valid_from: episode.started_on,
                review_on: plus(w.today, 90),
                group_id: None,
                window: w.window,
                reason: "Benk".into(),
            },
            decided_by: w.doctor,
            decided_at: w.created,
        },
    )
    .await?;
    Ok(samhand_store::bench::DailyHistory {
        patient: patient_id,
        place: w.places[place].id,
        staff: w.staff_ids[place],
        order: order.id,
        substance,
        dose,
    })
}
