//! Bulk export (FHIR Bulk Data, `$export`): with `Prefer: respond-async` the kick-off
//! answers 202 with a status URL; the export runs in the background as the caller,
//! through the same searches (so the policy decides and audits every patient), and
//! its NDJSON files are downloaded with the same token.
//!
//! Jobs are kept in memory in this process (at most [`MAX_JOBS`], the oldest
//! dropped first) and are lost at restart: a client then starts a new export.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use samhand_domain::access::Action;
use samhand_domain::ids::{OrganisationId, UserId};
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult, operation_outcome};
use super::search::{SearchRequest, matching};
use super::{FhirCaller, Kind, base_url, fhir_response, instant};
use crate::AppState;
use crate::auth::random_token;
use crate::error::AppError;
use crate::service::Service;

const MAX_JOBS: usize = 100;

#[derive(Debug, Clone)]
enum JobState {
    Running,
    Done(Vec<(Kind, String)>),
    Failed(String),
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    /// Only the user who started the export may poll it and fetch its files.
    owner: UserId,
    request: String,
    started: jiff::Timestamp,
    state: JobState,
}

fn jobs() -> &'static Mutex<VecDeque<Job>> {
    static JOBS: OnceLock<Mutex<VecDeque<Job>>> = OnceLock::new();
    JOBS.get_or_init(|| Mutex::new(VecDeque::new()))
}

fn with_jobs<T>(f: impl FnOnce(&mut VecDeque<Job>) -> T) -> T {
    let mut guard = jobs().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

fn job_of(id: &str, caller: &FhirCaller) -> FhirResult<Job> {
    with_jobs(|jobs| {
        jobs.iter()
            .find(|j| j.id == id && j.owner == caller.user.id)
            .cloned()
    })
    .ok_or_else(|| FhirError::App(AppError::NotFound("eksportjobben".into())))
}

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub async fn kick_off_system(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Params,
) -> FhirResult<Response> {
    kick_off(state, caller, headers, query, None).await
}

pub async fn kick_off_group(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    Path(group): Path<String>,
    query: Params,
) -> FhirResult<Response> {
    let group: OrganisationId = group
        .parse()
        .map_err(|_| FhirError::App(AppError::NotFound(format!("Group/{group}"))))?;
    kick_off(state, caller, headers, query, Some(group)).await
}

async fn kick_off(
    state: AppState,
    caller: FhirCaller,
    headers: HeaderMap,
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
    let mut kinds: Vec<Kind> = Kind::ALL.to_vec();
    if let Some((_, types)) = params.iter().find(|(k, _)| k == "_type") {
        kinds = Vec::new();
        for name in types.split(',') {
            kinds.push(Kind::from_name(name.trim()).ok_or_else(|| {
                FhirError::BadRequest(format!("_type: ressurstypen «{name}» støttes ikke."))
            })?);
        }
    }
    // Only what the token may read; the rest is left out, not refused.
    kinds.retain(|k| caller.scopes.allows(*k, Action::Read));
    if kinds.is_empty() {
        return Err(FhirError::MissingScope(
            "Tokenet gir ikke lesetilgang til noen ressurstype.".into(),
        ));
    }
    let base = base_url(&headers);
    let job = Job {
        id: random_token(),
        owner: caller.user.id,
        request: format!("{base}/$export"),
        started: state.clock.now(),
        state: JobState::Running,
    };
    let id = job.id.clone();
    with_jobs(|jobs| {
        jobs.push_back(job);
        while jobs.len() > MAX_JOBS {
            jobs.pop_front();
        }
    });
    let task_id = id.clone();
    let state = Arc::new(state);
    tokio::spawn(async move {
        let result = run(&state, &caller, &kinds).await;
        with_jobs(|jobs| {
            if let Some(job) = jobs.iter_mut().find(|j| j.id == task_id) {
                job.state = match result {
                    Ok(files) => JobState::Done(files),
                    Err(error) => JobState::Failed(format!("{error:?}")),
                };
            }
        });
    });
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

async fn run(state: &AppState, caller: &FhirCaller, kinds: &[Kind]) -> FhirResult<Vec<(Kind, String)>> {
    let service = Service::new(state, caller.actor());
    let mut files = Vec::new();
    for kind in kinds {
        let request = SearchRequest::parse(*kind, &[])?;
        let resources = matching(&service, *kind, &request).await?;
        if resources.is_empty() {
            continue;
        }
        let ndjson: String = resources.iter().map(|r| format!("{r}\n")).collect();
        files.push((*kind, ndjson));
    }
    Ok(files)
}

pub async fn status(caller: FhirCaller, headers: HeaderMap, Path(id): Path<String>) -> FhirResult<Response> {
    let job = job_of(&id, &caller)?;
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
        JobState::Failed(detail) => {
            tracing::error!(%detail, "FHIR export failed");
            Err(FhirError::App(AppError::Internal(detail)))
        }
        JobState::Done(files) => {
            let base = base_url(&headers);
            let output: Vec<Value> = files
                .iter()
                .map(|(kind, ndjson)| {
                    json!({
                        "type": kind.name(),
                        "url": format!("{base}/$export-file/{id}/{}.ndjson", kind.name()),
                        "count": ndjson.lines().count(),
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

pub async fn file(caller: FhirCaller, Path((id, file)): Path<(String, String)>) -> FhirResult<Response> {
    let job = job_of(&id, &caller)?;
    let JobState::Done(files) = job.state else {
        return Err(FhirError::App(AppError::NotFound(
            "filen (eksporten er ikke ferdig)".into(),
        )));
    };
    let name = file.strip_suffix(".ndjson").unwrap_or(&file);
    let (_, ndjson) = files
        .into_iter()
        .find(|(kind, _)| kind.name() == name)
        .ok_or_else(|| FhirError::App(AppError::NotFound(format!("filen {file}"))))?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+ndjson"),
        )],
        ndjson,
    )
        .into_response())
}
