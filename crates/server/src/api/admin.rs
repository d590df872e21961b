//! Administration over the API: organisations and dispensing places, users, FHIR
//! system clients. The same operations as the administrator's pages and the CLI
//! (`crate::admin`); only an administrator's token is let through.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::{OrganisationId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use crate::AppState;
use crate::admin::{self, NewUserInput, OrganisationInput, OrganisationView, PlaceInput, UserView};
use crate::auth::ApiStaff;
use crate::error::{ApiError, AppError};

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrganisationDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    #[schema(schema_with = super::wire::codes::<samhand_domain::organisation::OrganisationKind>)]
    pub kind: String,
    pub municipality: String,
    pub org_number: Option<String>,
    pub her_id: Option<String>,
    pub address: String,
    pub phone: String,
    #[schema(format = "uuid")]
    pub responsible_unit_id: Option<String>,
    /// Seven booleans, Monday first.
    pub open_weekdays: Vec<bool>,
    pub open_on_public_holidays: bool,
    /// HH:MM.
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    pub capacity: Option<i64>,
    /// yyyy-mm-dd: days closed beyond the public holidays.
    pub closed_days: Vec<String>,
    pub groups: Vec<GroupDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    /// HH:MM.
    pub window_start: String,
    pub window_end: String,
}

fn hhmm(time: jiff::civil::Time) -> String {
    time.strftime("%H:%M").to_string()
}

impl From<OrganisationView> for AdminOrganisationDto {
    fn from(view: OrganisationView) -> Self {
        let org = view.organisation;
        Self {
            id: org.id.to_string(),
            name: org.name,
            kind: org.kind.code().into(),
            municipality: org.municipality,
            org_number: view.registration.org_number.map(|n| n.as_str().to_string()),
            her_id: view.registration.her_id.map(|n| n.as_str().to_string()),
            address: view.registration.address,
            phone: view.registration.phone,
            responsible_unit_id: view.registration.responsible_unit.map(|u| u.to_string()),
            open_weekdays: org.open_weekdays.to_vec(),
            open_on_public_holidays: org.open_on_public_holidays,
            opens_at: view.place.opens_at.map(hhmm),
            closes_at: view.place.closes_at.map(hhmm),
            capacity: view.place.capacity,
            closed_days: view.closed_days.iter().map(|d| d.date.to_string()).collect(),
            groups: view
                .groups
                .into_iter()
                .map(|g| GroupDto {
                    id: g.id.to_string(),
                    name: g.name,
                    window_start: hhmm(g.window.start),
                    window_end: hhmm(g.window.end),
                })
                .collect(),
        }
    }
}

async fn organisation_dto(
    state: &AppState,
    staff: &ApiStaff,
    id: OrganisationId,
) -> Result<AdminOrganisationDto, ApiError> {
    admin::organisations_view(state, &staff.0)
        .await?
        .into_iter()
        .find(|v| v.organisation.id == id)
        .map(AdminOrganisationDto::from)
        .ok_or_else(|| AppError::NotFound("organisasjonen".into()).into())
}

#[utoipa::path(
    get,
    path = "/admin/organisations",
    tag = "admin",
    operation_id = "admin_list_organisations",
    summary = "Every organisation with its registration and, for a dispensing place, its opening days and hours, capacity, closed days and groups",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "By name", body = Vec<AdminOrganisationDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn organisations(
    State(state): State<AppState>,
    staff: ApiStaff,
) -> Result<Json<Vec<AdminOrganisationDto>>, ApiError> {
    let views = admin::organisations_view(&state, &staff.0).await?;
    Ok(Json(views.into_iter().map(AdminOrganisationDto::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrganisationRequest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = super::wire::codes::<samhand_domain::organisation::OrganisationKind>)]
    pub kind: String,
    #[serde(default)]
    pub municipality: String,
    /// Nine digits with a modulus-11 check digit.
    #[serde(default)]
    pub org_number: String,
    #[serde(default)]
    pub her_id: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    /// The responsible LAR unit's id or exact name.
    #[serde(default)]
    pub responsible_unit: String,
}

impl From<OrganisationRequest> for OrganisationInput {
    fn from(r: OrganisationRequest) -> Self {
        Self {
            name: r.name,
            kind: r.kind,
            municipality: r.municipality,
            org_number: r.org_number,
            her_id: r.her_id,
            address: r.address,
            phone: r.phone,
            responsible_unit: r.responsible_unit,
        }
    }
}

#[utoipa::path(
    post,
    path = "/admin/organisations",
    tag = "admin",
    operation_id = "admin_add_organisation",
    summary = "Register an organisation",
    request_body = OrganisationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = AdminOrganisationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_organisation(
    State(state): State<AppState>,
    staff: ApiStaff,
    ApiJson(request): ApiJson<OrganisationRequest>,
) -> Result<(StatusCode, Json<AdminOrganisationDto>), ApiError> {
    let (organisation, _) = admin::add_organisation(&state, Some(&staff.0), &request.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(organisation_dto(&state, &staff, organisation.id).await?),
    ))
}

#[utoipa::path(
    put,
    path = "/admin/organisations/{id}/registration",
    tag = "admin",
    operation_id = "admin_set_registration",
    summary = "Set an organisation's organisation number, HER-id, address, phone and responsible LAR unit (name and kind stay)",
    params(("id" = String, Path, format = "uuid", description = "The organisation")),
    request_body = OrganisationRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set", body = AdminOrganisationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn set_registration(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<OrganisationId>,
    ApiJson(request): ApiJson<OrganisationRequest>,
) -> Result<Json<AdminOrganisationDto>, ApiError> {
    admin::update_registration(&state, Some(&staff.0), id, &request.into()).await?;
    Ok(Json(organisation_dto(&state, &staff, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlaceRequest {
    /// Seven booleans, Monday first.
    pub open_weekdays: Vec<bool>,
    #[serde(default)]
    pub open_on_public_holidays: bool,
    /// HH:MM (or HH.MM).
    #[serde(default)]
    pub opens_at: String,
    #[serde(default)]
    pub closes_at: String,
    #[serde(default)]
    pub capacity: Option<i64>,
}

#[utoipa::path(
    put,
    path = "/admin/organisations/{id}/place",
    tag = "admin",
    operation_id = "admin_set_place",
    summary = "Set a dispensing place's opening days and hours and its capacity",
    params(("id" = String, Path, format = "uuid", description = "The place")),
    request_body = PlaceRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set", body = AdminOrganisationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn set_place(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<OrganisationId>,
    ApiJson(request): ApiJson<PlaceRequest>,
) -> Result<Json<AdminOrganisationDto>, ApiError> {
    let Ok(open_weekdays) = <[bool; 7]>::try_from(request.open_weekdays.as_slice()) else {
        return Err(AppError::Invalid(samhand_domain::validation::FieldErrors::single(
            "open_weekdays",
            "Oppgi sju ukedager, mandag først.",
        ))
        .into());
    };
    let input = PlaceInput {
        open_weekdays,
        open_on_public_holidays: request.open_on_public_holidays,
        opens_at: request.opens_at,
        closes_at: request.closes_at,
        capacity: request.capacity.map(|c| c.to_string()).unwrap_or_default(),
    };
    admin::set_place(&state, Some(&staff.0), id, &input).await?;
    Ok(Json(organisation_dto(&state, &staff, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClosedDayRequest {
    /// yyyy-mm-dd or dd.mm.yyyy.
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/admin/organisations/{id}/closed-days",
    tag = "admin",
    operation_id = "admin_add_closed_day",
    summary = "Close a place on a day beyond the public holidays",
    params(("id" = String, Path, format = "uuid", description = "The place")),
    request_body = ClosedDayRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = AdminOrganisationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_closed_day(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<OrganisationId>,
    ApiJson(request): ApiJson<ClosedDayRequest>,
) -> Result<(StatusCode, Json<AdminOrganisationDto>), ApiError> {
    admin::add_closed_day(&state, Some(&staff.0), id, &request.date, &request.reason).await?;
    Ok((
        StatusCode::CREATED,
        Json(organisation_dto(&state, &staff, id).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupRequest {
    #[serde(default)]
    pub name: String,
    /// HH:MM.
    #[serde(default)]
    pub window_start: String,
    #[serde(default)]
    pub window_end: String,
}

#[utoipa::path(
    post,
    path = "/admin/organisations/{id}/groups",
    tag = "admin",
    operation_id = "admin_add_group",
    summary = "Add a patient group with its time window at a place",
    params(("id" = String, Path, format = "uuid", description = "The place")),
    request_body = GroupRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = AdminOrganisationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_group(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<OrganisationId>,
    ApiJson(request): ApiJson<GroupRequest>,
) -> Result<(StatusCode, Json<AdminOrganisationDto>), ApiError> {
    admin::add_group(
        &state,
        Some(&staff.0),
        id,
        &request.name,
        &request.window_start,
        &request.window_end,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(organisation_dto(&state, &staff, id).await?),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub username: String,
    pub display_name: String,
    #[schema(schema_with = super::wire::codes::<samhand_domain::organisation::Role>)]
    pub role: String,
    #[schema(format = "uuid")]
    pub organisation_id: String,
    pub hpr_number: Option<String>,
    pub active: bool,
    /// Roles at other organisations: "role@organisation-id".
    pub extra_roles: Vec<String>,
}

impl From<&UserView> for AdminUserDto {
    fn from(view: &UserView) -> Self {
        let user = &view.record.user;
        Self {
            id: user.id.to_string(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role.code().into(),
            organisation_id: user.organisation_id.to_string(),
            hpr_number: view.hpr_number.clone(),
            active: view.record.active,
            extra_roles: view
                .extra_roles
                .iter()
                .map(|r| format!("{}@{}", r.role.code(), r.organisation_id))
                .collect(),
        }
    }
}

async fn user_view(state: &AppState, staff: &ApiStaff, id: UserId) -> Result<UserView, ApiError> {
    admin::users_view(state, &staff.0)
        .await?
        .into_iter()
        .find(|v| v.record.user.id == id)
        .ok_or_else(|| AppError::NotFound("brukeren".into()).into())
}

#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "admin",
    operation_id = "admin_list_users",
    summary = "Every user, active or not",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "By name", body = Vec<AdminUserDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn users(
    State(state): State<AppState>,
    staff: ApiStaff,
) -> Result<Json<Vec<AdminUserDto>>, ApiError> {
    let views = admin::users_view(&state, &staff.0).await?;
    Ok(Json(views.iter().map(AdminUserDto::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserRequest {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    #[schema(schema_with = super::wire::codes::<samhand_domain::organisation::Role>)]
    pub role: String,
    /// The organisation's id or exact name.
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub hpr_number: String,
    /// A first password (at least 12 characters); without one, an invitation is made.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddedUserDto {
    pub user: AdminUserDto,
    /// The one-time invitation path (`/invitasjon/…`), shown only now; none when a
    /// password was given.
    pub invitation_path: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/users",
    tag = "admin",
    operation_id = "admin_add_user",
    summary = "Add a staff user, with a first password or a one-time invitation",
    request_body = NewUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = AddedUserDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_user(
    State(state): State<AppState>,
    staff: ApiStaff,
    ApiJson(request): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<AddedUserDto>), ApiError> {
    let input = NewUserInput {
        username: request.username,
        name: request.display_name,
        role: request.role,
        organisation: request.organisation,
        hpr_number: request.hpr_number,
        password: request.password,
    };
    let added = admin::add_user(&state, Some(&staff.0), &input).await?;
    let view = user_view(&state, &staff, added.user.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(AddedUserDto {
            user: AdminUserDto::from(&view),
            invitation_path: added.invitation.map(|t| format!("/invitasjon/{t}")),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusRequest {
    /// Why, at least five characters; kept in the user's history.
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/admin/users/{id}/deactivation",
    tag = "admin",
    operation_id = "admin_deactivate_user",
    summary = "Deactivate a user: every session and token ends at once",
    params(("id" = String, Path, format = "uuid", description = "The user")),
    request_body = StatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deactivated", body = AdminUserDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn deactivate(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<UserId>,
    ApiJson(request): ApiJson<StatusRequest>,
) -> Result<Json<AdminUserDto>, ApiError> {
    set_active(state, staff, id, false, &request.reason).await
}

#[utoipa::path(
    post,
    path = "/admin/users/{id}/reactivation",
    tag = "admin",
    operation_id = "admin_reactivate_user",
    summary = "Reactivate a deactivated user",
    params(("id" = String, Path, format = "uuid", description = "The user")),
    request_body = StatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reactivated", body = AdminUserDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn reactivate(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<UserId>,
    ApiJson(request): ApiJson<StatusRequest>,
) -> Result<Json<AdminUserDto>, ApiError> {
    set_active(state, staff, id, true, &request.reason).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HprRequest {
    /// Digits from the Health Personnel Register; empty removes the number.
    #[serde(default)]
    pub hpr_number: String,
}

#[utoipa::path(
    put,
    path = "/admin/users/{id}/hpr-number",
    tag = "admin",
    operation_id = "admin_set_hpr_number",
    summary = "Set or remove a user's HPR number",
    params(("id" = String, Path, format = "uuid", description = "The user")),
    request_body = HprRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set", body = AdminUserDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn set_hpr_number(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<UserId>,
    ApiJson(request): ApiJson<HprRequest>,
) -> Result<Json<AdminUserDto>, ApiError> {
    admin::set_hpr_number(&state, Some(&staff.0), id, &request.hpr_number).await?;
    Ok(Json(AdminUserDto::from(&user_view(&state, &staff, id).await?)))
}

async fn set_active(
    state: AppState,
    staff: ApiStaff,
    id: UserId,
    active: bool,
    reason: &str,
) -> Result<Json<AdminUserDto>, ApiError> {
    let view = user_view(&state, &staff, id).await?;
    admin::set_user_active(&state, Some(&staff.0), &view.record.user.username, active, reason).await?;
    Ok(Json(AdminUserDto::from(&user_view(&state, &staff, id).await?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FhirClientDto {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub organisation: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

#[utoipa::path(
    get,
    path = "/admin/fhir-clients",
    tag = "admin",
    operation_id = "admin_list_fhir_clients",
    summary = "The FHIR system clients, revoked or not",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "By name", body = Vec<FhirClientDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn fhir_clients(
    State(state): State<AppState>,
    staff: ApiStaff,
) -> Result<Json<Vec<FhirClientDto>>, ApiError> {
    let clients = admin::fhir_clients(&state, &staff.0).await?;
    Ok(Json(
        clients
            .into_iter()
            .map(|c| FhirClientDto {
                id: c.id,
                name: c.name,
                scopes: c.scopes,
                organisation: c.organisation_name,
                created_at: c.created_at.to_string(),
                revoked_at: c.revoked_at.map(|r| r.to_string()),
            })
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/admin/fhir-clients/{id}/revocation",
    tag = "admin",
    operation_id = "admin_revoke_fhir_client",
    summary = "Revoke a FHIR system client; its tokens stop at once",
    params(("id" = String, Path, description = "The client id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn revoke_fhir_client(
    State(state): State<AppState>,
    staff: ApiStaff,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    admin::revoke_fhir_client(&state, Some(&staff.0), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportRequest {
    /// The CSV file's text: headers first, `;` or `,` between fields; the column
    /// `type` is organisation or user.
    #[serde(default)]
    pub csv: String,
    /// Write it; without, a dry run that changes nothing.
    #[serde(default)]
    pub apply: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowDto {
    pub line: usize,
    pub what: String,
    /// Created (or, in a dry run, would be).
    pub created: bool,
    /// A new user's one-time invitation path, shown only now.
    pub invitation_path: Option<String>,
    /// Why the row was refused.
    pub refused: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportDto {
    pub applied: bool,
    pub created: usize,
    pub refused: usize,
    pub rows: Vec<ImportRowDto>,
}

#[utoipa::path(
    post,
    path = "/admin/import",
    tag = "admin",
    operation_id = "admin_import",
    summary = "Import organisations and users from CSV: a dry run unless apply is true; a report per row",
    request_body = ImportRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = ImportReportDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn import(
    State(state): State<AppState>,
    staff: ApiStaff,
    ApiJson(request): ApiJson<ImportRequest>,
) -> Result<Json<ImportReportDto>, ApiError> {
    let report = admin::import(&state, Some(&staff.0), &request.csv, request.apply).await?;
    Ok(Json(ImportReportDto {
        applied: report.applied,
        created: report.created(),
        refused: report.refused(),
        rows: report
            .rows
            .into_iter()
            .map(|row| ImportRowDto {
                line: row.line,
                what: row.what,
                created: row.result.is_ok(),
                invitation_path: row.result.clone().ok().flatten(),
                refused: row.result.err(),
            })
            .collect(),
    }))
}
