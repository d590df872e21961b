//! Bulk export (FHIR Bulk Data, `$export`): with `Prefer: respond-async` the kick-off
//! answers 202 with a status URL; the export runs in the background as the caller
//! ([`run`]: the policy decides every patient, the patients written are audited)
//! into NDJSON files in the data directory, which are streamed from disk to the
//! same caller. `DELETE` on the status URL cancels a job and removes its files; a
//! finished job expires after `SAMHAND_EXPORT_EXPIRE_MINUTES` ([`jobs`]). At most
//! `SAMHAND_EXPORT_JOBS_PER_CLIENT` jobs per client and `SAMHAND_EXPORT_JOBS` in all
//! run at once; a further kick-off is answered 429 with `Retry-After`.

pub mod jobs;
mod run;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use samhand_domain::access::Action;
use samhand_domain::ids::OrganisationId;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult, operation_outcome};
use super::{FhirCaller, Kind, base_url, fhir_response, instant};
use crate::AppState;
use crate::auth::random_token;
use crate::error::AppError;
use jobs::{Busy, Job, JobState};

/// How long a client is asked to wait before polling again, or kicking off again
/// when too many exports run.
const RETRY_AFTER_SECONDS: u32 = 30;

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn not_found() -> FhirError {
    FhirError::App(AppError::NotFound("eksportjobben".into()))
}

fn job_of(state: &AppState, id: &str, caller: &FhirCaller) -> FhirResult<Job> {
    state
        .exports
        .get(id, caller.user.id, state.clock.now())
        .ok_or_else(not_found)
}

pub async fn kick_off_system(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    uri: Uri,
    query: Params,
) -> FhirResult<Response> {
    kick_off(state, caller, (headers, uri), query, None).await
}

pub async fn kick_off_group(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    Path(group): Path<String>,
    uri: Uri,
    query: Params,
) -> FhirResult<Response> {
    let group: OrganisationId = group
        .parse()
        .map_err(|_| FhirError::App(AppError::NotFound(format!("Group/{group}"))))?;
    kick_off(state, caller, (headers, uri), query, Some(group)).await
}

/// The types asked for by `_type` (each once, in the order first named), or all:
/// the patient data's, and the directory's (Practitioner, PractitionerRole,
/// Organization); an unknown type is refused.
fn requested_kinds(params: &[(String, String)]) -> FhirResult<(Vec<Kind>, Vec<&'static str>)> {
    let named: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "_type")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if named.is_empty() {
        return Ok((Kind::ALL.to_vec(), super::directory::TYPES.to_vec()));
    }
    let mut kinds = Vec::new();
    let mut directory = Vec::new();
    for name in named {
        if let Some(found) = super::directory::TYPES.iter().find(|t| **t == name) {
            if !directory.contains(found) {
                directory.push(*found);
            }
            continue;
        }
        let kind = Kind::from_name(name).ok_or_else(|| {
            FhirError::BadRequest(format!(
                "_type: ressurstypen «{name}» eksporteres ikke. Se /fhir/metadata for typene Samhand har."
            ))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok((kinds, directory))
}

fn busy(why: Busy) -> FhirError {
    let message = match why {
        Busy::Client => {
            "Klienten har allerede en eksport som kjører. Vent til den er ferdig, eller avbryt den."
        }
        Busy::Server => "Det kjører allerede så mange eksporter som Samhand tillater. Prøv igjen senere.",
    };
    FhirError::Busy {
        message: message.into(),
        retry_after_seconds: RETRY_AFTER_SECONDS,
    }
}

/// `_since`: only resources changed at or after this instant (their
/// `meta.lastUpdated`); it must be a FHIR instant, with its offset.
fn requested_since(params: &[(String, String)]) -> FhirResult<Option<Timestamp>> {
    let Some((_, text)) = params.iter().find(|(k, _)| k == "_since") else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|_| {
        FhirError::BadRequest(format!(
            "_since må være et tidspunkt med tidssone, som 2026-12-04T14:00:00+01:00, ikke «{text}»."
        ))
    })
}

async fn kick_off(
    state: AppState,
    caller: FhirCaller,
    (headers, uri): (HeaderMap, Uri),
    query: Params,
    group: Option<OrganisationId>,
) -> FhirResult<Response> {
    let prefers_async = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("respond-async"));
    if !prefers_async {
        return Err(FhirError::BadRequest(
            "$export krever headeren Prefer: respond-async.".into(),
        ));
    }
    // A Group is an organisation's patients: only one's own organisation's.
    if let Some(group) = group
        && group != caller.user.organisation_id
    {
        return Err(FhirError::App(AppError::Forbidden(
            "Du kan bare eksportere pasientene til din egen virksomhet.".into(),
        )));
    }
    let Query(params) =
        query.map_err(|e| FhirError::BadRequest(format!("Parameterne kunne ikke leses ({e}).")))?;
    let (mut kinds, mut directory) = requested_kinds(&params)?;
    let since = requested_since(&params)?;
    // Only what the token may read; the rest is left out, not refused.
    kinds.retain(|k| caller.scopes.allows(*k, Action::Read));
    directory.retain(|t| caller.scopes.allows_type(t, Action::Read));
    if kinds.is_empty() && directory.is_empty() {
        return Err(FhirError::MissingScope(
            "Tokenet gir ikke lesetilgang til noen ressurstype.".into(),
        ));
    }
    let base = base_url(&headers);
    let now = state.clock.now();
    state.exports.sweep(now);
    let job = Job {
        id: random_token(),
        owner: caller.user.id,
        // The kick-off as asked, query and all (Bulk Data's `request`).
        request: format!(
            "{base}{}",
            uri.path_and_query().map(|p| p.as_str()).unwrap_or("/$export")
        ),
        started: now,
        state: JobState::Running,
    };
    let id = job.id.clone();
    state.exports.start(job).map_err(busy)?;
    let task = tokio::spawn(run_job(
        state.clone(),
        caller,
        (kinds, directory, since),
        id.clone(),
    ));
    state.exports.attach(&id, task.abort_handle());
    let mut response = (
        StatusCode::ACCEPTED,
        super::fhir_json_body(&operation_outcome(vec![json!({
            "severity": "information", "code": "informational", "diagnostics": "Eksporten er startet."
        })])),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{base}/$export-status/{id}")) {
        response.headers_mut().insert(header::CONTENT_LOCATION, value);
    }
    Ok(response)
}

async fn run_job(
    state: AppState,
    caller: FhirCaller,
    (kinds, directory, since): (Vec<Kind>, Vec<&'static str>, Option<Timestamp>),
    id: String,
) {
    let dir = state.exports.dir(&id);
    let result = run::run(&state, &caller, (&kinds, &directory, since), dir).await;
    let finished = state.clock.now();
    state.exports.finish(
        &id,
        match result {
            Ok(files) => JobState::Done { finished, files },
            Err(error) => {
                let detail = format!("{error:?}");
                tracing::error!(%detail, "FHIR export failed");
                JobState::Failed { finished, detail }
            }
        },
    );
}

pub async fn status(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> FhirResult<Response> {
    let job = job_of(&state, &id, &caller)?;
    match job.state {
        JobState::Running => {
            let mut response = StatusCode::ACCEPTED.into_response();
            response
                .headers_mut()
                .insert("x-progress", HeaderValue::from_static("in progress"));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Ok(response)
        }
        JobState::Failed { detail, .. } => Err(FhirError::App(AppError::Internal(detail))),
        JobState::Done { files, .. } => {
            let base = base_url(&headers);
            let output: Vec<Value> = files
                .iter()
                .map(|(name, count)| {
                    json!({
                        "type": name,
                        "url": format!("{base}/$export-file/{id}/{name}.ndjson"),
                        "count": count,
                    })
                })
                .collect();
            let manifest = json!({
                "transactionTime": instant(job.started),
                "request": job.request,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
            });
            let mut response = fhir_response(StatusCode::OK, &manifest);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
    }
}

/// `DELETE` on the status URL: the job is ended and its files removed (202).
pub async fn cancel(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> FhirResult<Response> {
    state.exports.sweep(state.clock.now());
    if !state.exports.cancel(&id, caller.user.id) {
        return Err(not_found());
    }
    Ok((
        StatusCode::ACCEPTED,
        super::fhir_json_body(&operation_outcome(vec![json!({
            "severity": "information", "code": "informational", "diagnostics": "Eksporten er avbrutt og filene slettet."
        })])),
    )
        .into_response())
}

pub async fn file(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path((id, file)): Path<(String, String)>,
) -> FhirResult<Response> {
    let job = job_of(&state, &id, &caller)?;
    let JobState::Done { files, .. } = job.state else {
        return Err(FhirError::App(AppError::NotFound(
            "filen (eksporten er ikke ferdig)".into(),
        )));
    };
    let name = file.strip_suffix(".ndjson").unwrap_or(&file);
    let (found, _) = files
        .into_iter()
        .find(|(found, _)| *found == name)
        .ok_or_else(|| FhirError::App(AppError::NotFound(format!("filen {file}"))))?;
    let path = state.exports.dir(&job.id).join(format!("{found}.ndjson"));
    let opened = std::fs::File::open(&path)
        .map_err(|_| FhirError::App(AppError::NotFound(format!("filen {file}"))))?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+ndjson"),
        )],
        Body::from_stream(stream_file(opened)),
    )
        .into_response())
}

/// Chunks of a file, read off the async workers, for a streamed answer.
struct Chunks(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

fn stream_file(mut file: std::fs::File) -> Chunks {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let chunk = match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => Ok(Bytes::copy_from_slice(&buffer[..n])),
                Err(error) => Err(error),
            };
            let failed = chunk.is_err();
            // The client went away: stop reading.
            if sender.blocking_send(chunk).is_err() || failed {
                break;
            }
        }
    });
    Chunks(receiver)
}
