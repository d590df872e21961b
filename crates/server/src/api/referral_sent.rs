//! The referrals a referring service in Samhand sent, with their status only
//! (H89). Sending one is `POST /referrals` with `lar_unit_id`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::ProblemResponse;
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{SentReferral, SentStatus, Service};

#[derive(Debug, Serialize, ToSchema)]
pub struct SentReferralDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub patient_name: String,
    pub national_id: String,
    /// The LAR unit it was sent to.
    pub lar_unit: String,
    #[schema(format = Date)]
    pub received_on: String,
    /// Who at the service referred.
    pub referred_by: String,
    /// `received`, `right`, `no_right`, `started` or `ended`.
    pub status: String,
    /// The status in words (with the latest start date or the start day).
    pub status_text: String,
    /// The latest start date, when assessed with a right.
    #[schema(format = Date)]
    pub latest_start: Option<String>,
}

pub fn sent_dto(s: &SentReferral) -> SentReferralDto {
    SentReferralDto {
        id: s.id.clone(),
        patient_id: s.patient_id.to_string(),
        patient_name: s.patient_name.clone(),
        national_id: s.national_id.clone(),
        lar_unit: s.lar_unit.clone(),
        received_on: s.received_on.to_string(),
        referred_by: s.referred_by.clone(),
        status: s.status.code().to_string(),
        status_text: s.status.label_nb(),
        latest_start: match s.status {
            SentStatus::Right { latest_start } => latest_start.map(|d| d.to_string()),
            _ => None,
        },
    }
}

#[utoipa::path(
    get,
    path = "/referrals/sent",
    tag = "referrals",
    operation_id = "sent_referrals",
    summary = "The referrals the caller's service (a GP office or a municipal health and care service) sent, with their status only",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest received first", body = [SentReferralDto]),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn sent(
    State(state): State<AppState>,
    actor: ApiStaff,
) -> Result<Json<Vec<SentReferralDto>>, ApiError> {
    let sent = Service::new(&state, &actor.0).sent_referrals().await?;
    Ok(Json(sent.iter().map(sent_dto).collect()))
}
