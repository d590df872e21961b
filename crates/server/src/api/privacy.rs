//! Privacy: who can see what about a patient, consents, care team seats, emergency
//! access (akuttilgang) and its review, the patient's access log, and the patient's
//! own API token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::{CareTeamMemberId, EmergencyAccessId, OrganisationId, PatientId};
use samhand_domain::privacy::{CareTeamMember, ConsentRecord, EmergencyAccess};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::{ApiActor, ApiStaff};
use crate::error::ApiError;
use crate::service::{AccessLogLine, ConsentInput, EmergencyForReview, PrivacyView, Service};

/// What one organisation (or one person in it) can read about the patient now.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharingDto {
    pub organisation: NamedRef,
    /// Set when the access is one person's: a care team seat or an emergency access.
    pub user: Option<NamedRef>,
    /// Why: responsible_lar_unit, dispensing_place, care_team, emergency_access, …
    pub relation: String,
    /// Data categories it can read: identity, medication, dispensing, drug_tests,
    /// plan_and_goals, health_information, nav_information, notes, privacy.
    pub categories: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub organisation: NamedRef,
    pub category: String,
    /// True when consent was given, false when withdrawn.
    pub given: bool,
    pub recorded_at: String,
    pub recorded_by: NamedRef,
    /// Whether the patient recorded it themself.
    pub by_patient: bool,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CareTeamMemberDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub user: NamedRef,
    pub organisation: NamedRef,
    /// coordinator or member.
    pub role: String,
    pub added_at: String,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmergencyAccessDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    /// The patient's name, where the caller may see it.
    pub patient_name: Option<String>,
    pub user: NamedRef,
    pub organisation: NamedRef,
    pub reason: String,
    pub started_at: String,
    pub expires_at: String,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<NamedRef>,
    pub review_note: Option<String>,
}

/// Next of kin or another person the patient named.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedPersonDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    /// next_of_kin, peer or other.
    pub relation: String,
    pub phone: String,
    /// What they may be told, in the patient's words.
    pub may_be_told: String,
    pub in_care_team: bool,
    pub added_at: String,
    pub ended_at: Option<String>,
}

fn person_dto(p: &samhand_domain::privacy::NamedPerson) -> NamedPersonDto {
    NamedPersonDto {
        id: p.id.to_string(),
        name: p.name.clone(),
        relation: p.relation.code().into(),
        phone: p.phone.clone(),
        may_be_told: p.may_be_told.clone(),
        in_care_team: p.in_care_team,
        added_at: wire::instant(p.added_at),
        ended_at: p.ended.as_ref().map(|e| wire::instant(e.at)),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub sharing: Vec<SharingDto>,
    /// Consents in force: organisation and category.
    pub consents_in_force: Vec<ConsentInForceDto>,
    /// Every consent decision, newest first.
    pub consent_history: Vec<ConsentDto>,
    pub care_team: Vec<CareTeamMemberDto>,
    /// Every emergency access, newest first.
    pub emergency_accesses: Vec<EmergencyAccessDto>,
    /// Next of kin and others the patient named.
    pub people: Vec<NamedPersonDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentInForceDto {
    pub organisation: NamedRef,
    pub category: String,
}

fn org_ref(view: &PrivacyView, id: OrganisationId) -> NamedRef {
    NamedRef {
        id: id.to_string(),
        name: view.organisations.get(&id).map(|o| o.name.clone()),
    }
}

fn user_ref(view: &PrivacyView, id: samhand_domain::ids::UserId) -> NamedRef {
    NamedRef {
        id: id.to_string(),
        name: wire::name_of(&view.names, id),
    }
}

fn consent_dto(view: &PrivacyView, record: &ConsentRecord) -> ConsentDto {
    ConsentDto {
        id: record.id.to_string(),
        organisation: org_ref(view, record.organisation_id),
        category: record.category.code().into(),
        given: record.given,
        recorded_at: wire::instant(record.recorded_at),
        recorded_by: user_ref(view, record.recorded_by),
        by_patient: record.by_patient,
        note: record.note.clone(),
    }
}

fn member_dto(view: &PrivacyView, member: &CareTeamMember) -> CareTeamMemberDto {
    CareTeamMemberDto {
        id: member.id.to_string(),
        user: user_ref(view, member.user_id),
        organisation: org_ref(view, member.organisation_id),
        role: member.role.code().into(),
        added_at: wire::instant(member.added_at),
        ended_at: member.ended.as_ref().map(|e| wire::instant(e.at)),
        end_reason: member.ended.as_ref().map(|e| e.reason.clone()),
    }
}

fn emergency_dto(
    access: &EmergencyAccess,
    user: NamedRef,
    organisation: NamedRef,
    patient_name: Option<String>,
    reviewed_by: Option<NamedRef>,
) -> EmergencyAccessDto {
    EmergencyAccessDto {
        id: access.id.to_string(),
        patient_id: access.patient_id.to_string(),
        patient_name,
        user,
        organisation,
        reason: access.reason.clone(),
        started_at: wire::instant(access.started_at),
        expires_at: wire::instant(access.expires_at),
        reviewed_at: access.review.as_ref().map(|r| wire::instant(r.reviewed_at)),
        reviewed_by,
        review_note: access.review.as_ref().map(|r| r.note.clone()),
    }
}

fn privacy_dto(view: &PrivacyView) -> PrivacyDto {
    PrivacyDto {
        patient_id: view.patient.id.to_string(),
        sharing: view
            .sharing
            .iter()
            .map(|line| SharingDto {
                organisation: org_ref(view, line.organisation_id),
                user: line.user_id.map(|u| user_ref(view, u)),
                relation: line.relation.code().into(),
                categories: line.categories.iter().map(|c| c.code().into()).collect(),
            })
            .collect(),
        consents_in_force: view
            .consents
            .iter()
            .map(|(org, category)| ConsentInForceDto {
                organisation: org_ref(view, *org),
                category: category.code().into(),
            })
            .collect(),
        consent_history: view
            .consent_history
            .iter()
            .map(|c| consent_dto(view, c))
            .collect(),
        care_team: view.care_team.iter().map(|m| member_dto(view, m)).collect(),
        people: view.people.iter().map(person_dto).collect(),
        emergency_accesses: view
            .emergency
            .iter()
            .map(|e| {
                emergency_dto(
                    e,
                    user_ref(view, e.user_id),
                    org_ref(view, e.organisation_id),
                    None,
                    e.review.as_ref().map(|r| user_ref(view, r.reviewed_by)),
                )
            })
            .collect(),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}/privacy",
    tag = "privacy",
    operation_id = "privacy_of_patient",
    summary = "Who can see what about the patient: sharing summary, consents, care team, emergency accesses",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The patient's privacy overview", body = PrivacyDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn privacy(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<PrivacyDto>, ApiError> {
    let view = Service::new(&state, &actor.0).privacy_view(patient).await?;
    Ok(Json(privacy_dto(&view)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsentRequest {
    #[schema(format = "uuid")]
    pub organisation_id: String,
    /// medication, dispensing, drug_tests, plan_and_goals, health_information,
    /// nav_information or notes.
    pub category: String,
    /// "give" or "withdraw".
    pub decision: String,
    pub note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/consents",
    tag = "privacy",
    operation_id = "record_consent",
    summary = "Record that the patient gives or withdraws consent to share a category with an organisation; effective at once",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = ConsentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The consent decision is recorded", body = ConsentDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn record_consent(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<ConsentRequest>,
) -> Result<(StatusCode, Json<ConsentDto>), ApiError> {
    let service = Service::new(&state, &actor.0);
    let input = ConsentInput {
        organisation: request.organisation_id,
        category: request.category,
        decision: request.decision,
        note: request.note.unwrap_or_default(),
    };
    let record = service
        .record_consent(patient, &input)
        .await
        .map_err(|e| wire::with_api_fields(e, &[("organisation", "organisation_id")]))?;
    let view = service.privacy_view(patient).await?;
    Ok((StatusCode::CREATED, Json(consent_dto(&view, &record))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CareTeamRequest {
    /// The staff member's username.
    pub username: String,
    /// coordinator or member.
    pub role: String,
    /// Categories the patient consents to share with the member's organisation,
    /// recorded with the seat. A member from another organisation than the
    /// responsible LAR unit needs at least one, here or already in force.
    #[serde(default)]
    pub share: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/care-team",
    tag = "privacy",
    operation_id = "add_care_team_member",
    summary = "Give a staff member a seat in the patient's care team (ansvarsgruppe)",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = CareTeamRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The seat is added", body = CareTeamMemberDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_care_team_member(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<CareTeamRequest>,
) -> Result<(StatusCode, Json<CareTeamMemberDto>), ApiError> {
    let service = Service::new(&state, &actor.0);
    let member = service
        .add_care_team_member(patient, &request.username, &request.role, &request.share)
        .await
        .map_err(|e| wire::with_api_fields(e, &[("user", "username")]))?;
    let view = service.privacy_view(patient).await?;
    Ok((StatusCode::CREATED, Json(member_dto(&view, &member))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndSeatRequest {
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/care-team-members/{id}/end",
    tag = "privacy",
    operation_id = "end_care_team_member",
    summary = "End a care team seat; the member's access ends with it",
    params(("id" = String, Path, format = "uuid", description = "The seat")),
    request_body = EndSeatRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The seat is ended"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn end_care_team_member(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(member): PathId<CareTeamMemberId>,
    ApiJson(request): ApiJson<EndSeatRequest>,
) -> Result<StatusCode, ApiError> {
    Service::new(&state, &actor.0)
        .end_care_team_member(member, &request.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmergencyRequest {
    /// The patient, by id …
    #[schema(format = "uuid")]
    pub patient_id: Option<String>,
    /// … or by fødselsnummer / D-nummer.
    pub national_id: Option<String>,
    /// Why the access is needed now; shown to the patient and reviewed by a leader.
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/emergency-accesses",
    tag = "privacy",
    operation_id = "open_emergency_access",
    summary = "Open a time-limited emergency access (akuttilgang) to a patient one has no relation to, with a reason",
    request_body = EmergencyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The access is open until expires_at", body = EmergencyAccessDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn open_emergency_access(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiJson(request): ApiJson<EmergencyRequest>,
) -> Result<(StatusCode, Json<EmergencyAccessDto>), ApiError> {
    let service = Service::new(&state, &staff);
    let patient = match (&request.patient_id, &request.national_id) {
        (Some(id), _) => id
            .trim()
            .parse::<PatientId>()
            .map_err(|_| wire::invalid("patient_id", "Pasient-id-en er ikke gyldig."))?,
        (None, Some(number)) => service.find_for_emergency(number).await?,
        (None, None) => {
            return Err(wire::invalid(
                "national_id",
                "Oppgi pasienten med fødselsnummer eller pasient-id.",
            ));
        }
    };
    let access = service.open_emergency_access(patient, &request.reason).await?;
    let user = NamedRef {
        id: staff.id.to_string(),
        name: Some(staff.display_name.clone()),
    };
    let organisation = NamedRef {
        id: staff.organisation_id.to_string(),
        name: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(emergency_dto(&access, user, organisation, None, None)),
    ))
}

fn review_dto(item: &EmergencyForReview) -> EmergencyAccessDto {
    emergency_dto(
        &item.access,
        NamedRef {
            id: item.access.user_id.to_string(),
            name: Some(item.user_name.clone()),
        },
        NamedRef {
            id: item.access.organisation_id.to_string(),
            name: Some(item.organisation_name.clone()),
        },
        item.patient_name.clone(),
        item.access.review.as_ref().map(|r| NamedRef {
            id: r.reviewed_by.to_string(),
            name: item.reviewer_name.clone(),
        }),
    )
}

#[utoipa::path(
    get,
    path = "/emergency-accesses",
    tag = "privacy",
    operation_id = "emergency_accesses_for_review",
    summary = "Emergency accesses for the leader to review: by the unit's staff or to the unit's patients, newest first",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Emergency accesses, reviewed or not", body = Vec<EmergencyAccessDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn emergency_accesses(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
) -> Result<Json<Vec<EmergencyAccessDto>>, ApiError> {
    let items = Service::new(&state, &staff)
        .emergency_accesses_for_review()
        .await?;
    Ok(Json(items.iter().map(review_dto).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewRequest {
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/emergency-accesses/{id}/review",
    tag = "privacy",
    operation_id = "review_emergency_access",
    summary = "Record the leader's review of an emergency access",
    params(("id" = String, Path, format = "uuid", description = "The emergency access")),
    request_body = ReviewRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The review is recorded"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn review_emergency_access(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(id): PathId<EmergencyAccessId>,
    ApiJson(request): ApiJson<ReviewRequest>,
) -> Result<StatusCode, ApiError> {
    Service::new(&state, &staff)
        .review_emergency_access(id, &request.note)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogDto {
    pub at: String,
    pub who: String,
    pub role: String,
    pub organisation: String,
    /// The data category read or written.
    pub category: String,
    /// read or write.
    pub action: String,
    /// Under which relation or consent.
    pub relation: String,
    /// True for an emergency access (akuttilgang).
    pub emergency: bool,
}

fn access_log_dto(line: &AccessLogLine) -> AccessLogDto {
    AccessLogDto {
        at: wire::instant(line.at),
        who: line.who.clone(),
        role: line.role.clone(),
        organisation: line.organisation.clone(),
        category: line.category.map(|c| c.code().to_string()).unwrap_or_default(),
        action: line.action.clone(),
        relation: line.relation.map(|r| r.code().to_string()).unwrap_or_default(),
        emergency: line.is_emergency(),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}/access-log",
    tag = "privacy",
    operation_id = "access_log",
    summary = "Who has read or written the patient's record (hvem har sett journalen min), newest first",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Accesses by others than the patient", body = Vec<AccessLogDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn access_log(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<Vec<AccessLogDto>>, ApiError> {
    let lines = Service::new(&state, &actor.0).access_log(patient).await?;
    Ok(Json(lines.iter().map(access_log_dto).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientTokenDto {
    /// Shown only now; the patient sends it as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/patient-token",
    tag = "privacy",
    operation_id = "issue_patient_token",
    summary = "Issue the patient an API token for their own record",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The token, shown once", body = PatientTokenDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn issue_patient_token(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
) -> Result<(StatusCode, Json<PatientTokenDto>), ApiError> {
    let (token, expires) = Service::new(&state, &staff).issue_patient_token(patient).await?;
    Ok((
        StatusCode::CREATED,
        Json(PatientTokenDto {
            token,
            expires_at: wire::instant(expires),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NamedPersonRequest {
    pub name: String,
    /// next_of_kin, peer or other.
    pub relation: String,
    pub phone: Option<String>,
    /// What they may be told, in the patient's words.
    pub may_be_told: Option<String>,
    /// Whether the patient wants them in the responsibility group.
    #[serde(default)]
    pub in_care_team: bool,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/people",
    tag = "privacy",
    operation_id = "add_named_person",
    summary = "Name next of kin or a peer for the patient, with what they may be told (the patient, or staff of the LAR unit)",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = NamedPersonRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The person is named", body = NamedPersonDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_named_person(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<NamedPersonRequest>,
) -> Result<(StatusCode, Json<NamedPersonDto>), ApiError> {
    let input = samhand_domain::privacy::NamedPersonInput {
        name: request.name,
        relation: request.relation,
        phone: request.phone.unwrap_or_default(),
        may_be_told: request.may_be_told.unwrap_or_default(),
        in_care_team: request.in_care_team,
    };
    let person = Service::new(&state, &actor.0)
        .add_named_person(patient, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(person_dto(&person))))
}

#[utoipa::path(
    post,
    path = "/people/{id}/end",
    tag = "privacy",
    operation_id = "end_named_person",
    summary = "Remove a named person (kept in the history)",
    params(("id" = String, Path, format = "uuid", description = "The named person")),
    request_body = EndSeatRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn end_named_person(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(id): PathId<samhand_domain::ids::NamedPersonId>,
    ApiJson(request): ApiJson<EndSeatRequest>,
) -> Result<StatusCode, ApiError> {
    Service::new(&state, &actor.0)
        .end_named_person(id, &request.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
