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

mod phases;
pub mod probe;
mod reports;

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
    /// Overview reads in the read phase (per core used).
    #[arg(long, default_value_t = 4_000)]
    pub reads: usize,
    /// Requests in the mixed phase (four reads to one dispensing).
    #[arg(long, default_value_t = 4_000)]
    pub mixed: usize,
    /// Keep the database here instead of a temporary directory (SQLite).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Stop after the yearly status report is measured (no HTTP phases).
    #[arg(long)]
    pub status_report_only: bool,
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
    let state = AppState::new(store.clone(), Arc::new(SystemClock), bench_config(&data_dir)?);
    reports::measure_reports(&state, &world, today).await?;
    if options.status_report_only {
        return Ok(());
    }
    let base = spawn_server(&url, &data_dir)?;
    let target = Arc::new(target(&state, base, &world, &options).await?);
    let figures = measure(&target, &world, &options, raw).await?;
    if options.json {
        println!("{}", serde_json::json!(figures));
    }
    Ok(())
}

/// The measured server's configuration: no scheduler, whose jobs would run beside
/// the measurements; its files (exports) in the bench's data directory.
fn bench_config(data_dir: &std::path::Path) -> anyhow::Result<Config> {
    Ok(Config::from_lookup(|key| match key {
        "SAMHAND_COOKIE_SECURE" => Some("false".to_string()),
        "SAMHAND_SCHEDULER_SECONDS" => Some("0".to_string()),
        "SAMHAND_DATA_DIR" => Some(data_dir.display().to_string()),
        _ => None,
    })?)
}

/// Serves the database at `url` on a loopback port from a runtime of its own (two
/// workers, threads named [`probe::SERVER_THREADS`], its own connection pool), so
/// that its CPU time is told apart from the load generator's; its base URL.
fn spawn_server(url: &str, data_dir: &std::path::Path) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let base = format!("http://{}", listener.local_addr()?);
    let url = url.to_string();
    let config = bench_config(data_dir)?;
    let (ready_tx, ready) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    std::thread::Builder::new()
        .name(probe::SERVER_THREADS.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(probe::SERVER_THREADS)
                .enable_all()
                .build()
                .expect("the server's runtime");
            runtime.block_on(async move {
                let started = async {
                    let store = Store::connect(&url, 32).await?;
                    let state = AppState::new(store, Arc::new(SystemClock), config);
                    Ok::<_, anyhow::Error>((tokio::net::TcpListener::from_std(listener)?, state))
                }
                .await;
                match started {
                    Ok((listener, state)) => {
                        let _ = ready_tx.send(Ok(()));
                        let _ = samhand_server::serve(listener, state).await;
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            });
        })?;
    ready.recv()??;
    Ok(base)
}

/// Tokens for each place's dispensing staff and the prescriber.
async fn target(
    state: &AppState,
    base: String,
    world: &BenchWorld,
    options: &BenchOptions,
) -> anyhow::Result<phases::Target> {
    let mut place_tokens = Vec::new();
    for username in &world.staff_usernames {
        let (token, _) = samhand_server::auth::issue_api_token(state, username)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        place_tokens.push(token);
    }
    let (doctor_token, _) = samhand_server::auth::issue_api_token(state, "bench.lege")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(phases::Target {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(options.concurrency * 2)
            .build()?,
        base,
        place_tokens: Arc::new(place_tokens),
        doctor_token,
        patients: Arc::new(world.patients.clone()),
        concurrency: options.concurrency,
    })
}

/// The figures of a run, as `--json` prints them.
#[derive(Debug, serde::Serialize)]
struct Figures {
    raw_inserts_per_s: f64,
    dispensings_per_s: f64,
    dispensing_ratio: f64,
    dispensing_p50_ms: f64,
    dispensing_p99_ms: f64,
    list_p50_ms: f64,
    list_p99_ms: f64,
    overview_p50_ms: f64,
    overview_p99_ms: f64,
    reads_per_core: f64,
    reads_p99_ms: f64,
    mixed_per_core: f64,
    mixed_p99_ms: f64,
    alerts_ms: f64,
    alerts_patients: usize,
    rss_mb: f64,
    rss_anon_mb: f64,
    rss_file_mb: f64,
    statements_dispensing: f64,
    statements_overview: f64,
    export_s: f64,
    export_resources: usize,
    export_peak_rss_mb: f64,
}

/// How many dispensings and overviews the statement count sends.
const STATEMENT_SAMPLE: usize = 10;

/// Up to `n` patients from `first`, the rest from `then` when `first` runs out.
fn reserve(
    first: &mut impl Iterator<Item = (usize, PatientId)>,
    then: &mut impl Iterator<Item = (usize, PatientId)>,
    n: usize,
) -> Vec<(usize, PatientId)> {
    let mut taken: Vec<_> = first.take(n).collect();
    taken.extend(then.take(n - taken.len()));
    taken
}

/// Every phase, in order, printed as it finishes.
async fn measure(
    target: &Arc<phases::Target>,
    world: &BenchWorld,
    options: &BenchOptions,
    raw: f64,
) -> anyhow::Result<Figures> {
    // Today's dose of distinct patients, each used once. The statement count and
    // the mixed phase take theirs first, so that a small world whose dispensing
    // phase would use every patient still counts real dispensings (it once counted
    // none and reported 0.0); the big place's patients, listed but never dispensed
    // by the phases, fill in where the others run out.
    let mut undispensed = world.patients.iter().filter(|(place, _)| *place != 0).copied();
    let mut spare = world.patients.iter().filter(|(place, _)| *place == 0).copied();
    let counted_patients = reserve(&mut undispensed, &mut spare, STATEMENT_SAMPLE);
    ensure!(
        !counted_patients.is_empty(),
        "no patient left to count a dispensing's statements on"
    );
    let for_mixed = reserve(&mut undispensed, &mut spare, options.mixed / 5 + 1);
    let dispensings: Vec<_> = undispensed.by_ref().take(options.dispensings).collect();
    if dispensings.len() < options.dispensings {
        println!(
            "only {} patients left for the dispensing phase (of {} asked for)",
            dispensings.len(),
            options.dispensings
        );
    }
    let requests = dispensings
        .iter()
        .map(|(place, patient)| phases::Request::Dispense(*place, *patient));
    let dispensing = target.load(requests.collect()).await?;
    println!(
        "{}; ratio to raw durable inserts {:.2}",
        dispensing.describe("dispensing via HTTP"),
        dispensing.per_second() / raw
    );
    let list = measure_list(&target.client, &target.base, &target.place_tokens[0]).await?;
    let overview = measure_overview(target).await?;
    let reads = target.load(target.overviews(options.reads, 5)).await?;
    println!("{}", reads.describe("overview reads"));
    let mixed = target
        .load(phases::mixed(target, options.mixed, &for_mixed))
        .await?;
    println!("{}", mixed.describe("mixed, 80 % reads and 20 % dispensings"));
    let (alerts, alerts_shown) = target.alerts(5).await?;
    println!(
        "the prescriber's alerts over {} patients: p50 {} ({alerts_shown} alerts)",
        world.patients.len(),
        ms(alerts.percentile(50.0))
    );
    let counted: Vec<_> = counted_patients
        .iter()
        .map(|(place, patient)| phases::Request::Dispense(*place, *patient))
        .collect();
    let statements_dispensing = target.statements_per_request(&counted).await?;
    let statements_overview = target
        .statements_per_request(&target.overviews(STATEMENT_SAMPLE, 13))
        .await?;
    println!(
        "statements per request: dispensing {statements_dispensing:.1}, overview {statements_overview:.1}"
    );
    let export = target.export().await?;
    println!(
        "FHIR bulk export of {} patients: {} resources in {:.1} s, peak resident memory {:.0} MB",
        world.patients.len(),
        export.resources,
        export.elapsed.as_secs_f64(),
        export.peak_rss_mb
    );
    // The resident memory of the server at rest after the day: one period of its
    // trimming task after the last request (server::memory).
    tokio::time::sleep(samhand_server::memory::TRIM_EVERY + Duration::from_secs(1)).await;
    let (rss_mb, rss_anon_mb, rss_file_mb) = (probe::rss_mb(), probe::rss_anon_mb(), probe::rss_file_mb());
    println!(
        "resident memory after the run: {rss_mb:.0} MB (the server and the load generator): \
         {rss_anon_mb:.0} MB allocated, {rss_file_mb:.0} MB of mapped files"
    );
    let millis = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(Figures {
        raw_inserts_per_s: raw,
        dispensings_per_s: dispensing.per_second(),
        dispensing_ratio: dispensing.per_second() / raw,
        dispensing_p50_ms: dispensing.p50_ms(),
        dispensing_p99_ms: dispensing.p99_ms(),
        list_p50_ms: millis(list.percentile(50.0)),
        list_p99_ms: millis(list.percentile(99.0)),
        overview_p50_ms: millis(overview.percentile(50.0)),
        overview_p99_ms: millis(overview.percentile(99.0)),
        reads_per_core: reads.per_core(),
        reads_p99_ms: reads.p99_ms(),
        mixed_per_core: mixed.per_core(),
        mixed_p99_ms: mixed.p99_ms(),
        alerts_ms: millis(alerts.percentile(50.0)),
        alerts_patients: world.patients.len(),
        rss_mb,
        rss_anon_mb,
        rss_file_mb,
        statements_dispensing,
        statements_overview,
        export_s: export.elapsed.as_secs_f64(),
        export_resources: export.resources,
        export_peak_rss_mb: export.peak_rss_mb,
    })
}

/// Today's list at the big place, twenty times (every view writes one audit entry
/// naming the listed patients).
async fn measure_list(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Latencies> {
    let list_url = format!("{base}/api/v1/dispensing/today");
    let mut list_latencies = Vec::new();
    let mut rows = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let response = client.get(&list_url).bearer_auth(token).send().await?;
        ensure!(response.status().is_success(), "list: {}", response.status());
        // Timed to the response's last byte; parsing it is the client's work.
        let body = response.bytes().await?;
        list_latencies.push(t.elapsed());
        let body: serde_json::Value = serde_json::from_slice(&body)?;
        rows = body["rows"].as_array().map(Vec::len).unwrap_or(0);
    }
    let list = Latencies(list_latencies);
    println!(
        "today's list at the big place ({rows} patients): p50 {}, p99 {}",
        ms(list.percentile(50.0)),
        ms(list.percentile(99.0))
    );
    Ok(list)
}

/// The patient overview as the prescriber reads it, for 200 random patients, one
/// after another.
async fn measure_overview(target: &phases::Target) -> anyhow::Result<Latencies> {
    let mut latencies = Vec::new();
    for request in target.overviews(200, 7) {
        let phases::Request::Overview(patient) = request else {
            continue;
        };
        // Timed as the list is: to the response's last byte.
        let started = Instant::now();
        let body = target.overview(patient).await?;
        latencies.push(started.elapsed());
        let _: serde_json::Value = serde_json::from_slice(body.as_ref())?;
    }
    let overview = Latencies(latencies);
    println!(
        "patient overview, one at a time: p50 {}, p99 {}",
        ms(overview.percentile(50.0)),
        ms(overview.percentile(99.0))
    );
    Ok(overview)
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

/// Rows per second, each its own committed transaction (not grouped by Samhand's
/// writer), on the same database and connection settings (synchronous=FULL on
/// SQLite) as everything else.
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
            samhand_store::bench::insert_raw(&store, &format!("row-{i}"), "x").await?;
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
    unit: OrganisationId,
    doctor: UserId,
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
    let counted: Vec<_> = staff
        .places
        .iter()
        .map(|p| p.id)
        .zip(staff.staff_ids.iter().copied())
        .collect();
    let mut tx = store.write().await?;
    samhand_store::bench::insert_weekly_counts(
        &mut tx,
        &counted,
        staff.doctor,
        history_from,
        plus(today, -1),
    )
    .await?;
    // The ledger was written around the kept balances, as a migration's backfill
    // finds it: they are derived from it as at a start after migration 0049.
    samhand_store::stock_balance::rederive_all(&mut tx).await?;
    tx.commit().await?;
    Ok(BenchWorld {
        patients,
        staff_usernames: staff.staff_usernames,
        unit: staff.unit,
        doctor: staff.doctor,
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
