//! The HL7 FHIR R4 API (JSON) under /fhir: the CapabilityStatement, the OAuth2
//! client-credentials token endpoint for system clients, read / search / history of
//! the resources Samhand holds, a person registered or their identity corrected
//! as a Patient, a laboratory's drug test received or corrected as an
//! Observation, a stay reported as an Encounter, bulk export, the directory of
//! health personnel and organisations (Practitioner, PractitionerRole,
//! Organization) and Samhand's own StructureDefinitions and FHIR package. Only this module knows FHIR JSON: it builds it by
//! hand from domain types with `serde_json`, and every read and write goes through
//! [`crate::service::Service`] and so the policy and the audit log.

mod audit_event;
mod body;
mod careplan;
mod communication;
mod conformance;
mod directory;
mod encounter;
mod export;
mod load;
mod medication;
mod metadata;
mod observation;
pub mod outcome;
mod package;
mod patient;
mod patient_write;
mod received;
pub mod references;
mod search;
mod search_params;
pub mod token;

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::ids::PatientId;
use samhand_domain::organisation::StaffUser;
use samhand_store::fhir::OwnerTable;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{PATIENT_TOKEN_PREFIX, token_hash};
use crate::error::AppError;
use crate::repo::PatientRepo;
use crate::service::{Period, Service};
pub use export::jobs::{Jobs as ExportJobs, Limits as ExportLimits};
pub use load::{current_versions, version_of};
use outcome::{FhirError, FhirResult};
pub use references::{organisation_reference, user_reference};
pub use token::{FHIR_TOKEN_PREFIX, register_client};

/// The FHIR version Samhand speaks.
pub const FHIR_VERSION: &str = "4.0.1";
pub const FHIR_JSON: &str = "application/fhir+json";
/// Identifier systems of Norwegian national identity numbers (Folkeregisteret).
pub const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
pub const DNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
/// Samhand's own identifier and code systems.
pub const SAMHAND_SYSTEM: &str = "https://samhand.no/fhir";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metadata", get(metadata::capability_statement))
        .route("/token", post(token::token))
        .route("/$export", get(export::kick_off_system))
        .route("/Group/{id}/$export", get(export::kick_off_group))
        .route(
            "/$export-status/{job}",
            get(export::status).delete(export::cancel),
        )
        .route("/$export-file/{job}/{file}", get(export::file))
        .route(
            "/Observation",
            post(observation::create)
                .layer(write_limit())
                .get(search::search_observation),
        )
        .route(
            "/Encounter",
            post(encounter::create)
                .layer(write_limit())
                .get(search::search_encounter),
        )
        .route(
            "/Patient",
            post(patient_write::create)
                .layer(write_limit())
                .get(search::search_patient),
        )
        .merge(directory::routes())
        .merge(conformance::routes())
        .route("/{kind}", get(search::search))
        .route("/{kind}/{id}", get(read).put(update).layer(write_limit()))
        .route("/{kind}/{id}/_history", get(history))
        .route("/{kind}/{id}/_history/{version}", get(version_read))
        .fallback(unknown)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(negotiate))
}

/// Whether a media type (of `Accept` or `_format`) asks for XML.
fn is_xml(media: &str) -> bool {
    let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media == "xml" || media.ends_with("/xml") || media.ends_with("+xml")
}

/// Whether a media type of `Accept` is one Samhand writes (JSON, NDJSON, a
/// wildcard).
fn is_served(media: &str) -> bool {
    let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media.is_empty() || media.contains("json") || media.ends_with("/*")
}

/// Content negotiation: Samhand writes FHIR JSON only, so a request that asks for
/// XML only (`Accept`, or `_format`) is answered 406 with an OperationOutcome,
/// before anything is read.
async fn negotiate(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let accepts: Vec<String> = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::to_string)
        .collect();
    let xml_accept = accepts.iter().any(|m| is_xml(m)) && !accepts.iter().any(|m| is_served(m));
    let xml_format =
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(request.uri()).is_ok_and(|query| {
            query
                .0
                .iter()
                .any(|(key, value)| key == "_format" && is_xml(value))
        });
    if xml_accept || xml_format {
        return FhirError::NotAcceptable(
            "Samhand svarer bare med FHIR JSON (application/fhir+json); XML støttes ikke.".into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// A FHIR write takes one resource, more than a form but no file.
fn write_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(crate::FHIR_WRITE_LIMIT)
}

async fn method_not_allowed() -> Response {
    fhir_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &outcome::operation_outcome(vec![json!({
            "severity": "error",
            "code": "not-supported",
            "diagnostics": "Samhand støtter ikke denne metoden her. Se /fhir/metadata.",
        })]),
    )
}

async fn unknown() -> FhirError {
    unknown_address()
}

/// The OperationOutcome for an address under /fhir that does not exist.
pub(crate) fn unknown_address() -> FhirError {
    FhirError::NotSupported("Samhand's FHIR API has no such address. See /fhir/metadata.".into())
}

/// A FHIR JSON answer with the status given.
pub fn fhir_json_body(value: &Value) -> impl IntoResponse + use<> {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json; charset=utf-8"),
        )],
        value.to_string(),
    )
}

pub fn fhir_response(status: StatusCode, value: &Value) -> Response {
    (status, fhir_json_body(value)).into_response()
}

// ------------------------------------------------------------------- resources

/// The resource types Samhand serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Patient,
    EpisodeOfCare,
    MedicationRequest,
    MedicationDispense,
    MedicationAdministration,
    CareTeam,
    Consent,
    Flag,
    Communication,
    AuditEvent,
    Observation,
    Encounter,
    CarePlan,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Self::Patient,
        Self::EpisodeOfCare,
        Self::MedicationRequest,
        Self::MedicationDispense,
        Self::MedicationAdministration,
        Self::CareTeam,
        Self::Consent,
        Self::Flag,
        Self::Communication,
        Self::AuditEvent,
        Self::Observation,
        Self::Encounter,
        Self::CarePlan,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Patient => "Patient",
            Self::EpisodeOfCare => "EpisodeOfCare",
            Self::MedicationRequest => "MedicationRequest",
            Self::MedicationDispense => "MedicationDispense",
            Self::MedicationAdministration => "MedicationAdministration",
            Self::CareTeam => "CareTeam",
            Self::Consent => "Consent",
            Self::Flag => "Flag",
            Self::Communication => "Communication",
            Self::AuditEvent => "AuditEvent",
            Self::Observation => "Observation",
            Self::Encounter => "Encounter",
            Self::CarePlan => "CarePlan",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The part of the record the policy decides a read of this type on.
    pub fn category(self) -> DataCategory {
        match self {
            Self::Patient | Self::EpisodeOfCare | Self::Communication | Self::Encounter => {
                DataCategory::Identity
            }
            Self::MedicationRequest => DataCategory::Medication,
            Self::MedicationDispense | Self::MedicationAdministration | Self::Flag => {
                DataCategory::Dispensing
            }
            Self::CareTeam | Self::Consent | Self::AuditEvent => DataCategory::Privacy,
            Self::Observation => DataCategory::DrugTests,
            Self::CarePlan => DataCategory::PlanAndGoals,
        }
    }

    /// The element the `date` search parameter compares.
    pub fn date_element(self) -> Option<&'static str> {
        match self {
            Self::Patient => None,
            Self::EpisodeOfCare | Self::CareTeam | Self::Flag | Self::Encounter | Self::CarePlan => {
                Some("period.start")
            }
            Self::MedicationRequest => Some("authoredOn"),
            Self::MedicationDispense => Some("whenHandedOver"),
            Self::MedicationAdministration => Some("effectiveDateTime"),
            Self::Consent => Some("dateTime"),
            Self::Communication => Some("sent"),
            Self::AuditEvent => Some("recorded"),
            Self::Observation => Some("effectiveDateTime"),
        }
    }

    /// Whether a resource's `meta.lastUpdated` is the instant of its
    /// [`Self::date_element`]: a recording at the window and an audit entry are
    /// written once, and both elements are built from the one instant.
    pub fn updated_at_its_date(self) -> bool {
        matches!(
            self,
            Self::MedicationDispense | Self::MedicationAdministration | Self::AuditEvent
        )
    }

    /// The name R4 gives the search parameter on [`Self::date_element`] (`date`
    /// is taken too, as Samhand's first versions named them all).
    pub fn date_param(self) -> &'static str {
        match self {
            Self::MedicationRequest => "authoredon",
            Self::MedicationDispense => "whenhandedover",
            Self::MedicationAdministration => "effective-time",
            Self::Communication => "sent",
            _ => "date",
        }
    }

    /// The element that holds the patient reference, for `_include=…:patient`.
    pub fn patient_element(self) -> &'static str {
        match self {
            Self::Patient => "id",
            Self::EpisodeOfCare | Self::Consent => "patient",
            Self::AuditEvent => "entity",
            _ => "subject",
        }
    }

    /// Where the patient of one resource of this type is found, by its id. (A
    /// MedicationAdministration's id begins with its recording's id.)
    fn owner(self) -> Owner {
        match self {
            Self::Patient | Self::CareTeam | Self::Flag | Self::CarePlan => Owner::Patient,
            Self::EpisodeOfCare | Self::MedicationRequest => Owner::Table(OwnerTable::Episode),
            Self::MedicationDispense | Self::MedicationAdministration => {
                Owner::Table(OwnerTable::DispensingEvent)
            }
            Self::Consent => Owner::Table(OwnerTable::Consent),
            Self::Communication => Owner::Table(OwnerTable::Message),
            Self::AuditEvent => Owner::Table(OwnerTable::AuditEntry),
            Self::Observation => Owner::Table(OwnerTable::DrugTest),
            Self::Encounter => Owner::Table(OwnerTable::Stay),
        }
    }
}

/// Whether Samhand serves the resource type named (for scopes).
fn served_type(name: &str) -> bool {
    Kind::from_name(name).is_some() || directory::TYPES.contains(&name)
}

enum Owner {
    Patient,
    Table(OwnerTable),
}

fn kind_of(name: &str) -> FhirResult<Kind> {
    Kind::from_name(name).ok_or_else(|| {
        FhirError::NotSupported(format!(
            "Ressurstypen «{name}» støttes ikke. Se /fhir/metadata for det Samhand støtter."
        ))
    })
}

// ------------------------------------------------------------------ the caller

/// What a token may do: (resource type or "*", read, write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<(String, bool, bool)>);

impl Scopes {
    /// Parses SMART scopes (`system/Patient.read`, `system/*.write`,
    /// `system/Observation.*`, v2 `system/Patient.rs`); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut scopes = Vec::new();
        for scope in text.split_whitespace() {
            let (context, rest) = scope.split_once('/')?;
            if !matches!(context, "system" | "user") {
                return None;
            }
            let (resource, permission) = rest.split_once('.')?;
            if resource != "*" && !served_type(resource) {
                return None;
            }
            let (read, write) = match permission {
                "read" => (true, false),
                "write" => (false, true),
                "*" => (true, true),
                letters if !letters.is_empty() && letters.chars().all(|c| "cruds".contains(c)) => (
                    letters.contains('r') || letters.contains('s'),
                    letters.contains('c') || letters.contains('u') || letters.contains('d'),
                ),
                _ => return None,
            };
            scopes.push((resource.to_string(), read, write));
        }
        Some(Self(scopes))
    }

    /// Everything: a staff member's own API token acts with the staff member's rights.
    pub fn all() -> Self {
        Self(vec![("*".into(), true, true)])
    }

    pub fn allows(&self, kind: Kind, action: Action) -> bool {
        self.allows_type(kind.name(), action)
    }

    /// Whether the scopes cover `action` on the resource type named.
    pub fn allows_type(&self, name: &str, action: Action) -> bool {
        self.0.iter().any(|(resource, read, write)| {
            (resource == "*" || resource == name)
                && match action {
                    Action::Read => *read,
                    Action::Write | Action::Correct => *write,
                }
        })
    }

    /// Only the scopes of `self` that `granted` also allows (a client asks for no
    /// more than it was registered with).
    pub fn text(&self) -> String {
        self.0
            .iter()
            .map(|(resource, read, write)| {
                let permission = match (read, write) {
                    (true, true) => "*",
                    (true, false) => "read",
                    _ => "write",
                };
                format!("system/{resource}.{permission}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The scopes asked for that the registration covers; `None` if one is not.
    pub fn narrowed_to(&self, registered: &Scopes) -> Option<Scopes> {
        fn types(resource: &str) -> Vec<&str> {
            if resource == "*" {
                Kind::ALL
                    .iter()
                    .map(|k| k.name())
                    .chain(directory::TYPES)
                    .collect()
            } else {
                vec![resource]
            }
        }
        for (resource, read, write) in &self.0 {
            for name in types(resource) {
                if (*read && !registered.allows_type(name, Action::Read))
                    || (*write && !registered.allows_type(name, Action::Write))
                {
                    return None;
                }
            }
        }
        Some(self.clone())
    }
}

/// Whoever calls the FHIR API: a registered system client acting as its service
/// user, or a staff member with their own API token, with what the token allows.
#[derive(Debug, Clone)]
pub struct FhirCaller {
    pub user: StaffUser,
    pub scopes: Scopes,
}

impl FhirCaller {
    pub fn actor(&self) -> Actor {
        Actor::Staff(self.user.clone())
    }

    /// Refuses, and records in the audit log, an interaction the token's scopes do
    /// not cover, whatever the policy would say.
    pub async fn require(&self, state: &AppState, kind: Kind, action: Action, what: &str) -> FhirResult<()> {
        self.require_type(state, kind.name(), kind.category(), action, what)
            .await
    }

    /// [`Self::require`] for any type served, named, whose reads the audit log
    /// files under `category`.
    pub async fn require_type(
        &self,
        state: &AppState,
        name: &str,
        category: DataCategory,
        action: Action,
        what: &str,
    ) -> FhirResult<()> {
        if self.scopes.allows_type(name, action) {
            return Ok(());
        }
        let detail = format!(
            "FHIR {what}: refused, the token has no {} scope for {name}",
            action.code(),
        );
        PatientRepo::new(state, self.actor())
            .record_denial(None, category, action, &detail)
            .await?;
        Err(FhirError::MissingScope(format!(
            "Tokenet gir ikke tilgang til å {} {name}. Be om scope system/{name}.{}.",
            if action == Action::Read { "lese" } else { "skrive" },
            action.code()
        )))
    }
}

impl FromRequestParts<AppState> for FhirCaller {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(AppError::Unauthenticated)?;
        let now = state.clock.now();
        let mut conn = state.store.read().await.map_err(AppError::from)?;
        let (user_id, scopes) = if token.starts_with(FHIR_TOKEN_PREFIX) {
            let (user, scopes) = samhand_store::fhir::token(&mut conn, &token_hash(token), now)
                .await
                .map_err(AppError::from)?
                .ok_or(AppError::Unauthenticated)?;
            (user, Scopes::parse(&scopes).unwrap_or(Scopes(Vec::new())))
        } else if token.starts_with(PATIENT_TOKEN_PREFIX) {
            return Err(AppError::Forbidden(
                "FHIR-API-et er for virksomheter og ansatte; pasienter bruker /api/v1.".into(),
            )
            .into());
        } else {
            let user = samhand_store::users::api_token_user(&mut conn, &token_hash(token), now)
                .await
                .map_err(AppError::from)?
                .ok_or(AppError::Unauthenticated)?;
            (user, Scopes::all())
        };
        let record = samhand_store::users::by_id(&mut conn, user_id)
            .await
            .map_err(AppError::from)?
            .filter(|r| r.active)
            .ok_or(AppError::Unauthenticated)?;
        Ok(Self {
            user: record.user,
            scopes,
        })
    }
}

/// The base URL of the FHIR API as the caller reached it, for fullUrl and links.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}/fhir")
}

// ------------------------------------------------------------- read, history

/// Every version of one resource, after the policy allowed reading its patient's
/// record: 404 when there is no such resource, 403 (audited) when denied.
async fn versions_of(service: &Service<'_>, kind: Kind, id: &str) -> FhirResult<Vec<Value>> {
    let not_found = || FhirError::App(AppError::NotFound(format!("{}/{id}", kind.name())));
    let lookup = if kind == Kind::MedicationAdministration {
        id.get(..36).unwrap_or(id)
    } else {
        id
    };
    let patient: PatientId = match kind.owner() {
        Owner::Patient => id.parse().map_err(|_| not_found())?,
        Owner::Table(table) => service.fhir_owner(table, lookup).await?.ok_or_else(not_found)?,
    };
    let detail = format!("FHIR read {}/{id}", kind.name());
    let all = if kind == Kind::Communication {
        let messages = service.patient_messages(patient).await?;
        let organisations = service.fhir_organisations().await?;
        load::linked(
            service,
            communication::communications(&[messages], &organisations),
        )
        .await?
    } else {
        let grant = service.fhir_grant(patient, kind.category(), &detail).await?;
        load::build(service, kind, &[grant], Period::ALL).await?
    };
    let versions: Vec<Value> = all.into_iter().filter(|r| r["id"] == json!(id)).collect();
    if versions.is_empty() {
        return Err(not_found());
    }
    Ok(versions)
}

async fn read(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path((kind, id)): Path<(String, String)>,
) -> FhirResult<Response> {
    let kind = kind_of(&kind)?;
    caller.require(&state, kind, Action::Read, "read").await?;
    let service = Service::new(&state, caller.actor());
    let current = current_versions(versions_of(&service, kind, &id).await?);
    let resource = current
        .into_iter()
        .next()
        .ok_or_else(|| AppError::NotFound(id.clone()))?;
    Ok(with_etag(fhir_response(StatusCode::OK, &resource), &resource))
}

async fn version_read(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path((kind, id, version)): Path<(String, String, String)>,
) -> FhirResult<Response> {
    let kind = kind_of(&kind)?;
    caller.require(&state, kind, Action::Read, "vread").await?;
    let service = Service::new(&state, caller.actor());
    let resource = versions_of(&service, kind, &id)
        .await?
        .into_iter()
        .find(|r| r["meta"]["versionId"] == json!(version))
        .ok_or_else(|| AppError::NotFound(format!("{}/{id}/_history/{version}", kind.name())))?;
    Ok(with_etag(fhir_response(StatusCode::OK, &resource), &resource))
}

async fn history(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
) -> FhirResult<Response> {
    let kind = kind_of(&kind)?;
    caller.require(&state, kind, Action::Read, "history").await?;
    let service = Service::new(&state, caller.actor());
    let mut versions = versions_of(&service, kind, &id).await?;
    versions.sort_by_key(|r| std::cmp::Reverse(version_of(r)));
    let base = base_url(&headers);
    let entries: Vec<Value> = versions
        .iter()
        .map(|r| {
            json!({
                "fullUrl": format!("{base}/{}/{id}", kind.name()),
                "resource": r,
                "request": {"method": if version_of(r) == 1 { "POST" } else { "PUT" }, "url": format!("{}/{id}", kind.name())},
                "response": {"status": if version_of(r) == 1 { "201 Created" } else { "200 OK" }},
            })
        })
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "history",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{base}/{}/{id}/_history", kind.name())}],
        "entry": entries,
    });
    Ok(fhir_response(StatusCode::OK, &bundle))
}

/// `PUT /fhir/{type}/{id}`: an update, for the types another system corrects or
/// follows up (Patient, Observation, Encounter); others answer 405.
async fn update(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
    body::FhirBody(body): body::FhirBody,
) -> FhirResult<Response> {
    match kind_of(&kind)? {
        Kind::Patient => patient_write::update(&state, &caller, &headers, &id, &body).await,
        Kind::Observation => observation::update(&state, &caller, &headers, &id, &body).await,
        Kind::Encounter => encounter::update(&state, &caller, &headers, &id, &body).await,
        _ => Ok(method_not_allowed().await),
    }
}

/// What every update starts with, checked in this order: the caller's scope to
/// write the type, the id from the address (one that does not parse names nothing:
/// 404), the body as one resource of the type with that same id, and the version
/// it was made from (`If-Match`).
pub struct UpdateRequest<T> {
    pub id: T,
    pub body: Value,
    pub expected: Option<i64>,
}

pub async fn update_request<T: std::str::FromStr>(
    state: &AppState,
    caller: &FhirCaller,
    kind: Kind,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
) -> FhirResult<UpdateRequest<T>> {
    caller.require(state, kind, Action::Write, "update").await?;
    let parsed: T = id
        .parse()
        .map_err(|_| FhirError::App(AppError::NotFound(format!("{}/{id}", kind.name()))))?;
    let body = resource_body(body, kind)?;
    require_same_id(&body, id)?;
    Ok(UpdateRequest {
        id: parsed,
        body,
        expected: if_match(headers)?,
    })
}

/// The version an update was made from, from `If-Match: W/"n"` (or `"n"`).
pub fn if_match(headers: &HeaderMap) -> FhirResult<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    text.strip_prefix("W/")
        .unwrap_or(text)
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| {
            FhirError::BadRequest(format!("If-Match må være en versjon som W/\"3\", ikke «{text}»."))
        })
}

/// Why a write is made, from the `X-Provenance` header (a Provenance resource,
/// as FHIR R4 lets a client send with a create or update): its first reason's
/// text or display.
pub fn provenance_reason(headers: &HeaderMap) -> Option<String> {
    // Read as UTF-8: a reason is written in Norwegian (HeaderValue::to_str only
    // takes ASCII).
    let provenance: Value = serde_json::from_slice(headers.get("x-provenance")?.as_bytes()).ok()?;
    let reason = &provenance["reason"][0];
    reason["text"]
        .as_str()
        .or_else(|| reason["coding"][0]["display"].as_str())
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// Reads a request body as one FHIR resource of `kind`.
pub fn resource_body(body: &[u8], kind: Kind) -> FhirResult<Value> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| FhirError::BadRequest(format!("Innholdet er ikke gyldig JSON ({e}).")))?;
    if !value.is_object() {
        return Err(FhirError::BadRequest(
            "Innholdet må være en FHIR-ressurs (et JSON-objekt).".into(),
        ));
    }
    if value["resourceType"].as_str() != Some(kind.name()) {
        return Err(FhirError::BadRequest(format!(
            "Her tas bare imot {}, ikke {}.",
            kind.name(),
            value["resourceType"]
                .as_str()
                .unwrap_or("en ressurs uten resourceType")
        )));
    }
    Ok(value)
}

/// An update's body names the resource it updates: its `id` must be the one in the
/// address.
pub fn require_same_id(body: &Value, id: &str) -> FhirResult<()> {
    match body["id"].as_str() {
        Some(given) if given == id => Ok(()),
        Some(given) => Err(FhirError::BadRequest(format!(
            "Ressursens id ({given}) er ikke den i adressen ({id})."
        ))),
        None => Err(FhirError::BadRequest(
            "En oppdatering må ha ressursens id i innholdet.".into(),
        )),
    }
}

/// A created or updated resource's answer: the resource, its ETag and where it is.
pub fn written(status: StatusCode, headers: &HeaderMap, resource: &Value) -> Response {
    let mut response = with_etag(fhir_response(status, resource), resource);
    let location = format!(
        "{}/{}/{}/_history/{}",
        base_url(headers),
        resource["resourceType"].as_str().unwrap_or(""),
        resource["id"].as_str().unwrap_or(""),
        version_of(resource)
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        let name = if status == StatusCode::CREATED {
            header::LOCATION
        } else {
            header::CONTENT_LOCATION
        };
        response.headers_mut().insert(name, value);
    }
    response
}

/// The version as a weak ETag, and the last change as Last-Modified (HTTP date).
fn with_etag(mut response: Response, resource: &Value) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("W/\"{}\"", version_of(resource))) {
        response.headers_mut().insert(header::ETAG, value);
    }
    let modified = resource["meta"]["lastUpdated"]
        .as_str()
        .and_then(|text| text.parse::<jiff::Timestamp>().ok())
        .map(|at| at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string());
    if let Some(value) = modified.and_then(|text| HeaderValue::from_str(&text).ok()) {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    response
}

// ---------------------------------------------------------- shared JSON pieces

/// A reference to a Patient resource Samhand serves.
pub fn patient_reference(patient: PatientId) -> Value {
    json!({"reference": format!("Patient/{patient}")})
}

/// An instant as FHIR writes it (UTC, seconds).
pub fn instant(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A quantity in milligrams (UCUM).
pub fn mg(dose: samhand_domain::dose::Dose) -> Value {
    let value = dose.micrograms() as f64 / 1000.0;
    json!({"value": value, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"})
}
