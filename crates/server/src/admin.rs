//! Administration: registering organisations and dispensing places, and cutting a
//! user's access off and giving it back. The same operations behind the
//! administrator's pages, the API and the `samhand` command line. `by` is the
//! administrator acting, or `None` on the server's command line (whoever runs
//! commands there holds the database anyway); the history names them either way.
//! No patient data is read or written here.

use samhand_domain::access::may_administer;
use samhand_domain::ids::OrganisationId;
use samhand_domain::organisation::{
    HerId, OrgNumber, Organisation, OrganisationKind, Registration, StaffUser, check_responsible_unit,
};
use samhand_domain::validation::FieldErrors;
use samhand_store::{Conn, organisations, sessions, users};

use crate::AppState;
use crate::auth::require;
use crate::error::AppError;

type AppResult<T> = Result<T, AppError>;

/// The shortest reason for a deactivation or reactivation.
pub const MIN_REASON_CHARS: usize = 5;

fn check_administrator(by: Option<&StaffUser>) -> AppResult<()> {
    match by {
        Some(staff) => require(may_administer(staff)),
        None => Ok(()),
    }
}

/// An organisation as typed in a form, a request or on the command line.
#[derive(Debug, Clone, Default)]
pub struct OrganisationInput {
    pub name: String,
    /// The kind's code (`municipal_lar_centre`, …).
    pub kind: String,
    pub municipality: String,
    pub org_number: String,
    pub her_id: String,
    pub address: String,
    pub phone: String,
    /// The responsible LAR unit's id or exact name; empty for none.
    pub responsible_unit: String,
}

/// A field left empty is not given.
fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// The organisation with this id, or else this exact name.
pub async fn find_organisation(conn: &mut Conn, id_or_name: &str) -> AppResult<Option<Organisation>> {
    let key = id_or_name.trim();
    if let Ok(id) = key.parse::<OrganisationId>()
        && let Some(org) = organisations::get(conn, id).await?
    {
        return Ok(Some(org));
    }
    Ok(organisations::by_name(conn, key).await?)
}

/// The organisation and its registration, checked field by field; every problem is
/// named at once.
async fn checked_organisation(
    conn: &mut Conn,
    input: &OrganisationInput,
) -> AppResult<(Organisation, Registration)> {
    let mut errors = FieldErrors::default();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("name", "Skriv navnet (høyst 200 tegn).");
    }
    let kind = OrganisationKind::from_code(input.kind.trim());
    if kind.is_none() {
        errors.push("kind", "Velg hva slags organisasjon det er.");
    }
    let org_number = optional(&input.org_number)
        .map(OrgNumber::parse)
        .transpose()
        .unwrap_or_else(|e| {
            errors.push("org_number", e);
            None
        });
    let her_id = optional(&input.her_id)
        .map(HerId::parse)
        .transpose()
        .unwrap_or_else(|e| {
            errors.push("her_id", e);
            None
        });
    let unit = match optional(&input.responsible_unit) {
        Some(key) => {
            let found = find_organisation(conn, key).await?;
            if found.is_none() {
                errors.push(
                    "responsible_unit",
                    format!("Fant ingen organisasjon som heter «{key}»."),
                );
            }
            found
        }
        None => None,
    };
    if let Some(kind) = kind
        && let Err(problem) = check_responsible_unit(kind, unit.as_ref())
    {
        errors.push("responsible_unit", problem);
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let organisation = Organisation {
        id: OrganisationId::new(),
        name: name.to_string(),
        kind,
        municipality: input.municipality.trim().to_string(),
        open_on_public_holidays: false,
        open_weekdays: [true; 7],
    };
    let registration = Registration {
        org_number,
        her_id,
        address: input.address.trim().to_string(),
        phone: input.phone.trim().to_string(),
        responsible_unit: unit.map(|u| u.id),
    };
    Ok((organisation, registration))
}

/// Registers an organisation. A dispensing place opens every day until its opening
/// days are set.
pub async fn add_organisation(
    state: &AppState,
    by: Option<&StaffUser>,
    input: &OrganisationInput,
) -> AppResult<(Organisation, Registration)> {
    check_administrator(by)?;
    let (organisation, registration) = {
        let mut conn = state.store.read().await?;
        checked_organisation(&mut conn, input).await?
    };
    let mut tx = state.store.write().await?;
    organisations::insert(&mut tx, &organisation, state.clock.now())
        .await
        .map_err(|e| {
            AppError::from(e).conflict_as("Det finnes allerede en organisasjon med dette navnet.")
        })?;
    organisations::set_registration(&mut tx, organisation.id, &registration)
        .await
        .map_err(|e| {
            AppError::from(e)
                .conflict_as("Det finnes allerede en organisasjon med dette organisasjonsnummeret.")
        })?;
    tx.commit().await?;
    tracing::info!(
        organisation = organisation.name.as_str(),
        kind = organisation.kind.code(),
        by = by.map(|u| u.username.as_str()).unwrap_or("command line"),
        "organisation registered"
    );
    Ok((organisation, registration))
}

/// Deactivates (`active` false) or reactivates a user. A deactivation ends every
/// session and API token of the user at once, in the same transaction; the user can
/// no longer log in; their name stays on everything they did. An administrator
/// cannot deactivate themself (someone must be left to undo it).
pub async fn set_user_active(
    state: &AppState,
    by: Option<&StaffUser>,
    username: &str,
    active: bool,
    reason: &str,
) -> AppResult<StaffUser> {
    check_administrator(by)?;
    let reason = reason.trim();
    if reason.chars().count() < MIN_REASON_CHARS {
        return Err(AppError::Invalid(FieldErrors::single(
            "reason",
            format!("Skriv hvorfor (minst {MIN_REASON_CHARS} tegn)."),
        )));
    }
    let mut conn = state.store.read().await?;
    let record = users::by_username(&mut conn, username.trim())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("brukeren «{}»", username.trim())))?;
    drop(conn);
    if by.is_some_and(|b| b.id == record.user.id) && !active {
        return Err(AppError::Conflict("Du kan ikke deaktivere deg selv.".into()));
    }
    if record.active == active {
        return Err(AppError::Conflict(if active {
            format!("{} er allerede aktiv.", record.user.display_name)
        } else {
            format!("{} er allerede deaktivert.", record.user.display_name)
        }));
    }
    let now = state.clock.now();
    let mut tx = state.store.write().await?;
    users::set_active(&mut tx, record.user.id, active, reason, by.map(|b| b.id), now).await?;
    if !active {
        sessions::delete_all_of(&mut tx, sessions::AccountKind::Staff, record.user.id).await?;
        users::revoke_api_tokens(&mut tx, record.user.id, now).await?;
    }
    tx.commit().await?;
    tracing::info!(
        user = record.user.username.as_str(),
        active,
        by = by.map(|u| u.username.as_str()).unwrap_or("command line"),
        "user {}",
        if active { "reactivated" } else { "deactivated" }
    );
    Ok(record.user)
}
