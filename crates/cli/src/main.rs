//! The `samhand` binary: serve the web UI and API, run migrations, create the demo
//! world, manage staff users and API tokens, and verify the audit log.

mod bench;
mod demo;
mod edge;
mod ops;
mod report;
mod rng;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};
use samhand_domain::organisation::Role;
use samhand_domain::time::{Clock, SystemClock};
use samhand_server::config::{ConfigError, DEFAULT_DEMO_PASSWORD};
use samhand_server::{AppState, Config};
use samhand_store::{Store, StoreError, organisations, users};

use crate::demo::DemoSize;

#[derive(Parser)]
#[command(
    name = "samhand",
    version,
    about = "Samhand: the shared record and daily tool of Norwegian LAR",
    long_about = "Samhand: the shared record and daily tool of Norwegian LAR.\n\n\
                  Configuration comes from the environment: SAMHAND_DATA_DIR (SQLite database, default ./data), \
                  DATABASE_URL (PostgreSQL instead), SAMHAND_ADDR, SAMHAND_LOG and the rest in .env.example."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the API on SAMHAND_ADDR (default 127.0.0.1:8080).
    Serve {
        /// Create the demo world first, if the database has no organisations yet.
        #[arg(long)]
        demo: bool,
    },
    /// Apply the database migrations and list those applied.
    Migrate,
    /// Create the demo world in an empty database and print what was made.
    Demo {
        /// How many patients (default 300).
        #[arg(long, default_value_t = DemoSize::default().patients)]
        patients: usize,
    },
    /// Organisations: LAR units, municipal places, pharmacies, GP offices, …
    Organisation {
        #[command(subcommand)]
        action: OrganisationCommand,
    },
    /// Import organisations and users from a CSV file: a dry run unless --apply.
    /// Columns: type (organisation or user), name, kind, municipality, org_number,
    /// her_id, address, phone, responsible_unit, username, role, organisation,
    /// hpr_number; `;` or `,` between them.
    Import {
        #[arg(long)]
        file: std::path::PathBuf,
        /// Write what the dry run reported; without it nothing changes.
        #[arg(long)]
        apply: bool,
    },
    /// Staff users.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Issue an API bearer token for a user (printed as the last line), or revoke
    /// all of a user's tokens.
    Token {
        /// The user's username.
        #[arg(long)]
        user: String,
        /// Revoke every token of the user instead of issuing one.
        #[arg(long)]
        revoke: bool,
    },
    /// Samhand at a dispensing place: serve the window on the place's own SQLite
    /// (SAMHAND_DATA_DIR, SAMHAND_ADDR) and sync with the central server
    /// (SAMHAND_EDGE_UPSTREAM, SAMHAND_EDGE_TOKEN); or, on the central server,
    /// issue or revoke a place's credential.
    Edge {
        #[command(subcommand)]
        action: Option<edge::EdgeCommand>,
    },
    /// Build a country-sized world in a fresh database and measure dispensing,
    /// today's list and the patient overview through HTTP (see BENCHMARKS.md).
    Bench(bench::BenchOptions),
    /// The clinical policy table: thresholds such as the missed-dose block.
    Policy {
        #[command(subcommand)]
        action: PolicyCommand,
    },
    /// A consistent copy of the SQLite database, taken while the server runs
    /// (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; must not exist.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Put a backup in place of the SQLite database in SAMHAND_DATA_DIR, after
    /// checking it (migrations, audit chain). Stop the server first.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a database that is there (it is kept beside it, renamed).
        #[arg(long)]
        force: bool,
    },
    /// Compare every patient's kept dosing state (the days dosed that the window,
    /// the list and the alerts read) with the state derived from the full history,
    /// and every place's kept stock balances with its ledger; exit 1 naming each
    /// patient or product that differs.
    VerifyState {
        /// Derive every patient's state from the history again first (after a
        /// mismatch was reported and its cause found).
        #[arg(long)]
        rebuild: bool,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Reports on standard output: `samhand report status --year 2026 --format csv`.
    Report {
        #[command(subcommand)]
        action: report::ReportCommand,
    },
    /// FHIR system clients (OAuth2 client credentials at /fhir/token).
    FhirClient {
        #[command(subcommand)]
        action: FhirClientCommand,
    },
}

#[derive(Subcommand)]
enum FhirClientCommand {
    /// Register a system client acting for an organisation; prints the client id
    /// and the secret, which is shown only now.
    Add {
        #[arg(long)]
        name: String,
        /// The organisation's id, or its exact name.
        #[arg(long)]
        organisation: String,
        /// Space-separated SMART scopes, e.g. "system/Patient.read system/Observation.write".
        #[arg(long)]
        scopes: String,
        /// The role the client acts in at the organisation (the access policy treats
        /// it as a staff member with this role): prescriber, lar_consultant,
        /// dispensing_staff, coordinator or leader.
        #[arg(long, default_value = "lar_consultant")]
        role: String,
    },
}

#[derive(Subcommand)]
enum OrganisationCommand {
    /// Register an organisation; prints its id.
    Add {
        /// The name, unique in Samhand.
        #[arg(long)]
        name: String,
        /// One of: health_trust_lar_unit, municipal_lar_centre, pharmacy,
        /// home_service, gp_office, nav_office, institution, prison_health_service.
        #[arg(long)]
        kind: String,
        /// The organisation number (9 digits, modulus-11 check digit).
        #[arg(long)]
        org_number: Option<String>,
        /// The HER-id in the address register.
        #[arg(long)]
        her_id: Option<String>,
        /// The responsible LAR unit of a municipal place: its id or exact name.
        #[arg(long)]
        responsible_unit: Option<String>,
        /// The municipality it serves or lies in.
        #[arg(long, default_value = "")]
        municipality: String,
        #[arg(long, default_value = "")]
        address: String,
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// List the organisations.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff user who logs in with a password.
    Add {
        #[arg(long)]
        username: String,
        /// Full name as shown to colleagues.
        #[arg(long)]
        name: String,
        /// One of: prescriber, lar_consultant, dispensing_staff, coordinator, leader,
        /// administrator.
        #[arg(long)]
        role: String,
        /// The organisation's id, or its exact name.
        #[arg(long)]
        organisation: String,
        /// The number in the Health Personnel Register, for health personnel.
        #[arg(long)]
        hpr: Option<String>,
        /// The first password (at least 12 characters); better given in
        /// SAMHAND_NEW_PASSWORD than on the command line. Without one, a one-time
        /// invitation link is printed, with which the user chooses their own.
        #[arg(long, env = "SAMHAND_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List the active staff users per organisation.
    List,
    /// Cut a user off at once: every session and API token ends, and they can no
    /// longer log in. Their name stays on everything they did.
    Deactivate {
        /// The user's username.
        #[arg(long)]
        user: String,
        /// Why, kept in the user's history.
        #[arg(long, default_value = "Deaktivert fra kommandolinjen")]
        reason: String,
    },
    /// Give a deactivated user their access back.
    Reactivate {
        /// The user's username.
        #[arg(long)]
        user: String,
        /// Why, kept in the user's history.
        #[arg(long, default_value = "Reaktivert fra kommandolinjen")]
        reason: String,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Show every setting with its value in force and its default.
    List,
    /// Change a setting; the change is kept with who made it and when.
    Set {
        key: String,
        value: i64,
        /// The username of the person deciding the change.
        #[arg(long)]
        by: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the keyed chain, check it against the signed checkpoints, and report
    /// the first entry (or checkpoint) that does not fit.
    Verify,
    /// Write a signed checkpoint of the chain's head now.
    Checkpoint,
}

/// How a command ended, beyond success.
pub(crate) enum Failure {
    /// Bad configuration: exit 2, like a usage error.
    Config(ConfigError),
    /// The command ran and found a problem (e.g. a broken audit log): exit 1 with
    /// the message already printed.
    Reported,
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::Error(error)
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Error(error.into())
    }
}

/// mimalloc instead of glibc's allocator for Rust's allocations (SQLite's own stay
/// with the C library's `malloc`): glibc's took a sixth of the CPU of a patient
/// overview (BENCHMARKS.md, 6 December, afternoon).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(error)) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
        Err(Failure::Reported) => ExitCode::FAILURE,
        Err(Failure::Error(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let config = Config::from_env()?;
    init_tracing(&config)?;
    match cli.command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => migrate(&config).await,
        Command::Demo { patients } => create_demo(&config, DemoSize::with_patients(patients)).await,
        Command::User {
            action:
                UserCommand::Add {
                    username,
                    name,
                    role,
                    organisation,
                    hpr,
                    password,
                },
        } => {
            let input = samhand_server::admin::NewUserInput {
                username,
                name,
                role,
                organisation,
                hpr_number: hpr.unwrap_or_default(),
                password,
            };
            add_user(config, &input).await
        }
        Command::User {
            action: UserCommand::List,
        } => list_users(&config).await,
        Command::User {
            action: UserCommand::Deactivate { user, reason },
        } => set_user_active(config, &user, false, &reason).await,
        Command::User {
            action: UserCommand::Reactivate { user, reason },
        } => set_user_active(config, &user, true, &reason).await,
        Command::Organisation {
            action:
                OrganisationCommand::Add {
                    name,
                    kind,
                    org_number,
                    her_id,
                    responsible_unit,
                    municipality,
                    address,
                    phone,
                },
        } => {
            let input = samhand_server::admin::OrganisationInput {
                name,
                kind,
                municipality,
                org_number: org_number.unwrap_or_default(),
                her_id: her_id.unwrap_or_default(),
                address,
                phone,
                responsible_unit: responsible_unit.unwrap_or_default(),
            };
            add_organisation(config, &input).await
        }
        Command::Organisation {
            action: OrganisationCommand::List,
        } => list_organisations(&config).await,
        Command::Token { user, revoke: false } => issue_token(config, &user).await,
        Command::Token { user, revoke: true } => revoke_tokens(&config, &user).await,
        Command::Audit {
            action: AuditCommand::Verify,
        } => ops::verify_audit(&config).await,
        Command::Audit {
            action: AuditCommand::Checkpoint,
        } => ops::checkpoint_audit(&config).await,
        Command::VerifyState { rebuild } => ops::verify_state(&config, rebuild).await,
        Command::Backup { to } => ops::backup(&config, &to).await,
        Command::Import { file, apply } => ops::import(config, &file, apply).await,
        Command::Restore { from, force } => ops::restore(&config, &from, force).await,
        Command::Policy {
            action: PolicyCommand::List,
        } => list_policy(&config).await,
        Command::Policy {
            action: PolicyCommand::Set { key, value, by },
        } => set_policy(&config, &key, value, &by).await,
        Command::Report { action } => report::run(config, action).await,
        Command::Edge { action } => edge::run(config, action).await,
        Command::Bench(options) => bench::run(options).await.map_err(Failure::Error),
        Command::FhirClient {
            action:
                FhirClientCommand::Add {
                    name,
                    organisation,
                    scopes,
                    role,
                },
        } => add_fhir_client(config, &name, &organisation, &scopes, &role).await,
    }
}

fn init_tracing(config: &Config) -> Result<(), ConfigError> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).map_err(|e| ConfigError {
        key: "SAMHAND_LOG".into(),
        problem: format!("not a log filter ({e}); try info or samhand_server=debug,info"),
    })?;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // The log as configured, and beside it the bench's statement counter (which
    // asks for sqlx's statement events only while the bench counts).
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .with(bench::probe::statement_counter())
        .init();
    Ok(())
}

/// Connects (and migrates) with the audit key, created in the data directory at
/// the first start when none is configured.
pub(crate) async fn connect(config: &Config) -> Result<Store, Failure> {
    let key = config.audit_key(true)?.expect("a created key");
    Ok(connect_without_key(config).await?.with_audit_key(key))
}

pub(crate) async fn connect_without_key(config: &Config) -> Result<Store, Failure> {
    let url = config.database_url()?;
    let store = Store::connect(&url, config.db_max_connections)
        .await
        .with_context(|| format!("cannot open the database ({})", describe_database(config)))?;
    Ok(store)
}

/// Which database, without the credentials in a PostgreSQL URL.
pub(crate) fn describe_database(config: &Config) -> String {
    match &config.database_url {
        Some(url) => {
            let url = url.expose();
            let host = url.rsplit_once('@').map(|(_, host)| host).unwrap_or("…");
            format!("PostgreSQL at {host}")
        }
        None => format!("SQLite in {}", config.data_dir.join("samhand.db").display()),
    }
}

async fn serve(config: Config, with_demo: bool) -> Result<(), Failure> {
    let store = connect(&config).await?;
    if with_demo {
        let started = Instant::now();
        match demo::create_demo_world_if_empty(
            &store,
            &SystemClock,
            config.demo_password.expose(),
            DemoSize::default(),
        )
        .await
        .context("create the demo world")?
        {
            Some(summary) => tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                patients = summary.patients,
                "created the demo world; log in as lege, konsulent, utdeler, koordinator, leder or admin"
            ),
            None => tracing::info!("the database already has data; demo world not created again"),
        }
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {} (SAMHAND_ADDR)", config.addr))?;
    let addr = listener.local_addr().context("listening address")?;
    tracing::info!(database = %describe_database(&config), "samhand listening on http://{addr}");
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    samhand_server::serve(listener, state.clone())
        .await
        .context("server stopped")?;
    // The last entries of the run are anchored before the process ends.
    samhand_server::scheduler::checkpoint_audit(&state).await;
    store.close().await;
    tracing::info!("samhand stopped");
    Ok(())
}

async fn migrate(config: &Config) -> Result<(), Failure> {
    let store = connect(config).await?;
    let applied = samhand_store::migrate::applied(&store).await?;
    println!(
        "{}: {} migrations applied",
        describe_database(config),
        applied.len()
    );
    for (version, name) in applied {
        println!("  {version:04} {name}");
    }
    store.close().await;
    Ok(())
}

async fn create_demo(config: &Config, size: DemoSize) -> Result<(), Failure> {
    let store = connect(config).await?;
    let started = Instant::now();
    let created = demo::create_demo_world_if_empty(&store, &SystemClock, config.demo_password.expose(), size)
        .await
        .context("create the demo world")?;
    let elapsed = started.elapsed();
    store.close().await;
    match created {
        None => {
            println!(
                "{} already has organisations; the demo world is only created in an empty database. Nothing was changed.",
                describe_database(config)
            );
        }
        Some(summary) => {
            println!(
                "Created the demo world in {} in {:.2} s:",
                describe_database(config),
                elapsed.as_secs_f64()
            );
            print!("{summary}");
            if config.demo_password.expose() == DEFAULT_DEMO_PASSWORD {
                println!("password for every demo login: {DEFAULT_DEMO_PASSWORD}");
            } else {
                println!("password for every demo login: the one in SAMHAND_DEMO_PASSWORD");
            }
        }
    }
    Ok(())
}

async fn add_user(config: Config, input: &samhand_server::admin::NewUserInput) -> Result<(), Failure> {
    let store = connect(&config).await?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let added = samhand_server::admin::add_user(&state, None, input).await;
    store.close().await;
    let added = added.map_err(app_failure)?;
    let user = &added.user;
    println!(
        "added {} ({}), {} at {}",
        user.username,
        user.display_name,
        user.role.code(),
        input.organisation.trim()
    );
    if let Some(token) = added.invitation {
        println!(
            "no password given: send the user this one-time link (valid {} days) to choose one:",
            samhand_server::admin::INVITATION_DAYS
        );
        println!("/invitasjon/{token}");
    }
    Ok(())
}

async fn list_users(config: &Config) -> Result<(), Failure> {
    let store = connect(config).await?;
    let mut conn = store.read().await?;
    let all = organisations::all(&mut conn).await?;
    for org in &all {
        let staff = users::by_organisation(&mut conn, org.id).await?;
        if staff.is_empty() {
            continue;
        }
        println!("{} ({})", org.name, org.kind.code());
        for user in staff {
            println!(
                "  {:<24} {:<17} {}",
                user.username,
                user.role.code(),
                user.display_name
            );
        }
    }
    drop(conn);
    store.close().await;
    Ok(())
}

/// An error of the server's operations as the command line says it: the Norwegian
/// message the pages would show, field by field.
pub(crate) fn app_failure(error: samhand_server::error::AppError) -> Failure {
    use samhand_server::error::AppError;
    match error {
        AppError::Invalid(errors) => {
            let lines: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("  --{}: {}", e.field.replace('_', "-"), e.message))
                .collect();
            Failure::Error(anyhow!("the input was refused:\n{}", lines.join("\n")))
        }
        other => Failure::Error(anyhow!("{}", other.message_nb())),
    }
}

async fn add_organisation(
    config: Config,
    input: &samhand_server::admin::OrganisationInput,
) -> Result<(), Failure> {
    let store = connect(&config).await?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let added = samhand_server::admin::add_organisation(&state, None, input).await;
    store.close().await;
    let (organisation, registration) = added.map_err(app_failure)?;
    println!(
        "added {} ({}){}",
        organisation.name,
        organisation.kind.code(),
        registration
            .org_number
            .map(|n| format!(", organisation number {}", n.as_str()))
            .unwrap_or_default()
    );
    println!("{}", organisation.id);
    Ok(())
}

async fn list_organisations(config: &Config) -> Result<(), Failure> {
    let store = connect(config).await?;
    let mut conn = store.read().await?;
    let all = organisations::all(&mut conn).await?;
    drop(conn);
    store.close().await;
    for org in all {
        println!("{}  {:<22} {}", org.id, org.kind.code(), org.name);
    }
    Ok(())
}

async fn set_user_active(config: Config, username: &str, active: bool, reason: &str) -> Result<(), Failure> {
    let store = connect(&config).await?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let changed = samhand_server::admin::set_user_active(&state, None, username, active, reason).await;
    store.close().await;
    let user = changed.map_err(app_failure)?;
    if active {
        println!(
            "reactivated {} ({}); they can log in again",
            user.username, user.display_name
        );
    } else {
        println!(
            "deactivated {} ({}): every session and API token has ended, and they can no longer log in",
            user.username, user.display_name
        );
    }
    Ok(())
}

async fn issue_token(config: Config, username: &str) -> Result<(), Failure> {
    let store = connect(&config).await?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let (token, expires) = samhand_server::auth::issue_api_token(&state, username.trim())
        .await
        .map_err(|e| match e {
            samhand_server::error::AppError::NotFound(_) => anyhow!("no user named {username:?}"),
            other => anyhow!("cannot issue a token: {other}"),
        })?;
    store.close().await;
    let expires = samhand_domain::time::oslo_datetime(expires);
    println!(
        "API token for {username}, valid until {} {} (Europe/Oslo). Send it as \"Authorization: Bearer <token>\". It is shown only now:",
        samhand_domain::format::date_nb(expires.date()),
        samhand_domain::format::time_nb(expires.time())
    );
    println!("{token}");
    Ok(())
}

async fn add_fhir_client(
    config: Config,
    name: &str,
    organisation: &str,
    scopes: &str,
    role: &str,
) -> Result<(), Failure> {
    let role = Role::from_code(role.trim()).ok_or_else(|| anyhow!("unknown role {role:?}"))?;
    let store = connect(&config).await?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let client = samhand_server::fhir::register_client(&state, name, organisation, role, scopes)
        .await
        .map_err(|e| anyhow!("cannot register the client: {}", e.message_nb()))?;
    store.close().await;
    println!(
        "FHIR client {name:?} registered. Get a token at /fhir/token with grant_type=client_credentials."
    );
    println!("client_id: {}", client.client_id);
    println!("client_secret (shown only now): {}", client.secret);
    Ok(())
}

async fn revoke_tokens(config: &Config, username: &str) -> Result<(), Failure> {
    let store = connect(config).await?;
    let mut conn = store.read().await?;
    let Some(record) = users::by_username(&mut conn, username.trim()).await? else {
        return Err(anyhow!("no user named {username:?}").into());
    };
    drop(conn);
    let mut tx = store.write().await?;
    let revoked = users::revoke_api_tokens(&mut tx, record.user.id, SystemClock.now()).await?;
    tx.commit().await?;
    store.close().await;
    println!(
        "revoked {revoked} API token{} of {}",
        if revoked == 1 { "" } else { "s" },
        record.user.username
    );
    Ok(())
}

async fn list_policy(config: &Config) -> Result<(), Failure> {
    let store = connect(config).await?;
    let mut conn = store.read().await?;
    let values = samhand_store::stock::policy_values(&mut conn).await?;
    drop(conn);
    store.close().await;
    for setting in samhand_domain::policy::SETTINGS {
        let value = values
            .iter()
            .rev()
            .find(|(k, _)| k == setting.key)
            .map(|(_, v)| *v);
        println!(
            "{} = {} (default {}): {}",
            setting.key,
            value.unwrap_or(setting.default),
            setting.default,
            setting.description_nb
        );
    }
    Ok(())
}

async fn set_policy(config: &Config, key: &str, value: i64, by: &str) -> Result<(), Failure> {
    if !samhand_domain::policy::is_known_setting(key) {
        let known: Vec<&str> = samhand_domain::policy::SETTINGS.iter().map(|s| s.key).collect();
        return Err(anyhow!("unknown policy key {key:?}; the keys are: {}", known.join(", ")).into());
    }
    if !(0..=365).contains(&value) {
        return Err(anyhow!("{key} must be from 0 to 365, got {value}").into());
    }
    let store = connect(config).await?;
    let mut conn = store.read().await?;
    let user = users::by_username(&mut conn, by)
        .await?
        .ok_or_else(|| anyhow!("no user {by:?}"))?;
    drop(conn);
    let mut tx = store.write().await?;
    samhand_store::stock::set_policy_value(&mut tx, key, value, Some(user.user.id), SystemClock.now())
        .await?;
    tx.commit().await?;
    store.close().await;
    println!("{key} = {value}, decided by {}", user.user.display_name);
    Ok(())
}
