//! Administration: registering organisations and dispensing places, and cutting a
//! user's access off and giving it back. The same operations behind the
//! administrator's pages, the API and the `samhand` command line. `by` is the
//! administrator acting, or `None` on the server's command line (whoever runs
//! commands there holds the database anyway); the history names them either way.
//! No patient data is read or written here.

mod import;
mod organisations;
mod users;

pub use import::{ImportReport, RowOutcome, import};
pub use organisations::{
    OrganisationInput, OrganisationView, PlaceInput, add_closed_day, add_group, add_organisation,
    organisations_view, set_place, update_registration,
};
pub use users::{
    AddedUser, INVITATION_DAYS, MIN_PASSWORD_CHARS, MIN_REASON_CHARS, NewUserInput, UserView,
    accept_invitation, add_role, add_user, invite_again, invited_user, set_hpr_number, set_user_active,
    users_view,
};

use samhand_domain::access::may_administer;
use samhand_domain::ids::OrganisationId;
use samhand_domain::organisation::{Organisation, StaffUser};
use samhand_store::organisations as org_store;

use crate::auth::require;
use crate::error::AppError;
use samhand_store::native::Fetch;

type AppResult<T> = Result<T, AppError>;

pub(crate) fn check_administrator(by: Option<&StaffUser>) -> AppResult<()> {
    match by {
        Some(staff) => require(may_administer(staff)),
        None => Ok(()),
    }
}

/// A field left empty is not given.
pub(crate) fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// The organisation with this id, or else this exact name.
pub async fn find_organisation(conn: &mut impl Fetch, id_or_name: &str) -> AppResult<Option<Organisation>> {
    let key = id_or_name.trim();
    if let Ok(id) = key.parse::<OrganisationId>()
        && let Some(org) = org_store::get(conn, id).await?
    {
        return Ok(Some(org));
    }
    Ok(org_store::by_name(conn, key).await?)
}

/// The FHIR system clients, revoked or not.
pub async fn fhir_clients(
    state: &crate::AppState,
    by: &StaffUser,
) -> AppResult<Vec<samhand_store::fhir::ClientListing>> {
    check_administrator(Some(by))?;
    let mut conn = state.store.read().await?;
    Ok(samhand_store::fhir::clients(&mut conn).await?)
}

/// Revokes a FHIR system client; its tokens stop at once.
pub async fn revoke_fhir_client(state: &crate::AppState, by: Option<&StaffUser>, id: &str) -> AppResult<()> {
    check_administrator(by)?;
    let mut tx = state.store.write().await?;
    if !samhand_store::fhir::revoke_client(&mut tx, id, state.clock.now()).await? {
        return Err(AppError::NotFound("en aktiv klient med denne id-en".into()));
    }
    tx.commit().await?;
    tracing::info!(client = id, "FHIR client revoked");
    Ok(())
}

/// Changes a policy threshold, kept with who decided it and when.
pub async fn set_policy(state: &crate::AppState, by: &StaffUser, key: &str, value: &str) -> AppResult<()> {
    check_administrator(Some(by))?;
    let setting = samhand_domain::policy::SETTINGS
        .iter()
        .find(|s| s.key == key)
        .ok_or_else(|| AppError::NotFound(format!("innstillingen {key}")))?;
    let value = match value.trim().parse::<i64>() {
        Ok(v) if (0..=365).contains(&v) => v,
        _ => {
            return Err(AppError::Invalid(
                samhand_domain::validation::FieldErrors::single(
                    "value",
                    "Verdien er et helt tall fra 0 til 365.",
                ),
            ));
        }
    };
    let mut tx = state.store.write().await?;
    samhand_store::stock::set_policy_value(&mut tx, setting.key, value, Some(by.id), state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(())
}
