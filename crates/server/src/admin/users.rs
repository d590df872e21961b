//! Users: adding them with an invitation or a first password, their roles at more
//! organisations, deactivating and reactivating them.

use jiff::SignedDuration;
use samhand_domain::ids::UserId;
use samhand_domain::organisation::{HprNumber, Role, StaffUser};
use samhand_domain::validation::FieldErrors;
use samhand_store::{sessions, users};

use super::{AppResult, check_administrator, find_organisation, optional};
use crate::AppState;
use crate::auth::{hash_password_off_thread, random_token, token_hash};
use crate::error::AppError;
use crate::session::AccountKind;
use samhand_store::native::Fetch;

/// The shortest reason for a deactivation or reactivation.
pub const MIN_REASON_CHARS: usize = 5;

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

/// How long an invitation link is valid.
pub const INVITATION_DAYS: i64 = 7;
/// The least a password must have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A new user as typed. With a `password`, the user logs in with it; without, an
/// invitation link is made, with which they choose their own.
#[derive(Debug, Clone, Default)]
pub struct NewUserInput {
    pub username: String,
    pub name: String,
    /// The role's code.
    pub role: String,
    /// The organisation's id or exact name.
    pub organisation: String,
    pub hpr_number: String,
    pub password: Option<String>,
}

/// What adding a user gave: the user, and the invitation token when one was made
/// (shown once: the link is `/invitasjon/{token}`).
#[derive(Debug, Clone)]
pub struct AddedUser {
    pub user: StaffUser,
    pub invitation: Option<String>,
}

fn check_password_rules(password: &str, errors: &mut FieldErrors) {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        errors.push(
            "password",
            format!("Passordet må ha minst {MIN_PASSWORD_CHARS} tegn."),
        );
    }
}

/// Adds a staff user at an organisation, with a first password or an invitation.
pub async fn add_user(
    state: &AppState,
    by: Option<&StaffUser>,
    input: &NewUserInput,
) -> AppResult<AddedUser> {
    check_administrator(by)?;
    {
        // Checked before the password is hashed, which takes a while.
        let mut conn = state.store.read().await?;
        checked_user(&mut conn, input).await?;
    }
    let hash = match &input.password {
        Some(password) => Some(hash_password_off_thread(password).await?),
        None => None,
    };
    let mut tx = state.store.write().await?;
    let added = insert_user(&mut tx, by, input, hash.as_deref(), state.clock.now()).await?;
    tx.commit().await?;
    tracing::info!(
        user = added.user.username.as_str(),
        role = added.user.role.code(),
        by = by.map(|u| u.username.as_str()).unwrap_or("command line"),
        "user added"
    );
    Ok(added)
}

/// A new user as checked: username, name, role, organisation, HPR number.
struct CheckedUser {
    username: String,
    name: String,
    role: Role,
    organisation: samhand_domain::organisation::Organisation,
    hpr: Option<HprNumber>,
}

/// Checks a new user field by field; every problem is named at once.
async fn checked_user(conn: &mut impl Fetch, input: &NewUserInput) -> AppResult<CheckedUser> {
    let mut errors = FieldErrors::default();
    let username = input.username.trim();
    if username.is_empty() || username.chars().count() > 64 || username.chars().any(char::is_whitespace) {
        errors.push("username", "Brukernavnet har 1 til 64 tegn uten mellomrom.");
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("name", "Skriv hele navnet.");
    }
    let role = Role::from_code(input.role.trim());
    if role.is_none() {
        errors.push("role", "Velg en rolle.");
    }
    let hpr = optional(&input.hpr_number)
        .map(HprNumber::parse)
        .transpose()
        .unwrap_or_else(|e| {
            errors.push("hpr_number", e);
            None
        });
    if let Some(password) = &input.password {
        check_password_rules(password, &mut errors);
    }
    let organisation = match optional(&input.organisation) {
        Some(key) => find_organisation(conn, key).await?,
        None => None,
    };
    if organisation.is_none() {
        let message = if optional(&input.organisation).is_some() {
            format!(
                "Fant ingen organisasjon som heter «{}». Legg den til først (`samhand organisation add`).",
                input.organisation.trim()
            )
        } else {
            "Velg organisasjonen. Finnes den ikke ennå, legg den til først (`samhand organisation add`)."
                .to_string()
        };
        errors.push("organisation", message);
    }
    let (Some(role), Some(organisation)) = (role, organisation.filter(|_| errors.is_empty())) else {
        return Err(AppError::Invalid(errors));
    };
    Ok(CheckedUser {
        username: username.to_string(),
        name: name.to_string(),
        role,
        organisation,
        hpr,
    })
}

/// Writes a new user in the caller's transaction: with the password's hash, or an
/// invitation.
pub(crate) async fn insert_user(
    tx: &mut impl Fetch,
    by: Option<&StaffUser>,
    input: &NewUserInput,
    hash: Option<&str>,
    now: jiff::Timestamp,
) -> AppResult<AddedUser> {
    let checked = checked_user(tx, input).await?;
    let id = UserId::new();
    let invitation = hash.is_none().then(random_token);
    users::insert(
        tx,
        &users::NewUser {
            id,
            username: &checked.username,
            display_name: &checked.name,
            role: checked.role,
            organisation_id: checked.organisation.id,
            password_hash: hash,
        },
        now,
    )
    .await
    .map_err(|e| AppError::from(e).conflict_as("Brukernavnet er opptatt."))?;
    users::set_hpr_number(tx, id, checked.hpr.as_ref().map(HprNumber::as_str), now)
        .await
        .map_err(hpr_taken)?;
    if let Some(token) = &invitation {
        let expires = now + SignedDuration::from_hours(24 * INVITATION_DAYS);
        users::insert_invitation(tx, &token_hash(token), id, by.map(|b| b.id), now, expires).await?;
    }
    Ok(AddedUser {
        user: StaffUser {
            id,
            username: checked.username,
            display_name: checked.name,
            role: checked.role,
            organisation_id: checked.organisation.id,
            organisation_kind: checked.organisation.kind,
        },
        invitation,
    })
}

/// Makes a new invitation link for a user who has not yet chosen a password (or
/// lost it); the old links stay valid until they expire or are used.
pub async fn invite_again(state: &AppState, by: Option<&StaffUser>, username: &str) -> AppResult<String> {
    check_administrator(by)?;
    let mut conn = state.store.read().await?;
    let record = users::by_username(&mut conn, username.trim())
        .await?
        .filter(|r| r.active)
        .ok_or_else(|| AppError::NotFound(format!("en aktiv bruker «{}»", username.trim())))?;
    drop(conn);
    let token = random_token();
    let now = state.clock.now();
    let mut tx = state.store.write().await?;
    users::insert_invitation(
        &mut tx,
        &token_hash(&token),
        record.user.id,
        by.map(|b| b.id),
        now,
        now + SignedDuration::from_hours(24 * INVITATION_DAYS),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The user an invitation link is for, while it is valid.
pub async fn invited_user(state: &AppState, token: &str) -> AppResult<StaffUser> {
    let mut conn = state.store.read().await?;
    let user = users::invitation_user(&mut conn, &token_hash(token), state.clock.now())
        .await?
        .ok_or_else(invitation_gone)?;
    users::by_id(&mut conn, user)
        .await?
        .filter(|r| r.active)
        .map(|r| r.user)
        .ok_or_else(invitation_gone)
}

fn invitation_gone() -> AppError {
    AppError::NotFound(
        "invitasjonen (lenken er brukt, utløpt eller feil; be administratoren om en ny)".into(),
    )
}

/// The invited user chooses their password; the invitation is used up.
pub async fn accept_invitation(
    state: &AppState,
    token: &str,
    password: &str,
    repeated: &str,
) -> AppResult<StaffUser> {
    let user = invited_user(state, token).await?;
    let mut errors = FieldErrors::default();
    check_password_rules(password, &mut errors);
    if password != repeated {
        errors.push("repeated", "Passordene er ikke like.");
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let hash = hash_password_off_thread(password).await?;
    let mut tx = state.store.write().await?;
    if !users::use_invitation(&mut tx, &token_hash(token), state.clock.now()).await? {
        return Err(invitation_gone());
    }
    users::set_password(&mut tx, user.id, &hash).await?;
    // A new password opens the account from every address at once.
    samhand_store::sessions::clear_all_login_failures(&mut tx, AccountKind::Staff, user.id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Gives a user a role at another organisation than their home one; they choose
/// which one they act in after login.
pub async fn add_role(
    state: &AppState,
    by: Option<&StaffUser>,
    username: &str,
    organisation: &str,
    role: &str,
) -> AppResult<()> {
    check_administrator(by)?;
    let mut errors = FieldErrors::default();
    let role = Role::from_code(role.trim());
    if role.is_none() {
        errors.push("extra_role", "Velg en rolle.");
    }
    let mut conn = state.store.read().await?;
    let record = users::by_username(&mut conn, username.trim())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("brukeren «{}»", username.trim())))?;
    let organisation = find_organisation(&mut conn, organisation).await?;
    drop(conn);
    if organisation.is_none() {
        errors.push("extra_organisation", "Velg organisasjonen.");
    }
    let (Some(role), Some(organisation)) = (role, organisation.filter(|_| errors.is_empty())) else {
        return Err(AppError::Invalid(errors));
    };
    if organisation.id == record.user.organisation_id && role == record.user.role {
        return Err(AppError::Conflict(
            "Brukeren har allerede denne rollen her.".into(),
        ));
    }
    let mut tx = state.store.write().await?;
    users::insert_role(
        &mut tx,
        record.user.id,
        organisation.id,
        role,
        by.map(|b| b.id),
        state.clock.now(),
    )
    .await
    .map_err(|e| AppError::from(e).conflict_as("Brukeren har allerede denne rollen her."))?;
    tx.commit().await?;
    Ok(())
}

fn hpr_taken(error: samhand_store::StoreError) -> AppError {
    AppError::from(error).conflict_as("En annen bruker har allerede dette HPR-nummeret.")
}

/// Sets or clears (empty text) a user's HPR number.
pub async fn set_hpr_number(
    state: &AppState,
    by: Option<&StaffUser>,
    id: UserId,
    text: &str,
) -> AppResult<Option<HprNumber>> {
    check_administrator(by)?;
    let hpr = optional(text)
        .map(HprNumber::parse)
        .transpose()
        .map_err(|e| AppError::Invalid(FieldErrors::single("hpr_number", e)))?;
    let mut tx = state.store.write().await?;
    if users::by_id(&mut tx, id).await?.is_none() {
        return Err(AppError::NotFound("brukeren".into()));
    }
    users::set_hpr_number(
        &mut tx,
        id,
        hpr.as_ref().map(HprNumber::as_str),
        state.clock.now(),
    )
    .await
    .map_err(hpr_taken)?;
    tx.commit().await?;
    Ok(hpr)
}

/// A user as the administrator sees them.
#[derive(Debug, Clone)]
pub struct UserView {
    pub record: users::UserRecord,
    pub hpr_number: Option<String>,
    pub extra_roles: Vec<users::ExtraRole>,
    pub history: Vec<users::StatusChange>,
}

/// Every user, active or not.
pub async fn users_view(state: &AppState, by: &StaffUser) -> AppResult<Vec<UserView>> {
    check_administrator(Some(by))?;
    let mut conn = state.store.read().await?;
    let mut views = Vec::new();
    for record in users::all(&mut conn).await? {
        let id = record.user.id;
        views.push(UserView {
            hpr_number: users::hpr_number(&mut conn, id).await?,
            extra_roles: users::extra_roles(&mut conn, id).await?,
            history: users::status_changes(&mut conn, id).await?,
            record,
        });
    }
    Ok(views)
}
