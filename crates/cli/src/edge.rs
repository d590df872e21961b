//! `samhand edge`: Samhand at a dispensing place, syncing with the central server
//! (`SAMHAND_EDGE_UPSTREAM`, `SAMHAND_EDGE_TOKEN`); and on the central server,
//! `samhand edge token --place NAME` and `samhand edge revoke --place NAME`.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Subcommand;
use samhand_domain::time::SystemClock;
use samhand_server::edge::EdgeSettings;
use samhand_server::{AppState, Config};

use crate::{Failure, connect};

#[derive(Subcommand)]
pub enum EdgeCommand {
    /// On the central server: issue a credential for a place's edge; the token is
    /// printed as the last line, shown only now. Give it to the edge as
    /// SAMHAND_EDGE_TOKEN.
    Token {
        /// The place's id, or its exact name.
        #[arg(long)]
        place: String,
    },
    /// On the central server: revoke every credential of a place's edge at once.
    Revoke {
        #[arg(long)]
        place: String,
    },
}

/// Runs the subcommand, or without one, the edge itself.
pub async fn run(config: Config, action: Option<EdgeCommand>) -> Result<(), Failure> {
    match action {
        Some(EdgeCommand::Token { place }) => {
            let state = central_state(config).await?;
            let (name, token) = samhand_server::edge::issue_credential(&state, &place)
                .await
                .map_err(|e| anyhow!("cannot issue an edge credential: {}", e.message_nb()))?;
            state.store.close().await;
            println!(
                "Edge credential for {name}. Give it to the edge as SAMHAND_EDGE_TOKEN. It is shown only now:"
            );
            println!("{token}");
            Ok(())
        }
        Some(EdgeCommand::Revoke { place }) => {
            let state = central_state(config).await?;
            let (name, revoked) = samhand_server::edge::revoke_credentials(&state, &place)
                .await
                .map_err(|e| anyhow!("cannot revoke: {}", e.message_nb()))?;
            state.store.close().await;
            println!("{revoked} edge credential(s) of {name} revoked");
            Ok(())
        }
        None => serve_edge(config).await,
    }
}

async fn central_state(config: Config) -> Result<AppState, Failure> {
    let store = connect(&config).await?;
    Ok(AppState::new(store, Arc::new(SystemClock), config))
}

/// The edge: the place's own SQLite in SAMHAND_DATA_DIR, the routes on
/// SAMHAND_ADDR, and the sync with the central server.
async fn serve_edge(config: Config) -> Result<(), Failure> {
    if config.database_url.is_some() {
        return Err(Failure::Error(anyhow!(
            "samhand edge keeps the place's data in SQLite in SAMHAND_DATA_DIR; unset DATABASE_URL"
        )));
    }
    let upstream = std::env::var("SAMHAND_EDGE_UPSTREAM")
        .ok()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| anyhow!("SAMHAND_EDGE_UPSTREAM must be the central server's URL (https://…)"))?;
    let token = std::env::var("SAMHAND_EDGE_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            anyhow!("SAMHAND_EDGE_TOKEN must be the place's credential (samhand edge token --place NAME)")
        })?;
    let interval_ms = std::env::var("SAMHAND_EDGE_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(2000)
        .max(100);
    let store = connect(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {} (SAMHAND_ADDR)", config.addr))?;
    let addr = listener.local_addr().context("listening address")?;
    tracing::info!(%upstream, "samhand edge listening on http://{addr}");
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let settings = EdgeSettings {
        upstream,
        token: token.trim().to_string(),
        interval: std::time::Duration::from_millis(interval_ms),
    };
    samhand_server::edge::serve_edge(listener, state, settings)
        .await
        .context("edge stopped")?;
    store.close().await;
    tracing::info!("samhand edge stopped");
    Ok(())
}
