//! Samhand at a dispensing place: `samhand edge` runs the same server on the
//! place's own SQLite, holding only what the place may see, and keeps working
//! through a network outage. [`sync`] pulls the place's snapshot from the central
//! server and pushes the recordings made at the edge; [`central`] is the central
//! server's side of it. The window shows the link's state ([`EdgeLink`]).

pub mod central;
pub mod sync;

use std::sync::Mutex;

use jiff::Timestamp;

/// Where the edge syncs with, and with what.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// The central server's base URL (`SAMHAND_EDGE_UPSTREAM`).
    pub upstream: String,
    /// The place's credential (`SAMHAND_EDGE_TOKEN`).
    pub token: String,
    /// How often the edge asks while connected.
    pub interval: std::time::Duration,
}

/// The link to the central server as the edge last found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// The last exchange with the central server succeeded.
    pub connected: bool,
    /// Since when the central server has not answered.
    pub offline_since: Option<Timestamp>,
    /// When the place's data last came from the central server.
    pub last_pulled_at: Option<Timestamp>,
    /// Recordings made here that the central server does not have yet.
    pub unpushed: i64,
    /// The central server refused the place's credential: sync has stopped.
    pub revoked: bool,
}

/// The edge's link, shared by the sync loop (which writes it) and the pages
/// (which show it).
#[derive(Debug, Default)]
pub struct EdgeLink {
    status: Mutex<LinkStatus>,
}

impl EdgeLink {
    pub fn status(&self) -> LinkStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn set(&self, status: LinkStatus) {
        if let Ok(mut current) = self.status.lock() {
            *current = status;
        }
    }

    /// How long the edge has been without the central server, if it is.
    pub fn offline_for(&self, now: Timestamp) -> Option<jiff::SignedDuration> {
        let status = self.status();
        if status.connected {
            return None;
        }
        let since = status.offline_since.or(status.last_pulled_at)?;
        Some(now.duration_since(since))
    }

    /// The banner's text: «Tilkoblet», or since when offline and when last updated.
    pub fn banner_nb(&self) -> String {
        let status = self.status();
        let clock = |t: Timestamp| {
            let at = samhand_domain::time::oslo_datetime(t);
            format!("{:02}:{:02}", at.hour(), at.minute())
        };
        let pending = match status.unpushed {
            0 => String::new(),
            1 => " – 1 registrering venter på sending".to_string(),
            n => format!(" – {n} registreringer venter på sending"),
        };
        if status.revoked {
            return format!("Frakoblet: stedets nøkkel er trukket tilbake{pending}");
        }
        if status.connected {
            return format!("Tilkoblet{pending}");
        }
        let since = status
            .offline_since
            .map(|t| format!(" siden {}", clock(t)))
            .unwrap_or_default();
        let last = status.last_pulled_at.map_or_else(
            || " – ikke oppdatert ennå".to_string(),
            |t| format!(" – sist oppdatert {}", clock(t)),
        );
        format!("Frakoblet{since}{last}{pending}")
    }
}

/// The place by its id or exact name.
async fn find_place(
    state: &crate::AppState,
    place: &str,
) -> crate::error::AppResult<samhand_domain::organisation::Organisation> {
    let mut conn = state.store.read().await?;
    crate::admin::find_organisation(&mut conn, place)
        .await?
        .ok_or_else(|| crate::error::AppError::NotFound(format!("stedet {place}")))
}

/// Issues a credential for a place's edge (on the central server); returns the
/// token, which is shown only now (only its hash is kept). Only a place that
/// dispenses can have one.
pub async fn issue_credential(
    state: &crate::AppState,
    place: &str,
) -> crate::error::AppResult<(String, String)> {
    let org = find_place(state, place).await?;
    if !org.kind.can_dispense() {
        return Err(crate::error::AppError::Conflict(format!(
            "{} er ikke et utleveringssted.",
            org.name
        )));
    }
    let token = format!("she_{}", crate::auth::random_token());
    let mut tx = state.store.write().await?;
    samhand_store::edge::insert_credential(
        &mut tx,
        &uuid::Uuid::now_v7().to_string(),
        org.id,
        &crate::auth::token_hash(&token),
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(place = %org.name, "edge credential issued");
    Ok((org.name, token))
}

/// Revokes every credential of a place's edge at once; how many there were.
pub async fn revoke_credentials(
    state: &crate::AppState,
    place: &str,
) -> crate::error::AppResult<(String, u64)> {
    let org = find_place(state, place).await?;
    let mut tx = state.store.write().await?;
    let revoked = samhand_store::edge::revoke_place(&mut tx, org.id, state.clock.now()).await?;
    tx.commit().await?;
    tracing::info!(place = %org.name, revoked, "edge credentials revoked");
    Ok((org.name, revoked))
}

/// What may be written at the edge: logging in and out, choosing a role, and the
/// window's recordings. Everything else is written in central Samhand: a change
/// made here would never reach central, and the next snapshot would not show it
/// (H98).
const WRITES_AT_THE_EDGE: &[&str] = &[
    "/login",
    "/logout",
    "/rolle",
    "/utlevering",
    "/api/v1/dispensings",
];

/// The routes as the edge serves them: every write but the window's refused.
pub fn router_at_edge(state: crate::AppState) -> axum::Router {
    crate::router(state).layer(axum::middleware::from_fn(only_the_window_writes))
}

/// Refuses, at the edge, every write but the window's, with a clear message.
pub async fn only_the_window_writes(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let method = request.method();
    let reads = method == axum::http::Method::GET
        || method == axum::http::Method::HEAD
        || method == axum::http::Method::OPTIONS;
    if reads || WRITES_AT_THE_EDGE.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let refusal = crate::error::AppError::Conflict(
        "Ved stedets lokale Samhand registreres bare utleveringer. Gjør dette i sentral Samhand.".into(),
    );
    if request.uri().path().starts_with("/api/") || request.uri().path().starts_with("/fhir") {
        crate::error::ApiError(refusal).into_response()
    } else {
        crate::error::PageError(refusal).into_response()
    }
}

/// Serves the edge: the same routes on the place's own database, with the sync
/// beside, until SIGTERM or Ctrl-C. No scheduler runs here: the central server
/// sends the notices.
pub async fn serve_edge(
    listener: tokio::net::TcpListener,
    mut state: crate::AppState,
    settings: EdgeSettings,
) -> std::io::Result<()> {
    let link = std::sync::Arc::new(EdgeLink::default());
    state.edge = Some(link.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sync = sync::EdgeSync::new(state.clone(), settings, link)
        .await
        .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let syncing = tokio::spawn(sync.run(stop_rx.clone()));
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        tracing::info!("stopping the edge");
        let _ = stop_tx.send(true);
    });
    let limits = state.config.connections;
    let served = crate::connections::serve(listener, router_at_edge(state), limits, stop_rx).await;
    let _ = tokio::time::timeout(crate::SHUTDOWN_GRACE, syncing).await;
    served
}
