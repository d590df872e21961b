//! The web server: HTML pages, the JSON API, authentication and the access policy's
//! enforcement. Handlers parse, call `service`, and render; rules live in `domain`.

pub mod admin;
pub mod api;
pub mod auth;
pub mod client;
pub mod client_key;
pub mod config;
pub mod connections;
pub mod cookies;
pub mod directory;
pub mod edge;
pub mod edi;
pub mod error;
pub mod fhir;
pub mod kept;
pub mod limits;
pub mod memory;
pub mod observe;
pub mod oidc;
pub mod pages;
pub mod portal;
pub mod repo;
pub mod scheduler;
pub mod service;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use samhand_domain::time::Clock;
use samhand_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;

pub use config::Config;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    /// Staff login through the OpenID provider, when configured.
    pub oidc: Option<Arc<oidc::OidcLogin>>,
    /// The patients' portal login through ID-porten, when configured.
    pub portal_oidc: Option<Arc<oidc::OidcLogin>>,
    /// This server's counters for `/metrics`.
    pub metrics: Arc<observe::Metrics>,
    /// This server's FHIR bulk export jobs.
    pub exports: Arc<fhir::ExportJobs>,
    /// The login's rate limits (per client address, per account).
    pub login_limits: Arc<limits::LoginLimits>,
    /// Work over a whole place or unit at once (today's list, the alerts) runs
    /// under one of these permits: one fewer than the cores, at least one, so that
    /// a core stays free for everything else (the dispensing itself, /healthz)
    /// however many lists are asked for at opening time.
    pub heavy_work: Arc<tokio::sync::Semaphore>,
    /// Organisations, groups, policy, users and tokens kept in memory while the
    /// database's version of them stands still.
    pub directory: Arc<directory::Directory>,
    /// What this process keeps of the patients on today's lists, right while
    /// the database's feed of changed patients names none of them (H107).
    pub kept: Arc<kept::KeptPatients>,
    /// At a place's edge (`samhand edge`): the link to the central server, shown
    /// on every page; `None` on the central server.
    pub edge: Option<Arc<edge::EdgeLink>>,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Config) -> Self {
        let oidc = config.oidc.clone().map(|settings| {
            Arc::new(oidc::OidcLogin::new(
                settings,
                oidc::LoginKind::Staff(config.oidc_username_claim),
            ))
        });
        let portal_oidc = config
            .portal_oidc
            .clone()
            .map(|settings| Arc::new(oidc::OidcLogin::new(settings, oidc::LoginKind::Patient)));
        let exports = Arc::new(fhir::ExportJobs::new(
            &config.data_dir,
            fhir::ExportLimits {
                per_client: config.export_jobs_per_client,
                overall: config.export_jobs,
                expire_after: jiff::SignedDuration::from_mins(config.export_expire_minutes),
            },
        ));
        let login_limits = Arc::new(limits::LoginLimits::new(
            config.login_attempts_per_address,
            config.login_attempts_per_account,
        ));
        Self {
            store,
            clock,
            exports,
            login_limits,
            heavy_work: Arc::new(tokio::sync::Semaphore::new(heavy_work_permits())),
            directory: Arc::default(),
            kept: Arc::default(),
            edge: None,
            config: Arc::new(config),
            oidc,
            portal_oidc,
            metrics: Arc::default(),
        }
    }
}

/// The largest request body a route takes unless it says otherwise: forms and
/// JSON are small. The routes that take files (a photo, an import, a FHIR
/// resource) raise it for themselves ([`UPLOAD_LIMIT`], [`FHIR_WRITE_LIMIT`]).
pub const BODY_LIMIT: usize = 64 * 1024;
/// The body limit of the routes that take a photo or a CSV file.
pub const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;
/// The body limit of FHIR writes (one resource).
pub const FHIR_WRITE_LIMIT: usize = 1024 * 1024;

/// All routes, with the security headers every answer carries.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .nest("/api/v1", api::routes())
        .nest("/fhir", fhir::routes())
        .nest("/edge/v1", edge::central::routes())
        .route("/healthz", axum::routing::get(observe::healthz))
        .route("/readyz", axum::routing::get(observe::readyz))
        .route("/metrics", axum::routing::get(observe::metrics))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), client::identify))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .with_state(state)
}

/// One fewer than the cores, at least one.
fn heavy_work_permits() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
}

/// How long a stopping server lets running requests and the scheduler's run finish
/// before it ends them.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves until SIGTERM or Ctrl-C, with the scheduler running beside. On the
/// signal it stops taking connections, lets running requests and the scheduler's
/// run finish for at most [`SHUTDOWN_GRACE`], then ends whatever still runs (a long
/// export, say) and returns.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    state.exports.remove_stale_files();
    // Audit entries a stopped process left parked go into the chain (H109).
    let store = state.store.clone();
    tokio::spawn(async move { store.chain_parked_audit_entries().await });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = scheduler::spawn(state.clone(), stop_rx.clone());
    let checkpoints = scheduler::spawn_checkpoints(state.clone(), stop_rx.clone());
    let trim = memory::spawn_trim(stop_rx.clone());
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing running requests");
        let _ = stop_tx.send(true);
    });
    let server = serve_app(listener, state, stop_rx.clone());
    let mut stopping = stop_rx;
    let deadline = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let served = tokio::select! {
        served = server => served,
        () = deadline => {
            tracing::warn!(seconds = SHUTDOWN_GRACE.as_secs(), "requests still running at shutdown were ended");
            Ok(())
        }
    };
    if let Some(scheduler) = scheduler
        && tokio::time::timeout(SHUTDOWN_GRACE, scheduler).await.is_err()
    {
        tracing::warn!("the scheduler's run was ended at shutdown");
    }
    if let Some(checkpoints) = checkpoints {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, checkpoints).await;
    }
    trim.abort();
    served
}

/// Serves the app's routes on `listener` within the configured connection limits
/// (`connections`), until `stop` turns true; without the scheduler or the signal
/// handling of [`serve`] (tests serve this way).
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let limits = state.config.connections;
    connections::serve(listener, router(state), limits, stop).await
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
