//! Administration: registering organisations and dispensing places, and cutting a
//! user's access off and giving it back. The same operations behind the
//! administrator's pages, the API and the `samhand` command line. `by` is the
//! administrator acting, or `None` on the server's command line (whoever runs
//! commands there holds the database anyway); the history names them either way.
//! No patient data is read or written here.

mod organisations;
mod users;

pub use organisations::{
    OrganisationInput, OrganisationView, PlaceInput, add_closed_day, add_group, add_organisation,
    organisations_view, set_place, update_registration,
};
pub use users::{
    AddedUser, INVITATION_DAYS, MIN_PASSWORD_CHARS, MIN_REASON_CHARS, NewUserInput, UserView,
    accept_invitation, add_role, add_user, invite_again, invited_user, set_user_active, users_view,
};

use samhand_domain::access::may_administer;
use samhand_domain::ids::OrganisationId;
use samhand_domain::organisation::{Organisation, StaffUser};
use samhand_store::{Conn, organisations as org_store};

use crate::auth::require;
use crate::error::AppError;

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
pub async fn find_organisation(conn: &mut Conn, id_or_name: &str) -> AppResult<Option<Organisation>> {
    let key = id_or_name.trim();
    if let Ok(id) = key.parse::<OrganisationId>()
        && let Some(org) = org_store::get(conn, id).await?
    {
        return Ok(Some(org));
    }
    Ok(org_store::by_name(conn, key).await?)
}
