//! The directory as FHIR: Practitioner (a user, with the HPR number),
//! PractitionerRole (a user's role at an organisation: the home one and each
//! other one), Organization (with organisation number and HER-id), read and
//! searched, as HL7 Norway's no-basis profiles describe them. It holds no
//! patient data: any staff member or system client whose token has the type's
//! scope may read it, and every read is recorded in the audit log.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use samhand_domain::access::{Action, DataCategory};
use samhand_domain::organisation::{Organisation, Registration, Role};
use samhand_store::users::Registered;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult};
use super::references::{
    HER_ID_SYSTEM, HPR_SYSTEM, ORG_NUMBER_SYSTEM, Registry, address, organisation_reference,
    organisation_system, user_reference, user_system,
};
use super::search_params::{
    DEFAULT_COUNT, Handling, MAX_COUNT, date_matches, encode, number, parse_date_param,
};
use super::{FhirCaller, SAMHAND_SYSTEM, base_url, fhir_response, instant, with_etag};
use crate::AppState;
use crate::error::AppError;
use crate::service::{FhirDirectory, Service};

/// The directory's resource types.
pub const TYPES: [&str; 3] = ["Practitioner", "PractitionerRole", "Organization"];

pub const NO_BASIS_PRACTITIONER: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner";
pub const NO_BASIS_ORGANIZATION: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Organization";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Practitioner,
    PractitionerRole,
    Organization,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Self::Practitioner => TYPES[0],
            Self::PractitionerRole => TYPES[1],
            Self::Organization => TYPES[2],
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Practitioner", get(search_practitioner))
        .route("/Practitioner/{id}", get(read_practitioner))
        .route("/PractitionerRole", get(search_role))
        .route("/PractitionerRole/{id}", get(read_role))
        .route("/Organization", get(search_organization))
        .route("/Organization/{id}", get(read_organization))
}

/// The register numbers references are completed with.
pub fn registry(directory: &FhirDirectory) -> Registry {
    Registry {
        hpr: directory
            .users
            .iter()
            .filter_map(|u| u.hpr_number.clone().map(|hpr| (u.user.id, hpr)))
            .collect(),
        organisations: directory
            .registrations
            .iter()
            .map(|(id, registration, _)| (*id, registration.clone()))
            .collect(),
    }
}

fn meta(last_changed: jiff::Timestamp, profile: Option<&str>) -> Value {
    // The version is the instant of the last change: it moves whenever the row does.
    let mut meta = json!({
        "versionId": last_changed.as_microsecond().to_string(),
        "lastUpdated": instant(last_changed),
    });
    if let Some(profile) = profile {
        meta["profile"] = json!([profile]);
    }
    meta
}

/// A name as no-basis writes it: the whole, and the last word as the family name.
fn human_name(display: &str) -> Value {
    let words: Vec<&str> = display.split_whitespace().collect();
    let mut name = json!({"use": "official", "text": display});
    if let Some((family, given)) = words.split_last() {
        name["family"] = json!(family);
        if !given.is_empty() {
            name["given"] = json!(given);
        }
    }
    name
}

fn practitioner(user: &Registered) -> Value {
    let mut identifiers = Vec::new();
    if let Some(hpr) = &user.hpr_number {
        identifiers.push(json!({"use": "official", "system": HPR_SYSTEM, "value": hpr}));
    }
    identifiers.push(json!({"use": "secondary", "system": user_system(), "value": user.user.id.to_string()}));
    json!({
        "resourceType": "Practitioner",
        "id": user.user.id.to_string(),
        "meta": meta(user.last_changed, Some(NO_BASIS_PRACTITIONER)),
        "identifier": identifiers,
        "active": user.active,
        "name": [human_name(&user.user.display_name)],
    })
}

/// The id of a user's role at an organisation: the user's id, the organisation
/// id's random tail and the role's number (at most 51 characters).
pub(super) fn role_id(
    user: samhand_domain::ids::UserId,
    organisation: samhand_domain::ids::OrganisationId,
    role: Role,
) -> String {
    let org = organisation.to_string();
    let index = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
    format!("{user}-{}{index:02}", &org[org.len() - 12..])
}

fn practitioner_roles(
    user: &Registered,
    organisations: &std::collections::HashMap<samhand_domain::ids::OrganisationId, Organisation>,
) -> Vec<Value> {
    let home = (user.user.organisation_id, user.user.role);
    let extra = user.extra_roles.iter().map(|r| (r.organisation_id, r.role));
    std::iter::once(home)
        .chain(extra)
        .map(|(organisation, role)| {
            let id = role_id(user.user.id, organisation, role);
            json!({
                "resourceType": "PractitionerRole",
                "id": id,
                "meta": meta(user.last_changed, None),
                "identifier": [{"system": format!("{SAMHAND_SYSTEM}/practitioner-role"), "value": id}],
                "active": user.active,
                "practitioner": user_reference(user.user.id),
                "organization": organisation_reference(organisation, organisations),
                "code": [{
                    "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/role"), "code": role.code(), "display": role.label_nb()}],
                    "text": role.label_nb(),
                }],
            })
        })
        .collect()
}

fn organization(org: &Organisation, registration: &Registration, last_changed: jiff::Timestamp) -> Value {
    let mut identifiers = Vec::new();
    if let Some(number) = &registration.org_number {
        identifiers.push(json!({"use": "official", "system": ORG_NUMBER_SYSTEM, "value": number.as_str()}));
    }
    if let Some(her) = &registration.her_id {
        identifiers.push(json!({"use": "official", "system": HER_ID_SYSTEM, "value": her.as_str()}));
    }
    identifiers
        .push(json!({"use": "secondary", "system": organisation_system(), "value": org.id.to_string()}));
    let mut resource = json!({
        "resourceType": "Organization",
        "id": org.id.to_string(),
        "meta": meta(last_changed, Some(NO_BASIS_ORGANIZATION)),
        "identifier": identifiers,
        "active": true,
        "type": [{
            "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/organisation-kind"), "code": org.kind.code(), "display": org.kind.label_nb()}],
            "text": org.kind.label_nb(),
        }],
        "name": org.name,
    });
    if !registration.phone.trim().is_empty() {
        resource["telecom"] = json!([{"system": "phone", "value": registration.phone.trim(), "use": "work"}]);
    }
    if !registration.address.trim().is_empty() {
        resource["address"] = json!([address(&registration.address, "work")]);
    }
    resource
}

/// Every resource of the type, references completed.
fn resources(kind: Type, directory: &FhirDirectory) -> Vec<Value> {
    let mut all: Vec<Value> = match kind {
        Type::Practitioner => directory.users.iter().map(practitioner).collect(),
        Type::PractitionerRole => directory
            .users
            .iter()
            .flat_map(|u| practitioner_roles(u, &directory.organisations))
            .collect(),
        Type::Organization => {
            let mut organisations: Vec<&Organisation> = directory.organisations.values().collect();
            organisations.sort_by(|a, b| a.name.cmp(&b.name));
            organisations
                .into_iter()
                .map(|org| {
                    let (registration, changed) = directory
                        .registrations
                        .iter()
                        .find(|(id, _, _)| *id == org.id)
                        .map(|(_, r, at)| (r.clone(), *at))
                        .unwrap_or((Registration::default(), jiff::Timestamp::UNIX_EPOCH));
                    organization(org, &registration, changed)
                })
                .collect()
        }
    };
    let registry = registry(directory);
    all.iter_mut().for_each(|r| registry.link(r));
    all
}

/// The directory, after the token's scope for the type is checked; the read is
/// recorded whatever it finds.
async fn load(state: &AppState, caller: &FhirCaller, kind: Type, detail: &str) -> FhirResult<Vec<Value>> {
    let what = if detail.starts_with("FHIR read") {
        "read"
    } else {
        "search"
    };
    caller
        .require_type(state, kind.name(), DataCategory::Identity, Action::Read, what)
        .await?;
    let service = Service::new(state, caller.actor());
    let directory = service.fhir_directory().await?;
    service.fhir_record_directory_read(detail).await?;
    Ok(resources(kind, &directory))
}

/// Every resource of the directory type `name`, for a bulk export whose token's
/// scopes were checked; the read is recorded.
pub async fn for_export(service: &Service<'_>, name: &str) -> FhirResult<Vec<Value>> {
    let kind = [Type::Practitioner, Type::PractitionerRole, Type::Organization]
        .into_iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| AppError::Internal(format!("no directory type {name}")))?;
    let directory = service.fhir_directory().await?;
    service
        .fhir_record_directory_read(&format!("FHIR export {}", kind.name()))
        .await?;
    Ok(resources(kind, &directory))
}

async fn read(state: AppState, caller: FhirCaller, kind: Type, id: String) -> FhirResult<Response> {
    let detail = format!("FHIR read {}/{id}", kind.name());
    let resource = load(&state, &caller, kind, &detail)
        .await?
        .into_iter()
        .find(|r| r["id"] == json!(id))
        .ok_or_else(|| AppError::NotFound(format!("{}/{id}", kind.name())))?;
    Ok(with_etag(fhir_response(StatusCode::OK, &resource), &resource))
}

/// What a directory search asks for.
#[derive(Debug, Default)]
struct Criteria {
    ids: Vec<String>,
    identifiers: Vec<(Option<String>, String)>,
    references: Vec<(&'static str, String)>,
    names: Vec<String>,
    active: Option<bool>,
    last_updated: Vec<super::search_params::DateCondition>,
    count: usize,
    offset: usize,
    echo: Vec<(String, String)>,
}

impl Criteria {
    fn parse(kind: Type, params: &[(String, String)], handling: Handling) -> FhirResult<Self> {
        let mut criteria = Self {
            count: DEFAULT_COUNT,
            ..Self::default()
        };
        for (key, value) in params {
            let known = match (key.as_str(), kind) {
                ("_id", _) => {
                    criteria.ids.extend(value.split(',').map(str::to_string));
                    true
                }
                ("identifier", _) => {
                    let (system, token) = match value.split_once('|') {
                        Some((system, token)) if !system.is_empty() => (Some(system.to_string()), token),
                        Some((_, token)) => (None, token),
                        None => (None, value.as_str()),
                    };
                    criteria.identifiers.push((system, token.to_string()));
                    true
                }
                ("practitioner", Type::PractitionerRole) => {
                    let id = value.strip_prefix("Practitioner/").unwrap_or(value);
                    criteria
                        .references
                        .push(("practitioner", format!("Practitioner/{id}")));
                    true
                }
                ("organization", Type::PractitionerRole) => {
                    let id = value.strip_prefix("Organization/").unwrap_or(value);
                    criteria
                        .references
                        .push(("organization", format!("Organization/{id}")));
                    true
                }
                ("name", Type::Practitioner | Type::Organization) => {
                    criteria.names.push(value.to_lowercase());
                    true
                }
                ("active", _) => {
                    criteria.active = Some(value == "true");
                    true
                }
                ("_lastUpdated", _) => {
                    criteria.last_updated.push(parse_date_param(value)?);
                    true
                }
                ("_count", _) => {
                    criteria.count = number(key, value)?.min(MAX_COUNT);
                    continue;
                }
                ("_offset", _) => {
                    criteria.offset = number(key, value)?;
                    continue;
                }
                ("_format", _) => true,
                _ => false,
            };
            if known {
                criteria.echo.push((key.clone(), value.clone()));
            } else if handling == Handling::Strict {
                return Err(FhirError::BadRequest(format!(
                    "Søkeparameteren «{key}» støttes ikke for {} (Prefer: handling=strict). Se /fhir/metadata.",
                    kind.name()
                )));
            }
        }
        Ok(criteria)
    }

    fn keeps(&self, resource: &Value) -> bool {
        let id_ok = self.ids.is_empty() || self.ids.iter().any(|id| resource["id"] == json!(id));
        let identifier_ok = self.identifiers.iter().all(|(system, value)| {
            resource["identifier"].as_array().is_some_and(|ids| {
                ids.iter().any(|i| {
                    i["value"] == json!(value) && system.as_ref().is_none_or(|s| i["system"] == json!(s))
                })
            })
        });
        let references_ok = self
            .references
            .iter()
            .all(|(element, reference)| resource[*element]["reference"] == json!(reference));
        let name = match &resource["name"] {
            Value::String(name) => name.to_lowercase(),
            other => other[0]["text"].as_str().unwrap_or("").to_lowercase(),
        };
        let names_ok = self.names.iter().all(|wanted| {
            name.split_whitespace()
                .any(|word| word.starts_with(wanted.as_str()))
                || name.starts_with(wanted.as_str())
        });
        let active_ok = self.active.is_none_or(|a| resource["active"] == json!(a));
        let updated_ok = self.last_updated.iter().all(|condition| {
            resource["meta"]["lastUpdated"]
                .as_str()
                .is_some_and(|v| date_matches(v, condition))
        });
        id_ok && identifier_ok && references_ok && names_ok && active_ok && updated_ok
    }

    fn link(&self, base: &str, kind: Type, offset: usize) -> String {
        let mut query: Vec<String> = self
            .echo
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        query.push(format!("_count={}", self.count));
        query.push(format!("_offset={offset}"));
        format!("{base}/{}?{}", kind.name(), query.join("&"))
    }
}

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

async fn search(
    state: AppState,
    caller: FhirCaller,
    headers: HeaderMap,
    kind: Type,
    query: Params,
) -> FhirResult<Response> {
    let params = query
        .map(|Query(p)| p)
        .map_err(|e| FhirError::BadRequest(format!("Søkeparameterne kunne ikke leses ({e}).")))?;
    let criteria = Criteria::parse(kind, &params, Handling::of(&headers))?;
    let detail = format!("FHIR search {}", kind.name());
    let found: Vec<Value> = load(&state, &caller, kind, &detail)
        .await?
        .into_iter()
        .filter(|r| criteria.keeps(r))
        .collect();
    let base = base_url(&headers);
    let total = found.len();
    let entries: Vec<Value> = found
        .into_iter()
        .skip(criteria.offset)
        .take(criteria.count)
        .map(|r| {
            json!({
                "fullUrl": format!("{base}/{}/{}", kind.name(), r["id"].as_str().unwrap_or("")),
                "resource": r,
                "search": {"mode": "match"},
            })
        })
        .collect();
    let mut links = vec![
        json!({"relation": "self", "url": criteria.link(&base, kind, criteria.offset)}),
        json!({"relation": "first", "url": criteria.link(&base, kind, 0)}),
    ];
    if criteria.count > 0 && criteria.offset + criteria.count < total {
        links.push(
            json!({"relation": "next", "url": criteria.link(&base, kind, criteria.offset + criteria.count)}),
        );
    }
    if criteria.offset > 0 {
        let previous = criteria.offset.saturating_sub(criteria.count);
        links.push(json!({"relation": "previous", "url": criteria.link(&base, kind, previous)}));
    }
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links});
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    Ok(fhir_response(StatusCode::OK, &bundle))
}

async fn search_practitioner(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Params,
) -> FhirResult<Response> {
    search(state, caller, headers, Type::Practitioner, query).await
}

async fn search_role(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Params,
) -> FhirResult<Response> {
    search(state, caller, headers, Type::PractitionerRole, query).await
}

async fn search_organization(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Params,
) -> FhirResult<Response> {
    search(state, caller, headers, Type::Organization, query).await
}

async fn read_practitioner(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> FhirResult<Response> {
    read(state, caller, Type::Practitioner, id).await
}

async fn read_role(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> FhirResult<Response> {
    read(state, caller, Type::PractitionerRole, id).await
}

async fn read_organization(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> FhirResult<Response> {
    read(state, caller, Type::Organization, id).await
}
