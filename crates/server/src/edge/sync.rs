//! The edge's sync with the central server, every few seconds while connected:
//! first the recordings made here are pushed in the order they were made (each
//! marked as known to central only once central answered that it has it, so a
//! crash anywhere makes a retry, which central answers as a replay), then the
//! edge's audit entries are shipped, then the place's snapshot is pulled and
//! applied in one transaction. A network failure marks the edge offline; a
//! refused credential stops sync (H94).

use std::sync::Arc;

use samhand_store::dispensing as dispensing_store;
use samhand_store::edge::{self as edge_store, TableRows};
use serde_json::Value;

use super::central::{AuditAnswer, PushAnswer};
use super::{EdgeLink, EdgeSettings, LinkStatus};
use crate::AppState;
use crate::service::PushedRecording;
use crate::service::edge_feed::SNAPSHOT_TABLES;

/// Recordings pushed per request.
const PUSH_BATCH: i64 = 50;
/// Audit entries shipped per request.
const AUDIT_BATCH: i64 = 500;

/// Why a round of sync stopped.
#[derive(Debug)]
pub enum SyncError {
    /// The central server did not answer (or not well): try again later.
    Offline(String),
    /// The central server refused the credential.
    Revoked,
    /// Something here failed (the database).
    Local(String),
}

impl From<samhand_store::StoreError> for SyncError {
    fn from(error: samhand_store::StoreError) -> Self {
        Self::Local(error.to_string())
    }
}

impl From<reqwest::Error> for SyncError {
    fn from(error: reqwest::Error) -> Self {
        Self::Offline(error.to_string())
    }
}

/// The edge's side of one conversation with the central server.
pub struct EdgeSync {
    state: AppState,
    settings: EdgeSettings,
    link: Arc<EdgeLink>,
    client: reqwest::Client,
    instance: String,
    rounds: std::sync::atomic::AtomicU64,
}

impl EdgeSync {
    /// Prepares the sync: the edge's instance id (made on first start) and what
    /// the link was when the edge stopped last.
    pub async fn new(
        state: AppState,
        settings: EdgeSettings,
        link: Arc<EdgeLink>,
    ) -> Result<Self, SyncError> {
        edge_store::allow_purge(&state.store).await?;
        let mut tx = state.store.write().await?;
        let kept = edge_store::edge_state(&mut tx, &uuid::Uuid::now_v7().to_string()).await?;
        tx.commit().await?;
        let unpushed = {
            let mut conn = state.store.read().await?;
            edge_store::unpushed_count(&mut conn).await?
        };
        link.set(LinkStatus {
            connected: false,
            offline_since: kept.offline_since,
            last_pulled_at: kept.last_pulled_at,
            unpushed,
            revoked: false,
        });
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .connect_timeout(std::time::Duration::from_secs(5))
            // A new connection for each exchange: a link that dropped is noticed
            // at once, not on a pooled connection's next use.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            state,
            settings,
            link,
            client,
            instance: kept.instance_id,
            rounds: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Syncs until `stop` turns true or the credential is refused.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.round().await {
                Ok(()) => {}
                Err(SyncError::Revoked) => {
                    tracing::error!("the central server refused the place's edge credential: sync stopped");
                    return;
                }
                Err(SyncError::Offline(why)) => tracing::warn!(%why, "central server not reachable"),
                Err(SyncError::Local(why)) => tracing::error!(%why, "edge sync failed here"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.interval) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// One round: push, ship the audit entries, pull. When central does not
    /// answer, the edge is marked offline (since the first round that failed).
    pub async fn round(&self) -> Result<(), SyncError> {
        let result = self.exchange().await;
        match &result {
            Err(SyncError::Offline(_)) => self.mark_offline().await?,
            Err(SyncError::Revoked) => {
                let mut status = self.link.status();
                status.connected = false;
                status.revoked = true;
                self.link.set(status);
            }
            _ => {}
        }
        result
    }

    async fn exchange(&self) -> Result<(), SyncError> {
        self.push().await?;
        self.ship_audit().await?;
        self.pull().await?;
        let now = self.state.clock.now();
        let unpushed = {
            let mut conn = self.state.store.read().await?;
            edge_store::unpushed_count(&mut conn).await?
        };
        self.link.set(LinkStatus {
            connected: true,
            offline_since: None,
            last_pulled_at: Some(now),
            unpushed,
            revoked: false,
        });
        Ok(())
    }

    async fn mark_offline(&self) -> Result<(), SyncError> {
        let now = self.state.clock.now();
        let mut tx = self.state.store.write().await?;
        edge_store::mark_offline(&mut tx, now).await?;
        tx.commit().await?;
        let mut conn = self.state.store.read().await?;
        let kept = edge_store::read_edge_state(&mut conn).await?;
        let unpushed = edge_store::unpushed_count(&mut conn).await?;
        self.link.set(LinkStatus {
            connected: false,
            offline_since: kept.as_ref().and_then(|k| k.offline_since).or(Some(now)),
            last_pulled_at: kept.and_then(|k| k.last_pulled_at),
            unpushed,
            revoked: false,
        });
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}/edge/v1/{path}", self.settings.upstream.trim_end_matches('/'))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, SyncError> {
        let response = request.bearer_auth(&self.settings.token).send().await?;
        match response.status() {
            reqwest::StatusCode::UNAUTHORIZED => Err(SyncError::Revoked),
            s if s.is_server_error() => Err(SyncError::Offline(format!("central answered {s}"))),
            _ => Ok(response),
        }
    }

    /// Pushes the recordings central does not have, oldest first.
    async fn push(&self) -> Result<(), SyncError> {
        loop {
            let recordings = {
                let mut conn = self.state.store.read().await?;
                let ids = edge_store::unpushed_events(&mut conn, PUSH_BATCH).await?;
                let mut recordings = Vec::with_capacity(ids.len());
                for id in ids {
                    let id = id
                        .parse()
                        .map_err(|_| SyncError::Local(format!("event id {id}")))?;
                    let Some(event) = dispensing_store::event_of(&mut conn, id).await? else {
                        continue;
                    };
                    let doses = dispensing_store::doses_of_event(&mut conn, id).await?;
                    recordings.push(PushedRecording::of(&event, &doses));
                }
                recordings
            };
            if recordings.is_empty() {
                return Ok(());
            }
            let body = serde_json::json!({"instance_id": self.instance, "recordings": recordings});
            let response = self
                .send(self.client.post(self.url("recordings")).json(&body))
                .await?;
            if !response.status().is_success() {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return Err(SyncError::Offline(format!("push refused ({status}): {text}")));
            }
            let answer: PushAnswer = serde_json::from_slice(&response.bytes().await?)
                .map_err(|e| SyncError::Offline(format!("push answer: {e}")))?;
            let known: Vec<String> = answer.stored.iter().map(|i| i.event_id.clone()).collect();
            for conflict in answer.stored.iter().filter(|i| !i.conflicts.is_empty()) {
                tracing::warn!(event = %conflict.event_id, conflicts = ?conflict.conflicts, "central found a conflict with a recording made here");
            }
            let mut tx = self.state.store.write().await?;
            edge_store::mark_known(&mut tx, &known, self.state.clock.now()).await?;
            tx.commit().await?;
        }
    }

    /// Ships the edge's audit entries into the central chain.
    async fn ship_audit(&self) -> Result<(), SyncError> {
        loop {
            let entries = {
                let mut conn = self.state.store.read().await?;
                let shipped = edge_store::read_edge_state(&mut conn)
                    .await?
                    .map_or(0, |s| s.audit_shipped_seq);
                edge_store::audit_after(&mut conn, shipped, AUDIT_BATCH).await?
            };
            if entries.is_empty() {
                return Ok(());
            }
            let body = serde_json::json!({"instance_id": self.instance, "entries": entries});
            let response = self.send(self.client.post(self.url("audit")).json(&body)).await?;
            if !response.status().is_success() {
                let status = response.status();
                return Err(SyncError::Offline(format!("audit shipping refused ({status})")));
            }
            let answer: AuditAnswer = serde_json::from_slice(&response.bytes().await?)
                .map_err(|e| SyncError::Offline(format!("audit answer: {e}")))?;
            let mut tx = self.state.store.write().await?;
            edge_store::mark_audit_shipped(&mut tx, answer.through).await?;
            tx.commit().await?;
        }
    }

    /// Pulls the place's snapshot, unless the edge holds it already: with the
    /// change cursor central answers 304 without making the snapshot when nothing
    /// moved; every [`FULL_EVERY`] rounds the edge asks without it, so a change the
    /// cursor missed is at most that many rounds behind.
    async fn pull(&self) -> Result<(), SyncError> {
        let kept = {
            let mut conn = self.state.store.read().await?;
            edge_store::read_edge_state(&mut conn).await?
        };
        let round = self.rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut request = self.client.get(self.url("feed"));
        if let Some(kept) = &kept
            && let Some(etag) = &kept.etag
        {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            if let Some(cursor) = kept
                .change_cursor
                .as_ref()
                .filter(|_| !round.is_multiple_of(FULL_EVERY))
            {
                request = request.query(&[("cursor", cursor)]);
            }
        }
        let response = self.send(request).await?;
        let now = self.state.clock.now();
        let cursor = response
            .headers()
            .get(CURSOR_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            let mut tx = self.state.store.write().await?;
            edge_store::mark_pulled(&mut tx, None, cursor.as_deref(), now).await?;
            tx.commit().await?;
            return Ok(());
        }
        if !response.status().is_success() {
            return Err(SyncError::Offline(format!("feed answered {}", response.status())));
        }
        let new_etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let snapshot: Value = serde_json::from_slice(&response.bytes().await?)
            .map_err(|e| SyncError::Offline(format!("snapshot: {e}")))?;
        apply_snapshot(&self.state, &snapshot, new_etag.as_deref(), cursor.as_deref()).await
    }
}

/// Rounds between two pulls without the change cursor.
const FULL_EVERY: u64 = 30;

/// The header central names its change mark in.
pub const CURSOR_HEADER: &str = "x-samhand-cursor";

/// Applies a snapshot in one transaction: only the tables a snapshot may hold,
/// each as its kind of rows is applied; the recordings in it are known to central.
pub async fn apply_snapshot(
    state: &AppState,
    snapshot: &Value,
    etag: Option<&str>,
    cursor: Option<&str>,
) -> Result<(), SyncError> {
    let tables = snapshot["tables"]
        .as_array()
        .ok_or_else(|| SyncError::Offline("a snapshot without tables".into()))?;
    let mut tx = state.store.write().await?;
    let mut known = Vec::new();
    for value in tables {
        let rows = TableRows::from_json(value)?;
        let spec = SNAPSHOT_TABLES
            .iter()
            .find(|t| t.table == rows.table)
            .ok_or_else(|| SyncError::Offline(format!("a snapshot with the table {}", rows.table)))?;
        edge_store::apply_rows(&mut tx, &rows, spec.apply, spec.key).await?;
        if rows.table == "dispensing_events"
            && let Some(id) = rows.columns.iter().position(|c| c == "id")
        {
            known.extend(
                rows.rows
                    .iter()
                    .filter_map(|r| r[id].as_str().map(str::to_string)),
            );
        }
    }
    let now = state.clock.now();
    edge_store::mark_known(&mut tx, &known, now).await?;
    // Whoever the place no longer has is removed here (their recordings pushed
    // first), and only they (H99).
    let keep: Vec<String> = snapshot["patients"]
        .as_array()
        .ok_or_else(|| SyncError::Offline("a snapshot without its patients".into()))?
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    let removed = edge_store::purge_patients(&mut tx, &keep).await?;
    edge_store::mark_pulled(&mut tx, etag, cursor, now).await?;
    tx.commit().await?;
    if !removed.is_empty() {
        tracing::info!(
            patients = removed.len(),
            "removed the patients the place no longer has"
        );
    }
    Ok(())
}
