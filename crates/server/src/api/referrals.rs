//! Referrals: registering one as it arrives, and the unit's referrals waiting for
//! their assessment.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::patient::PatientInput;
use samhand_domain::referral::ReferralInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::problem::ProblemResponse;
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{ReferralRegistration, SentReferralInput, Service, WaitingReferral};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReferralRequest {
    /// The referred person's fødselsnummer or D-nummer, 11 digits. A person already
    /// registered with it gets the referral (their names must agree); else a new
    /// person is registered.
    #[serde(default)]
    #[schema(required = true)]
    pub national_id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub given_name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub family_name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
    /// The prescriber at the caller's unit responsible for the assessment.
    #[serde(default)]
    #[schema(required = true, format = "uuid")]
    pub doctor_id: String,
    /// The LAR consultant at the caller's unit.
    #[serde(default)]
    #[schema(required = true, format = "uuid")]
    pub consultant_id: String,
    /// Who referred (the person).
    #[serde(default)]
    #[schema(required = true)]
    pub referrer_name: String,
    /// The referring service (GP office, municipal service, psychologist, hospital unit).
    #[serde(default)]
    #[schema(required = true)]
    pub referrer_service: String,
    /// Why the person is referred.
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
    /// The referring service's own assessment.
    #[serde(default)]
    #[schema(required = true)]
    pub referrer_assessment: String,
    /// The day the referral was received (not in the future).
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub received_on: String,
    /// The referring service as a registered organisation, if it is one: told of
    /// the assessment decision (in Samhand, or by EDI when outside Samhand with a
    /// HER-id).
    #[serde(default)]
    #[schema(format = "uuid")]
    pub referrer_organisation_id: String,
    /// For a referring service in Samhand (a GP, a municipal health and care
    /// service): the LAR unit the referral is sent to. The referral is then received
    /// today, from the caller and their service; the unit's own fields (doctor,
    /// consultant, referrer, day received) are not used.
    #[serde(default)]
    #[schema(format = "uuid")]
    pub lar_unit_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralCreated {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    #[schema(format = "uuid")]
    pub episode_id: String,
    /// Whether the person was already registered (no new person was made).
    pub existing_person: bool,
    /// The last day for the assessment: the policy's working days after receipt.
    #[schema(format = Date)]
    pub assessment_deadline: String,
}

#[utoipa::path(
    post,
    path = "/referrals",
    tag = "referrals",
    operation_id = "register_referral",
    summary = "Register a referral received by the caller's LAR unit, or send one from a referring service in Samhand to the LAR unit named by lar_unit_id: the person (new or already registered) and a LAR episode in phase referral",
    request_body = ReferralRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The referral is registered", body = ReferralCreated),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    actor: ApiStaff,
    ApiJson(r): ApiJson<ReferralRequest>,
) -> Result<(StatusCode, Json<ReferralCreated>), ApiError> {
    if !r.lar_unit_id.trim().is_empty() {
        let sent = SentReferralInput {
            lar_unit_id: r.lar_unit_id,
            patient: PatientInput {
                national_id: r.national_id,
                given_name: r.given_name,
                family_name: r.family_name,
                phone: r.phone,
                address: r.address,
            },
            reason: r.reason,
            referrer_assessment: r.referrer_assessment,
        };
        let done = Service::new(&state, &actor.0).send_referral(&sent).await?;
        return Ok((StatusCode::CREATED, Json(created(done))));
    }
    let input = ReferralRegistration {
        patient: PatientInput {
            national_id: r.national_id,
            given_name: r.given_name,
            family_name: r.family_name,
            phone: r.phone,
            address: r.address,
        },
        doctor_id: r.doctor_id,
        consultant_id: r.consultant_id,
        referral: ReferralInput {
            referrer_name: r.referrer_name,
            referrer_service: r.referrer_service,
            reason: r.reason,
            referrer_assessment: r.referrer_assessment,
            received_on: r.received_on,
        },
        referrer_organisation_id: r.referrer_organisation_id,
    };
    let done = Service::new(&state, &actor.0).register_referral(&input).await?;
    Ok((StatusCode::CREATED, Json(created(done))))
}

fn created(done: crate::service::Registered) -> ReferralCreated {
    ReferralCreated {
        id: done.referral_id,
        patient_id: done.patient_id.to_string(),
        episode_id: done.episode_id.to_string(),
        existing_person: done.existing_person,
        assessment_deadline: done.assessment_deadline.to_string(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitingReferralDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub national_id: String,
    pub given_name: String,
    pub family_name: String,
    pub referrer_name: String,
    pub referrer_service: String,
    #[schema(format = Date)]
    pub received_on: String,
    /// Days from the day received to today (Oslo).
    pub days_waited: i64,
    /// The last day for the assessment.
    #[schema(format = Date)]
    pub assessment_deadline: String,
    /// `unassessed` (waiting for the assessment) or `awaiting_start` (assessed
    /// with a right, no first dose yet).
    pub stage: String,
    /// The deadline in force: the assessment deadline, or the latest start date.
    #[schema(format = Date)]
    pub deadline: String,
    /// The latest start date set at the assessment, when assessed with a right.
    #[schema(format = Date)]
    pub latest_start: Option<String>,
    /// The deadline in force has passed.
    pub breached: bool,
    /// Low-threshold start offers, in the order recorded.
    pub quick_start_offers: Vec<super::referral_care::QuickStartDto>,
}

fn waiting_dto(w: WaitingReferral) -> WaitingReferralDto {
    WaitingReferralDto {
        id: w.referral.id,
        patient_id: w.patient.id.to_string(),
        national_id: w.patient.national_id.as_str().to_string(),
        given_name: w.patient.given_name,
        family_name: w.patient.family_name,
        referrer_name: w.referral.details.referrer_name,
        referrer_service: w.referral.details.referrer_service,
        received_on: w.referral.details.received_on.to_string(),
        days_waited: w.days_waited,
        assessment_deadline: w.assessment_deadline.to_string(),
        stage: w.stage.code().to_string(),
        deadline: w.deadline.to_string(),
        latest_start: w
            .assessment
            .as_ref()
            .and_then(|a| a.content.latest_start)
            .map(|d| d.to_string()),
        breached: w.breached,
        quick_start_offers: w.offers.iter().map(super::referral_care::offer_dto).collect(),
    }
}

#[utoipa::path(
    get,
    path = "/referrals",
    tag = "referrals",
    operation_id = "waiting_referrals",
    summary = "The caller's unit's waiting list, oldest first: referrals not yet assessed and patients assessed with a right but not started, with days waited, the deadline in force and whether it is breached",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Referrals waiting for assessment that the caller may see", body = Vec<WaitingReferralDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn waiting(
    State(state): State<AppState>,
    actor: ApiStaff,
) -> Result<Json<Vec<WaitingReferralDto>>, ApiError> {
    let list = Service::new(&state, &actor.0).waiting_referrals().await?;
    Ok(Json(list.into_iter().map(waiting_dto).collect()))
}
