//! The central server's side of `samhand edge`, under `/edge/v1`, for a place's
//! edge holding a credential the administrator issued (`samhand edge token
//! --place NAME`): the place's snapshot (`GET /feed`, with an ETag, so an edge
//! holding the same gets 304 and nothing is read again), its recordings pushed
//! (`POST /recordings`, stored exactly once) and its audit entries shipped into
//! the central chain (`POST /audit`). A revoked credential is refused at once.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use samhand_domain::access::{Action, Actor, DataCategory, SystemActor};
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::organisation::{Role, StaffUser};
use samhand_store::audit::{self, AuditEntry};
use samhand_store::edge as edge_store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::service::{Intake, PushedRecording, Service};

/// The routes under `/edge/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/feed", axum::routing::get(feed))
        .route("/recordings", axum::routing::post(recordings))
        .route("/audit", axum::routing::post(audit_entries))
        .layer(axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT))
}

/// The place whose edge is calling, by its credential.
pub struct EdgeCaller {
    pub credential: String,
    pub place: OrganisationId,
}

impl FromRequestParts<AppState> for EdgeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError(AppError::Unauthenticated))?;
        let mut conn = state.store.read().await.map_err(AppError::from)?;
        let found = edge_store::credential_by_hash(&mut conn, &crate::auth::token_hash(token))
            .await
            .map_err(AppError::from)?
            .ok_or(ApiError(AppError::Unauthenticated))?;
        Ok(Self {
            credential: found.id,
            place: found.place_id,
        })
    }
}

impl EdgeCaller {
    /// The edge as an actor: the place's dispensing staff, under the credential's
    /// id, so the policy gives it what the place may see and no more, and the
    /// audit log names the credential.
    async fn as_staff(&self, state: &AppState) -> Result<StaffUser, AppError> {
        let organisations = {
            let mut conn = state.store.read().await?;
            state
                .directory
                .current(&mut conn)
                .await?
                .organisations(&mut conn)
                .await?
        };
        let place = organisations
            .get(&self.place)
            .ok_or_else(|| AppError::NotFound("utleveringsstedet".into()))?;
        Ok(StaffUser {
            id: self
                .credential
                .parse()
                .map_err(|_| AppError::Internal("credential id".into()))?,
            username: format!("edge:{}", self.credential),
            display_name: format!("Samhand ved {}", place.name),
            role: Role::DispensingStaff,
            organisation_id: place.id,
            organisation_kind: place.kind,
        })
    }
}

/// The place's snapshot; 304 when the edge already holds it (`If-None-Match`).
async fn feed(
    State(state): State<AppState>,
    caller: EdgeCaller,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<FeedQuery>,
) -> Result<Response, ApiError> {
    // The change cursor: when the central record has not moved since the edge's
    // snapshot (nor the day), the edge holds what it would be sent.
    let mark = {
        let mut conn = state.store.read().await.map_err(AppError::from)?;
        let mark = edge_store::change_mark(&mut conn).await.map_err(AppError::from)?;
        crate::auth::hex(&Sha256::digest(
            format!("{}|{mark}", state.clock.today()).as_bytes(),
        ))
    };
    let cursor_header = HeaderValue::from_str(&mark).map_err(|e| AppError::Internal(e.to_string()))?;
    let cursor_name = header::HeaderName::from_static(super::sync::CURSOR_HEADER);
    if headers.contains_key(header::IF_NONE_MATCH) && query.cursor.as_deref() == Some(mark.as_str()) {
        return Ok((StatusCode::NOT_MODIFIED, [(cursor_name, cursor_header)]).into_response());
    }
    let staff = caller.as_staff(&state).await?;
    let service = Service::new(&state, Actor::Staff(staff));
    let days_ahead = service.policy().await?.edge_days_ahead;
    let (snapshot, patients) = service.edge_snapshot(days_ahead).await?;
    let body = serde_json::to_vec(&snapshot.to_json()).map_err(|e| AppError::Internal(e.to_string()))?;
    let etag = format!("\"{}\"", crate::auth::hex(&Sha256::digest(&body)));
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let etag_header = HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.to_string()))?;
    if held {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_header), (cursor_name, cursor_header)],
        )
            .into_response());
    }
    service.record_edge_snapshot(&patients).await?;
    Ok((
        StatusCode::OK,
        [
            (header::ETAG, etag_header),
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (cursor_name, cursor_header),
        ],
        body,
    )
        .into_response())
}

/// The edge's change cursor, from the snapshot it holds.
#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    pub cursor: Option<String>,
}

/// Recordings pushed by an edge, in the order they were made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushBody {
    pub instance_id: String,
    pub recordings: Vec<PushedRecording>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushAnswer {
    pub stored: Vec<Intake>,
}

/// Stores each pushed recording exactly once, in order, as the staff member who
/// made it; the answer names each with its conflicts.
async fn recordings(
    State(state): State<AppState>,
    caller: EdgeCaller,
    Json(body): Json<PushBody>,
) -> Result<Json<PushAnswer>, ApiError> {
    let mut stored = Vec::with_capacity(body.recordings.len());
    for recording in &body.recordings {
        let staff = recorder_at_place(&state, &recording.recorded_by, caller.place).await?;
        let intake = Service::new(&state, Actor::Staff(staff))
            .take_edge_recording(recording, &body.instance_id)
            .await?;
        stored.push(intake);
    }
    Ok(Json(PushAnswer { stored }))
}

/// The staff member who recorded at the edge, acting at the edge's place (their
/// own organisation, or a role they have there). One who no longer works there
/// still recorded what they recorded: they act at the place for this alone.
async fn recorder_at_place(
    state: &AppState,
    user: &str,
    place: OrganisationId,
) -> Result<StaffUser, AppError> {
    let id: UserId = user
        .parse()
        .map_err(|_| AppError::Conflict("Ukjent bruker i registrering fra utleveringsstedet.".into()))?;
    let mut conn = state.store.read().await?;
    let directory = state.directory.current(&mut conn).await?;
    let record = directory
        .user(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::Conflict("Ukjent bruker i registrering fra utleveringsstedet.".into()))?;
    if record.user.organisation_id == place {
        return Ok(record.user);
    }
    let organisations = directory.organisations(&mut conn).await?;
    let kind = organisations
        .get(&place)
        .map(|o| o.kind)
        .ok_or_else(|| AppError::NotFound("utleveringsstedet".into()))?;
    let role = directory
        .extra_roles(&mut conn, id)
        .await?
        .into_iter()
        .find(|r| r.organisation_id == place)
        .map_or(Role::DispensingStaff, |r| r.role);
    Ok(StaffUser {
        organisation_id: place,
        organisation_kind: kind,
        role,
        ..record.user
    })
}

/// An edge's audit entries, shipped into the central chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditBody {
    pub instance_id: String,
    pub entries: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditAnswer {
    /// The highest of the edge's sequence numbers now in the central chain.
    pub through: i64,
    pub appended: usize,
}

/// Appends each entry not taken before to the central chain, with the time and
/// the person of the edge's entry; the relation says it was at the edge.
async fn audit_entries(
    State(state): State<AppState>,
    caller: EdgeCaller,
    Json(body): Json<AuditBody>,
) -> Result<Json<AuditAnswer>, ApiError> {
    let mut through = 0;
    let mut appended = 0;
    let mut tx = state.store.write().await.map_err(AppError::from)?;
    for entry in &body.entries {
        let shipped = ShippedEntry::read(entry).ok_or_else(|| {
            AppError::Invalid(samhand_domain::validation::FieldErrors::single(
                "entries",
                "Ugyldig loggføring fra utleveringsstedet.",
            ))
        })?;
        through = through.max(shipped.seq);
        if !edge_store::take_audit_entry(&mut tx, &body.instance_id, shipped.seq, state.clock.now())
            .await
            .map_err(AppError::from)?
        {
            continue;
        }
        let actor = shipped.actor(&state, caller.place).await?;
        let detail = format!("at the place's edge: {}", shipped.detail);
        let relation = format!("edge:{}", shipped.relation);
        let at = jiff::Timestamp::from_microsecond(shipped.at).unwrap_or_else(|_| state.clock.now());
        let record = AuditEntry {
            at,
            actor: &actor,
            patient: shipped.patient,
            category: shipped.category,
            action: shipped.action,
            allowed: shipped.allowed,
            relation: &relation,
            detail: &detail,
        };
        if shipped.linked.is_empty() {
            audit::append(&state.store, &mut tx, &record)
                .await
                .map_err(AppError::from)?;
        } else {
            audit::append_about_many(&state.store, &mut tx, &record, &shipped.linked)
                .await
                .map_err(AppError::from)?;
        }
        appended += 1;
    }
    tx.commit().await.map_err(AppError::from)?;
    Ok(Json(AuditAnswer { through, appended }))
}

/// One of the edge's audit entries, read.
struct ShippedEntry {
    seq: i64,
    at: i64,
    actor_id: String,
    patient: Option<PatientId>,
    linked: Vec<PatientId>,
    category: DataCategory,
    action: Action,
    allowed: bool,
    relation: String,
    detail: String,
}

impl ShippedEntry {
    fn read(value: &serde_json::Value) -> Option<Self> {
        let text = |k: &str| value[k].as_str().map(str::to_string);
        Some(Self {
            seq: value["seq"].as_i64()?,
            at: value["at"].as_i64()?,
            actor_id: text("actor_id")?,
            patient: match &value["patient_id"] {
                serde_json::Value::Null => None,
                v => Some(v.as_str()?.parse().ok()?),
            },
            linked: value["linked"]
                .as_array()?
                .iter()
                .map(|p| p.as_str().and_then(|p| p.parse().ok()))
                .collect::<Option<Vec<_>>>()?,
            category: DataCategory::from_code(value["category"].as_str()?)?,
            action: Action::from_code(value["action"].as_str()?)?,
            allowed: value["allowed"].as_bool()?,
            relation: text("relation")?,
            detail: text("detail")?,
        })
    }

    /// The person of the entry as the central directory knows them, acting at the
    /// place; Samhand itself at the place when the entry is not a person's.
    async fn actor(&self, state: &AppState, place: OrganisationId) -> Result<Actor, AppError> {
        match recorder_at_place(state, &self.actor_id, place).await {
            Ok(staff) => Ok(Actor::Staff(staff)),
            Err(_) => Ok(Actor::System(SystemActor {
                organisation_id: place,
                job: "edge",
            })),
        }
    }
}
